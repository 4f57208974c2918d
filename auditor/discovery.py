"""Dependency discovery (`discover: true`): what the workload on this host reaches out to.

`discover()` reads well-known configuration files below `root` (package managers, container
tooling, log shippers), the environment, and files found under `search_paths`, and returns
network targets, each with the file and line it came from. It never touches the network.

Behaviour where the formats leave a choice:

- Loopback destinations (localhost, 127.0.0.0/8, ::1) and local sources (apt `file:`/`cdrom:`,
  yum `file://`) are not network dependencies and are left out.
- URLs lose their credentials (`user:pass@`), query string and fragment before they are stored
  or named, so tokens such as `?dd-api-key=` never reach a report.
- HTTP log outputs: TLS or `https` gives `https-intake`, plain gives `http`. Address outputs:
  syslog over TCP gives `syslog-tcp`, syslog over TLS gives `syslog-tls`, other TCP protocols
  (fluentd/fluent-bit forward, RELP, vector socket/vector sinks) give `tcp` whatever their TLS
  setting. UDP cannot be proven by a connect: it is reported in `problems` and skipped.
- The fluent-bit `datadog` output is taken as TLS on unless `TLS off` is written (the intake
  only accepts TLS).
- yum/dnf variables are resolved from `/etc/dnf/vars`, `/etc/yum/vars` and `DNF_VAR_*`/`YUMn`;
  the rest (`$releasever`, `$basearch` when unset) stay literally in the URL and are noted in
  `problems`.
- CloudWatch agent: a `logs` section gives `endpoint_override` when set, else
  `https://logs.{region}.amazonaws.com/` with the region from `agent.region` (the file's own,
  then the main file's), then `AWS_REGION`/`AWS_DEFAULT_REGION`. With no region known the agent
  would ask instance metadata at run time: the file gets a problem and no target.
- A target's line is the line of the directive that names the destination (the `Host`,
  `endpoint`, `uri`, `action(` ...), or the line naming the plugin when the destination is the
  plugin's default.
- `problems` holds files that were skipped (unreadable, malformed) and notes about directives
  that were found but cannot be probed (UDP, unset variables).
"""

from __future__ import annotations

import fnmatch
import glob
import ipaddress
import json
import os
import re
import shlex
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

__all__ = ["DiscoveredTarget", "DiscoveryProblem", "DiscoveryResult", "discover"]

DEPENDENCY = "dependency"
LOG_SHIPPER = "log_shipper"
DOCKER_HUB = "registry-1.docker.io"

MAX_WALK_DEPTH = 6
MAX_INCLUDE_DEPTH = 4
MAX_FILE_BYTES = 4 * 1024 * 1024
SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        ".venv",
        "venv",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        "site-packages",
    }
)


@dataclass(frozen=True)
class DiscoveredTarget:
    name: str
    kind: str
    category: str
    source: str
    line: int | None
    url: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class DiscoveryProblem:
    source: str
    message: str


@dataclass
class DiscoveryResult:
    targets: list[DiscoveredTarget] = field(default_factory=list)
    problems: list[DiscoveryProblem] = field(default_factory=list)


# --------------------------------------------------------------------------- plumbing


class _Malformed(Exception):
    def __init__(self, line: int | None, why: str, source: str | None = None) -> None:
        self.line = line
        self.why = why
        self.source = source
        where = f"malformed at line {line}" if line else "malformed"
        super().__init__(f"{where}: {why}")


class _Unresolved(Exception):
    def __init__(self, names: Sequence[str], line: int | None) -> None:
        self.names = list(names)
        self.line = line
        super().__init__(", ".join(names))


class _Skip(Exception):
    """One directive cannot be used; the rest of the file still can."""


@dataclass(frozen=True)
class _Hit:
    name: str
    kind: str
    line: int | None
    url: str | None = None
    address: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class _Note:
    message: str
    source: str | None = None


_Item = _Hit | _Note
Lookup = Callable[[str], str | None]


class _Collector:
    def __init__(self, root: Path, env: Mapping[str, str]) -> None:
        self.root = root
        self.env = env
        self.result = DiscoveryResult()
        self._seen: set[tuple[str, str]] = set()
        self._parsed: set[str] = set()

    def problem(self, source: str, message: str) -> None:
        self.result.problems.append(DiscoveryProblem(source, message))

    def add(self, hit: _Hit, category: str, source: str) -> None:
        if hit.url is None and hit.address is None:
            return
        host = _host_of(hit.url) if hit.url else _host_of_address(hit.address or "")
        if not host or _is_loopback(host):
            return
        key = (hit.kind, hit.url or hit.address or "")
        if key in self._seen:
            return
        self._seen.add(key)
        self.result.targets.append(
            DiscoveredTarget(
                name=hit.name,
                kind=hit.kind,
                category=category,
                source=hit.source or source,
                line=hit.line,
                url=hit.url,
                address=hit.address,
            )
        )

    def includes(self, path: Path, pattern: str) -> list[Path]:
        """Files matched by an include `pattern` written in `path` (absolute: below root)."""
        full = _at(self.root, pattern) if pattern.startswith("/") else path.parent / pattern
        return sorted(Path(p) for p in glob.glob(str(full)))

    def first_visit(self, path: Path) -> bool:
        key = os.path.realpath(path)
        if key in self._parsed:
            return False
        self._parsed.add(key)
        return True

    def read(self, path: Path) -> str | None:
        """File text, or None (with a problem recorded) when it cannot be read."""
        try:
            if path.is_dir():
                self.problem(str(path), "unreadable: is a directory, not a file")
                return None
            if path.is_symlink() and not path.exists():
                self.problem(str(path), "unreadable: broken symbolic link")
                return None
            with path.open("rb") as fh:
                data = fh.read(MAX_FILE_BYTES + 1)
        except PermissionError:
            self.problem(str(path), "unreadable: permission denied")
            return None
        except OSError as exc:
            self.problem(str(path), f"unreadable: {exc.strerror or exc}")
            return None
        if len(data) > MAX_FILE_BYTES:
            self.problem(str(path), f"skipped: larger than {MAX_FILE_BYTES} bytes")
            return None
        return data.decode("utf-8", errors="replace")

    def scan(
        self, path: Path, category: str, parse: Callable[[str, Path], Iterable[_Item]]
    ) -> None:
        """Read `path`, run `parse` on it and record its hits; never raises."""
        if not os.path.lexists(path) or not self.first_visit(path):
            return
        text = self.read(path)
        if text is None:
            return
        try:
            # parsers are generators: run to the end first, so a malformed file adds nothing
            items = list(parse(text, path))
        except _Malformed as exc:
            self.problem(exc.source or str(path), str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - one bad file never stops discovery
            self.problem(str(path), f"could not be parsed: {type(exc).__name__}: {exc}")
            return
        for item in items:
            if isinstance(item, _Note):
                self.problem(item.source or str(path), item.message)
            else:
                self.add(item, category, str(path))


def _at(root: Path, path: str) -> Path:
    return root / path.lstrip("/")


def _line_at(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}:
        return True
    if host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _host_of(url: str | None) -> str | None:
    if not url:
        return None
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def _host_of_address(address: str) -> str | None:
    parsed = _split_hostport(address)
    return parsed[0] if parsed else None


def _clean_url(url: str) -> str | None:
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


def _url_label(url: str) -> str:
    return _host_of(url) or url


def _split_hostport(text: str) -> tuple[str, int] | None:
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


def _address(host: str, port: int) -> str:
    host = host.strip("[]")
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _http_url(tls: bool, host: str, port: int, path: str) -> str:
    scheme = "https" if tls else "http"
    netloc = f"[{host.strip('[]')}]" if ":" in host else host
    if port != (443 if tls else 80):
        netloc = f"{netloc}:{port}"
    if not path.startswith("/"):
        path = "/" + path
    return f"{scheme}://{netloc}{path}"


def _url_hit(name: str, raw: str, line: int | None, source: str | None = None) -> _Hit | None:
    """An HTTP(S) log intake: `https-intake` for https, `http` for plain."""
    url = _clean_url(raw)
    if url is None:
        return None
    kind = "https-intake" if url.startswith("https:") else "http"
    return _Hit(name, kind, line, url=url, source=source)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"on", "true", "yes", "1", "enable", "enabled"}


