"""pip: `pip.conf` indexes, `-i`/`--index-url` lines of requirements files, `PIP_*INDEX_URL`."""

from __future__ import annotations

import fnmatch
import re
import shlex
from collections.abc import Iterator, Mapping
from pathlib import Path

from auditor.discovery.collector import Collector
from auditor.discovery.model import DEPENDENCY, Hit, Item, Note
from auditor.discovery.registry import source
from auditor.discovery.text import clean_url, parse_ini, url_label

_PIP_KEYS = {"index-url": "pip index", "extra-index-url": "pip extra index"}
_PIP_SECTIONS = {"global", "install"}
_REQUIREMENTS = "requirements*.txt"
_REQ_COMMENT = re.compile(r"(^|\s+)#.*$")
_REQ_OPTIONS = {
    "-i": "pip index",
    "--index-url": "pip index",
    "--extra-index-url": "pip extra index",
}


def _pip_hit(label: str, raw: str, line: int | None, source: str | None = None) -> Item | None:
    url = clean_url(raw)
    if url is None:
        return None
    if "${" in url:
        if line is None:
            return Note("unset variable in index URL; skipped", source)
        return Note(f"line {line}: unset variable in index URL; skipped", source)
    return Hit(f"{label} {url_label(url)}", "pypi", line, url=url, source=source)


def parse_pip_conf(text: str) -> Iterator[Item]:
    """`index-url` / `extra-index-url` in `[global]` and `[install]`."""
    for section in parse_ini(text):
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


def parse_requirements(text: str, env: Mapping[str, str]) -> Iterator[Item]:
    """`-i`, `--index-url` and `--extra-index-url` lines of a requirements file."""
    for raw, n in _logical_lines(text):
        line = _REQ_COMMENT.sub("", raw).strip()
        if not line.startswith("-"):
            continue
        try:
            tokens = shlex.split(line)
        except ValueError:
            yield Note(f"line {n}: unbalanced quotes; line ignored")
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


def from_env(coll: Collector) -> Iterator[Item]:
    """`PIP_INDEX_URL` and the space-separated `PIP_EXTRA_INDEX_URL`."""
    for var, label, many in (
        ("PIP_INDEX_URL", "pip index", False),
        ("PIP_EXTRA_INDEX_URL", "pip extra index", True),
    ):
        value = coll.env.get(var, "").strip()
        for raw in value.split() if many else ([value] if value else []):
            item = _pip_hit(label, raw, None, source=f"env:{var}")
            if item:
                yield item


@source(
    name="pip",
    category=DEPENDENCY,
    order=30,
    paths=(
        "/etc/pip.conf",
        "/etc/xdg/pip/pip.conf",
        "~/.pip/pip.conf",
        "~/.config/pip/pip.conf",
        "$PIP_CONFIG_FILE",
    ),
    project_files=("pip.conf", _REQUIREMENTS),
    env=from_env,
)
def parse(coll: Collector, text: str, path: Path) -> Iterator[Item]:
    if fnmatch.fnmatchcase(path.name, _REQUIREMENTS):
        return parse_requirements(text, coll.env)
    return parse_pip_conf(text)
