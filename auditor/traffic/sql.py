"""`v6audit traffic-sql`: the traffic analysis as one Athena (Trino) query over the standard
tables: VPC Flow Logs in the default format (`version, account_id, interface_id, srcaddr,
dstaddr, srcport, dstport, protocol, packets, bytes, start, "end", action, log_status`) and
Route 53 Resolver query logs (`query_timestamp, query_name, query_type, rcode, answers
array<struct<rdata,type,class>>, srcaddr, srcids struct<instance,...>, vpc_id`).

The same rules as the Python analysis: the window, the scope, the own address space (with the
private ranges standing in when none is known), AWS link-local addresses and the VPC resolver
left out, replies to clients left out, each flow named by the answer given for its address
most recently before it (within the same slack), and the figures per destination.
"""

from __future__ import annotations

import ipaddress
import re
import time
from typing import TYPE_CHECKING

from auditor.errors import UsageError
from auditor.traffic.analysis import (
    EPHEMERAL_LOW,
    LINK_LOCAL_NET,
    NAME_SLACK_SECONDS,
    PRIVATE_NETS,
    SPECIAL_NETS,
)
from auditor.traffic.settings import TrafficConfig
from auditor.traffic.sources import Window, iso

if TYPE_CHECKING:
    from auditor.config import Config as AuditorConfig

DEFAULT_FLOW_TABLE = "vpc_flow_logs"
DEFAULT_DNS_TABLE = "r53_rlogs"
_TABLE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}$")


def _ipnum(expr: str) -> str:
    parts = [f"TRY_CAST(split_part({expr}, '.', {i}) AS BIGINT)" for i in range(1, 5)]
    return f"({parts[0]} * 16777216 + {parts[1]} * 65536 + {parts[2]} * 256 + {parts[3]})"


def _ranges(nets) -> list[tuple[int, int]]:
    return [(int(n.network_address), int(n.broadcast_address)) for n in nets]


def _in_ranges(num: str, ranges: list[tuple[int, int]]) -> str:
    if not ranges:
        return "FALSE"
    return "(" + " OR ".join(f"{num} BETWEEN {lo} AND {hi}" for lo, hi in ranges) + ")"


def _quote(values) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def _own(own_cidrs: list[str]) -> tuple[list[tuple[int, int]], list[int]]:
    nets = [ipaddress.ip_network(c, strict=False) for c in own_cidrs]
    own4 = [n for n in nets if n.version == 4]
    resolvers = [int(n.network_address) + 2 for n in own4 if n.prefixlen < 31]
    return _ranges(own4 or PRIVATE_NETS), resolvers


def _is_dependency(num: str, own: list[tuple[int, int]], resolvers: list[int]) -> str:
    """SQL true when the IPv4 number `num` is a dependency address (outside the own space)."""
    excluded = [*_ranges([LINK_LOCAL_NET, *SPECIAL_NETS]), (4294967295, 4294967295)]
    excluded += [(r, r) for r in resolvers]
    return f"{num} IS NOT NULL AND NOT {_in_ranges(num, excluded)} AND NOT {_in_ranges(num, own)}"


def _v4(expr: str) -> str:
    """The IPv4 number of an address column, NULL for IPv6 and '-'."""
    return f"CASE WHEN strpos({expr}, ':') = 0 AND {expr} <> '-' THEN {_ipnum(expr)} END"


