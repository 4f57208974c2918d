"""The collector: bounded file reads, one visit per file, and the de-duplicated result.

Every source reads through it, so the per-file size cap, the "read each file once" rule and
the loopback filter hold for all of them alike.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from auditor.discovery.model import (
    DiscoveredTarget,
    DiscoveryProblem,
    DiscoveryResult,
    Hit,
    Item,
    Malformed,
    Note,
)
from auditor.discovery.text import host_of, host_of_address, is_loopback

MAX_INCLUDE_DEPTH = 4
MAX_FILE_BYTES = 4 * 1024 * 1024

T = TypeVar("T")


def at(root: Path, path: str) -> Path:
    """`path` (absolute on the audited host) below `root`."""
    return root / path.lstrip("/")


class Collector:
    """One discovery run: the root, the environment, and what has been found so far."""

    def __init__(self, root: Path, env: Mapping[str, str]) -> None:
        self.root = root
        self.env = env
        self.result = DiscoveryResult()
        self._seen: set[tuple[str, str]] = set()
        self._parsed: set[str] = set()
        self._memo: dict[str, Any] = {}

    def problem(self, source: str, message: str) -> None:
        self.result.problems.append(DiscoveryProblem(source, message))

    def add(self, hit: Hit, category: str, source: str) -> None:
        if hit.url is None and hit.address is None:
            return
        host = host_of(hit.url) if hit.url else host_of_address(hit.address or "")
        if not host or is_loopback(host):
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

    def record(self, items: Iterable[Item], category: str, source: str) -> None:
        """Hits become targets, notes become problems; `source` unless the item names its own."""
        for item in items:
            if isinstance(item, Note):
                self.problem(item.source or source, item.message)
            else:
                self.add(item, category, source)

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """A value computed once per run (yum variables, the CloudWatch agent's region)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def includes(self, path: Path, pattern: str) -> list[Path]:
        """Files matched by an include `pattern` written in `path` (absolute: below root)."""
        full = at(self.root, pattern) if pattern.startswith("/") else path.parent / pattern
        return sorted(Path(p) for p in glob.glob(str(full)))

    def first_visit(self, path: Path) -> bool:
        key = os.path.realpath(path)
        if key in self._parsed:
            return False
        self._parsed.add(key)
        return True

    def read(self, path: Path) -> str | None:
        """File text, or None (with a problem recorded) when it cannot be read."""
        text, why = _read_capped(path)
        if why is not None:
            self.problem(str(path), why)
        return text

    def peek(self, path: Path) -> str | None:
        """File text under the same cap as `read`, or None, recording nothing: for a file
        that is also scanned (and so reported) on its own."""
        return _read_capped(path)[0]

    def scan(
        self, path: Path, category: str, parse: Callable[[Collector, str, Path], Iterable[Item]]
    ) -> None:
        """Read `path`, run `parse` on it and record its hits; never raises."""
        if not os.path.lexists(path) or not self.first_visit(path):
            return
        text = self.read(path)
        if text is None:
            return
        try:
            # parsers are generators: run to the end first, so a malformed file adds nothing
            items = list(parse(self, text, path))
        except Malformed as exc:
            self.problem(exc.source or str(path), str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - one bad file never stops discovery
            self.problem(str(path), f"could not be parsed: {type(exc).__name__}: {exc}")
            return
        self.record(items, category, str(path))


def _read_capped(path: Path) -> tuple[str | None, str | None]:
    """(text, None) or (None, why it cannot be read); never more than MAX_FILE_BYTES."""
    try:
        if path.is_dir():
            return None, "unreadable: is a directory, not a file"
        if path.is_symlink() and not path.exists():
            return None, "unreadable: broken symbolic link"
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except PermissionError:
        return None, "unreadable: permission denied"
    except OSError as exc:
        return None, f"unreadable: {exc.strerror or exc}"
    if len(data) > MAX_FILE_BYTES:
        return None, f"skipped: larger than {MAX_FILE_BYTES} bytes"
    return data.decode("utf-8", errors="replace"), None
