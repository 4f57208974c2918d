"""Text from a config, a result or the estate made safe to print on a terminal.

A workload name or a message can carry escape sequences (which recolour, retitle or rewrite
what the terminal shows), bidirectional overrides (which reorder it) or be megabytes long.
Every such character is shown as an escape (`\\x1b`, `\\u202e`) and long text is cut with a
marker, so one line stays one readable line.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, zero-width and bidirectional formatting characters, separators.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")

NAME_LIMIT = 120  # a workload or a file name
LINE_LIMIT = 2000  # a message


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object, limit: int = LINE_LIMIT) -> str:
    """`text` with every control or formatting character escaped, cut after `limit`
    characters with a marker saying how many more there were."""
    s = str(text)
    shown = _UNSAFE.sub(_escape, s[:limit])
    return shown if len(s) <= limit else f"{shown}… [{len(s) - limit:,} more characters]"
