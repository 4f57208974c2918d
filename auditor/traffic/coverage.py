"""What was read: objects, records and what was skipped, by reason, per source and in total.

Nothing read is dropped silently: every record is either used or counted under a reason, and
every object that could not be read (or only in part) is counted and named in `problems`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

MAX_PROBLEMS = 20  # named per source; the rest are counted

# Reasons (records unless noted).
OUT_OF_WINDOW = "out-of-window"
OUT_OF_SCOPE = "out-of-scope"
NODATA = "nodata"
SKIPDATA = "skipdata"
CORRUPT = "corrupt"
TRUNCATED = "truncated"  # objects cut short (the records before the cut are used)
ACCESS_DENIED = "access-denied"  # objects
UNREADABLE = "unreadable"  # objects
UNSUPPORTED = "unsupported-format"  # objects (Parquet flow logs)
UNKNOWN_FORMAT = "unknown-format"  # objects whose header names no addresses
OBJECT_FAILURES = (ACCESS_DENIED, UNREADABLE, UNSUPPORTED, UNKNOWN_FORMAT, CORRUPT)


@dataclass
class SourceCoverage:
    """One configured source (a log group, an S3 prefix, a folder, this host's sockets)."""

    kind: str  # resolver_query_logs | flow_logs | host_sockets
    source: str
    objects: int = 0
    records: int = 0
    used: int = 0
    skipped: Counter = field(default_factory=Counter)
    unknown_fields: Counter = field(default_factory=Counter)
    kinds: Counter = field(default_factory=Counter)  # used records by what they are
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0
    error: str | None = None  # set when the source cannot be read at all

    def skip(self, reason: str, count: int = 1) -> None:
        self.skipped[reason] += count

    def problem(self, message: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(message)

    def fail(self, message: str) -> None:
        self.error = message

    def merge(self, other: SourceCoverage) -> None:
        """Add what another reader of the same source counted (objects are counted by the
        listing, not here)."""
        self.records += other.records
        self.used += other.used
        self.skipped.update(other.skipped)
        self.kinds.update(other.kinds)
        self.unknown_fields.update(other.unknown_fields)
        for message in other.problems:
            self.problem(message)
        self.problem_count += other.problem_count - len(other.problems)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "source": self.source,
            "objects": self.objects,
            "records": self.records,
            "used": self.used,
            "skipped": dict(sorted(self.skipped.items())),
        }
        if self.kinds:
            out["kinds"] = dict(sorted(self.kinds.items()))
        if self.unknown_fields:
            out["unknown_fields"] = dict(sorted(self.unknown_fields.items()))
        if self.problems:
            out["problems"] = list(self.problems)
            if self.problem_count > len(self.problems):
                out["problems_not_shown"] = self.problem_count - len(self.problems)
        if self.error:
            out["error"] = self.error
        return out


def totals(sources: list[SourceCoverage]) -> dict[str, Any]:
    skipped: Counter = Counter()
    for src in sources:
        skipped.update(src.skipped)
    return {
        "objects": sum(s.objects for s in sources),
        "records": sum(s.records for s in sources),
        "used": sum(s.used for s in sources),
        "skipped": dict(sorted(skipped.items())),
    }
