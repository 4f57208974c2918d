"""Readers and analysis over local files laid out as S3 delivers them: join, scope, window and
aggregation asserted exactly; bad objects counted by reason."""

from __future__ import annotations

import gzip
import multiprocessing
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from auditor.traffic.collect import collect
from auditor.traffic.settings import TrafficConfig, TrafficScope, TrafficSource
from auditor.traffic.sources import Window
from auditor.traffic.workers import ReaderLost
from tests.traffic import fixtures as fx

WINDOW = Window(fx.T - fx.SINCE, fx.T)


def config(root: Path, **scope) -> TrafficConfig:
    return TrafficConfig(
        resolver_query_logs=(
            TrafficSource("path", str(root / "AWSLogs" / fx.ACCOUNT / "vpcdnsquerylogs")),
        ),
        flow_logs=(TrafficSource("path", str(root / "AWSLogs" / fx.ACCOUNT / "vpcflowlogs")),),
        scope=TrafficScope(**scope),
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    fx.write_tree(tmp_path, fx.flow_objects())
    fx.write_tree(tmp_path, fx.query_objects())
    return tmp_path


def summary(result) -> dict:
    return {
        d.key: {**d.observed(), "addresses": sorted(d.addresses), "named": d.named}
        for d in result.table.ranked()
    }


def test_destinations_are_named_scoped_windowed_and_aggregated(tree: Path) -> None:
    result = collect(config(tree, cidrs=(fx.OWN_CIDR,)), WINDOW, [fx.OWN_CIDR])
    got = summary(result)
    truncated = got.pop("192.0.2.77")
    assert 0 < truncated["flows"] < 200  # what came before the cut is used
    assert got == {
        fx.PARTNER: {
            "flows": 3,
            "bytes": 6000,
            "packets": 60,
            "ports": [443],
            "first_seen": "2026-01-10T09:10:00Z",
            "last_seen": "2026-01-10T10:01:00Z",
            "sources": [fx.ENI_A, fx.ENI_B, fx.ENI_NAT],
            "addresses": [fx.PARTNER_V4],
            "named": True,
        },
        fx.LICENCE: {
            "flows": 2,
            "bytes": 900,
            "packets": 9,
            "ports": [8443],
            "first_seen": "2026-01-10T10:10:00Z",
            "last_seen": "2026-01-10T10:31:00Z",
            "sources": [fx.ENI_B, fx.INSTANCE_B],
            "addresses": [fx.LICENCE_V4],
            "named": True,
        },
        fx.LITERAL: {
            "flows": 2,
            "bytes": 800,
            "packets": 8,
            "ports": [22],
            "first_seen": "2026-01-10T11:00:00Z",
            "last_seen": "2026-01-10T11:44:20Z",
            "sources": [fx.ENI_A],
            "addresses": [fx.LITERAL],
            "named": False,
        },
    }


def test_every_record_is_used_or_counted(tree: Path) -> None:
    result = collect(config(tree, cidrs=(fx.OWN_CIDR,)), WINDOW, [fx.OWN_CIDR])
    queries, flows = result.sources
    assert queries.records == 9
    assert dict(queries.skipped) == {"corrupt": 1, "out-of-window": 1, "out-of-scope": 1}
    assert queries.used == 6
    assert flows.skipped["nodata"] == 1
    assert flows.skipped["skipdata"] == 1
    assert flows.skipped["out-of-window"] == 1
    assert flows.skipped["out-of-scope"] == 1
    assert flows.skipped["corrupt"] == 2  # the cut line, the object that is not gzip
    assert flows.skipped["truncated"] == 1
    assert flows.skipped["unsupported-format"] == 1
    assert dict(flows.unknown_fields) == {"brand-new-field": 1}
    assert flows.objects == 6
    assert flows.kinds["reply"] == 2
    assert flows.kinds["inbound"] == 1
    assert flows.kinds["link-local"] == 2  # IMDS and the VPC resolver
    assert flows.kinds["internal"] == 2  # 10.0.2.5 and the inbound answer of the partner
    problems = " | ".join(flows.problems)
    assert "parquet" in problems.lower() and "not supported yet" in problems
    assert "cut short" in problems and "not a readable gzip stream" in problems
    assert flows.error is None and queries.error is None


def test_scope_by_instance_keeps_only_its_records(tree: Path) -> None:
    result = collect(config(tree, instance_ids=(fx.INSTANCE_B,)), WINDOW, [fx.OWN_CIDR])
    got = summary(result)
    assert list(got) == [fx.LICENCE]  # the only record that names an instance in scope
    assert got[fx.LICENCE]["sources"] == [fx.INSTANCE_B]
    assert result.stats.a_only_sources() == {fx.INSTANCE_B: [fx.PARTNER, fx.LICENCE]}


def test_a_only_sources_and_names(tree: Path) -> None:
    result = collect(config(tree, cidrs=(fx.OWN_CIDR,)), WINDOW, [fx.OWN_CIDR])
    assert result.stats.a_only_names() == [fx.LICENCE]
    assert result.stats.a_only_sources() == {fx.INSTANCE_B: [fx.PARTNER, fx.LICENCE]}


def test_a_source_that_cannot_be_read_is_marked_failed(tmp_path: Path) -> None:
    cfg = TrafficConfig(flow_logs=(TrafficSource("path", str(tmp_path / "absent")),))
    (flows,) = collect(cfg, WINDOW, []).sources
    assert flows.error and "absent" in flows.error


def test_a_source_whose_every_object_fails_is_marked_failed(tmp_path: Path) -> None:
    (tmp_path / "a.log.gz").write_bytes(b"not gzip")
    cfg = TrafficConfig(flow_logs=(TrafficSource("path", str(tmp_path)),))
    (flows,) = collect(cfg, WINDOW, []).sources
    assert flows.error and "none of its 1 objects could be read" in flows.error


def test_worker_processes_read_what_one_process_reads(tree: Path) -> None:
    """Local objects read by worker processes (a run of objects per task, merged in object
    order) give exactly the serial result: figures, names, provenance, coverage, problems."""
    fx.write_tree(tree, fx.flow_objects(bad=False, t=fx.T - 3600))  # more objects to spread

    def everything(workers: int) -> dict:
        result = collect(config(tree, cidrs=(fx.OWN_CIDR,)), WINDOW, [fx.OWN_CIDR], workers=workers)
        return {
            "destinations": {
                k: {**v, "prov": result.table.items[k].provenance}
                for k, v in summary(result).items()
            },
            "coverage": result.coverage(),
            "a_only": result.stats.a_only_sources(),
            "rcodes": result.stats.rcodes,
        }

    serial = everything(1)
    assert serial["coverage"]["sources"][1]["objects"] > 6
    assert everything(3) == serial
    assert everything(2) == serial


@pytest.mark.parametrize(
    "text",
    [
        "2026-10-25T02:08:25Z",
        "2026-10-25T02:08:59Z",
        "2026-10-25T02:08:60Z",
        "2026-13-25T02:08:25Z",
        "2026-10-25T02:08:+5Z",
        "2026-10-25T02:08: 5Z",
        "2026-10-25T02:08:0\u00b2Z",
        "2026-10-25T02:08:0\u0663Z",
        "2026-10-25T02:08:25.123Z",
        "2026-10-25T02:08:25+01:00",
        "2026-10-25 02:08:25Z",
        "yesterday",
    ],
)
def test_query_times_are_read_as_iso_8601(text: str) -> None:
    """The reader's fast path for `YYYY-MM-DDTHH:MM:SSZ` agrees with the ISO 8601 parser,
    invalid times included (counted as corrupt)."""
    import json
    from datetime import datetime

    from auditor.traffic import coverage as cov
    from auditor.traffic.analysis import AddressSpace, NameIndex, QueryStats
    from auditor.traffic.querylog import QueryScope, consume_queries

    try:
        expected = datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        expected = None
    record = {
        "query_timestamp": text,
        "query_name": "a.example.",
        "query_type": "A",
        "answers": [{"Rdata": "192.0.2.8", "Type": "A", "Class": "IN"}],
    }
    names, coverage = NameIndex(), cov.SourceCoverage("resolver_query_logs", "t")
    consume_queries(
        [json.dumps(record)] * 2,  # the second one reads the cached minute
        Window(0, 4e9),
        QueryScope(TrafficScope()),
        AddressSpace(["10.0.0.0/16"]),
        names,
        QueryStats(),
        coverage,
    )
    if expected is None:
        assert coverage.skipped == {"corrupt": 2}
    else:
        assert names.span("192.0.2.8", 5e9)[:1] == (expected,)


def test_small_local_folders_are_read_without_starting_processes(tree: Path) -> None:
    """By default workers start only when there is enough to read; asked for, they start."""
    from auditor.traffic import workers
    from auditor.traffic.sources import file_object

    objects = [file_object(p) for p in sorted(tree.rglob("*.gz"))]
    assert len(objects) >= workers.MIN_OBJECTS
    assert workers.worker_count(None, objects) == 1
    assert workers.worker_count(2, objects) == 2
    big = tree / "big.log.gz"
    big.write_bytes(b"\0" * workers.MIN_BYTES)
    assert workers.worker_count(None, [*objects, file_object(big)]) > 1 or (
        len(os.sched_getaffinity(0)) == 1
    )


def _slow_flow_log(path: Path, lines: int) -> None:
    """A flow log that takes a worker seconds to read: one record repeated (gzip keeps it
    small on disk)."""
    record = fx.v2(fx.ENI_A, fx.HOST_A, "192.0.2.77", 40000, 22, 6, 1, 1, fx.T - 900, fx.T - 840)
    chunk = ((record + "\n") * 10_000).encode()
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write((fx.FLOW_HEADER_V2 + "\n").encode())
        for _ in range(lines // 10_000):
            out.write(chunk)


def test_a_reader_process_killed_from_outside_fails_the_read_in_its_own_words(
    tree: Path,
) -> None:
    """A worker process killed mid-read (the kernel's OOM killer does that) loses what it
    read: the phase fails with its own message, never a partial result that passes, and no
    other worker is left behind. One log object takes seconds to read, so a worker is still
    reading when the pool is up and one of them is killed."""
    fx.write_tree(tree, fx.flow_objects(bad=False, t=fx.T - 3600))
    _slow_flow_log(sorted((tree / "AWSLogs").rglob("*vpcflowlogs*.log.gz"))[-1], 2_000_000)
    outcome: dict = {}

    def read() -> None:
        try:
            collect(config(tree, cidrs=(fx.OWN_CIDR,)), WINDOW, [fx.OWN_CIDR], workers=2)
        except Exception as exc:  # noqa: BLE001 - the test looks at what it was
            outcome["error"] = exc

    reader = threading.Thread(target=read)
    reader.start()
    deadline = time.monotonic() + 30
    while len(multiprocessing.active_children()) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.5)  # both workers started, the tasks handed out
    workers = multiprocessing.active_children()
    assert len(workers) == 2, "the reader processes did not start"
    os.kill(workers[0].pid, signal.SIGKILL)
    reader.join(60)
    assert not reader.is_alive(), "the read hangs after a worker was killed"
    error = outcome.get("error")
    assert isinstance(error, ReaderLost), error
    assert "ended abruptly" in str(error) and str(tree) in str(error)
    assert not any(w.is_alive() for w in workers)


def test_a_named_pipe_among_the_logs_is_named_and_skipped_not_waited_for(tree: Path) -> None:
    """Opening a FIFO nobody writes would wait forever: anything but a regular file is counted
    unreadable and named, and the rest is read."""
    flows = tree / "AWSLogs" / fx.ACCOUNT / "vpcflowlogs"
    first = sorted(flows.rglob("*_aaaa0001.log.gz"))[0]
    pipe = first.with_name(first.name.replace("aaaa0001", "aaaa0009"))
    os.mkfifo(pipe)
    got: dict = {}

    def read() -> None:
        settings = config(tree, cidrs=(fx.OWN_CIDR,))
        got["result"] = collect(settings, WINDOW, [fx.OWN_CIDR], workers=1)

    reader = threading.Thread(target=read, daemon=True)  # daemon: a regression blocks it for good
    reader.start()
    reader.join(30)
    assert not reader.is_alive(), "the read waits on the named pipe"
    result = got["result"]
    flow_source = next(s for s in result.coverage()["sources"] if s["kind"] == "flow_logs")
    assert flow_source["skipped"].get("unreadable") == 1
    assert any(str(pipe) in p and "not a regular file" in p for p in flow_source["problems"])
    assert summary(result)  # the regular files were read
