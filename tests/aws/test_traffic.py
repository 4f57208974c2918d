"""Traffic readers against moto over HTTP: flow and query logs from S3 (listed, streamed,
gunzipped) and from CloudWatch Logs (FilterLogEvents, paginated, time-bounded); the own space
from DescribeVpcs; AccessDenied on GetObject and a missing bucket counted, never raised."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from auditor.aws.inventory import Inventory
from auditor.config import AwsConfig, Config
from auditor.context import Limits, RunState
from auditor.registry import load_checks
from auditor.runner import run_checks
from auditor.traffic.settings import TrafficConfig, TrafficScope, TrafficSource
from tests.aws.conftest import ApiRecorder, AwsLab
from tests.aws.fault_proxy import FaultProxy
from tests.traffic import fixtures as fx

CHECKS = ("traffic.coverage", "traffic.ipv4_dependency", "traffic.a_only_clients")
BUCKET = "logs-bucket"
NOW = int(time.time()) // 60 * 60  # CloudWatch Logs refuses events older than 14 days
FLOW_GROUP = "/vpc/flow-logs"
QUERY_GROUP = "/aws/route53resolver/queries"


def scan(lab: AwsLab, traffic: TrafficConfig, url: str | None = None):
    config = Config(
        workload="traffic",
        aws=AwsConfig(regions=("us-east-1",), endpoint_url=url or lab.url),
        traffic=traffic,
    )
    registry = load_checks()
    state = RunState(config=config, limits=Limits(config.concurrency))
    state.clock = lambda: datetime.fromtimestamp(NOW, UTC)
    recorder = ApiRecorder()
    state.services["aws"] = Inventory(state, on_session=recorder.attach, max_attempts=2)
    outcome = asyncio.run(
        run_checks([registry.get(c) for c in CHECKS], config, registry=registry, state=state)
    )
    lab.suite.merge(recorder)
    return outcome.findings, recorder


def by_check(findings, check_id):
    return [f for f in findings if f.check_id == check_id]


@pytest.fixture
def estate(lab: AwsLab) -> dict:
    return build_estate(lab)


def build_estate(lab: AwsLab) -> dict:
    """A VPC for the scope, a log bucket in S3's layout and two log groups."""
    ec2 = lab.client("ec2")
    vpc = ec2.create_vpc(CidrBlock=fx.OWN_CIDR)["Vpc"]["VpcId"]
    s3 = lab.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    for key, body in {**fx.flow_objects(t=NOW), **fx.query_objects(t=NOW)}.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    logs = lab.client("logs")
    for group, lines in (
        (FLOW_GROUP, fx.flow_lines_v2(NOW)[1:]),  # CloudWatch messages carry no header
        (QUERY_GROUP, fx.query_lines(NOW)),
    ):
        logs.create_log_group(logGroupName=group)
        for stream in ("eni-a-all", "eni-b-all"):
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
        half = len(lines) // 2
        for stream, part in (("eni-a-all", lines[:half]), ("eni-b-all", lines[half:])):
            logs.put_log_events(
                logGroupName=group,
                logStreamName=stream,
                logEvents=[
                    {"timestamp": (NOW - 3600) * 1000 + i, "message": m} for i, m in enumerate(part)
                ],
            )
    return {"vpc": vpc}


def traffic(vpc: str, **changes) -> TrafficConfig:
    base = TrafficConfig(
        since="1d",
        since_seconds=fx.SINCE,
        resolver_query_logs=(
            TrafficSource("s3", f"s3://{BUCKET}/AWSLogs/{fx.ACCOUNT}/vpcdnsquerylogs/"),
        ),
        flow_logs=(TrafficSource("s3", f"s3://{BUCKET}/AWSLogs/{fx.ACCOUNT}/vpcflowlogs/"),),
        scope=TrafficScope(vpc_ids=(vpc,)),
        probe=False,
    )
    return replace(base, **changes)


def observed(findings) -> dict:
    return {
        f.target.host: f.evidence["observed"]["flows"]
        for f in by_check(findings, "traffic.ipv4_dependency")
    }