def _udp_note(what: str, line: int | None, source: str | None = None) -> _Note:
    where = f" at line {line}" if line else ""
    return _Note(f"UDP {what}{where} is not probeable (only TCP or TLS can be proven)", source)


def _unset_note(exc: _Unresolved, what: str, source: str | None = None) -> _Note:
    names = ", ".join(f"${{{n}}}" for n in exc.names)
    where = f"line {exc.line}: " if exc.line else ""
    verb = "is" if len(exc.names) == 1 else "are"
    return _Note(f"{where}{names} {verb} not set; {what} skipped", source)


_VAR = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-+?])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


def _expand(text: str, lookup: Lookup, *, bare: bool = True, line: int | None = None) -> str:
    """Shell-style `${VAR}`, `${VAR:-default}`, `${VAR:+alt}` (and `$VAR` when `bare`).

    Raises _Unresolved when a variable has neither a value nor a default.
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
        raise _Unresolved(missing, line)
    return result


def _env_lookup(env: Mapping[str, str]) -> Lookup:
    return env.get


def _chain(*lookups: Lookup) -> Lookup:
    def lookup(name: str) -> str | None:
        for fn in lookups:
            value = fn(name)
            if value is not None:
                return value
        return None

    return lookup


# --------------------------------------------------------------------------- INI


@dataclass
class _IniSection:
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


def _parse_ini(text: str) -> list[_IniSection]:
    """configparser-like INI that keeps line numbers; keys are lower-cased."""
    sections: list[_IniSection] = []
    current: _IniSection | None = None
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
                raise _Malformed(n, "unterminated section header")
            current = _IniSection(stripped[1:-1].strip(), n)
            sections.append(current)
            last_key = None
            continue
        cuts = [i for i in (stripped.find("="), stripped.find(":")) if i > 0]
        if not cuts:
            raise _Malformed(n, "expected 'key = value'")
        if current is None:
            raise _Malformed(n, "entry before any [section]")
        cut = min(cuts)
        last_key = stripped[:cut].strip().lower()
        current.entries[last_key] = [(stripped[cut + 1 :].strip(), n)]
    return sections


def _load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _Malformed(exc.lineno, f"invalid JSON ({exc.msg})") from None


def _json_line(text: str, key: str, value: str | None = None, start: int = 0) -> int | None:
    """Line of `"key":` (or of `value` after it) found by scanning the text."""
    m = re.compile(rf'"{re.escape(key)}"\s*:').search(text, start)
    if not m:
        return None
    pos = m.start()
    if value is not None:
        found = text.find(json.dumps(value, ensure_ascii=False), m.end())
        if found >= 0:
            pos = found
    return _line_at(text, pos)


# --------------------------------------------------------------------------- YAML helpers

_YAML_LOADER = yaml.SafeLoader("")


def _yaml_compose(text: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise _Malformed(line, f"invalid YAML ({exc.problem or exc.context})") from None
    except yaml.YAMLError as exc:
        raise _Malformed(None, f"invalid YAML ({exc})") from None


def _ymap(node: yaml.Node | None) -> dict[str, tuple[int, yaml.Node]]:
    """Mapping node as {key: (key line, value node)}."""
    if not isinstance(node, yaml.MappingNode):
        return {}
    out: dict[str, tuple[int, yaml.Node]] = {}
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode):
            out[str(key_node.value)] = (key_node.start_mark.line + 1, value_node)
    return out


def _yval(node: yaml.Node) -> Any:
    return _YAML_LOADER.construct_object(node, deep=True)


def _yline(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return "" if value is None else str(value)


# --------------------------------------------------------------------------- apt

_APT_LINE = re.compile(r"(deb|deb-src)\s+(?:\[[^\]]*\]\s*)?(\S+)\s+(\S+)(?:\s+(\S.*))?$")


def _apt_hit(uri: str, suite: str, line: int) -> _Hit | None:
    uri = uri.removeprefix("tor+")
    if uri.startswith("mirror+") or uri.startswith("mirror://"):
        # apt-transport-mirror: the mirror list is what apt fetches first
        raw = uri.removeprefix("mirror+")
        raw = "http://" + raw[len("mirror://") :] if raw.startswith("mirror://") else raw
        url = _clean_url(raw)
        if url is None:
            return None
        kind = "https" if url.startswith("https:") else "http"
        return _Hit(f"apt mirror list {_url_label(url)}", kind, line, url=url)
    base = _clean_url(uri)
    if base is None:
        return None
    base = base.rstrip("/")
    if suite.endswith("/"):  # flat repository: the suite is a path
        rel = suite.rstrip("/").removeprefix("./")
        path = "InRelease" if rel in ("", ".") else f"{rel}/InRelease"
        label = rel or "flat"
    else:
        path = f"dists/{suite}/InRelease"
        label = suite
    return _Hit(f"apt {_url_label(base)} {label}", "apt", line, url=f"{base}/{path}")


def _parse_apt_list(text: str, path: Path | None = None) -> Iterator[_Item]:
    """One-line `sources.list` format."""
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = _APT_LINE.match(line)
        if not m:
            raise _Malformed(n, "expected 'deb [options] URI suite [component...]'")
        uri, suite, components = m[2], m[3], m[4]
        if not components and not suite.endswith("/"):
            raise _Malformed(n, "no component after the suite")
        hit = _apt_hit(uri, suite, n)
        if hit:
            yield hit


def _deb822_paragraphs(text: str) -> list[tuple[int, dict[str, list[tuple[str, int]]]]]:
    paragraphs: list[tuple[int, dict[str, list[tuple[str, int]]]]] = []
    current: dict[str, list[tuple[str, int]]] = {}
    start = 0
    last: str | None = None
    for n, raw in enumerate(text.splitlines(), 1):
        if raw.startswith("#"):
            continue
        if not raw.strip():
            if current:
                paragraphs.append((start, current))
            current, last = {}, None
            continue
        if raw[0] in " \t":
            if last is None:
                raise _Malformed(n, "continuation line outside a field")
            current[last].append((raw.strip(), n))
            continue
        key, sep, value = raw.partition(":")
        if not sep or not key.strip() or " " in key.strip():
            raise _Malformed(n, "expected 'Field: value'")
        if not current:
            start = n
        last = key.strip().lower()
        current[last] = [(value.strip(), n)]
    if current:
        paragraphs.append((start, current))
    return paragraphs


def _deb822_tokens(para: Mapping[str, list[tuple[str, int]]], key: str) -> list[tuple[str, int]]:
    return [(tok, line) for value, line in para.get(key, []) for tok in value.split()]


def _parse_apt_sources(text: str, path: Path | None = None) -> Iterator[_Item]:
    """deb822 `.sources` format."""
    for start, para in _deb822_paragraphs(text):
        types, uris, suites = (_deb822_tokens(para, k) for k in ("types", "uris", "suites"))
        if not types or not uris or not suites:
            raise _Malformed(start, "paragraph without Types, URIs or Suites")
        enabled = _deb822_tokens(para, "enabled")
        if enabled and enabled[0][0].lower() in {"no", "false", "0"}:
            continue
        if not {t for t, _ in types} & {"deb", "deb-src"}:
            continue
        for uri, line in uris:
            for suite, _ in suites:
                hit = _apt_hit(uri, suite, line)
                if hit:
                    yield hit


def _discover_apt(coll: _Collector, root: Path) -> None:
    coll.scan(_at(root, "/etc/apt/sources.list"), DEPENDENCY, _parse_apt_list)
    folder = _at(root, "/etc/apt/sources.list.d")
    for path in sorted(folder.glob("*.list")):
        coll.scan(path, DEPENDENCY, _parse_apt_list)
    for path in sorted(folder.glob("*.sources")):
        coll.scan(path, DEPENDENCY, _parse_apt_sources)


# --------------------------------------------------------------------------- yum / dnf

_YUM_VAR = re.compile(r"\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))")


def _yum_vars(coll: _Collector, root: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for folder in ("/etc/yum/vars", "/etc/dnf/vars"):
        for path in sorted(_at(root, folder).glob("*")):
            if path.is_dir():
                continue
            text = coll.read(path)
            if text is not None and text.strip():
                values[path.name.lower()] = text.strip().splitlines()[0].strip()
    for key, value in coll.env.items():
        if key.startswith("DNF_VAR_"):
            values[key[len("DNF_VAR_") :].lower()] = value
        elif re.fullmatch(r"YUM[0-9]", key):
            values[key.lower()] = value
    return values


def _parse_yum_repo(text: str, variables: Mapping[str, str]) -> Iterator[_Item]:
    """`.repo` file: enabled `baseurl`s, `mirrorlist` and `metalink` of each repository."""
    unresolved: dict[str, set[int]] = {}

    def substitute(value: str, line: int) -> str:
        def repl(m: re.Match[str]) -> str:
            name = (m[1] or m[2]).lower()
            if name in variables:
                return variables[name]
            unresolved.setdefault(m[0] if m[2] else f"${name}", set()).add(line)
            return m[0]

        return _YUM_VAR.sub(repl, value)

    for section in _parse_ini(text):
        repo = section.name
        if repo.lower() == "main":
            continue
        enabled = section.first("enabled")
        if enabled and enabled[0].lower() in {"0", "false", "no", "off"}:
            continue
        for raw, line in section.tokens("baseurl"):
            url = _clean_url(substitute(raw, line))
            if url:
                url = url.rstrip("/") + "/repodata/repomd.xml"
                yield _Hit(f"yum {repo}", "yum", line, url=url)
        for key in ("mirrorlist", "metalink"):
            entry = section.first(key)
            if not entry or not entry[0]:
                continue
            url = _clean_url(substitute(entry[0], entry[1]))
            if url:
                kind = "https" if url.startswith("https:") else "http"
                yield _Hit(f"yum {repo} {key}", kind, entry[1], url=url)
    if unresolved:
        names = ", ".join(sorted(unresolved))
        lines = sorted({ln for lines in unresolved.values() for ln in lines})
        where = ", ".join(str(ln) for ln in lines)
        plural = "s" if len(lines) > 1 else ""
        yield _Note(f"line{plural} {where}: {names} kept literally in the URL")


def _discover_yum(coll: _Collector, root: Path) -> None:
    paths = sorted(_at(root, "/etc/yum.repos.d").glob("*.repo"))
    if not paths:
        return
    variables = _yum_vars(coll, root)
    for path in paths:
        coll.scan(path, DEPENDENCY, lambda text, _p: _parse_yum_repo(text, variables))


# --------------------------------------------------------------------------- pip

_PIP_KEYS = {"index-url": "pip index", "extra-index-url": "pip extra index"}
_PIP_SECTIONS = {"global", "install"}


def _pip_hit(label: str, raw: str, line: int | None, source: str | None = None) -> _Item | None:
    url = _clean_url(raw)
    if url is None:
        return None
    if "${" in url:
        return _Note(f"line {line}: unset variable in index URL; skipped", source)
    return _Hit(f"{label} {_url_label(url)}", "pypi", line, url=url, source=source)


def _parse_pip_conf(text: str, path: Path | None = None) -> Iterator[_Item]:
    """`index-url` / `extra-index-url` in `[global]` and `[install]`."""
    for section in _parse_ini(text):
        if section.name.lower() not in _PIP_SECTIONS:
            continue
        for key in section.entries:
            label = _PIP_KEYS.get(key.replace("_", "-").removeprefix("--"))
            if label is None:
                continue
            for raw, line in section.tokens(key, r"\s+"):
                item = _pip_hit(label, raw, line)
                if item:
                    yield item


_REQ_COMMENT = re.compile(r"(^|\s+)#.*$")
_REQ_OPTIONS = {
    "-i": "pip index",
    "--index-url": "pip index",
    "--extra-index-url": "pip extra index",
}


def _logical_lines(text: str) -> Iterator[tuple[str, int]]:
    """Lines joined across trailing backslashes, with the number of their first line."""
    buf: list[str] = []
    start = 0
    for n, raw in enumerate(text.splitlines(), 1):
        if not buf:
            start = n
        if raw.endswith("\\"):
            buf.append(raw[:-1])
            continue
        buf.append(raw)
        yield "".join(buf), start
        buf = []
    if buf:
        yield "".join(buf), start


def _parse_requirements(text: str, env: Mapping[str, str]) -> Iterator[_Item]:
    """`-i`, `--index-url` and `--extra-index-url` lines of a requirements file."""
    for raw, n in _logical_lines(text):
        line = _REQ_COMMENT.sub("", raw).strip()
        if not line.startswith("-"):
            continue
        try:
            tokens = shlex.split(line)
        except ValueError:
            yield _Note(f"line {n}: unbalanced quotes; line ignored")
            continue
        pending: str | None = None
        for tok in tokens:
            value: str | None = None
            label: str | None = None
            if pending:
                label, value, pending = pending, tok, None
            elif tok in _REQ_OPTIONS:
                pending = _REQ_OPTIONS[tok]
            elif "=" in tok and tok.split("=", 1)[0] in _REQ_OPTIONS:
                opt, value = tok.split("=", 1)
                label = _REQ_OPTIONS[opt]
            elif tok.startswith("-i") and not tok.startswith("--") and len(tok) > 2:
                label, value = "pip index", tok[2:]
            if label and value:
                # pip expands ${VAR} (upper case, digits, _) from the environment
                value = re.sub(r"\$\{([A-Z0-9_]+)\}", lambda m: env.get(m[1], m[0]), value)
                item = _pip_hit(label, value, n)
                if item:
                    yield item


def _home_paths(root: Path, env: Mapping[str, str], *rel: str) -> list[Path]:
    homes = ["/root"]
    home = env.get("HOME", "")
    if home.startswith("/") and home.rstrip("/") != "/root":
        homes.append(home.rstrip("/"))
    return [_at(root, f"{h}/{r}") for h in homes for r in rel]


def _discover_pip(coll: _Collector, root: Path, found: Mapping[str, list[Path]]) -> None:
    paths = [_at(root, "/etc/pip.conf"), _at(root, "/etc/xdg/pip/pip.conf")]
    paths += _home_paths(root, coll.env, ".pip/pip.conf", ".config/pip/pip.conf")
    config_file = coll.env.get("PIP_CONFIG_FILE", "")
    if config_file.startswith("/") and config_file != os.devnull:
        paths.append(_at(root, config_file))
    for path in paths:
        coll.scan(path, DEPENDENCY, _parse_pip_conf)
    for var, label, many in (
        ("PIP_INDEX_URL", "pip index", False),
        ("PIP_EXTRA_INDEX_URL", "pip extra index", True),
    ):
        value = coll.env.get(var, "").strip()
        for raw in value.split() if many else ([value] if value else []):
            item = _pip_hit(label, raw, None, source=f"env:{var}")
            if isinstance(item, _Hit):
                coll.add(item, DEPENDENCY, f"env:{var}")
            elif item:
                coll.problem(f"env:{var}", "unset variable in index URL; skipped")
    for path in found["pipconf"]:
        coll.scan(path, DEPENDENCY, _parse_pip_conf)
    for path in found["requirements"]:
        coll.scan(path, DEPENDENCY, lambda text, _p: _parse_requirements(text, coll.env))


# --------------------------------------------------------------------------- npm


def _npm_hit(key: str, raw: str, line: int | None, lookup: Lookup) -> _Item | None:
    if key == "registry":
        label = "npm registry"
    else:
        m = re.fullmatch(r"(@[^:\s]+):registry", key)
        if not m:
            return None
        label = f"npm registry {m[1]}"
    try:
        value = _expand(raw, lookup, bare=False, line=line)
    except _Unresolved as exc:
        return _unset_note(exc, "registry")
    url = _clean_url(value)
    if url is None:
        return None
    return _Hit(f"{label} {_url_label(url)}", "npm", line, url=url)


def _parse_npmrc(text: str, env: Mapping[str, str]) -> Iterator[_Item]:
    """`registry=` and `@scope:registry=`; `//host/:_authToken=` lines are ignored."""
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        key, _, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if key.startswith("//"):
            continue
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        item = _npm_hit(key, value, n, _env_lookup(env))
        if item:
            yield item


def _discover_npm(coll: _Collector, root: Path, found: Mapping[str, list[Path]]) -> None:
    paths = [_at(root, "/etc/npmrc"), _at(root, "/usr/local/etc/npmrc")]
    paths += _home_paths(root, coll.env, ".npmrc")
    for path in paths:
        coll.scan(path, DEPENDENCY, lambda text, _p: _parse_npmrc(text, coll.env))
    for key, value in coll.env.items():
        if key.lower() == "npm_config_registry":
            item = _npm_hit("registry", value.strip(), None, _env_lookup(coll.env))
            if isinstance(item, _Hit):
                coll.add(item, DEPENDENCY, f"env:{key}")
    for path in found["npmrc"]:
        coll.scan(path, DEPENDENCY, lambda text, _p: _parse_npmrc(text, coll.env))


# --------------------------------------------------------------------------- docker


def _parse_daemon_json(text: str, path: Path | None = None) -> Iterator[_Item]:
    """`registry-mirrors` and `insecure-registries` of Docker's daemon.json."""
    data = _load_json(text)
    if not isinstance(data, dict):
        raise _Malformed(1, "expected a JSON object")
    for entry in _str_list(data.get("registry-mirrors")):
        url = _clean_url(entry if "://" in entry else f"https://{entry}")
        if url:
            line = _json_line(text, "registry-mirrors", entry)
            url = url.rstrip("/") + "/v2/"
            yield _Hit(f"docker mirror {_url_label(url)}", "oci-registry", line, url=url)
    for entry in _str_list(data.get("insecure-registries")):
        if "://" not in entry:
            try:
                ipaddress.ip_network(entry, strict=False)
                continue  # a CIDR range, not a registry
            except ValueError:
                pass
        # insecure registries are usually plain HTTP; an explicit scheme wins
        url = _clean_url(entry if "://" in entry else f"http://{entry}")
        if url:
            line = _json_line(text, "insecure-registries", entry)
            url = url.rstrip("/") + "/v2/"
            name = f"docker insecure registry {_url_label(url)}"
            yield _Hit(name, "oci-registry", line, url=url)


