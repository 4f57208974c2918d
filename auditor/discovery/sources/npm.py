"""npm: `registry=` and `@scope:registry=` in npmrc files and `npm_config_registry`."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from auditor.discovery.collector import Collector
from auditor.discovery.model import DEPENDENCY, Hit, Item, Unresolved
from auditor.discovery.registry import source
from auditor.discovery.text import Lookup, clean_url, expand, unset_note, url_label


def _npm_hit(key: str, raw: str, line: int | None, lookup: Lookup) -> Item | None:
    if key == "registry":
        label = "npm registry"
    else:
        m = re.fullmatch(r"(@[^:\s]+):registry", key)
        if not m:
            return None
        label = f"npm registry {m[1]}"
    try:
        value = expand(raw, lookup, bare=False, line=line)
    except Unresolved as exc:
        return unset_note(exc, "registry")
    url = clean_url(value)
    if url is None:
        return None
    return Hit(f"{label} {url_label(url)}", "npm", line, url=url)


def parse_npmrc(text: str, env: Mapping[str, str]) -> Iterator[Item]:
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
        item = _npm_hit(key, value, n, env.get)
        if item:
            yield item


def from_env(coll: Collector) -> Iterator[Item]:
    """`npm_config_registry` in any letter case, as npm reads it."""
    for key, value in coll.env.items():
        if key.lower() == "npm_config_registry":
            item = _npm_hit("registry", value.strip(), None, coll.env.get)
            if isinstance(item, Hit):
                yield Hit(item.name, item.kind, None, url=item.url, source=f"env:{key}")


@source(
    name="npm",
    category=DEPENDENCY,
    order=40,
    paths=("/etc/npmrc", "/usr/local/etc/npmrc", "~/.npmrc"),
    project_files=(".npmrc",),
    env=from_env,
)
def parse(coll: Collector, text: str, path: Path) -> Iterator[Item]:
    return parse_npmrc(text, coll.env)