def traffic_sql(
    config: TrafficConfig,
    window: Window,
    own_cidrs: list[str],
    flow_table: str = DEFAULT_FLOW_TABLE,
    dns_table: str = DEFAULT_DNS_TABLE,
) -> str:
    scope = config.scope
    own, resolvers = _own(own_cidrs)
    start, end = int(window.start), int(window.end)
    flow_scope = ["TRUE"] if scope.empty else []
    if scope.eni_ids:
        flow_scope.append(f"source IN ({_quote(scope.eni_ids)})")
    by_address = bool(scope.cidrs or scope.vpc_ids)
    if by_address:
        flow_scope.append(f"{_in_ranges('src_n', own)} OR {_in_ranges('dst_n', own)}")
    dns_scope = ["TRUE"] if scope.empty else []
    if scope.vpc_ids:
        dns_scope.append(f"q.vpc_id IN ({_quote(scope.vpc_ids)})")
    if scope.instance_ids:
        dns_scope.append(f"q.srcids.instance IN ({_quote(scope.instance_ids)})")
    if by_address:
        dns_scope.append(_in_ranges(f"({_v4('q.srcaddr')})", own))
    notes = []
    if scope.subnet_ids or scope.instance_ids or scope.vpc_ids:
        notes.append(
            "-- scope.vpc_ids/subnet_ids/instance_ids select flows only through the own space "
            "here: the standard flow-log table has no such columns"
        )
    qt = "to_unixtime(from_iso8601_timestamp(q.query_timestamp))"
    header = [
        "-- v6audit traffic-sql: IPv4 destinations outside the workload's own space, by name",
        f"-- window {iso(start)} to {iso(end)}; own space: "
        + ", ".join(own_cidrs or [str(n) for n in PRIVATE_NETS]),
        "-- add your tables' partition predicates (e.g. day >= ...) to read less",
        *notes,
    ]
    slack = NAME_SLACK_SECONDS
    body = f"""WITH questions AS (
  SELECT q.query_name, q.answers, {qt} AS t
  FROM {dns_table} q
  WHERE cardinality(q.answers) > 0
    AND {qt} BETWEEN {start} AND {end}
    AND ({" OR ".join(dns_scope) or "FALSE"})
),
answered AS (
  -- one row per answer (by position: portable where UNNEST of row arrays is not)
  SELECT lower(regexp_replace(query_name, '\\.$', '')) AS name,
         answers[i].rdata AS address,
         {_v4("answers[i].rdata")} AS n,
         t
  FROM questions
  CROSS JOIN UNNEST(sequence(1, cardinality(answers))) AS u(i)
  WHERE answers[i].type = 'A'
),
names AS (
  SELECT address, name, min(t) AS first_t, max(t) AS last_t
  FROM answered
  WHERE {_is_dependency("n", own, resolvers)}
  GROUP BY address, name
),
records AS (
  SELECT f.interface_id AS source,
         f.dstaddr AS address,
         {_v4("f.srcaddr")} AS src_n,
         {_v4("f.dstaddr")} AS dst_n,
         f.srcport, f.dstport, f.bytes, f.packets, f.start, f."end"
  FROM {flow_table} f
  WHERE f.log_status = 'OK' AND f."end" >= {start} AND f.start <= {end}
),
flows AS (
  SELECT row_number() OVER () AS fid, *
  FROM records
  WHERE ({" OR ".join(flow_scope) or "FALSE"})
    AND {_is_dependency("dst_n", own, resolvers)}
    AND NOT coalesce({_is_dependency("src_n", own, resolvers)}, FALSE)
    AND NOT (srcport < {EPHEMERAL_LOW} AND dstport >= {EPHEMERAL_LOW})
),
candidates AS (
  SELECT fl.fid, n.name,
         row_number() OVER (
           PARTITION BY fl.fid
           ORDER BY least(n.last_t, fl.start + {slack}) DESC, n.name ASC
         ) AS pick
  FROM flows fl
  JOIN names n ON n.address = fl.address AND n.first_t <= fl.start + {slack}
),
named AS (
  SELECT fl.*, c.name
  FROM flows fl
  LEFT JOIN candidates c ON c.fid = fl.fid AND c.pick = 1
)
SELECT coalesce(name, address) AS destination,
       name IS NOT NULL AS named,
       count(*) AS flows,
       sum(bytes) AS bytes,
       sum(packets) AS packets,
       array_sort(array_agg(DISTINCT dstport)) AS ports,
       min(start) AS first_seen,
       max("end") AS last_seen,
       array_sort(array_agg(DISTINCT source)) AS sources,
       array_sort(array_agg(DISTINCT address)) AS addresses
FROM named
GROUP BY coalesce(name, address), name IS NOT NULL
ORDER BY flows DESC, bytes DESC, destination ASC
"""
    return "\n".join(header) + "\n" + body


def sql_for_config(
    config: AuditorConfig,
    flow_table: str = DEFAULT_FLOW_TABLE,
    dns_table: str = DEFAULT_DNS_TABLE,
    now: float | None = None,
) -> str:
    """The query for a loaded config: its window ending `now`, its scope; the own space is
    scope.cidrs (VPC CIDRs are not looked up here: list them in scope.cidrs)."""
    for label, name in (("--flow-table", flow_table), ("--dns-table", dns_table)):
        if not _TABLE_RE.match(name):
            raise UsageError(f"{label}: {name!r} is not a table name such as db.vpc_flow_logs")
    traffic = config.traffic
    end = time.time() if now is None else now
    window = Window(end - traffic.since_seconds, end)
    sql = traffic_sql(traffic, window, list(traffic.scope.cidrs), flow_table, dns_table)
    if traffic.scope.vpc_ids and not traffic.scope.cidrs:
        sql = (
            "-- scope.vpc_ids: add the VPCs' IPv4 CIDRs to scope.cidrs so the own space is "
            "theirs (the private ranges stand in meanwhile)\n" + sql
        )
    return sql
