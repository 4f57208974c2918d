"""Discovery sources declare themselves, as checks do through `@check`.

A source is one module under `auditor/discovery/sources/` with one `@source(...)` declaration
on its parser: its name, its category, where its files are on a host, which files it wants
from the search paths, and optionally what it reads from the environment. `load_sources()`
imports every module of that folder; `discover()` runs the sources in their `order`.

Paths of a declaration, each below the audited root:

- `/etc/x.conf`: that file; a `*` or `?` in the last component globs it (sorted).
- `~/.x`: that file in root's home and in `$HOME`; a run of such entries is taken home by home.
- `$VAR`: the absolute path named by the environment variable VAR, when set.
"""

from __future__ import annotations

import fnmatch
import os
import pkgutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

from auditor.discovery.collector import Collector, at
from auditor.discovery.model import Item

Parser = Callable[[Collector, str, Path], Iterable[Item]]
EnvReader = Callable[[Collector], Iterable[Item]]
FileMatch = str | Callable[[str], bool]

SOURCES_PACKAGE = "auditor.discovery.sources"
MAX_WALK_DEPTH = 6
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
class Source:
    """One kind of configuration that names network destinations."""

    name: str
    category: str  # DEPENDENCY or LOG_SHIPPER
    order: int  # sources run by ascending order; a duplicate keeps the first provenance
    paths: tuple[str, ...]  # well-known files on a host (see the module docstring)
    parse: Parser
    project_files: tuple[FileMatch, ...] = ()  # file names (fnmatch) or predicates
    env: EnvReader | None = None  # targets named by environment variables, after `paths`
    module: str = ""

    def files(self, root: Path, env: Mapping[str, str]) -> list[Path]:
        """The well-known files of this source below `root`, in declaration order."""
        out: list[Path] = []
        in_homes: list[str] = []  # a run of `~/` entries, taken home by home when it ends
        for entry in self.paths:
            if entry.startswith("~/"):
                in_homes.append(entry[2:])
                continue
            out += _in_homes(root, env, in_homes)
            in_homes = []
            if entry.startswith("$"):
                value = env.get(entry[1:], "")
                if value.startswith("/") and value != os.devnull:
                    out.append(at(root, value))
            else:
                out += _expand(root, entry)
        return out + _in_homes(root, env, in_homes)


def _in_homes(root: Path, env: Mapping[str, str], rels: Sequence[str]) -> list[Path]:
    return [at(root, f"{home}/{rel}") for home in _homes(env) for rel in rels]


def _homes(env: Mapping[str, str]) -> list[str]:
    homes = ["/root"]
    home = env.get("HOME", "")
    if home.startswith("/") and home.rstrip("/") != "/root":
        homes.append(home.rstrip("/"))
    return homes


def _expand(root: Path, pattern: str) -> list[Path]:
    folder, _, name = pattern.rpartition("/")
    if any(c in name for c in "*?["):
        return sorted(at(root, folder or "/").glob(name))
    return [at(root, pattern)]


SOURCES: dict[str, Source] = {}


def source(
    *,
    name: str,
    category: str,
    order: int,
    paths: Sequence[str] = (),
    project_files: Sequence[FileMatch] = (),
    env: EnvReader | None = None,
) -> Callable[[Parser], Parser]:
    """Declare a discovery source: the decorated function parses one file's text."""

    def decorate(parse: Parser) -> Parser:
        module = getattr(parse, "__module__", "?")
        existing = SOURCES.get(name)
        if existing is not None and existing.module != module:
            where = f"{existing.module} and {module}"
            raise ValueError(f"discovery source {name!r} declared in {where}")
        SOURCES[name] = Source(
            name, category, order, tuple(paths), parse, tuple(project_files), env, module
        )
        return parse

    return decorate


def load_sources() -> list[Source]:
    """Every source of `auditor/discovery/sources/`, in their order."""
    package = import_module(SOURCES_PACKAGE)
    for info in pkgutil.iter_modules(package.__path__):
        import_module(f"{SOURCES_PACKAGE}.{info.name}")
    return sorted(SOURCES.values(), key=lambda s: (s.order, s.name))


def _matches(match: FileMatch, filename: str) -> bool:
    return match(filename) if callable(match) else fnmatch.fnmatchcase(filename, match)


def walk_search_paths(
    coll: Collector, search_paths: Sequence[Path], sources: Sequence[Source]
) -> dict[str, list[Path]]:
    """Project files for each source: a few levels deep, skipping VCS, vendored and virtualenv
    folders; for each source, entry by entry of its `project_files`, each in walk order."""
    wanted = [(s.name, i, m) for s in sources for i, m in enumerate(s.project_files)]
    found: dict[tuple[str, int], list[Path]] = {(n, i): [] for n, i, _ in wanted}
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
                for name, index, match in wanted:
                    if _matches(match, filename):
                        found[(name, index)].append(here / filename)
    return {
        s.name: [p for i in range(len(s.project_files)) for p in found[(s.name, i)]]
        for s in sources
    }
