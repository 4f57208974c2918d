"""Shared helpers for the discovery tests: expected targets and problems, and a tree writer."""

from __future__ import annotations

import textwrap
from pathlib import Path

from auditor.discovery import DiscoveredTarget, DiscoveryProblem, DiscoveryResult, discover

FIXTURE_ROOT = Path(__file__).parent.parent / "fixtures" / "discovery" / "root"
UDP = "is not probeable (only TCP or TLS can be proven)"


def target(
    name: str,
    kind: str,
    source: str,
    line: int | None,
    *,
    url: str | None = None,
    address: str | None = None,
    category: str = "dependency",
    root: Path = FIXTURE_ROOT,
) -> DiscoveredTarget:
    src = source if source.startswith("env:") else str(root / source.lstrip("/"))
    return DiscoveredTarget(name, kind, category, src, line, url=url, address=address)


def log_target(name: str, kind: str, source: str, line: int | None, **kw: str) -> DiscoveredTarget:
    return target(name, kind, source, line, category="log_shipper", **kw)  # type: ignore[arg-type]


def problem(source: str, message: str, root: Path = FIXTURE_ROOT) -> DiscoveryProblem:
    return DiscoveryProblem(str(root / source.lstrip("/")), message)


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def run(
    root: Path, env: dict[str, str] | None = None, search: list[Path] | None = None
) -> DiscoveryResult:
    return discover(root=root, env=env or {}, search_paths=search or [])


def urls(result: DiscoveryResult) -> list[tuple[str, str | None, int | None]]:
    return [(t.kind, t.url or t.address, t.line) for t in result.targets]


def messages(result: DiscoveryResult) -> list[str]:
    return [p.message for p in result.problems]
