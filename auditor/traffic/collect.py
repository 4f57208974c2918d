"""One traffic phase: read every configured source (query logs first, so flows can be named),
then this host's sockets, and hand back the destinations, the question statistics and the
coverage. Synchronous and blocking: the checks run it once per scan in a worker thread."""

from __future__ import annotations

import socket as socketlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.traffic import coverage as cov
from auditor.traffic.analysis import (
    DEPENDENCY,
    AddressSpace,
    DestinationTable,
    NameIndex,
    QueryStats,
)
from auditor.traffic.flowlog import FlowScope, Layout, consume_flows, layout_from_format
from auditor.traffic.querylog import QueryScope, consume_queries
from auditor.traffic.settings import TrafficConfig
from auditor.traffic.sockets import host_sockets
from auditor.traffic.sources import ClientFactory, LogObject, Window, lines, objects
from auditor.traffic.workers import Job, QueryPart, read_source

PROC_NET = Path("/proc/net")


@dataclass
class TrafficResult:
    window: Window
    space: AddressSpace
    sources: list[cov.SourceCoverage] = field(default_factory=list)
    table: DestinationTable = field(default_factory=DestinationTable)
    names: NameIndex = field(default_factory=NameIndex)
    stats: QueryStats = field(default_factory=QueryStats)
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[cov.SourceCoverage]:
        return [s for s in self.sources if s.error]

    def coverage(self) -> dict[str, Any]:
        return {
            "window": self.window.iso(),
            **cov.totals(self.sources),
            "address_space": self.space.describe(),
            "sources": [s.as_dict() for s in self.sources],
            **({"notes": list(self.notes)} if self.notes else {}),
        }


def collect(
    config: TrafficConfig,
    window: Window,
    own_cidrs: list[str],
    clients: ClientFactory | None = None,
    proc_net: Path = PROC_NET,
    hostname: str | None = None,
    workers: int | None = None,
) -> TrafficResult:
    """`workers`: processes reading local files (default: one per core; 1 reads them here)."""
    space = AddressSpace(own_cidrs)
    result = TrafficResult(window, space)
    query_scope = QueryScope(config.scope)

    def merge_queries(part: QueryPart) -> None:
        result.names.merge(part.names)
        result.stats.merge(part.stats)

    for source in config.resolver_query_logs:
        coverage = cov.SourceCoverage("resolver_query_logs", source.label)
        result.sources.append(coverage)

        def read_queries(obj: LogObject, coverage: cov.SourceCoverage = coverage) -> None:
            consume_queries(
                lines(obj, coverage),
                window,
                query_scope,
                space,
                result.names,
                result.stats,
                coverage,
            )

        job = Job(coverage.kind, coverage.source, window, config.scope, tuple(own_cidrs))
        read_source(
            job,
            objects(source, window, coverage, clients),
            workers,
            read_queries,
            merge_queries,
            coverage,
        )
        _all_objects_failed(coverage)
    flow_scope = FlowScope(config.scope)
    for source in config.flow_logs:
        coverage = cov.SourceCoverage("flow_logs", source.label)
        result.sources.append(coverage)
        layout = layout_from_format(source.format) if source.format else None

        def read_flows(
            obj: LogObject,
            coverage: cov.SourceCoverage = coverage,
            layout: Layout | None = layout,
        ) -> None:
            consume_flows(
                lines(obj, coverage),
                obj,
                layout,
                window,
                flow_scope,
                space,
                result.names,
                result.table,
                coverage,
            )

        job = Job(
            coverage.kind,
            coverage.source,
            window,
            config.scope,
            tuple(own_cidrs),
            layout,
            result.names,
        )
        read_source(
            job,
            objects(source, window, coverage, clients),
            workers,
            read_flows,
            lambda part: result.table.merge(part.table),
            coverage,
        )
        _all_objects_failed(coverage)
    if config.host_sockets:
        coverage = cov.SourceCoverage("host_sockets", str(proc_net))
        result.sources.append(coverage)
        add_sockets(result, proc_net, coverage, hostname or socketlib.gethostname())
    return result


def _all_objects_failed(coverage: cov.SourceCoverage) -> None:
    """A source none of whose objects could be read cannot be read at all."""
    if coverage.error or not coverage.objects:
        return
    failed = sum(coverage.skipped.get(r, 0) for r in cov.OBJECT_FAILURES)
    if failed >= coverage.objects and not coverage.records:
        coverage.fail(
            f"{coverage.source}: none of its {coverage.objects} objects could be read"
            + (f" ({coverage.problems[0]})" if coverage.problems else "")
        )


def add_sockets(
    result: TrafficResult, proc_net: Path, coverage: cov.SourceCoverage, hostname: str
) -> None:
    """This host's outgoing connections, as flows seen now (no byte counts: the kernel's
    socket table has none)."""
    now = result.window.end
    space = result.space
    for sock in host_sockets(proc_net, coverage):
        coverage.used += 1
        kind = space.kind(sock.remote)
        if kind != DEPENDENCY:
            coverage.kinds[kind] += 1
            continue
        coverage.kinds[DEPENDENCY] += 1
        name = result.names.name_at(sock.remote, now)
        key = name or sock.remote
        prov = {"source": "host_sockets", "object": str(proc_net / sock.table), "line": sock.line}
        result.table.add(
            key,
            name is not None,
            sock.remote,
            sock.remote_port,
            17 if sock.table.startswith("udp") else 6,
            0,
            0,
            now,
            now,
            hostname,
            prov,
        )
