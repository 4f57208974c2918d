"""fluentd: `<match>`/`<store>` outputs (forward servers, http endpoint, remote_syslog),
following `@include`.

No Python library reads fluentd's format, so the element tree is built here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from auditor.discovery.collector import MAX_INCLUDE_DEPTH, Collector
from auditor.discovery.model import LOG_SHIPPER, Hit, Item, Malformed, Note, Skip, Unresolved
from auditor.discovery.registry import source
from auditor.discovery.text import address, clean_url, truthy, udp_note, unset_note, url_label


@dataclass
class Element:
    name: str
    line: int
    source: str
    params: dict[str, tuple[str, int]] = field(default_factory=dict)
    children: list[Element] = field(default_factory=list)


_OPEN = re.compile(r"<\s*([A-Za-z_][\w.-]*)(?:\s+([^>]*))?>$")
_CLOSE = re.compile(r"<\s*/\s*([A-Za-z_][\w.-]*)\s*>$")
_ENV = re.compile(
    r"#\{ENV(?:\[\s*(['\"])(\w+)\1\s*\]|\.fetch\(\s*(['\"])(\w+)\3\s*(?:,\s*(['\"])(.*?)\5\s*)?\))\}"
)


def _parse_elements(
    coll: Collector, path: Path, text: str, parent: Element, depth: int = 0
) -> None:
    stack = [parent]
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        close = _CLOSE.match(line)
        if close:
            if len(stack) == 1 or stack[-1].name != close[1]:
                raise Malformed(n, f"unexpected </{close[1]}>", str(path))
            stack.pop()
            continue
        opening = _OPEN.match(line)
        if opening:
            element = Element(opening[1], n, str(path))
            stack[-1].children.append(element)
            stack.append(element)
            continue
        if line.startswith("<"):
            raise Malformed(n, "unterminated tag", str(path))
        key, value = [*line.split(None, 1), ""][:2]
        if key == "@include":
            if depth >= MAX_INCLUDE_DEPTH:
                raise Malformed(n, "@include nested too deep", str(path))
            arg = value.strip().strip("\"'")
            if "://" in arg:
                continue
            for inc in coll.includes(path, arg):
                inc_text = coll.read(inc)
                if inc_text is not None:
                    _parse_elements(coll, inc, inc_text, stack[-1], depth + 1)
            continue
        stack[-1].params[key] = (value.strip(), n)
    if len(stack) > 1:
        raise Malformed(stack[-1].line, f"<{stack[-1].name}> is never closed", str(path))


def _value(raw: str, env: Mapping[str, str], line: int) -> str:
    value = raw.strip()
    if value[:1] not in ("'", '"'):
        return re.sub(r"\s+#.*$", "", value)
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1]
    if len(value) >= 2 and value[0] == value[-1] == '"':
        missing: list[str] = []

        def repl(m: re.Match[str]) -> str:
            name = m[2] or m[4]
            if name in env:
                return env[name]
            if m[4] and m[5]:
                return m[6]
            missing.append(name)
            return ""

        value = _ENV.sub(repl, value[1:-1])
        if missing:
            raise Unresolved(missing, line)
    return value


def output_targets(element: Element, env: Mapping[str, str]) -> Iterator[Item]:
    def param(el: Element, key: str, default: str | None = None) -> str | None:
        if key not in el.params:
            return default
        value, line = el.params[key]
        return _value(value, env, line)

    def port(el: Element, default: int) -> int:
        text = param(el, "port", str(default)) or str(default)
        if not text.isdigit():
            line = el.params["port"][1]
            raise Skip(f"line {line}: port {text!r} is not a number; output skipped")
        return int(text)

    src = element.source
    try:
        typ = param(element, "@type") or param(element, "type")
        if typ == "forward":
            for server in element.children:
                if server.name != "server" or "host" not in server.params:
                    continue
                host = param(server, "host") or ""
                addr = address(host, port(server, 24224))
                line = server.params["host"][1]
                yield Hit(f"fluentd forward {host}", "tcp", line, address=addr, source=src)
        elif typ == "http" and "endpoint" in element.params:
            url = clean_url(param(element, "endpoint") or "")
            if url:
                kind = "https-intake" if url.startswith("https:") else "http"
                line = element.params["endpoint"][1]
                yield Hit(f"fluentd http {url_label(url)}", kind, line, url=url, source=src)
        elif typ == "remote_syslog" and "host" in element.params:
            host = param(element, "host") or ""
            line = element.params["host"][1]
            protocol = (param(element, "protocol", "udp") or "udp").lower()
            tls = truthy(param(element, "tls", "false"))
            if protocol == "udp" and not tls:
                yield udp_note("syslog forwarding", line, src)
                return
            kind = "syslog-tls" if tls else "syslog-tcp"
            addr = address(host, port(element, 514))
            yield Hit(f"fluentd remote_syslog {host}", kind, line, address=addr, source=src)
    except Unresolved as exc:
        yield unset_note(exc, "output", src)
    except Skip as exc:
        yield Note(str(exc), src)


def _walk(element: Element, env: Mapping[str, str]) -> Iterator[Item]:
    for child in element.children:
        if child.name == "source":
            continue
        if child.name in ("match", "store", "secondary"):
            yield from output_targets(child, env)
        yield from _walk(child, env)


@source(
    name="fluentd",
    category=LOG_SHIPPER,
    order=80,
    paths=(
        "/etc/fluent/fluentd.conf",
        "/etc/td-agent/td-agent.conf",
        "/fluentd/etc/fluent.conf",
    ),
)
def parse(coll: Collector, text: str, path: Path) -> Iterator[Item]:
    """The outputs of a fluentd config and of the files it includes."""
    top = Element("", 0, str(path))
    _parse_elements(coll, path, text, top)
    yield from _walk(top, coll.env)
