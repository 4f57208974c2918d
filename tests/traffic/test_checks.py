"""The three traffic checks through the runner, over local files (nothing probed here)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from auditor.config import Config
from auditor.context import Limits, RunState
from auditor.registry import load_checks
from auditor.runner import run_checks
from auditor.traffic.settings import TrafficConfig, TrafficScope, TrafficSource
from tests.traffic import fixtures as fx

CHECKS = ("traffic.coverage", "traffic.ipv4_dependency", "traffic.a_only_clients")


def run(config: Config, only=CHECKS):
    registry = load_checks()
    state = RunState(config=config, limits=Limits(config.concurrency))
    state.clock = lambda: fx.NOW
    outcome = asyncio.run(
        run_checks([registry.get(c) for c in only], config, registry=registry, state=state)
    )
    return outcome.findings


def traffic_config(root: Path, **changes) -> Config:
    traffic = TrafficConfig(
        since="1d",
        since_seconds=fx.SINCE,
        resolver_query_logs=(
            TrafficSource("path", str(root / "AWSLogs" / fx.ACCOUNT / "vpcdnsquerylogs")),
        ),
        flow_logs=(TrafficSource("path", str(root / "AWSLogs" / fx.ACCOUNT / "vpcflowlogs")),),
        scope=TrafficScope(cidrs=(fx.OWN_CIDR,)),
        probe=False,
    )
    return Config(workload="t", traffic=replace(traffic, **changes))


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    fx.write_tree(tmp_path, fx.flow_objects(bad=False))
    fx.write_tree(tmp_path, fx.query_objects())
    return tmp_path


def by_check(findings, check_id):
    return [f for f in findings if f.check_id == check_id]


def test_dependencies_carry_the_contract_fields(tree: Path) -> None:
    findings = run(traffic_config(tree))
    deps = {f.target.host: f for f in by_check(findings, "traffic.ipv4_dependency")}
    assert sorted(deps) == sorted([fx.PARTNER, fx.LICENCE, fx.LITERAL])
    partner = deps[fx.PARTNER].to_dict()
    assert partner["status"] == "info"  # probe: false: a listing, no verdict
    assert partner["evidence"]["observed"] == {
        "flows": 3,
        "bytes": 6000,
        "packets": 60,
        "ports": [443],
        "first_seen": "2026-01-10T09:10:00Z",
        "last_seen": "2026-01-10T10:01:00Z",
        "sources": sorted([fx.ENI_A, fx.ENI_B, fx.ENI_NAT]),
    }
    assert partner["evidence"]["addresses"] == [fx.PARTNER_V4]
    prov = partner["evidence"]["provenance"]
    assert prov["object"].endswith("_aaaa0001.log.gz") and prov["line"] == 2
    assert prov["source"].endswith("vpcflowlogs")
    assert partner["evidence"]["class"] is None
    assert "traffic.probe is false" in partner["message"]
    assert deps[fx.LITERAL].evidence["named"] is False


def test_coverage_passes_on_clean_logs_and_reports_the_window(tree: Path) -> None:
    (finding,) = by_check(run(traffic_config(tree)), "traffic.coverage")
    assert str(finding.status) == "pass", finding.message
    ev = finding.evidence
    assert ev["window"] == {"start": "2026-01-09T12:00:00Z", "end": "2026-01-10T12:00:00Z"}
    assert ev["objects"] == 3 and ev["records"] == 9 + 14 + 4
    assert ev["skipped"] == {
        "corrupt": 2,
        "nodata": 1,
        "out-of-scope": 2,
        "out-of-window": 2,
        "skipdata": 1,
    }
    assert [s["kind"] for s in ev["sources"]] == ["resolver_query_logs", "flow_logs"]


def test_coverage_warns_on_bad_objects_and_errors_on_an_unreadable_source(
    tree: Path, tmp_path: Path
) -> None:
    fx.write_tree(tree, {k: v for k, v in fx.flow_objects().items() if "0005" in k})
    (finding,) = by_check(run(traffic_config(tree)), "traffic.coverage")
    assert str(finding.status) == "warn" and "not a readable gzip stream" in finding.message
    missing = TrafficSource("path", str(tmp_path / "nowhere"))
    config = traffic_config(tree, flow_logs=(missing,))
    findings = run(config)
    (finding,) = by_check(findings, "traffic.coverage")
    assert str(finding.status) == "error" and "nowhere" in finding.message


def test_a_only_client_fails_for_names_that_have_aaaa(tree: Path) -> None:
    findings = by_check(run(traffic_config(tree)), "traffic.a_only_clients")
    (finding,) = findings
    assert str(finding.status) == "fail"
    assert finding.target.host == fx.INSTANCE_B
    assert finding.evidence["names_with_aaaa"] == [fx.PARTNER]
    assert finding.evidence["names"] == [fx.PARTNER, fx.LICENCE]


def test_a_only_client_is_information_when_no_name_has_aaaa(tmp_path: Path) -> None:
    fx.write_tree(tmp_path, fx.query_objects())
    root = tmp_path / "AWSLogs" / fx.ACCOUNT / "vpcdnsquerylogs"
    (tmp_path / "q.log").write_text(
        fx.query(fx.LICENCE, "A", fx.T - 100, [("A", fx.LICENCE_V4)], instance=fx.INSTANCE_B) + "\n"
    )
    config = traffic_config(
        tmp_path,
        resolver_query_logs=(TrafficSource("path", str(tmp_path / "q.log")),),
        flow_logs=(),
    )
    (finding,) = by_check(run(config), "traffic.a_only_clients")
    assert str(finding.status) == "info" and finding.evidence["names_with_aaaa"] == []
    assert root.exists()


def test_nothing_configured_skips(tmp_path: Path) -> None:
    findings = run(Config(workload="t"))
    assert {str(f.status) for f in findings} == {"skip"}