def _str_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _image_registry(ref: str) -> str:
    """Registry host of an image reference (Docker Hub when the first component is no host)."""
    first, sep, _ = ref.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        host = first.lower()
        return DOCKER_HUB if host in ("docker.io", "index.docker.io") else host
    return DOCKER_HUB


def _image_hit(ref: str, stages: set[str], line: int) -> _Hit | None:
    ref = ref.strip()
    if not ref or ref.lower() == "scratch" or ref.lower() in stages:
        return None
    host = _image_registry(ref)
    return _Hit(f"image registry {host}", "oci-registry", line, url=f"https://{host}/v2/")


_DIRECTIVE = re.compile(r"#\s*([A-Za-z]+)\s*=\s*(\S+)\s*$")
_HEREDOC = re.compile(r"(?<!<)<<(?!<)-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")


def _dockerfile_lines(text: str) -> tuple[dict[str, tuple[str, int]], list[tuple[str, int]]]:
    """Parser directives and logical instruction lines (continuations joined, heredocs cut)."""
    raw_lines = text.splitlines()
    directives: dict[str, tuple[str, int]] = {}
    for n, raw in enumerate(raw_lines, 1):
        m = _DIRECTIVE.match(raw.strip())
        if not m or m[1].lower() in directives:
            break
        directives[m[1].lower()] = (m[2], n)
    escape = directives.get("escape", ("\\", 0))[0]
    logical: list[tuple[str, int]] = []
    buf: list[str] = []
    start = 0
    heredocs: list[str] = []
    for n, raw in enumerate(raw_lines, 1):
        stripped = raw.strip()
        if heredocs:
            if stripped == heredocs[0]:
                heredocs.pop(0)
            continue
        if not stripped or stripped.startswith("#"):
            continue
        if not buf:
            start = n
        if stripped.endswith(escape):
            buf.append(stripped[: -len(escape)])
            continue
        buf.append(stripped)
        instruction = " ".join(buf)
        logical.append((instruction, start))
        buf = []
        if instruction.split(None, 1)[0].upper() in {"RUN", "COPY", "ADD"}:
            heredocs = [m[2] for m in _HEREDOC.finditer(instruction)]
    if buf:
        logical.append((" ".join(buf), start))
    return directives, logical


