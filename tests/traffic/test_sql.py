"""`v6audit traffic-sql`: the Athena query, run on the fixtures with DuckDB, finds the same
destinations with the same figures as the Python analysis."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from auditor.config import Config
from auditor.traffic.collect import collect
from auditor.traffic.settings import TrafficConfig, TrafficScope, TrafficSource
from auditor.traffic.sources import Window
from auditor.traffic.sql import sql_for_config
from tests.traffic import fixtures as fx

duckdb = pytest.importorskip("duckdb")
ROOT = Path(__file__).resolve().parents[2]

# Athena (Trino) functions DuckDB names differently; the query text itself is unchanged.
SHIMS = (
    "CREATE MACRO from_iso8601_timestamp(s) AS CAST(s AS TIMESTAMPTZ)",
    "CREATE MACRO to_unixtime(t) AS epoch(t)",
    "CREATE MACRO sequence(a, b) AS generate_series(CAST(a AS BIGINT), CAST(b AS BIGINT))",
)
FLOW_COLUMNS = (
    "version INTEGER, account_id VARCHAR, interface_id VARCHAR, srcaddr VARCHAR, "
    "dstaddr VARCHAR, srcport INTEGER, dstport INTEGER, protocol BIGINT, packets BIGINT, "
    'bytes BIGINT, start BIGINT, "end" BIGINT, action VARCHAR, log_status VARCHAR'
)


def flow_rows(lines: list[str]) -> list[tuple]:
    """The records of a default-format object as the Athena table holds them."""
    rows = []
    for line in lines[1:]:
        parts = line.split()
        if len(parts) != 14:
            continue  # the table's SerDe drops what does not parse; so does the analysis
        rows.append(tuple(None if p == "-" else p for p in parts))
    return rows


def database(lines: list[str], queries: list[str], tmp_path: Path):
    con = duckdb.connect()
    for shim in SHIMS:
        con.execute(shim)
    con.execute(f"CREATE TABLE vpc_flow_logs ({FLOW_COLUMNS})")
    con.executemany(f"INSERT INTO vpc_flow_logs VALUES ({', '.join('?' * 14)})", flow_rows(lines))
    path = tmp_path / "queries.jsonl"
    path.write_text("\n".join(q for q in queries if q.startswith('{"')) + "\n")
    con.execute(
        "CREATE TABLE r53_rlogs AS SELECT * FROM read_json(?, format='newline_delimited', "
        "columns={query_timestamp: 'VARCHAR', query_name: 'VARCHAR', query_type: 'VARCHAR', "
        "rcode: 'VARCHAR', srcaddr: 'VARCHAR', vpc_id: 'VARCHAR', "
        "srcids: 'STRUCT(instance VARCHAR)', "
        "answers: 'STRUCT(Rdata VARCHAR, Type VARCHAR, Class VARCHAR)[]'})",
        [str(path)],
    )
    return con


def iso(epoch) -> str:
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize(
    "scope",
    [
        TrafficScope(cidrs=(fx.OWN_CIDR,)),
        TrafficScope(),
        TrafficScope(eni_ids=(fx.ENI_B,)),
        TrafficScope(eni_ids=(fx.ENI_A,), cidrs=("10.0.1.0/24",)),
    ],
    ids=["cidrs", "no-scope", "eni", "eni-and-cidr"],
)
def test_sql_on_duckdb_finds_what_the_analysis_finds(tmp_path: Path, scope: TrafficScope) -> None:
    lines, queries = fx.flow_lines_v2(), fx.query_lines()
    (tmp_path / "flows.log").write_text("\n".join(lines) + "\n")
    (tmp_path / "queries.log").write_text("\n".join(queries) + "\n")
    traffic = TrafficConfig(
        since="1d",
        since_seconds=fx.SINCE,
        resolver_query_logs=(TrafficSource("path", str(tmp_path / "queries.log")),),
        flow_logs=(TrafficSource("path", str(tmp_path / "flows.log")),),
        scope=scope,
    )
    result = collect(traffic, Window(fx.T - fx.SINCE, fx.T), list(scope.cidrs))
    python = {
        d.key: {**d.observed(), "addresses": sorted(d.addresses), "named": d.named}
        for d in result.table.ranked()
    }
    sql = sql_for_config(Config(traffic=traffic), now=fx.T)
    con = database(lines, queries, tmp_path)
    cursor = con.execute(sql)
    columns = [c[0] for c in cursor.description]
    rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    from_sql = {
        r["destination"]: {
            "flows": r["flows"],
            "bytes": r["bytes"],
            "packets": r["packets"],
            "ports": list(r["ports"]),
            "first_seen": iso(r["first_seen"]),
            "last_seen": iso(r["last_seen"]),
            "sources": list(r["sources"]),
            "addresses": list(r["addresses"]),
            "named": r["named"],
        }
        for r in rows
    }
    assert python  # the comparison is about something
    assert from_sql == python
    assert list(from_sql) == list(python)  # same order: most flows first


def test_cli_prints_the_query_and_refuses_bad_table_names(tmp_path: Path) -> None:
    config = tmp_path / "v6audit.yaml"
    config.write_text("traffic:\n  since: 2d\n  scope: {cidrs: [10.0.0.0/16]}\n")
    run = [sys.executable, "-m", "auditor", "traffic-sql", "-c", str(config)]
    ok = subprocess.run(
        [*run, "--flow-table", "logs.flows", "--dns-table", "logs.dns"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert "FROM logs.flows f" in ok.stdout and "FROM logs.dns q" in ok.stdout
    assert "own space: 10.0.0.0/16" in ok.stdout
    bad = subprocess.run(
        [*run, "--flow-table", "x; DROP TABLE y"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "--flow-table" in bad.stderr and bad.stdout == ""
