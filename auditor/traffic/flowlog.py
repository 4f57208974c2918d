"""VPC Flow Logs records: the default format (v2) and custom formats given by their header.

Hand-written: a flow log record is a line of space-separated fields whose order the header line
(in S3 objects) or the flow log's format string (CloudWatch Logs) gives; `str.split` is the
fastest correct parser, and no library reads both delivery layouts.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from auditor.traffic import coverage as cov
from auditor.traffic.analysis import (
    DEPENDENCY,
    INTERNAL,
    AddressSpace,
    DestinationTable,
    NameIndex,
    is_reply,
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


def _int(text: str) -> int:
    return int(text) if text != ABSENT else 0


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
    wstart, wend = window.start, window.end
    kinds: Counter = Counter()
    skipped: Counter = Counter()
    records = used = 0
    kind_of = space.kind
    name_at = names.name_at if names is not None and len(names) else None
    items = table.items
    add = table.add
    state: dict[str, Any] = {}

    def setup(current: Layout) -> None:
        state["layout"] = current
        idx = current.index
        state["n"] = len(current.fields)
        state["i"] = (
            idx("log-status"),
            idx("start"),
            idx("end"),
            idx("srcaddr"),
            idx("dstaddr"),
            idx("pkt-srcaddr"),
            idx("pkt-dstaddr"),
            idx("srcport"),
            idx("dstport"),
            idx("bytes"),
            idx("packets"),
            idx("tcp-flags"),
            idx("flow-direction"),
            idx("instance-id"),
            idx("interface-id"),
            idx("protocol"),
        )
        state["sel"] = scope.selectors(current)

    if layout is not None:
        setup(layout)
    n = 0
    for line in lines:
        n += 1
        if n == 1 or "layout" not in state:
            header = layout_from_header(line)
            if header is not None:
                if not header.usable:
                    coverage.problem(f"{obj.name}: the header names no source or destination")
                    coverage.skip(cov.UNKNOWN_FORMAT)
                    return
                for name in header.unknown:
                    coverage.unknown_fields[name] += 1
                setup(header)
                continue
            if "layout" not in state:
                setup(DEFAULT_LAYOUT)
        if not line:
            continue
        records += 1
        f = line.split()
        if len(f) != state["n"]:
            skipped[cov.CORRUPT] += 1
            continue
        (
            i_st,
            i_s,
            i_e,
            i_src,
            i_dst,
            i_psrc,
            i_pdst,
            i_sp,
            i_dp,
            i_b,
            i_p,
            i_fl,
            i_dir,
            i_in,
            i_if,
            i_pr,
        ) = state["i"]
        if i_st >= 0:
            status = f[i_st]
            if status != "OK":
                if status == "NODATA":
                    skipped[cov.NODATA] += 1
                elif status == "SKIPDATA":
                    skipped[cov.SKIPDATA] += 1
                else:
                    skipped[cov.CORRUPT] += 1
                continue
        try:
            start = int(f[i_s]) if i_s >= 0 else wend
            end = int(f[i_e]) if i_e >= 0 else start
            srcport = _int(f[i_sp]) if i_sp >= 0 else 0
            dstport = _int(f[i_dp]) if i_dp >= 0 else 0
            nbytes = _int(f[i_b]) if i_b >= 0 else 0
            packets = _int(f[i_p]) if i_p >= 0 else 0
            flags = _int(f[i_fl]) if i_fl >= 0 and f[i_fl] != ABSENT else None
            protocol = _int(f[i_pr]) if i_pr >= 0 else 0
        except ValueError:
            skipped[cov.CORRUPT] += 1
            continue
        if end < wstart or start > wend:
            skipped[cov.OUT_OF_WINDOW] += 1
            continue
        src = f[i_psrc] if i_psrc >= 0 and f[i_psrc] != ABSENT else f[i_src]
        dst = f[i_pdst] if i_pdst >= 0 and f[i_pdst] != ABSENT else f[i_dst]
        if not scope.empty:
            for i, ids in state["sel"]:
                if f[i] in ids:
                    break
            else:
                if not (
                    scope.by_address and (kind_of(src) == INTERNAL or kind_of(dst) == INTERNAL)
                ):
                    skipped[cov.OUT_OF_SCOPE] += 1
                    continue
        used += 1
        if i_dir >= 0 and f[i_dir] == "ingress":
            kinds["inbound"] += 1
            continue
        kind = kind_of(dst)
        if kind != DEPENDENCY:
            kinds[kind] += 1
            continue
        if kind_of(src) == DEPENDENCY:  # from outside to outside: not the workload's flow
            kinds["transit"] += 1
            continue
        if is_reply(srcport, dstport, flags):
            kinds["reply"] += 1
            continue
        kinds[DEPENDENCY] += 1
        name = name_at(dst, start) if name_at is not None else None
        key = name or dst
        if i_in >= 0 and f[i_in] != ABSENT:
            who = f[i_in]
        elif i_if >= 0 and f[i_if] != ABSENT:
            who = f[i_if]
        else:
            who = src
        prov = None
        if key not in items:
            where, line_no = obj.where(n)
            prov = {"source": coverage.source, "object": where, "line": line_no}
        add(key, name is not None, dst, dstport, protocol, nbytes, packets, start, end, who, prov)
    coverage.records += records
    coverage.used += used
    coverage.skipped.update(skipped)
    coverage.kinds.update(kinds)