def _parse_dockerfile(text: str, path: Path | None = None) -> Iterator[_Item]:
    """Registries of `FROM` images, `COPY --from=image` and the `# syntax=` frontend."""
    directives, logical = _dockerfile_lines(text)
    stages: set[str] = set()
    if "syntax" in directives:
        ref, line = directives["syntax"]
        hit = _image_hit(ref, stages, line)
        if hit:
            yield hit
    meta_args: dict[str, str | None] = {}
    seen_from = False
    for instruction, n in logical:
        word, rest = [*instruction.split(None, 1), ""][:2]
        word = word.upper()
        if word == "ARG" and not seen_from:
            try:
                args = shlex.split(rest)
            except ValueError:
                raise _Malformed(n, "unbalanced quotes in ARG") from None
            for arg in args:
                name, eq, value = arg.partition("=")
                meta_args[name] = value if eq else None
        elif word == "FROM":
            seen_from = True
            words = [w for w in rest.split() if not w.startswith("--")]
            if not words:
                raise _Malformed(n, "FROM without an image")
            alias = words[2].lower() if len(words) >= 3 and words[1].lower() == "as" else None
            try:
                ref = _expand(words[0], meta_args.get, line=n)
            except _Unresolved as exc:
                names = ", ".join(f"${e}" for e in exc.names)
                yield _Note(f"line {n}: FROM uses {names} without a default; skipped")
            else:
                hit = _image_hit(ref, stages, n)
                if hit:
                    yield hit
            if alias:
                stages.add(alias)
        elif word == "COPY":
            for w in rest.split():
                if w.startswith("--from="):
                    ref = w[len("--from=") :]
                    if ref.isdigit() or "$" in ref:
                        continue
                    hit = _image_hit(ref, stages, n)
                    if hit:
                        yield hit


