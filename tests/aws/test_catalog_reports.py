"""The catalog v2 checks reach every surface the registry feeds: `checks list`, `explain`,
`iam-policy`, the roadmap, and every report format of a result that holds their findings."""

from __future__ import annotations

import json

import pytest

from auditor.formats import FORMATS
from auditor.model import Finding, Resource, Status
from auditor.registry import load_checks
from auditor.result import build_result
from auditor.runner import stamp
from reports.view import build_view

STAGES = {
    "aws.rds.dualstack": 2,
    "aws.elasticache.dualstack": 2,
    "aws.eks.ip_family": 3,
    "aws.ecs.dualstack": 2,
    "aws.tgw.ipv6": 1,
    "aws.peering.ipv6": 1,
    "aws.resolver.endpoint_ipv6": 3,
    "aws.nfw.ipv6": 1,
    "aws.apigw.dualstack": 2,
    "aws.ec2.launch_ipv6": 2,
    "aws.sdk.dualstack": 3,
}


@pytest.fixture(scope="module")
def result() -> dict:
    """One failing and one passing finding of each new check."""
    registry = load_checks()
    findings = []
    for n, check_id in enumerate(STAGES):
        check = registry.get(check_id)
        for status in (Status.FAIL, Status.PASS):
            res = Resource(f"res-{n}-{status}", "thing", f"name-{n}", "123456789012", "us-east-1")
            evidence = {"attribute": "A", "value": "v4", "expected": "v6"}
            findings.append(
                stamp(Finding(status, f"{check_id} {status}", res, None, evidence), check, 1)
            )
    return build_result(
        workload="catalog",
        findings=findings,
        checks=[registry.get(c).meta for c in STAGES],
        started_at="2026-11-30T00:00:00Z",
        finished_at="2026-11-30T00:00:01Z",
    )


def test_stages_are_the_contracts():
    registry = load_checks()
    assert {c: registry.get(c).meta.stage for c in STAGES} == STAGES
    for check_id in STAGES:
        meta = registry.get(check_id).meta
        assert meta.permissions and meta.remediation and meta.references, check_id


def test_checks_list_explain_and_iam_policy(cli):
    listed = {c["id"]: c for c in json.loads(cli("checks", "list", "--json").stdout)}
    assert {c: listed[c]["stage"] for c in STAGES} == STAGES
    proc = cli("explain", "aws.nfw.ipv6")
    assert proc.returncode == 0 and "network-firewall:DescribeRuleGroup" in proc.stdout
    policy = json.loads(cli("iam-policy").stdout)
    actions = set(policy["Statement"][0]["Action"])
    assert {
        "apigateway:GET",
        "ec2:SearchTransitGatewayRoutes",
        "eks:DescribeCluster",
        "rds:DescribeDBSubnetGroups",
        "route53resolver:ListResolverEndpoints",
        "autoscaling:DescribeAutoScalingGroups",
        "ecs:DescribeTaskDefinition",
    } <= actions


def test_roadmap_has_each_check_at_its_stage(result):
    view = build_view(result)
    by_stage = {s.number: {step.check.id for step in s.steps} for s in view.stages}
    for check_id, stage in STAGES.items():
        assert check_id in by_stage.get(stage, set()), (check_id, stage, by_stage)


@pytest.mark.parametrize("name", ["html", "pdf", "junit", "sarif", "md"])
def test_every_format_names_the_new_checks(name, result):
    out = FORMATS[name].render(result)
    if name == "pdf":
        import io

        from pypdf import PdfReader

        text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(out)).pages)
        text = " ".join(text.split())
    else:
        text = out.decode("utf-8")
    registry = load_checks()
    for check_id in STAGES:
        title = registry.get(check_id).meta.title
        assert check_id in text or title in text, (name, check_id)
