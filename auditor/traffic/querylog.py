"""Route 53 Resolver query logs: one JSON object per line (CloudWatch Logs message or a line of
an S3 object), with `query_timestamp`, `query_name`, `query_type`, `rcode`, `answers[]`
({`Rdata`, `Type`, `Class`}), `srcaddr`, `srcids` ({`instance`, `resolver_endpoint`, ...}) and
`vpc_id`.

The answers of a question name the queried name (the one the application used), CNAME chain
and all: an A record at the end of a chain names the address for the queried name.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from auditor.traffic import coverage as cov
from auditor.traffic.analysis import DEPENDENCY, INTERNAL, AddressSpace, NameIndex, QueryStats
from auditor.traffic.settings import TrafficScope
from auditor.traffic.sources import Window

_DECODER = json.JSONDecoder()
TIME_CACHE = 65536


def parse_timestamp(text: str) -> float | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except (ValueError, AttributeError):
        return None


def query_source(record: dict) -> str:
    """Who asked: the instance when the log names it, else the source address."""
    ids = record.get("srcids")
    if isinstance(ids, dict):
        instance = ids.get("instance")
        if isinstance(instance, str) and instance:
            return instance
    return str(record.get("srcaddr") or "?")


class QueryScope:
    """Which questions are the workload's: by VPC, instance or source address."""

    def __init__(self, scope: TrafficScope, space: AddressSpace) -> None:
        self.empty = scope.empty
        self.vpcs = frozenset(scope.vpc_ids)
        self.instances = frozenset(scope.instance_ids)
        self.by_address = bool(scope.cidrs or scope.vpc_ids)
        self.space = space

    def __call__(self, record: dict) -> bool:
        if self.empty:
            return True
        if self.vpcs and record.get("vpc_id") in self.vpcs:
            return True
        ids = record.get("srcids")
        if self.instances and isinstance(ids, dict) and ids.get("instance") in self.instances:
            return True
        src = record.get("srcaddr")
        return bool(self.by_address and isinstance(src, str) and self.space.kind(src) == INTERNAL)


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
    locals only, the JSON scanner without its wrappers, timestamps parsed once each)."""
    decode = _DECODER.raw_decode
    start, end = window.start, window.end
    times: dict[str, float | None] = {}
    kind_cache = space.cache
    kind_of = space.kind
    add_name = names.add
    question = stats.question
    names_a, names_aaaa = stats.names_a, stats.names_aaaa
    scoped = not in_scope.empty
    records = used = 0
    skipped: Counter = Counter()
    for line in lines:
        if not line or line.isspace():
            continue
        records += 1
        try:
            record = decode(line.strip())[0]
            stamp = record["query_timestamp"]
            name = record["query_name"]
            qtype = record["query_type"]
            when = times.get(stamp)
            if when is None:
                when = parse_timestamp(stamp)
                if len(times) > TIME_CACHE:
                    times.clear()
                times[stamp] = when
        except (ValueError, KeyError, TypeError):
            skipped[cov.CORRUPT] += 1
            continue
        if when is None or not isinstance(name, str) or not isinstance(qtype, str):
            skipped[cov.CORRUPT] += 1
            continue
        if when < start or when > end:
            skipped[cov.OUT_OF_WINDOW] += 1
            continue
        if scoped and not in_scope(record):
            skipped[cov.OUT_OF_SCOPE] += 1
            continue
        used += 1
        name = name.rstrip(".").lower()
        question(query_source(record), name, qtype, str(record.get("rcode") or ""))
        answers = record.get("answers")
        if not answers or not isinstance(answers, list):
            continue
        for answer in answers:
            if not isinstance(answer, dict):
                continue
            atype = answer.get("Type")
            if atype == "A":
                names_a.add(name)
                rdata = answer.get("Rdata")
                if (
                    isinstance(rdata, str)
                    and (kind_cache.get(rdata) or kind_of(rdata)) is DEPENDENCY
                ):
                    add_name(rdata, name, when)
            elif atype == "AAAA":
                names_aaaa.add(name)
    coverage.records += records
    coverage.used += used
    coverage.skipped.update(skipped)
