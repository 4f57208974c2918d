"""How every renderer writes numbers, money, dates and long text."""

from __future__ import annotations

from datetime import datetime

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


def clip_tree(value: object, limit: int = MAX_FIELD_CHARS) -> object:
    """`value` (JSON data) with every string and key clipped; the same object when nothing
    was long, so a normal result is not copied."""
    if isinstance(value, str):
        return clip(value, limit)
    if isinstance(value, dict):
        items = [
            (clip(k, limit) if isinstance(k, str) else k, clip_tree(v, limit))
            for k, v in value.items()
        ]
        if all(k is k0 and v is v0 for (k, v), (k0, v0) in zip(items, value.items(), strict=True)):
            return value
        return dict(items)
    if isinstance(value, list):
        items = [clip_tree(v, limit) for v in value]
        if all(v is v0 for v, v0 in zip(items, value, strict=True)):
            return value
        return items
    return value
