"""What discovery returns, and what parsers hand to the collector."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

DEPENDENCY = "dependency"
LOG_SHIPPER = "log_shipper"


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


@dataclass(frozen=True)
class Hit:
    """A destination found by a parser; `source` is set when it is not the parsed file
    (an included file, an environment variable)."""

    name: str
    kind: str
    line: int | None
    url: str | None = None
    address: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class Note:
    """Something found that cannot be probed, or a part of the file that was skipped."""

    message: str
    source: str | None = None


Item = Hit | Note


class Malformed(Exception):
    """The file cannot be understood: it is skipped whole and named in `problems`."""

    def __init__(self, line: int | None, why: str, source: str | None = None) -> None:
        self.line = line
        self.why = why
        self.source = source
        where = f"malformed at line {line}" if line else "malformed"
        super().__init__(f"{where}: {why}")


class Unresolved(Exception):
    """A variable has neither a value nor a default."""

    def __init__(self, names: Sequence[str], line: int | None) -> None:
        self.names = list(names)
        self.line = line
        super().__init__(", ".join(names))


class Skip(Exception):
    """One directive cannot be used; the rest of the file still can."""
