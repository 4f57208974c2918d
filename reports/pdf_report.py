"""report.pdf: the management report (WeasyPrint), rendered from the same view as the HTML.

Pages: a cover (workload, quarter, date, the headline figures); a one-page executive summary in
plain words (scores and their change, the stage ladder, the top five blockers, the public IPv4
cost); the trend of both scores and the roadmap; an appendix with every check's counts and the
findings that need action.

The appendix is bounded at `APPENDIX_LIMIT` findings (most severe first; passes and
informational findings are counted, not listed). A director forwards a report of a dozen
pages, not of six hundred; the engineers who act on each finding have the HTML report, which
filters 20,000 rows, and the JSON result. The bound also keeps the render of a 20,000-finding
result within seconds, since WeasyPrint's table layout cost grows with every row. The PDF says
how many findings it left out and where the full list is.

The PDF is reproducible: its dates (`dcterms.created`/`modified`) and identifier come from the
result, so `v6audit report report.json --format pdf` gives the scan's PDF byte for byte.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib.resources import files

from markupsafe import Markup

from reports.charts import gauge_svg, trend_svg
from reports.summary import plain_summary
from reports.templating import environment
from reports.traffic_view import traffic_view
from reports.view import View, build_view

APPENDIX_LIMIT = 100
TOP_BLOCKERS = 5
ROADMAP_LIMIT = 8  # areas listed per stage in the roadmap


@cache
def _css() -> str:
    return files("reports").joinpath("templates", "pdf.css").read_text(encoding="utf-8")


def render_html(view: View) -> str:
    """The HTML WeasyPrint lays out (also handy to debug the PDF's layout in a browser)."""
    action = [f for f in view.findings if f.status in ("fail", "error", "warn")]
    appendix = action[:APPENDIX_LIMIT]
    return (
        environment()
        .get_template("report.pdf.html.j2")
        .render(
            v=view,
            css=Markup(_css()),
            summary=plain_summary(view),
            top=view.path[:TOP_BLOCKERS],
            gauge=gauge_svg,
            trend_chart=trend_svg(view.trend, width=640, height=190),
            appendix=appendix,
            omitted=len(action) - len(appendix),
            roadmap_limit=ROADMAP_LIMIT,
            traffic=traffic_view(view),
        )
    )


def _no_fetch(url: str, *args: object, **kwargs: object) -> dict:
    """The report is self-contained: any URL WeasyPrint would load is a bug, never a request."""
    raise ValueError(f"the PDF report loads no external resource (asked for {url[:80]})")


def render(result: dict) -> bytes:
    from weasyprint import HTML

    view = build_view(result)
    html = render_html(view)
    # Same result, same identifier: the PDF's /ID does not depend on when it was rendered.
    identifier = hashlib.sha256(html.encode("utf-8")).hexdigest()[:32].encode()
    return HTML(string=html, base_url=None, url_fetcher=_no_fetch).write_pdf(
        pdf_identifier=identifier
    )
