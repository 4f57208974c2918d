"""apt: `sources.list` one-line entries and deb822 `.sources` files.

Read here rather than with python-debian, whose deb822 reader keeps no line numbers (every
target names its line) and which would be a dependency for two small formats.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from auditor.discovery.collector import Collector
from auditor.discovery.model import DEPENDENCY, Hit, Item, Malformed
from auditor.discovery.registry import source
from auditor.discovery.text import clean_url, url_label

_APT_LINE = re.compile(r"(deb|deb-src)\s+(?:\[[^\]]*\]\s*)?(\S+)\s+(\S+)(?:\s+(\S.*))?$")

Paragraph = dict[str, list[tuple[str, int]]]


def _apt_hit(uri: str, suite: str, line: int) -> Hit | None:
    uri = uri.removeprefix("tor+")
    if uri.startswith("mirror+") or uri.startswith("mirror://"):
        # apt-transport-mirror: the mirror list is what apt fetches first
        raw = uri.removeprefix("mirror+")
        raw = "http://" + raw[len("mirror://") :] if raw.startswith("mirror://") else raw
        url = clean_url(raw)
        if url is None:
            return None
        kind = "https" if url.startswith("https:") else "http"
        return Hit(f"apt mirror list {url_label(url)}", kind, line, url=url)
    base = clean_url(uri)
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
    return Hit(f"apt {url_label(base)} {label}", "apt", line, url=f"{base}/{path}")


def parse_list(text: str) -> Iterator[Item]:
    """One-line `sources.list` format."""
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = _APT_LINE.match(line)
        if not m:
            raise Malformed(n, "expected 'deb [options] URI suite [component...]'")
        uri, suite, components = m[2], m[3], m[4]
        if not components and not suite.endswith("/"):
            raise Malformed(n, "no component after the suite")
        hit = _apt_hit(uri, suite, n)
        if hit:
            yield hit


def _paragraphs(text: str) -> list[tuple[int, Paragraph]]:
    paragraphs: list[tuple[int, Paragraph]] = []
    current: Paragraph = {}
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
                raise Malformed(n, "continuation line outside a field")
            current[last].append((raw.strip(), n))
            continue
        key, sep, value = raw.partition(":")
        if not sep or not key.strip() or " " in key.strip():
            raise Malformed(n, "expected 'Field: value'")
        if not current:
            start = n
        last = key.strip().lower()
        current[last] = [(value.strip(), n)]
    if current:
        paragraphs.append((start, current))
    return paragraphs


def _tokens(para: Mapping[str, list[tuple[str, int]]], key: str) -> list[tuple[str, int]]:
    return [(tok, line) for value, line in para.get(key, []) for tok in value.split()]


def parse_deb822(text: str) -> Iterator[Item]:
    """deb822 `.sources` format."""
    for start, para in _paragraphs(text):
        types, uris, suites = (_tokens(para, k) for k in ("types", "uris", "suites"))
        if not types or not uris or not suites:
            raise Malformed(start, "paragraph without Types, URIs or Suites")
        enabled = _tokens(para, "enabled")
        if enabled and enabled[0][0].lower() in {"no", "false", "0"}:
            continue
        if not {t for t, _ in types} & {"deb", "deb-src"}:
            continue
        for uri, line in uris:
            for suite, _ in suites:
                hit = _apt_hit(uri, suite, line)
                if hit:
                    yield hit


@source(
    name="apt",
    category=DEPENDENCY,
    order=10,
    paths=(
        "/etc/apt/sources.list",
        "/etc/apt/sources.list.d/*.list",
        "/etc/apt/sources.list.d/*.sources",
    ),
)
def parse(coll: Collector, text: str, path: Path) -> Iterator[Item]:
    return parse_deb822(text) if path.name.endswith(".sources") else parse_list(text)
