"""VPC Flow Logs records: the default format (v2) and custom formats given by their header.

Hand-written: a flow log record is a line of space-separated fields whose order the header line
(in S3 objects) or the flow log's format string (CloudWatch Logs) gives; `str.split` is the
fastest correct parser, and no library reads both delivery layouts.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from auditor.traffic import coverage as cov
from auditor.traffic.analysis import (
    CACHE_LIMIT,
    DEPENDENCY,
    EPHEMERAL_LOW,
    INTERNAL,
    MAX_ADDRESSES,
    MAX_PORTS,
    MAX_SOURCES,
    NAME_SLACK_SECONDS,
    SYN_ACK_BIT,
    AddressSpace,
    Destination,
    DestinationTable,
    NameIndex,
)
from auditor.traffic.settings import TrafficScope
from auditor.traffic.sources import LogObject, Window

DEFAULT_FIELDS = (
    "version",
    "account-id",
    "interface-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log-status",
)
# Every field of flow log record versions 2 to 8.
KNOWN_FIELDS = frozenset(
    {
        *DEFAULT_FIELDS,
        "vpc-id",
        "subnet-id",
        "instance-id",
        "tcp-flags",
        "type",
        "pkt-srcaddr",
        "pkt-dstaddr",
        "region",
        "az-id",
        "sublocation-type",
        "sublocation-id",
        "pkt-src-aws-service",
        "pkt-dst-aws-service",
        "flow-direction",
        "traffic-path",
        "ecs-cluster-arn",
        "ecs-cluster-name",
        "ecs-container-instance-arn",
        "ecs-container-instance-id",
        "ecs-container-id",
        "ecs-second-container-id",
        "ecs-service-name",
        "ecs-task-definition-arn",
        "ecs-task-arn",
        "ecs-task-id",
        "reject-reason",
    }
)
_NAME_RE = re.compile(r"^[a-z][a-z0-9-]*$")
_FORMAT_TOKEN_RE = re.compile(r"^\$\{([a-z][a-z0-9-]*)\}$")
ABSENT = "-"


@dataclass(frozen=True)
class Layout:
    """Where each field sits in a record; -1 when the format does not have it."""

    fields: tuple[str, ...]
    unknown: tuple[str, ...]

    def index(self, name: str) -> int:
        try:
            return self.fields.index(name)
        except ValueError:
            return -1

    @property
    def usable(self) -> bool:
        return (self.index("dstaddr") >= 0 or self.index("pkt-dstaddr") >= 0) and (
            self.index("srcaddr") >= 0 or self.index("pkt-srcaddr") >= 0
        )


DEFAULT_LAYOUT = Layout(DEFAULT_FIELDS, ())


def layout_from_header(line: str) -> Layout | None:
    """The layout a header line names, or None when the line is not a header."""
    names = line.split()
    if not names or not all(_NAME_RE.match(n) for n in names):
        return None
    if not any(n in KNOWN_FIELDS for n in names):
        return None
    unknown = tuple(n for n in names if n not in KNOWN_FIELDS)
    return Layout(tuple(names), unknown)


def layout_from_format(text: str) -> Layout:
    """A layout from AWS's format string (`${version} ${srcaddr} ...`) or plain field names;
    ValueError names what is wrong."""
    tokens = text.split()
    if not tokens:
        raise ValueError("the flow log format is empty")
    names = []
    for token in tokens:
        match = _FORMAT_TOKEN_RE.match(token)
        name = match.group(1) if match else token
        if name not in KNOWN_FIELDS:
            raise ValueError(f"{token!r} is not a flow log field")
        names.append(name)
    layout = Layout(tuple(names), ())
    if not layout.usable:
        raise ValueError("the flow log format needs srcaddr (or pkt-srcaddr) and dstaddr")
    return layout


class FlowScope:
    """Which records are the workload's: any of the configured VPC, subnet, ENI and instance
    ids, or a source or destination address inside its own space (scope.cidrs and the VPCs'
    CIDRs)."""

    def __init__(self, scope: TrafficScope) -> None:
        self.empty = scope.empty
        self.by_field = (
            ("vpc-id", frozenset(scope.vpc_ids)),
            ("subnet-id", frozenset(scope.subnet_ids)),
            ("interface-id", frozenset(scope.eni_ids)),
            ("instance-id", frozenset(scope.instance_ids)),
        )
        self.by_address = bool(scope.cidrs or scope.vpc_ids)

    def selectors(self, layout: Layout) -> list[tuple[int, frozenset[str]]]:
        return [(layout.index(n), ids) for n, ids in self.by_field if ids and layout.index(n) >= 0]


_INDEXED = (
    "log-status",
    "start",
    "end",
    "srcaddr",
    "dstaddr",
    "pkt-srcaddr",
    "pkt-dstaddr",
    "srcport",
    "dstport",
    "bytes",
    "packets",
    "tcp-flags",
    "flow-direction",
    "instance-id",
    "interface-id",
    "protocol",
)


def consume_flows(
    lines: Iterable[str],
    obj: LogObject,
    layout: Layout | None,
    window: Window,
    scope: FlowScope,
    space: AddressSpace,
    names: NameIndex | None,
    table: DestinationTable,
    coverage: cov.SourceCoverage,
) -> None:
    """Read one object's flow records into the destination table.

    `layout` is the format when the object has no header line (CloudWatch Logs); a header
    line, when present, wins. Records that are not the workload's outbound IPv4 traffic are
    counted by kind in `coverage.kinds`; records that cannot be used, by reason in `skipped`.
    """
    it = iter(lines)
    first = next(it, None)
    if first is None:
        return
    header = layout_from_header(first)
    if header is not None:
        if not header.usable:
            coverage.problem(f"{obj.name}: the header names no source or destination")
            coverage.skip(cov.UNKNOWN_FORMAT)
            return
        for name in header.unknown:
            coverage.unknown_fields[name] += 1
        layout = header
        rest: Iterable[str] = it
    else:
        rest = itertools.chain((first,), it)
    _records(
        rest,
        0 if header is None else 1,
        obj,
        layout or DEFAULT_LAYOUT,
        window,
        scope,
        space,
        names,
        table,
        coverage,
    )


def _records(
    lines: Iterable[str],
    n: int,
    obj: LogObject,
    layout: Layout,
    window: Window,
    scope: FlowScope,
    space: AddressSpace,
    names: NameIndex | None,
    table: DestinationTable,
    coverage: cov.SourceCoverage,
) -> None:
    """The hot loop: one pass, locals only, the address kind from a cache, and the numbers of
    a record converted only when it turns out to be a dependency."""
    wstart, wend = window.start, window.end
    kinds: dict[str, int] = {}  # plain dicts: Counter's += is slower in this loop
    skipped: dict[str, int] = {}
    records = used = dependencies = 0
    kind_of = space.kind
    kind_cache = space.cache
    name_span = names.span if names is not None and len(names) else None
    spans: dict[str, tuple[float, float, str | None]] = {}  # address -> its last name span
    slack = NAME_SLACK_SECONDS
    items = table.items
    nfields = len(layout.fields)
    (i_st, i_s, i_e, i_src, i_dst, i_psrc, i_pdst, i_sp, i_dp, i_b, i_p, i_fl, i_dir, i_in,
     i_if, i_pr) = (layout.index(name) for name in _INDEXED)  # fmt: skip
    if i_src < 0:
        i_src = i_psrc
    if i_dst < 0:
        i_dst = i_pdst
    selectors = scope.selectors(layout)
    scoped = not scope.empty
    by_address = scope.by_address
    for line in lines:
        n += 1
        f = line.split()
        if len(f) != nfields:
            if f:
                records += 1
                skipped[cov.CORRUPT] = skipped.get(cov.CORRUPT, 0) + 1
            continue
        records += 1
        if i_st >= 0:
            status = f[i_st]
            if status != "OK":
                if status == "NODATA":
                    skipped[cov.NODATA] = skipped.get(cov.NODATA, 0) + 1
                elif status == "SKIPDATA":
                    skipped[cov.SKIPDATA] = skipped.get(cov.SKIPDATA, 0) + 1
                else:
                    skipped[cov.CORRUPT] = skipped.get(cov.CORRUPT, 0) + 1
                continue
        try:
            start = int(f[i_s]) if i_s >= 0 else wend
            end = int(f[i_e]) if i_e >= 0 else start
        except ValueError:
            skipped[cov.CORRUPT] = skipped.get(cov.CORRUPT, 0) + 1
            continue
        if end < wstart or start > wend:
            skipped[cov.OUT_OF_WINDOW] = skipped.get(cov.OUT_OF_WINDOW, 0) + 1
            continue
        src = f[i_src]
        if i_psrc >= 0 and f[i_psrc] != ABSENT:
            src = f[i_psrc]
        dst = f[i_dst]
        if i_pdst >= 0 and f[i_pdst] != ABSENT:
            dst = f[i_pdst]
        kind = kind_cache.get(dst) or kind_of(dst)
        if scoped and not (
            (by_address and (kind is INTERNAL or (kind_cache.get(src) or kind_of(src)) is INTERNAL))
            or (selectors and any(f[i] in ids for i, ids in selectors))
        ):
            skipped[cov.OUT_OF_SCOPE] = skipped.get(cov.OUT_OF_SCOPE, 0) + 1
            continue
        used += 1
        if i_dir >= 0 and f[i_dir] == "ingress":
            kinds["inbound"] = kinds.get("inbound", 0) + 1
            continue
        if kind is not DEPENDENCY:
            kinds[kind] = kinds.get(kind, 0) + 1
            continue
        if (kind_cache.get(src) or kind_of(src)) is DEPENDENCY:  # outside to outside
            kinds["transit"] = kinds.get("transit", 0) + 1
            continue
        try:
            srcport = int(f[i_sp]) if i_sp >= 0 else 0
            dstport = int(f[i_dp]) if i_dp >= 0 else 0
            if i_fl >= 0 and f[i_fl] != ABSENT:
                reply = int(f[i_fl]) & SYN_ACK_BIT
            else:
                reply = srcport < EPHEMERAL_LOW <= dstport  # as is_reply decides
            if reply:
                kinds["reply"] = kinds.get("reply", 0) + 1
                continue
            nbytes = int(f[i_b]) if i_b >= 0 else 0
            packets = int(f[i_p]) if i_p >= 0 else 0
            protocol = int(f[i_pr]) if i_pr >= 0 else 0
        except ValueError:
            skipped[cov.CORRUPT] = skipped.get(cov.CORRUPT, 0) + 1
            used -= 1
            continue
        dependencies += 1
        if name_span is None:
            name = None
        else:
            limit = start + slack
            span = spans.get(dst)
            if span is None or not span[0] <= limit < span[1]:
                if len(spans) >= CACHE_LIMIT:
                    spans.clear()
                span = spans[dst] = name_span(dst, limit)
            name = span[2]
        key = name or dst
        if i_in >= 0 and f[i_in] != ABSENT:
            who = f[i_in]
        elif i_if >= 0 and f[i_if] != ABSENT:
            who = f[i_if]
        else:
            who = src
        dest = items.get(key)
        if dest is None:
            where, line_no = obj.where(n)
            prov = {"source": coverage.source, "object": where, "line": line_no}
            dest = items[key] = Destination(key, name is not None, prov)
        dest.flows += 1
        dest.bytes += nbytes
        dest.packets += packets
        if start < dest.first:
            dest.first = start
        if end > dest.last:
            dest.last = end
        if dstport not in dest.ports and len(dest.ports) < MAX_PORTS:
            dest.ports.add(dstport)
        if who not in dest.sources and len(dest.sources) < MAX_SOURCES:
            dest.sources.add(who)
        if dst not in dest.addresses and len(dest.addresses) < MAX_ADDRESSES:
            dest.addresses.add(dst)
        if protocol not in dest.protocols:
            dest.protocols.add(protocol)
    if dependencies:
        kinds[DEPENDENCY] = dependencies
    coverage.records += records
    coverage.used += used
    coverage.skipped.update(skipped)
    coverage.kinds.update(kinds)
