"""How every renderer writes numbers, money, dates and long text."""

from __future__ import annotations

from datetime import datetime
from itertools import islice

# A field longer than this is cut where the view model is built, so no renderer (HTML, PDF,
# Markdown, JUnit, SARIF) is handed a 100 MB message or evidence value.
MAX_FIELD_CHARS = 10_000


def fmt_score(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g}"


def fmt_usd(value: float) -> str:
    return f"${value:,.2f}"


def parse_time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None


def quarter_of(text: str) -> str:
    ts = parse_time(text)
    return f"Q{(ts.month - 1) // 3 + 1} {ts.year}" if ts else ""


def duration_words(start: str, end: str) -> str:
    a, b = parse_time(start), parse_time(end)
    if a is None or b is None:
        return ""
    seconds = max(0, int((b - a).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def clip(text: str, limit: int = MAX_FIELD_CHARS) -> str:
    """`text`, or its first `limit` characters and a marker saying how much was cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]} [… truncated: {len(text) - limit:,} more characters]"


def _clip_item(item: object, limit: int) -> object:
    kind = type(item)
    if kind is str:
        return clip(item, limit) if len(item) > limit else item  # type: ignore[arg-type]
    if kind is dict or kind is list or kind is tuple:
        return clip_tree(item, limit)
    return item


def clip_tree(value: object, limit: int = MAX_FIELD_CHARS) -> object:
    """`value` (JSON data) with every string and key clipped. Containers with nothing long in
    them are returned as they are, so a normal result is walked once and never copied (the
    walk compares types exactly: it runs over every value of a 20,000-finding result)."""
    kind = type(value)
    if kind is dict:
        copy: dict | None = None
        for index, (key, item) in enumerate(value.items()):  # type: ignore[union-attr]
            new = _clip_item(item, limit)
            new_key = clip(key, limit) if type(key) is str and len(key) > limit else key
            if copy is None:
                if new is item and new_key is key:
                    continue
                copy = dict(islice(value.items(), index))  # type: ignore[union-attr]
            copy[new_key] = new
        return value if copy is None else copy
    if kind is list or kind is tuple:
        items: list | None = None
        for index, item in enumerate(value):  # type: ignore[arg-type]
            new = _clip_item(item, limit)
            if items is None:
                if new is item:
                    continue
                items = list(value)  # type: ignore[arg-type]
            items[index] = new
        return value if items is None else items
    return _clip_item(value, limit) if kind is str else value
