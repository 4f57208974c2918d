"""Route 53 Resolver query logs: one JSON object per line (CloudWatch Logs message or a line of
an S3 object), with `query_timestamp`, `query_name`, `query_type`, `rcode`, `answers[]`
({`Rdata`, `Type`, `Class`}), `srcaddr`, `srcids` ({`instance`, `resolver_endpoint`, ...}) and
`vpc_id`.

The answers of a question name the queried name (the one the application used), CNAME chain
and all: an A record at the end of a chain names the address for the queried name.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime

import msgspec

from auditor.traffic import coverage as cov
from auditor.traffic.analysis import (
    DEPENDENCY,
    INTERNAL,
    MAX_NAMES_ASKED,
    AddressSpace,
    NameIndex,
    QueryStats,
)
from auditor.traffic.settings import TrafficScope
from auditor.traffic.sources import Window

TIME_CACHE = 65536
UNSEEN = -1e18  # not a time a query log can hold


def parse_timestamp(text: str) -> float | None:
    """Epoch seconds of an ISO 8601 time; None when it is not one."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except (ValueError, AttributeError):
        return None


def _minute(prefix: str) -> float | None:
    """Epoch seconds of `YYYY-MM-DDTHH:MM:` (a query log time without its seconds)."""
    if len(prefix) != 17 or prefix[16] != ":":
        return None
    return parse_timestamp(prefix + "00Z")


class QueryScope:
    """Which questions are the workload's: by VPC, instance or source address (in the
    workload's own space); read by the hot loop below."""

    def __init__(self, scope: TrafficScope) -> None:
        self.empty = scope.empty
        self.vpcs = frozenset(scope.vpc_ids)
        self.instances = frozenset(scope.instance_ids)
        self.by_address = bool(scope.cidrs or scope.vpc_ids)


class Answer(msgspec.Struct):
    Rdata: str | None = None
    Type: str | None = None


class SourceIds(msgspec.Struct):
    instance: str | None = None


class QueryRecord(msgspec.Struct):
    """The fields this reader uses; the others are skipped while decoding. A record whose
    fields have other types than these is corrupt."""

    query_timestamp: str
    query_name: str
    query_type: str
    rcode: str | None = None
    answers: list[Answer] | None = None
    srcaddr: str | None = None
    srcids: SourceIds | None = None
    vpc_id: str | None = None


_DECODER = msgspec.json.Decoder(QueryRecord)


def consume_queries(
    lines: Iterable[str],
    window: Window,
    in_scope: QueryScope,
    space: AddressSpace,
    names: NameIndex,
    stats: QueryStats,
    coverage: cov.SourceCoverage,
) -> None:
    """Read query log lines into the name index and the question statistics (the hot loop:
    locals only, typed decoding of the used fields, timestamps and names normalised once)."""
    decode = _DECODER.decode
    start, end = window.start, window.end
    minutes: dict[str, float | None] = {}  # `YYYY-MM-DDTHH:MM:` -> epoch seconds
    normal: dict[str, str] = {}  # query_name -> the name without its dot, lower case
    kind_cache = space.cache
    kind_of = space.kind
    add_name = names.add
    names_a, names_aaaa = stats.names_a, stats.names_aaaa
    asked_a, asked_aaaa, rcodes = stats.asked_a, stats.asked_aaaa, stats.rcodes
    scoped = not in_scope.empty
    vpcs, instances, by_address = in_scope.vpcs, in_scope.instances, in_scope.by_address
    records = used = 0
    skipped: Counter = Counter()
    for line in lines:
        if not line or line.isspace():
            continue
        records += 1
        try:
            record = decode(line)
        except (ValueError, RecursionError):
            skipped[cov.CORRUPT] += 1
            continue
        stamp = record.query_timestamp
        # Query logs write `2026-01-10T09:10:00Z`: its minute parsed once, plus its seconds.
        prefix = stamp[:17]
        base = minutes.get(prefix, UNSEEN)
        if base is UNSEEN:
            if len(minutes) > TIME_CACHE:
                minutes.clear()
            base = minutes[prefix] = _minute(prefix)
        if (
            base is not None
            and len(stamp) == 20
            and stamp[19] == "Z"
            and stamp[17] < "6"
            and stamp[17:19].isdigit()
            and stamp.isascii()
        ):
            when = base + int(stamp[17:19])
        else:
            when = parse_timestamp(stamp)  # any other ISO 8601 time
            if when is None:
                skipped[cov.CORRUPT] += 1
                continue
        if when < start or when > end:
            skipped[cov.OUT_OF_WINDOW] += 1
            continue
        ids = record.srcids
        instance = ids.instance if ids is not None else None
        src = record.srcaddr
        if scoped and not (
            (vpcs and record.vpc_id in vpcs)
            or (instances and instance in instances)
            or (
                by_address and src is not None and (kind_cache.get(src) or kind_of(src)) is INTERNAL
            )
        ):
            skipped[cov.OUT_OF_SCOPE] += 1
            continue
        used += 1
        raw = record.query_name
        name = normal.get(raw)
        if name is None:
            if len(normal) > TIME_CACHE:
                normal.clear()
            name = normal[raw] = raw.rstrip(".").lower()
        rcode = record.rcode or ""
        rcodes[rcode] = rcodes.get(rcode, 0) + 1
        qtype = record.query_type
        if qtype == "A":
            source = instance or src or "?"
            asked = asked_a.get(source)
            if asked is None:
                asked = asked_a[source] = set()
            if len(asked) < MAX_NAMES_ASKED:
                asked.add(name)
        elif qtype == "AAAA":
            source = instance or src or "?"
            asked_aaaa[source] = asked_aaaa.get(source, 0) + 1
        answers = record.answers
        if not answers:
            continue
        for answer in answers:
            atype = answer.Type
            if atype == "A":
                names_a.add(name)
                rdata = answer.Rdata
                if rdata is not None and (kind_cache.get(rdata) or kind_of(rdata)) is DEPENDENCY:
                    add_name(rdata, name, when)
            elif atype == "AAAA":
                names_aaaa.add(name)
    coverage.records += records
    coverage.used += used
    coverage.skipped.update(skipped)
