"""yum/dnf: `.repo` files, with variables from `/etc/{yum,dnf}/vars` and the environment."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from auditor.discovery.collector import Collector, at
from auditor.discovery.model import DEPENDENCY, Hit, Item, Note
from auditor.discovery.registry import source
from auditor.discovery.text import clean_url, parse_ini

_YUM_VAR = re.compile(r"\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))")


def yum_vars(coll: Collector) -> dict[str, str]:
    values: dict[str, str] = {}
    for folder in ("/etc/yum/vars", "/etc/dnf/vars"):
        for path in sorted(at(coll.root, folder).glob("*")):
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


def parse_repo(text: str, variables: Mapping[str, str]) -> Iterator[Item]:
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

    for section in parse_ini(text):
        repo = section.name
        if repo.lower() == "main":
            continue
        enabled = section.first("enabled")
        if enabled and enabled[0].lower() in {"0", "false", "no", "off"}:
            continue
        for raw, line in section.tokens("baseurl"):
            url = clean_url(substitute(raw, line))
            if url:
                url = url.rstrip("/") + "/repodata/repomd.xml"
                yield Hit(f"yum {repo}", "yum", line, url=url)
        for key in ("mirrorlist", "metalink"):
            entry = section.first(key)
            if not entry or not entry[0]:
                continue
            url = clean_url(substitute(entry[0], entry[1]))
            if url:
                kind = "https" if url.startswith("https:") else "http"
                yield Hit(f"yum {repo} {key}", kind, entry[1], url=url)
    if unresolved:
        names = ", ".join(sorted(unresolved))
        lines = sorted({ln for lines in unresolved.values() for ln in lines})
        where = ", ".join(str(ln) for ln in lines)
        plural = "s" if len(lines) > 1 else ""
        yield Note(f"line{plural} {where}: {names} kept literally in the URL")


@source(name="yum", category=DEPENDENCY, order=20, paths=("/etc/yum.repos.d/*.repo",))
def parse(coll: Collector, text: str, path: Path) -> Iterator[Item]:
    return parse_repo(text, coll.memo("yum.vars", lambda: yum_vars(coll)))