def _discover_docker(coll: _Collector, root: Path, found: Mapping[str, list[Path]]) -> None:
    coll.scan(_at(root, "/etc/docker/daemon.json"), DEPENDENCY, _parse_daemon_json)
    for path in found["dockerfile"]:
        coll.scan(path, DEPENDENCY, _parse_dockerfile)


# --------------------------------------------------------------------------- fluent-bit

# plugin: (default host, default port, key holding the path, default path, default TLS)
_FB_HTTP: dict[str, tuple[str, int, str | None, str, bool]] = {
    "http": ("127.0.0.1", 80, "uri", "/", False),
    "es": ("127.0.0.1", 9200, "path", "/", False),
    "loki": ("127.0.0.1", 3100, "uri", "/loki/api/v1/push", False),
    "splunk": ("127.0.0.1", 8088, None, "/services/collector/event", False),
    "datadog": ("http-intake.logs.datadoghq.com", 443, None, "/api/v2/logs", True),
    "opentelemetry": ("127.0.0.1", 80, "logs_uri", "/v1/logs", False),
}
# plugin: default port, for TCP outputs that are not syslog
_FB_TCP = {"forward": 24224, "tcp": 5170}


def _aws_logs_url(region: str) -> str:
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://logs.{region}.{domain}/"


def _endpoint_url(raw: str) -> str | None:
    url = _clean_url(raw if "://" in raw else f"https://{raw}")
    if url and urlsplit(url).path == "":
        url += "/"
    return url


def _fluent_bit_output(
    props: Mapping[str, tuple[str, int]], source: str | None, lookup: Lookup
) -> Iterator[_Item]:
    """Target of one fluent-bit output; `props` maps lower-case keys to (value, line)."""
    if "name" not in props:
        return
    plugin = props["name"][0].strip().lower()
    name_line = props["name"][1]

    def val(key: str, default: str | None = None) -> str | None:
        if key not in props:
            return default
        value, line = props[key]
        return _expand(value, lookup, bare=False, line=line).strip()

    def line_of(*keys: str) -> int:
        for key in keys:
            if key in props:
                return props[key][1]
        return name_line

    def port(default: int) -> int:
        text = val("port", str(default)) or str(default)
        if not text.isdigit():
            raise _Skip(f"line {line_of('port')}: port {text!r} is not a number; output skipped")
        return int(text)

    try:
        if plugin in _FB_HTTP:
            d_host, d_port, path_key, d_path, d_tls = _FB_HTTP[plugin]
            host = val("host", d_host) or d_host
            tls = _truthy(val("tls", "on" if d_tls else "off"))
            path = (val(path_key, d_path) if path_key else d_path) or "/"
            url = _http_url(tls, host, port(d_port), path)
            kind = "https-intake" if tls else "http"
            yield _Hit(
                f"fluent-bit output {plugin} {host}", kind, line_of("host"), url=url, source=source
            )
        elif plugin == "syslog":
            host = val("host", "127.0.0.1") or "127.0.0.1"
            mode = (val("mode", "udp") or "udp").lower()
            line = line_of("host")
            if mode == "udp":
                yield _udp_note("syslog forwarding", line, source)
                return
            kind = "syslog-tls" if mode == "tls" else "syslog-tcp"
            address = _address(host, port(514))
            name = f"fluent-bit output syslog {host}"
            yield _Hit(name, kind, line, address=address, source=source)
        elif plugin in _FB_TCP:
            host = val("host", "127.0.0.1") or "127.0.0.1"
            address = _address(host, port(_FB_TCP[plugin]))
            yield _Hit(
                f"fluent-bit output {plugin} {host}",
                "tcp",
                line_of("host"),
                address=address,
                source=source,
            )
        elif plugin == "cloudwatch_logs":
            endpoint = val("endpoint")
            region = val("region")
            url = _endpoint_url(endpoint) if endpoint else None
            if url is None and region:
                url = _aws_logs_url(region)
            if url:
                yield _Hit(
                    f"fluent-bit output cloudwatch_logs {region or _url_label(url)}",
                    "https-intake",
                    line_of("endpoint", "region"),
                    url=url,
                    source=source,
                )
    except _Unresolved as exc:
        yield _unset_note(exc, "output", source)
    except _Skip as exc:
        yield _Note(str(exc), source)


def _fluent_bit_classic_sections(
    coll: _Collector, path: Path, text: str, variables: dict[str, str], depth: int = 0
) -> list[tuple[str, str, dict[str, tuple[str, int]]]]:
    """Sections as (NAME, source, {key: (value, line)}), includes followed."""
    sections: list[tuple[str, str, dict[str, tuple[str, int]]]] = []
    current: dict[str, tuple[str, int]] | None = None
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("@"):
            directive, _, arg = line.partition(" ")
            arg = arg.strip()
            if directive.upper() == "@SET":
                key, _, value = arg.partition("=")
                variables[key.strip()] = value.strip()
            elif directive.upper() == "@INCLUDE":
                if depth >= MAX_INCLUDE_DEPTH:
                    raise _Malformed(n, "@INCLUDE nested too deep", str(path))
                for inc in coll.includes(path, arg):
                    inc_text = coll.read(inc)
                    if inc_text is not None:
                        sections += _fluent_bit_classic_sections(
                            coll, inc, inc_text, variables, depth + 1
                        )
            continue
        if line.startswith("["):
            if not line.endswith("]"):
                raise _Malformed(n, "unterminated section header", str(path))
            current = {}
            sections.append((line[1:-1].strip().upper(), str(path), current))
            continue
        if current is None:
            raise _Malformed(n, "entry outside a section", str(path))
        parts = line.split(None, 1)
        current[parts[0].lower()] = (parts[1].strip() if len(parts) > 1 else "", n)
    return sections


