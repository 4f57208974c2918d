"""rsyslog: legacy `@@host:port` forwarding and RainerScript `action(type="omfwd"|"omrelp")`.

No Python library reads rsyslog's formats, so comments, actions and legacy lines are read here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from auditor.discovery.collector import Collector
from auditor.discovery.model import LOG_SHIPPER, Hit, Item, Malformed, Note
from auditor.discovery.registry import source
from auditor.discovery.text import address, line_at, udp_note

_RS_DIRECTIVE = re.compile(r"[ \t]*\$")


def _rsyslog_strip_comments(text: str) -> str:
    """Drop `#` and `/* */` comments outside quotes, keeping newlines (and so line numbers).

    Legacy `$Directive` lines are kept as they are (`$IncludeConfig /etc/rsyslog.d/*.conf`), and
    `/*` only opens a comment at the start of a word.
    """
    out: list[str] = []
    i, n = 0, len(text)
    quote: str | None = None
    while i < n:
        c = text[i]
        at_line_start = i == 0 or text[i - 1] == "\n"
        if not quote and at_line_start and _RS_DIRECTIVE.match(text, i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(text[i:end])
            i = end
            continue
        if quote:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
            out.append(c)
        elif c == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif text.startswith("/*", i) and (i == 0 or text[i - 1].isspace()):
            end = text.find("*/", i + 2)
            chunk = text[i : n if end < 0 else end + 2]
            out.append("\n" * chunk.count("\n"))
            i += len(chunk)
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


_RS_ACTION = re.compile(r"\baction\s*\(", re.IGNORECASE)
_RS_PARAM = re.compile(
    r"([A-Za-z][\w.]*)\s*=\s*(\"(?:[^\"\\]|\\.)*\"|'[^']*'|\[[^\]]*\]|[^\s)]+)", re.DOTALL
)
_RS_LEGACY = re.compile(
    r"(?:^|\s)(@@?)(?:\([^)]*\))?(\[[^\]]+\]|[A-Za-z0-9_.-]+)(?::(\d+))?(?:;\S*)?\s*$"
)


def _rsyslog_values(params: Mapping[str, str], key: str, default: str = "") -> list[str]:
    raw = params.get(key.lower(), default).strip()
    if raw.startswith("["):
        return re.findall(r"\"((?:[^\"\\]|\\.)*)\"", raw)
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        return [raw[1:-1]]
    return [raw]


def _rsyslog_first(params: Mapping[str, str], key: str, default: str = "") -> str:
    values = _rsyslog_values(params, key, default)
    return values[0].strip() if values else default


def _rsyslog_action_end(text: str, i: int) -> int | None:
    """Index just past the `)` closing an `action(` whose body starts at `i`."""
    depth, quote = 1, None
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if not depth:
                return i + 1
        i += 1
    return None


def _rsyslog_action(params: Mapping[str, str], line: int) -> Iterator[Item]:
    typ = _rsyslog_first(params, "type").lower()
    if typ not in ("omfwd", "omrelp"):
        return
    port = _rsyslog_first(params, "port", "514")
    if not port.isdigit():
        yield Note(f"line {line}: port {port!r} is not a number; action skipped")
        return
    if typ == "omrelp":
        kind, label = "tcp", "rsyslog relp"
    else:
        if _rsyslog_first(params, "protocol", "udp").lower() != "tcp":
            yield udp_note("syslog forwarding", line)
            return
        mode = _rsyslog_first(params, "streamdrivermode") or _rsyslog_first(
            params, "streamdriver.mode", "0"
        )
        kind = "syslog-tls" if mode == "1" else "syslog-tcp"
        label = "rsyslog forward"
    for target in _rsyslog_values(params, "target"):
        if target.strip():
            addr = address(target.strip(), int(port))
            yield Hit(f"{label} {target.strip()}", kind, line, address=addr)


def parse_rsyslog_conf(text: str) -> Iterator[Item]:
    """Legacy `@@host:port` forwarding and RainerScript `action(type="omfwd"|"omrelp")`."""
    clean = _rsyslog_strip_comments(text)
    found: list[tuple[int, Item]] = []
    spans: list[tuple[int, int]] = []
    for m in _RS_ACTION.finditer(clean):
        line = line_at(clean, m.start())
        end = _rsyslog_action_end(clean, m.end())
        if end is None:
            raise Malformed(line, "action( is never closed")
        spans.append((m.start(), end))
        params = {k.lower(): v for k, v in _RS_PARAM.findall(clean[m.end() : end - 1])}
        found.extend((line, item) for item in _rsyslog_action(params, line))
    send_tls = False  # legacy $ActionSendStreamDriverMode applies to the actions after it
    offset = 0
    for n, line_text in enumerate(clean.split("\n"), 1):
        begin, offset = offset, offset + len(line_text) + 1
        if any(begin < b and a < begin + len(line_text) for a, b in spans):
            continue
        stripped = line_text.strip()
        if stripped.startswith("$"):
            key, _, value = stripped.partition(" ")
            if key.lower() == "$actionsendstreamdrivermode":
                send_tls = value.split()[:1] == ["1"]
            continue
        m = _RS_LEGACY.search(stripped)
        if not m:
            continue
        host = m[2].strip("[]")
        if m[1] == "@":
            found.append((n, udp_note("syslog forwarding", n)))
            continue
        kind = "syslog-tls" if send_tls else "syslog-tcp"
        addr = address(host, int(m[3]) if m[3] else 514)
        found.append((n, Hit(f"rsyslog forward {host}", kind, n, address=addr)))
    found.sort(key=lambda pair: pair[0])
    for _, item in found:
        yield item


@source(
    name="rsyslog",
    category=LOG_SHIPPER,
    order=90,
    paths=("/etc/rsyslog.conf", "/etc/rsyslog.d/*.conf"),
)
def parse(coll: Collector, text: str, path: Path) -> Iterator[Item]:
    return parse_rsyslog_conf(text)
