"""The field scenario: an RFC 6598 VPC with an Amazon IPv6 /56, a public subnet with a /64,
an internet gateway whose edge-associated route table sends the private subnet through a
firewall ENI, a docker host with prefix assignments, a Lambda in the VPC, an ALB, a CloudFront
distribution and a hosted zone. Every finding, the scores and the stage are asserted."""

from __future__ import annotations

import pytest

from auditor.registry import load_checks
from auditor.result import build_result
from tests.aws.conftest import FOUNDATION_CHECKS

ACCOUNT = "123456789012"


def test_field_scenario(lab, field):
    scan = lab.scan(FOUNDATION_CHECKS)  # the catalog v2 checks: test_catalog_*.py
    f = field
    # moto keeps the network ACL of the deleted default VPC; it is not part of this estate
    findings = [x for x in scan.findings if not (x.resource and x.resource.id in f["leftovers"])]
    got = {(x.check_id, x.resource.id if x.resource else ""): str(x.status) for x in findings}
    region = f"{ACCOUNT}/us-east-1"
    assert got == {
        ("aws.vpc.ipv6_cidr", f["vpc"]): "pass",
        ("aws.vpc.address_plan", f["vpc"]): "info",
        ("aws.subnet.ipv6_cidr", f["pub"]): "pass",
        ("aws.subnet.ipv6_cidr", f["priv"]): "pass",
        ("aws.subnet.assign_ipv6", f["pub"]): "fail",
        ("aws.subnet.assign_ipv6", f["priv"]): "pass",
        ("aws.subnet.public_ipv4", f["pub"]): "fail",
        ("aws.subnet.public_ipv4", f["priv"]): "pass",
        ("aws.subnet.dns64", ""): "skip",  # no IPv6-only subnet yet
        ("aws.route.ipv6_default", f["rt_pub"]): "fail",
        ("aws.route.ingress_parity", f["rt_edge"]): "fail",
        ("aws.vpce.dualstack", ""): "skip",
        ("aws.sg.parity", f["default_sg"]): "pass",
        ("aws.sg.parity", f["web_sg"]): "pass",
        ("aws.sg.parity", f["ssh_sg"]): "warn",
        ("aws.nacl.parity", f["default_acl"]): "pass",
        ("aws.nacl.parity", f["priv_acl"]): "fail",
        ("aws.waf.ipset_parity", ""): "skip",
        ("aws.s3.policy_sourceip", ""): "skip",
        ("aws.lambda.dualstack", f["fn"]): "fail",
        ("aws.ec2.imds_ipv6", f["host"]): "fail",
        # moto drops ENI prefixes: the docker host's /28 and /80 are checked with a Stubber
        ("aws.ec2.eni_prefix", ""): "skip",
        ("aws.eip.public_ipv4", region): "fail",
        ("aws.elb.dualstack", f["alb"]): "fail",
        ("aws.elb.target_ipv6", f["tg"]): "fail",
        ("aws.cloudfront.ipv6", f["dist"]): "pass",
        ("aws.route53.aaaa", f["www"]): "pass",
        ("aws.route53.aaaa", f["api"]): "fail",
    }
    by_key = {(x.check_id, x.resource.id if x.resource else ""): x for x in findings}

    ingress = by_key[("aws.route.ingress_parity", f["rt_edge"])]
    assert ingress.severity.value == "critical"
    assert ingress.evidence["edge_associations"] == [f["igw"]]
    assert ingress.evidence["missing"][0]["ipv4_route"] == {
        "destination": "100.64.1.0/24",
        "target": f["firewall"],
    }
    assert ingress.evidence["missing"][0]["missing_ipv6_route"] == {
        "destination": f["priv_v6"],
        "target": f["firewall"],
    }
    assert by_key[("aws.route.ipv6_default", f["rt_pub"])].evidence["expected"] == (
        f"::/0 → {f['igw']}"
    )
    assert by_key[("aws.vpc.address_plan", f["vpc"])].evidence["ipv4"][0]["class"] == "rfc6598"
    cost = by_key[("aws.eip.public_ipv4", region)]
    assert cost.evidence["public_ipv4"] == {"eip-idle": 1, "eni-public-ip": 1, "load-balancer": 2}
    assert cost.message == (
        f"4 public IPv4 address(es) in account {ACCOUNT} in us-east-1 cost $14.60 a month "
        "(1 eip-idle, 1 eni-public-ip, 2 load-balancer); 1 idle Elastic IP(s) are pure waste "
        "($3.65 a month): release them"
    )
    assert by_key[("aws.route53.aaaa", f["api"])].evidence["note"] == (
        "the load balancer must be dualstack (aws.elb.dualstack)"
    )

    metas = {c.id: c.meta for c in load_checks() if c.id in FOUNDATION_CHECKS}
    result = build_result(
        workload="field",
        findings=findings,
        checks=list(metas.values()),
        started_at="2026-01-01T00:00:00Z",
        finished_at="2026-01-01T00:00:05Z",
    )
    # vpc: dual_stack (5·1 + 5·1 + 2·½ + 5·0 + 10·0) / 27; ipv6_only adds public_ipv4 (1·½)
    # filtering: sg 1 (warn not counted), nacl ½ → (5 + 2.5) / 10
    # compute: lambda 0, imds 0 (+ eip 0 on ipv6_only)
    # edge: elb 0, cloudfront 1, route53 ½ → 4.5 / 12; ipv6_only adds target_ipv6 0 → 4.5 / 14
    assert result["scores"]["families"] == {
        "compute": 0.0,
        "edge": 32.1,
        "filtering": 75.0,
        "vpc": 41.1,
    }
    assert result["scores"]["dual_stack"] == pytest.approx((40.7 + 75.0 + 0.0 + 37.5) / 4, abs=0.05)
    assert result["scores"]["ipv6_only"] == pytest.approx((41.1 + 75.0 + 0.0 + 32.1) / 4, abs=0.05)
    assert result["stage"]["current"] == 0 and result["stage"]["next"] == 1
    order = [
        ("aws.route.ingress_parity", f["rt_edge"]),  # before ::/0 lets IPv6 in unfiltered
        ("aws.route.ipv6_default", f["rt_pub"]),
        ("aws.nacl.parity", f["priv_acl"]),
    ]
    assert result["stage"]["blockers"] == [by_key[k].fingerprint for k in order]
    assert result["cost"]["public_ipv4"]["count"] == 4
    assert result["cost"]["public_ipv4"]["monthly_usd"] == 14.6