def _parse_fluent_bit_conf(coll: _Collector, text: str, path: Path) -> Iterator[_Item]:
    """Classic `[OUTPUT]` sections (with `@INCLUDE` and `@SET`)."""
    variables: dict[str, str] = {}
    sections = _fluent_bit_classic_sections(coll, path, text, variables)
    lookup = _chain(variables.get, _env_lookup(coll.env))
    for name, source, props in sections:
        if name == "OUTPUT":
            src = source if source != str(path) else None
            yield from _fluent_bit_output(props, src, lookup)


def _parse_fluent_bit_yaml(text: str, env: Mapping[str, str]) -> Iterator[_Item]:
    """YAML format: `pipeline.outputs`, with the top-level `env` section as variables."""
    top = _ymap(_yaml_compose(text))
    variables: dict[str, str] = {}
    if "env" in top:
        for key, (_, node) in _ymap(top["env"][1]).items():
            variables[key] = _scalar_text(_yval(node))
    lookup = _chain(variables.get, _env_lookup(env))
    pipeline = _ymap(top["pipeline"][1]) if "pipeline" in top else {}
    outputs = pipeline["outputs"][1] if "outputs" in pipeline else None
    if isinstance(outputs, yaml.SequenceNode):
        for node in outputs.value:
            props = {
                key.lower(): (_scalar_text(_yval(value)), line)
                for key, (line, value) in _ymap(node).items()
            }
            yield from _fluent_bit_output(props, None, lookup)


def _discover_fluent_bit(coll: _Collector, root: Path) -> None:
    for conf in (
        "/etc/fluent-bit/fluent-bit.conf",
        "/fluent-bit/etc/fluent-bit.conf",
        "/etc/td-agent-bit/td-agent-bit.conf",
    ):
        coll.scan(
            _at(root, conf), LOG_SHIPPER, lambda text, p: _parse_fluent_bit_conf(coll, text, p)
        )
    for conf in ("/etc/fluent-bit/fluent-bit.yaml", "/etc/fluent-bit/fluent-bit.yml"):
        coll.scan(
            _at(root, conf), LOG_SHIPPER, lambda text, _p: _parse_fluent_bit_yaml(text, coll.env)
        )


# --------------------------------------------------------------------------- vector

LineOf = Callable[[str, str | None], int | None]


def _vector_sink(
    sink_id: str, cfg: Mapping[str, Any], line_of: LineOf, lookup: Lookup
) -> Iterator[_Item]:
    typ = cfg.get("type")
    name = f"vector sink {sink_id}"

    def s(key: str) -> str | None:
        value = cfg.get(key)
        if value is None:
            return None
        return _expand(str(value), lookup, line=line_of(key, str(value))).strip()

    try:
        if typ == "http":
            uri = s("uri")
            if uri:
                hit = _url_hit(name, uri, line_of("uri", cfg.get("uri")))
                if hit:
                    yield hit
        elif typ in ("elasticsearch", "loki", "splunk_hec_logs", "splunk_hec", "splunk_hec_events"):
            raw_endpoints = _str_list(cfg.get("endpoints")) or _str_list(cfg.get("endpoint"))
            key = "endpoints" if "endpoints" in cfg else "endpoint"
            for raw in raw_endpoints:
                line = line_of(key, raw)
                hit = _url_hit(name, _expand(raw, lookup, line=line).strip(), line)
                if hit:
                    yield hit
        elif typ == "datadog_logs":
            endpoint = s("endpoint")
            if endpoint:
                hit = _url_hit(name, endpoint, line_of("endpoint", cfg.get("endpoint")))
                if hit:
                    yield hit
            else:
                site = s("site") or lookup("DD_SITE") or "datadoghq.com"
                line = line_of("site", cfg.get("site")) if "site" in cfg else None
                url = f"https://http-intake.logs.{site}/"
                yield _Hit(name, "https-intake", line or line_of("type", typ), url=url)
        elif typ in ("socket", "vector", "papertrail"):
            key = "endpoint" if typ == "papertrail" else "address"
            raw = s(key)
            line = line_of(key, cfg.get(key))
            mode = (s("mode") or "tcp").lower() if typ == "socket" else "tcp"
            if mode == "udp":
                yield _udp_note("socket sink", line)
                return
            if not raw or mode != "tcp":
                return
            raw = re.sub(r"^[a-z][a-z0-9+.-]*://", "", raw).rstrip("/")
            parsed = _split_hostport(raw)
            if parsed:
                kind = "syslog-tls" if typ == "papertrail" else "tcp"
                yield _Hit(name, kind, line, address=_address(*parsed))
        elif typ == "aws_cloudwatch_logs":
            endpoint = s("endpoint")
            region = s("region") or lookup("AWS_REGION") or lookup("AWS_DEFAULT_REGION")
            if endpoint:
                url = _endpoint_url(endpoint)
                line = line_of("endpoint", cfg.get("endpoint"))
            elif region:
                url = _aws_logs_url(region)
                line = line_of("region", cfg.get("region")) if "region" in cfg else None
            else:
                url, line = None, None
            if url:
                yield _Hit(name, "https-intake", line or line_of("type", typ), url=url)
    except _Unresolved as exc:
        yield _unset_note(exc, f"sink {sink_id}")


def _toml_line_finder(text: str, sink_id: str) -> LineOf:
    lines = text.splitlines()
    sid = re.escape(sink_id)
    header = re.compile(rf"\s*\[\s*sinks\s*\.\s*(?:\"{sid}\"|'{sid}'|{sid})\s*\]")
    start = next((i for i, ln in enumerate(lines) if header.match(ln)), None)

    def line_of(key: str, value: str | None) -> int | None:
        begin = start if start is not None else 0
        if value is not None:
            for quote in ('"', "'"):
                needle = f"{quote}{value}{quote}"
                for i in range(begin, len(lines)):
                    if needle in lines[i]:
                        return i + 1
        key_re = re.compile(rf"\s*{re.escape(key)}\s*=")
        for i in range(begin, len(lines)):
            if i > begin and start is not None and lines[i].lstrip().startswith("["):
                break
            if key_re.match(lines[i]):
                return i + 1
        return start + 1 if start is not None else None

    return line_of


def _parse_vector_toml(text: str, env: Mapping[str, str]) -> Iterator[_Item]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        why = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise _Malformed(int(m[1]) if m else None, f"invalid TOML ({why})") from None
    sinks = data.get("sinks")
    if isinstance(sinks, dict):
        for sink_id, cfg in sinks.items():
            if isinstance(cfg, dict):
                finder = _toml_line_finder(text, sink_id)
                yield from _vector_sink(sink_id, cfg, finder, _env_lookup(env))