def test_s3_sources_stream_and_count_bad_objects(lab: AwsLab, estate: dict) -> None:
    findings, recorder = scan(lab, traffic(estate["vpc"]))
    flows = observed(findings)
    truncated = flows.pop("192.0.2.77")
    assert 0 < truncated < 200
    assert flows == {fx.PARTNER: 3, fx.LICENCE: 2, fx.LITERAL: 2}
    (coverage,) = by_check(findings, "traffic.coverage")
    assert str(coverage.status) == "warn"
    assert coverage.evidence["address_space"] == {"own_cidrs": [fx.OWN_CIDR], "assumed": False}
    query_src, flow_src = coverage.evidence["sources"]
    assert flow_src["objects"] == 6 and flow_src["skipped"]["truncated"] == 1
    assert flow_src["skipped"]["unsupported-format"] == 1
    assert query_src["used"] == 6
    (a_only,) = by_check(findings, "traffic.a_only_clients")
    assert str(a_only.status) == "fail" and a_only.target.host == fx.INSTANCE_B
    prov = by_check(findings, "traffic.ipv4_dependency")[0].evidence["provenance"]
    assert prov["object"].startswith(f"s3://{BUCKET}/AWSLogs/") and prov["line"] == 2
    assert recorder.actions == {
        "sts:GetCallerIdentity",
        "ec2:DescribeVpcs",
        "s3:ListBucket",
        "s3:GetObject",
    }


def test_log_groups_are_read_page_by_page_within_the_window(lab: AwsLab, estate: dict) -> None:
    config = traffic(
        estate["vpc"],
        resolver_query_logs=(TrafficSource("log_group", QUERY_GROUP, region="us-east-1"),),
        flow_logs=(TrafficSource("log_group", FLOW_GROUP),),
    )
    findings, recorder = scan(lab, config)
    assert observed(findings) == {fx.PARTNER: 2, fx.LICENCE: 1, fx.LITERAL: 1}
    (coverage,) = by_check(findings, "traffic.coverage")
    query_src, flow_src = coverage.evidence["sources"]
    assert flow_src["records"] == 14 and flow_src["skipped"]["nodata"] == 1
    assert query_src["records"] == 9 and query_src["skipped"]["corrupt"] == 1
    partner = next(
        f for f in by_check(findings, "traffic.ipv4_dependency") if f.target.host == fx.PARTNER
    )
    assert partner.evidence["provenance"] == {
        "source": f"log group {FLOW_GROUP}",
        "object": "eni-a-all",
        "line": 1,
    }
    assert "logs:FilterLogEvents" in recorder.actions


def test_access_denied_on_one_object_is_counted_and_the_rest_analysed(
    lab: AwsLab, estate: dict
) -> None:
    def deny(request):
        if request.service == "s3" and request.method == "GET" and "aaaa0002" in request.path:
            return 403, "AccessDenied"
        return None

    with FaultProxy(lab.url, deny) as proxy:
        findings, _ = scan(lab, traffic(estate["vpc"]), url=proxy.url)
    (coverage,) = by_check(findings, "traffic.coverage")
    flow_src = coverage.evidence["sources"][1]
    assert flow_src["skipped"]["access-denied"] == 1
    assert any("denied s3:GetObject" in p for p in flow_src["problems"])
    flows = observed(findings)
    assert flows[fx.PARTNER] == 2 and flows[fx.LICENCE] == 1  # the custom-format object is gone


def test_a_missing_bucket_or_log_group_makes_coverage_an_error(lab: AwsLab, estate: dict) -> None:
    config = traffic(
        estate["vpc"],
        resolver_query_logs=(TrafficSource("log_group", "/no/such/group"),),
        flow_logs=(TrafficSource("s3", "s3://no-such-bucket/AWSLogs/"),),
    )
    findings, _ = scan(lab, config)
    (coverage,) = by_check(findings, "traffic.coverage")
    assert str(coverage.status) == "error"
    assert "no such log group" in coverage.message and "no-such-bucket" in coverage.message
    (deps,) = by_check(findings, "traffic.ipv4_dependency")
    assert str(deps.status) == "error"
