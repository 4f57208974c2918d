"""Text helpers every source shares: URLs and addresses, variables, INI, JSON and YAML.

The INI reader is hand-written because configparser drops line numbers, which every
target's provenance needs; JSON line numbers are found by scanning the text for the same
reason (the json module keeps none).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from auditor.discovery.model import Hit, Malformed, Note, Unresolved
from auditor.errors import ConfigError
from auditor.yamlfile import LocatedYaml, load_yaml

Lookup = Callable[[str], str | None]


def line_at(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


# --------------------------------------------------------------------------- URLs, addresses


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}:
        return True
    if host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def host_of(url: str | None) -> str | None:
    if not url:
        return None
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def host_of_address(address: str) -> str | None:
    parsed = split_hostport(address)
    return parsed[0] if parsed else None


def clean_url(url: str) -> str | None:
    """http(s) URL without credentials, query or fragment; None for other schemes."""
    try:
        parts = urlsplit(url.strip())
        hostname = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not hostname:
        return None
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme.lower(), netloc, parts.path, "", ""))


def url_label(url: str) -> str:
    return host_of(url) or url


def split_hostport(text: str) -> tuple[str, int] | None:
    """Split `host:port` or `[v6]:port`; None when there is no valid port."""
    text = text.strip()
    port_text: str | None
    m = re.fullmatch(r"\[([^\]]+)\](?::(\w+))?", text)
    if m:
        host, port_text = m[1], m[2]
    else:
        host, sep, rest = text.partition(":")
        port_text = rest if sep else None
    if not host or any(c.isspace() or c in "/@" for c in host):
        return None
    if port_text is None or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        return None
    return host, int(port_text)


def address(host: str, port: int) -> str:
    host = host.strip("[]")
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def http_url(tls: bool, host: str, port: int, path: str) -> str:
    scheme = "https" if tls else "http"
    netloc = f"[{host.strip('[]')}]" if ":" in host else host
    if port != (443 if tls else 80):
        netloc = f"{netloc}:{port}"
    if not path.startswith("/"):
        path = "/" + path
    return f"{scheme}://{netloc}{path}"


def url_hit(name: str, raw: str, line: int | None, source: str | None = None) -> Hit | None:
    """An HTTP(S) log intake: `https-intake` for https, `http` for plain."""
    url = clean_url(raw)
    if url is None:
        return None
    kind = "https-intake" if url.startswith("https:") else "http"
    return Hit(name, kind, line, url=url, source=source)


def aws_logs_url(region: str) -> str:
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://logs.{region}.{domain}/"


def endpoint_url(raw: str) -> str | None:
    """An endpoint override (URL or bare host) as an https URL with at least `/` as path."""
    url = clean_url(raw if "://" in raw else f"https://{raw}")
    if url and urlsplit(url).path == "":
        url += "/"
    return url


# --------------------------------------------------------------------------- values, notes


def truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"on", "true", "yes", "1", "enable", "enabled"}


def scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return "" if value is None else str(value)


def str_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def udp_note(what: str, line: int | None, source: str | None = None) -> Note:
    where = f" at line {line}" if line else ""
    return Note(f"UDP {what}{where} is not probeable (only TCP or TLS can be proven)", source)


def unset_note(exc: Unresolved, what: str, source: str | None = None) -> Note:
    names = ", ".join(f"${{{n}}}" for n in exc.names)
    where = f"line {exc.line}: " if exc.line else ""
    verb = "is" if len(exc.names) == 1 else "are"
    return Note(f"{where}{names} {verb} not set; {what} skipped", source)


# --------------------------------------------------------------------------- variables

_VAR = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-+?])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


def expand(text: str, lookup: Lookup, *, bare: bool = True, line: int | None = None) -> str:
    """Shell-style `${VAR}`, `${VAR:-default}`, `${VAR:+alt}` (and `$VAR` when `bare`).

    Raises Unresolved when a variable has neither a value nor a default.
    """
    missing: list[str] = []

    def repl(m: re.Match[str]) -> str:
        name = m["braced"] or m["bare"]
        if m["bare"] and not bare:
            return m[0]
        value = lookup(name)
        op, arg = m["op"], m["arg"] or ""
        if op in (":-", "-"):
            use_default = value is None or (op == ":-" and value == "")
            return arg if use_default else str(value)
        if op in (":+", "+"):
            has = value is not None and (op == "+" or value != "")
            return arg if has else ""
        if value is None:
            missing.append(name)
            return m[0]
        return value

    result = _VAR.sub(repl, text)
    if missing:
        raise Unresolved(missing, line)
    return result


def chain(*lookups: Lookup) -> Lookup:
    def lookup(name: str) -> str | None:
        for fn in lookups:
            value = fn(name)
            if value is not None:
                return value
        return None

    return lookup


# --------------------------------------------------------------------------- INI


@dataclass
class IniSection:
    name: str
    line: int
    entries: dict[str, list[tuple[str, int]]] = field(default_factory=dict)

    def first(self, key: str) -> tuple[str, int] | None:
        values = self.entries.get(key)
        return values[0] if values else None

    def tokens(self, key: str, seps: str = r"[\s,]+") -> list[tuple[str, int]]:
        out: list[tuple[str, int]] = []
        for text, line in self.entries.get(key, []):
            out.extend((tok, line) for tok in re.split(seps, text) if tok)
        return out


def parse_ini(text: str) -> list[IniSection]:
    """configparser-like INI that keeps line numbers; keys are lower-cased."""
    sections: list[IniSection] = []
    current: IniSection | None = None
    last_key: str | None = None
    for n, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if raw[0] in " \t" and current is not None and last_key is not None:
            current.entries[last_key].append((stripped, n))
            continue
        if stripped.startswith("["):
            if not stripped.endswith("]"):
                raise Malformed(n, "unterminated section header")
            current = IniSection(stripped[1:-1].strip(), n)
            sections.append(current)
            last_key = None
            continue
        cuts = [i for i in (stripped.find("="), stripped.find(":")) if i > 0]
        if not cuts:
            raise Malformed(n, "expected 'key = value'")
        if current is None:
            raise Malformed(n, "entry before any [section]")
        cut = min(cuts)
        last_key = stripped[:cut].strip().lower()
        current.entries[last_key] = [(stripped[cut + 1 :].strip(), n)]
    return sections


# --------------------------------------------------------------------------- JSON, YAML


def load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise Malformed(exc.lineno, f"invalid JSON ({exc.msg})") from None


def json_line(text: str, key: str, value: str | None = None, start: int = 0) -> int | None:
    """Line of `"key":` (or of `value` after it) found by scanning the text."""
    m = re.compile(rf'"{re.escape(key)}"\s*:').search(text, start)
    if not m:
        return None
    pos = m.start()
    if value is not None:
        found = text.find(json.dumps(value, ensure_ascii=False), m.end())
        if found >= 0:
            pos = found
    return line_at(text, pos)


def yaml_document(text: str, path: str) -> LocatedYaml:
    """One YAML document with the line of every key and item (one loader per document, with
    the same bounds as the config file); anything wrong makes the file Malformed."""
    try:
        return load_yaml(path, text)
    except ConfigError as exc:
        detail = exc.detail.removeprefix("invalid YAML: ")
        if exc.key:
            detail = f"{exc.key}: {detail}"
        raise Malformed(exc.line, f"invalid YAML ({detail})") from None