def _parse_vector_yaml(text: str, env: Mapping[str, str]) -> Iterator[_Item]:
    top = _ymap(_yaml_compose(text))
    sinks = _ymap(top["sinks"][1]) if "sinks" in top else {}
    for sink_id, (sink_line, node) in sinks.items():
        fields = _ymap(node)
        cfg = _yval(node)
        if not isinstance(cfg, dict):
            continue

        def line_of(
            key: str,
            value: str | None,
            fields: dict[str, tuple[int, yaml.Node]] = fields,
            sink_line: int = sink_line,
        ) -> int | None:
            if key not in fields:
                return sink_line
            key_line, vnode = fields[key]
            if isinstance(vnode, yaml.SequenceNode) and value is not None:
                for item in vnode.value:
                    if isinstance(item, yaml.ScalarNode) and item.value == value:
                        return _yline(item)
            return key_line

        yield from _vector_sink(sink_id, cfg, line_of, _env_lookup(env))


def _discover_vector(coll: _Collector, root: Path) -> None:
    coll.scan(
        _at(root, "/etc/vector/vector.toml"),
        LOG_SHIPPER,
        lambda text, _p: _parse_vector_toml(text, coll.env),
    )
    for conf in ("/etc/vector/vector.yaml", "/etc/vector/vector.yml"):
        coll.scan(_at(root, conf), LOG_SHIPPER, lambda text, _p: _parse_vector_yaml(text, coll.env))


# --------------------------------------------------------------------------- fluentd


@dataclass
class _FdElement:
    name: str
    line: int
    source: str
    params: dict[str, tuple[str, int]] = field(default_factory=dict)
    children: list[_FdElement] = field(default_factory=list)


_FD_OPEN = re.compile(r"<\s*([A-Za-z_][\w.-]*)(?:\s+([^>]*))?>$")
_FD_CLOSE = re.compile(r"<\s*/\s*([A-Za-z_][\w.-]*)\s*>$")
_FD_ENV = re.compile(
    r"#\{ENV(?:\[\s*(['\"])(\w+)\1\s*\]|\.fetch\(\s*(['\"])(\w+)\3\s*(?:,\s*(['\"])(.*?)\5\s*)?\))\}"
)


def _fluentd_parse(
    coll: _Collector, path: Path, text: str, parent: _FdElement, depth: int = 0
) -> None:
    stack = [parent]
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        close = _FD_CLOSE.match(line)
        if close:
            if len(stack) == 1 or stack[-1].name != close[1]:
                raise _Malformed(n, f"unexpected </{close[1]}>", str(path))
            stack.pop()
            continue
        opening = _FD_OPEN.match(line)
        if opening:
            element = _FdElement(opening[1], n, str(path))
            stack[-1].children.append(element)
            stack.append(element)
            continue
        if line.startswith("<"):
            raise _Malformed(n, "unterminated tag", str(path))
        key, value = [*line.split(None, 1), ""][:2]
        if key == "@include":
            if depth >= MAX_INCLUDE_DEPTH:
                raise _Malformed(n, "@include nested too deep", str(path))
            arg = value.strip().strip("\"'")
            if "://" in arg:
                continue
            for inc in coll.includes(path, arg):
                inc_text = coll.read(inc)
                if inc_text is not None:
                    _fluentd_parse(coll, inc, inc_text, stack[-1], depth + 1)
            continue
        stack[-1].params[key] = (value.strip(), n)
    if len(stack) > 1:
        raise _Malformed(stack[-1].line, f"<{stack[-1].name}> is never closed", str(path))


def _fluentd_value(raw: str, env: Mapping[str, str], line: int) -> str:
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

        value = _FD_ENV.sub(repl, value[1:-1])
        if missing:
            raise _Unresolved(missing, line)
    return value


def _fluentd_output(element: _FdElement, env: Mapping[str, str]) -> Iterator[_Item]:
    def param(el: _FdElement, key: str, default: str | None = None) -> str | None:
        if key not in el.params:
            return default
        value, line = el.params[key]
        return _fluentd_value(value, env, line)

    def port(el: _FdElement, default: int) -> int:
        text = param(el, "port", str(default)) or str(default)
        if not text.isdigit():
            line = el.params["port"][1]
            raise _Skip(f"line {line}: port {text!r} is not a number; output skipped")
        return int(text)

    src = element.source
    try:
        typ = param(element, "@type") or param(element, "type")
        if typ == "forward":
            for server in element.children:
                if server.name != "server" or "host" not in server.params:
                    continue
                host = param(server, "host") or ""
                address = _address(host, port(server, 24224))
                line = server.params["host"][1]
                yield _Hit(f"fluentd forward {host}", "tcp", line, address=address, source=src)
        elif typ == "http" and "endpoint" in element.params:
            url = _clean_url(param(element, "endpoint") or "")
            if url:
                kind = "https-intake" if url.startswith("https:") else "http"
                line = element.params["endpoint"][1]
                yield _Hit(f"fluentd http {_url_label(url)}", kind, line, url=url, source=src)
        elif typ == "remote_syslog" and "host" in element.params:
            host = param(element, "host") or ""
            line = element.params["host"][1]
            protocol = (param(element, "protocol", "udp") or "udp").lower()
            tls = _truthy(param(element, "tls", "false"))
            if protocol == "udp" and not tls:
                yield _udp_note("syslog forwarding", line, src)
                return
            kind = "syslog-tls" if tls else "syslog-tcp"
            address = _address(host, port(element, 514))
            yield _Hit(f"fluentd remote_syslog {host}", kind, line, address=address, source=src)
    except _Unresolved as exc:
        yield _unset_note(exc, "output", src)
    except _Skip as exc:
        yield _Note(str(exc), src)


def _fluentd_walk(element: _FdElement, env: Mapping[str, str]) -> Iterator[_Item]:
    for child in element.children:
        if child.name == "source":
            continue
        if child.name in ("match", "store", "secondary"):
            yield from _fluentd_output(child, env)
        yield from _fluentd_walk(child, env)


def _parse_fluentd_conf(coll: _Collector, text: str, path: Path) -> Iterator[_Item]:
    """`<match>`/`<store>` outputs: forward servers, http endpoint, remote_syslog."""
    top = _FdElement("", 0, str(path))
    _fluentd_parse(coll, path, text, top)
    yield from _fluentd_walk(top, coll.env)


def _discover_fluentd(coll: _Collector, root: Path) -> None:
    for conf in (
        "/etc/fluent/fluentd.conf",
        "/etc/td-agent/td-agent.conf",
        "/fluentd/etc/fluent.conf",
    ):
        coll.scan(_at(root, conf), LOG_SHIPPER, lambda text, p: _parse_fluentd_conf(coll, text, p))


# --------------------------------------------------------------------------- rsyslog


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


def _rsyslog_action(params: Mapping[str, str], line: int) -> Iterator[_Item]:
    typ = _rsyslog_first(params, "type").lower()
    if typ not in ("omfwd", "omrelp"):
        return
    port = _rsyslog_first(params, "port", "514")
    if not port.isdigit():
        yield _Note(f"line {line}: port {port!r} is not a number; action skipped")
        return
    if typ == "omrelp":
        kind, label = "tcp", "rsyslog relp"
    else:
        if _rsyslog_first(params, "protocol", "udp").lower() != "tcp":
            yield _udp_note("syslog forwarding", line)
            return
        mode = _rsyslog_first(params, "streamdrivermode") or _rsyslog_first(
            params, "streamdriver.mode", "0"
        )
        kind = "syslog-tls" if mode == "1" else "syslog-tcp"
        label = "rsyslog forward"
    for target in _rsyslog_values(params, "target"):
        if target.strip():
            address = _address(target.strip(), int(port))
            yield _Hit(f"{label} {target.strip()}", kind, line, address=address)


