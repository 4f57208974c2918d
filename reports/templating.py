"""The jinja2 environment of the HTML and PDF reports: autoescape on, templates in the package."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from reports.fmt import fmt_score, fmt_usd
from reports.view import STATUS_LABELS


def signed(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"+{value:g}" if value > 0 else f"{value:g}"


def json_script(data: Any) -> Markup:
    """JSON safe inside a <script type="application/json"> element: no `<`, `>` or `&` at all,
    so no string in the data can close the element or open a comment."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Markup(text)


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("reports", "templates"),
        autoescape=select_autoescape(["html", "j2", "xml"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        score=fmt_score,
        usd=fmt_usd,
        rate=lambda v: f"${v:g}",
        signed=signed,
        plural=plural,
        status_label=lambda s: STATUS_LABELS.get(s, s),
    )
    return env
