"""report.html: one self-contained page for engineers (inline CSS, JS and SVG; no external URL).

A Content-Security-Policy in the page forbids every load (`default-src 'none'`) and allows only
the report's own script, by hash: even a string that escaped autoescaping could not run.
Evidence is kept in one JSON block and shown when a row's details are opened, so a result of
20,000 findings stays a page that a laptop opens and filters quickly.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from importlib.resources import files

from markupsafe import Markup

from reports.charts import gauge_svg, trend_svg
from reports.templating import environment, json_script
from reports.traffic_view import traffic_view
from reports.view import SEVERITIES, STATUSES, View, build_view

PATH_LIMIT = 25  # areas shown in "the path"; the findings table lists every blocker
ITEM_LIMIT = 10  # findings shown per area


@cache
def _asset(name: str) -> str:
    return files("reports").joinpath("templates", name).read_text(encoding="utf-8")


def _csp(js: str) -> str:
    digest = base64.b64encode(hashlib.sha256(js.encode("utf-8")).digest()).decode()
    return (
        "default-src 'none'; "
        f"script-src 'sha256-{digest}'; "
        "style-src 'unsafe-inline'; img-src data:; "
        "base-uri 'none'; form-action 'none'"
    )


def _details(view: View) -> dict:
    """What a row's details show, loaded on demand (keeps 20,000 rows light in the DOM)."""
    remediation = {c.id: c.remediation for c in view.checks}
    return {
        "remediation": remediation,
        "rows": [
            [
                f.check_id,
                f.status,
                f.fingerprint,
                f.subject_id if f.subject_id != f.subject else "",
                None if f.remediation == remediation.get(f.check_id) else f.remediation,
                f.suppressed,
                f.evidence,
            ]
            for f in view.findings
        ],
    }


def render_view(view: View) -> str:
    js = _asset("report.js")
    template = environment().get_template("report.html.j2")
    return template.render(
        v=view,
        css=Markup(_asset("report.css")),
        js=Markup(js),
        csp=_csp(js),
        details=json_script(_details(view)),
        trend_chart=trend_svg(view.trend, width=900, height=260),
        gauge=gauge_svg,
        statuses=STATUSES,
        severities=SEVERITIES,
        path_limit=PATH_LIMIT,
        traffic=traffic_view(view),
        item_limit=ITEM_LIMIT,
    )


def render(result: dict) -> str:
    return render_view(build_view(result))