def _parse_rsyslog_conf(text: str, path: Path | None = None) -> Iterator[_Item]:
    """Legacy `@@host:port` forwarding and RainerScript `action(type="omfwd"|"omrelp")`."""
    clean = _rsyslog_strip_comments(text)
    found: list[tuple[int, _Item]] = []
    spans: list[tuple[int, int]] = []
    for m in _RS_ACTION.finditer(clean):
        line = _line_at(clean, m.start())
        end = _rsyslog_action_end(clean, m.end())
        if end is None:
            raise _Malformed(line, "action( is never closed")
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
            found.append((n, _udp_note("syslog forwarding", n)))
            continue
        kind = "syslog-tls" if send_tls else "syslog-tcp"
        address = _address(host, int(m[3]) if m[3] else 514)
        found.append((n, _Hit(f"rsyslog forward {host}", kind, n, address=address)))
    found.sort(key=lambda pair: pair[0])
    for _, item in found:
        yield item


def _discover_rsyslog(coll: _Collector, root: Path) -> None:
    coll.scan(_at(root, "/etc/rsyslog.conf"), LOG_SHIPPER, _parse_rsyslog_conf)
    for path in sorted(_at(root, "/etc/rsyslog.d").glob("*.conf")):
        coll.scan(path, LOG_SHIPPER, _parse_rsyslog_conf)


# --------------------------------------------------------------------------- CloudWatch agent

_CW_DIR = "/opt/aws/amazon-cloudwatch-agent/etc"


def _cw_region(data: Any) -> str | None:
    agent = data.get("agent") if isinstance(data, dict) else None
    region = agent.get("region") if isinstance(agent, dict) else None
    return region.strip() if isinstance(region, str) and region.strip() else None


def _parse_cloudwatch_agent(text: str, fallback_region: str | None) -> Iterator[_Item]:
    """The CloudWatch Logs endpoint of an agent config that has a `logs` section."""
    data = _load_json(text)
    if not isinstance(data, dict):
        raise _Malformed(1, "expected a JSON object")
    logs = data.get("logs")
    if not isinstance(logs, dict):
        return
    override = logs.get("endpoint_override")
    if isinstance(override, str) and override.strip():
        url = _endpoint_url(override.strip())
        if url:
            line = _json_line(text, "endpoint_override")
            yield _Hit(f"CloudWatch Logs {_url_label(url)}", "https-intake", line, url=url)
        return
    logs_line = _json_line(text, "logs")
    region = _cw_region(data) or fallback_region
    if region:
        url = _aws_logs_url(region)
        yield _Hit(f"CloudWatch Logs {region}", "https-intake", logs_line, url=url)
    else:
        yield _Note(
            f"line {logs_line}: logs are shipped to CloudWatch Logs in the instance's region, "
            "which is not known here (set agent.region or AWS_REGION)"
        )


def _discover_cloudwatch(coll: _Collector, root: Path) -> None:
    main = _at(root, f"{_CW_DIR}/amazon-cloudwatch-agent.json")
    main_region: str | None = None
    if main.is_file():
        try:
            main_region = _cw_region(json.loads(main.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            main_region = None
    fallback = main_region or coll.env.get("AWS_REGION") or coll.env.get("AWS_DEFAULT_REGION")
    paths = [main, *sorted(_at(root, f"{_CW_DIR}/amazon-cloudwatch-agent.d").glob("*.json"))]
    for path in paths:
        coll.scan(path, LOG_SHIPPER, lambda text, _p: _parse_cloudwatch_agent(text, fallback))


# --------------------------------------------------------------------------- search paths


_FILE_KINDS = ("dockerfile", "requirements", "npmrc", "pipconf")


def _classify(filename: str) -> str | None:
    if filename.endswith(".dockerignore"):
        return None
    if (
        fnmatch.fnmatchcase(filename, "Dockerfile*")
        or fnmatch.fnmatchcase(filename, "Containerfile*")
        or filename.lower().endswith(".dockerfile")
    ):
        return "dockerfile"
    if fnmatch.fnmatchcase(filename, "requirements*.txt"):
        return "requirements"
    if filename == ".npmrc":
        return "npmrc"
    if filename == "pip.conf":
        return "pipconf"
    return None


def _walk_search_paths(coll: _Collector, search_paths: Sequence[Path]) -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = {k: [] for k in _FILE_KINDS}
    for base in map(Path, search_paths):
        if not base.is_dir():
            coll.problem(str(base), "search path is not a directory")
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            here = Path(dirpath)
            depth = len(here.relative_to(base).parts)
            dirnames[:] = (
                sorted(
                    d
                    for d in dirnames
                    if d not in SKIP_DIRS and not (here / d / "pyvenv.cfg").exists()
                )
                if depth < MAX_WALK_DEPTH
                else []
            )
            for filename in sorted(filenames):
                kind = _classify(filename)
                if kind:
                    found[kind].append(here / filename)
    return found


# --------------------------------------------------------------------------- entry point


def discover(
    root: Path = Path("/"),
    env: Mapping[str, str] | None = None,
    search_paths: Sequence[Path] = (),
) -> DiscoveryResult:
    """Targets the workload depends on, found below `root`, in `env` and under `search_paths`.

    `root` is prepended to every well-known absolute path (and to absolute includes); `env`
    defaults to the process environment; `search_paths` are walked as given (a few levels deep,
    skipping VCS, node_modules and virtualenv folders) for Dockerfiles, requirements files,
    `.npmrc` and `pip.conf`. Targets are de-duplicated by (kind, url or address), keeping the
    first provenance, in this order: apt, yum, pip, npm, docker, fluent-bit, vector, fluentd,
    rsyslog, CloudWatch agent. Never raises: what cannot be read goes to `problems`.
    """
    root = Path(root)
    coll = _Collector(root, os.environ if env is None else env)
    found: dict[str, list[Path]] = {k: [] for k in _FILE_KINDS}

    def walk() -> None:
        found.update(_walk_search_paths(coll, search_paths))

    steps = [
        walk,
        lambda: _discover_apt(coll, root),
        lambda: _discover_yum(coll, root),
        lambda: _discover_pip(coll, root, found),
        lambda: _discover_npm(coll, root, found),
        lambda: _discover_docker(coll, root, found),
        lambda: _discover_fluent_bit(coll, root),
        lambda: _discover_vector(coll, root),
        lambda: _discover_fluentd(coll, root),
        lambda: _discover_rsyslog(coll, root),
        lambda: _discover_cloudwatch(coll, root),
    ]
    for step in steps:
        try:
            step()
        except Exception as exc:  # noqa: BLE001 - one broken source never stops the others
            coll.problem(str(root), f"discovery step failed: {type(exc).__name__}: {exc}")
    return coll.result
