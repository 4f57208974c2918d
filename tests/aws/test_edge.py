"""edge family against moto: load balancers, target groups, CloudFront, Route 53."""

from __future__ import annotations

from auditor.model import Severity, Status
from tests.aws.estate import distribution, make_subnet, make_vpc, records


def test_elb_dualstack(lab):
    ec2, elb, classic = lab.client("ec2"), lab.client("elbv2"), lab.client("elb")
    vpc = make_vpc(ec2)
    a = make_subnet(ec2, vpc, "100.64.0.0/24")
    b = make_subnet(ec2, vpc, "100.64.1.0/24", az="b")
    c = make_subnet(ec2, vpc, "100.64.2.0/24", az="c", ipv6=False)
    dual = elb.create_load_balancer(
        Name="dual",
        Subnets=[a["SubnetId"], b["SubnetId"]],
        Type="application",
        IpAddressType="dualstack",
    )["LoadBalancers"][0]["LoadBalancerArn"]
    v4 = elb.create_load_balancer(
        Name="v4nlb",
        Subnets=[a["SubnetId"], c["SubnetId"]],
        Type="network",
        Scheme="internal",
    )["LoadBalancers"][0]["LoadBalancerArn"]
    classic.create_load_balancer(
        LoadBalancerName="legacy",
        Listeners=[{"Protocol": "HTTP", "LoadBalancerPort": 80, "InstancePort": 80}],
        Subnets=[a["SubnetId"]],
    )
    scan = lab.scan(["aws.elb.dualstack"])
    assert scan.on("aws.elb.dualstack", dual).status is Status.PASS
    fail = scan.on("aws.elb.dualstack", v4)
    assert fail.status is Status.FAIL
    assert fail.evidence["subnets_without_ipv6"] == [c["SubnetId"]]
    assert f"give subnet(s) {c['SubnetId']} IPv6 CIDRs, then set" in fail.message
    legacy = scan.on("aws.elb.dualstack", "legacy")
    assert legacy.status is Status.FAIL and legacy.resource.kind == "classic-load-balancer"


def test_elb_target_ipv6(lab):
    ec2, elb = lab.client("ec2"), lab.client("elbv2")
    vpc = make_vpc(ec2)
    other = make_vpc(ec2, "100.65.0.0/16")
    make_subnet(ec2, other, None)  # an IPv6-only subnet in the other VPC

    def group(name, vpc_id, **kw):
        return elb.create_target_group(
            Name=name, Protocol="HTTP", Port=80, VpcId=vpc_id, TargetType="ip", **kw
        )["TargetGroups"][0]["TargetGroupArn"]

    v6 = group("v6", vpc.id, IpAddressType="ipv6")
    v4 = group("v4", vpc.id)
    v4_next_to_v6only = group("v4-blocked", other.id)
    lam = elb.create_target_group(Name="fn", TargetType="lambda")["TargetGroups"][0][
        "TargetGroupArn"
    ]
    scan = lab.scan(["aws.elb.target_ipv6"])
    assert scan.on("aws.elb.target_ipv6", v6).status is Status.PASS
    fail = scan.on("aws.elb.target_ipv6", v4)
    assert fail.status is Status.FAIL and fail.severity is Severity.MEDIUM
    blocked = scan.on("aws.elb.target_ipv6", v4_next_to_v6only)
    assert blocked.status is Status.FAIL and blocked.severity is Severity.HIGH
    assert blocked.evidence["ipv6_only_subnets_in_vpc"]
    assert lam not in scan.statuses("aws.elb.target_ipv6")


def test_cloudfront_ipv6(lab):
    cf = lab.client("cloudfront")
    on = distribution(cf, "on", True, ["www.example.com"])
    off = distribution(cf, "off", False)
    scan = lab.scan(["aws.cloudfront.ipv6"])
    good = scan.on("aws.cloudfront.ipv6", on["ARN"])
    assert good.status is Status.PASS and good.resource.region == "global"
    bad = scan.on("aws.cloudfront.ipv6", off["ARN"])
    assert bad.status is Status.FAIL and "IsIPV6Enabled" in bad.message


def test_route53_aaaa(lab):
    r53 = lab.client("route53")
    zone = r53.create_hosted_zone(Name="example.com", CallerReference="z")["HostedZone"]
    zid = zone["Id"].rsplit("/", 1)[-1]
    alb = {
        "HostedZoneId": "Z35SXDOTRQ7X7K",
        "DNSName": "web-1.us-east-1.elb.amazonaws.com",
        "EvaluateTargetHealth": False,
    }
    records(
        r53,
        zone["Id"],
        {
            "Name": "www.example.com",
            "Type": "A",
            "TTL": 60,
            "ResourceRecords": [{"Value": "192.0.2.10"}],
        },
        {
            "Name": "www.example.com",
            "Type": "AAAA",
            "TTL": 60,
            "ResourceRecords": [{"Value": "2001:db8::10"}],
        },
        {"Name": "api.example.com", "Type": "A", "AliasTarget": alb},
        {
            "Name": "*.example.com",
            "Type": "A",
            "TTL": 60,
            "ResourceRecords": [{"Value": "192.0.2.11"}],
        },
        {
            "Name": "blue.example.com",
            "Type": "A",
            "SetIdentifier": "blue",
            "Weight": 50,
            "TTL": 60,
            "ResourceRecords": [{"Value": "192.0.2.20"}],
        },
        {
            "Name": "blue.example.com",
            "Type": "AAAA",
            "SetIdentifier": "blue",
            "Weight": 50,
            "TTL": 60,
            "ResourceRecords": [{"Value": "2001:db8::20"}],
        },
        {
            "Name": "blue.example.com",
            "Type": "A",
            "SetIdentifier": "green",
            "Weight": 50,
            "TTL": 60,
            "ResourceRecords": [{"Value": "192.0.2.21"}],
        },
    )
    scan = lab.scan(["aws.route53.aaaa"])
    assert scan.statuses("aws.route53.aaaa") == {
        f"{zid}/www.example.com.": "pass",
        f"{zid}/api.example.com.": "fail",
        f"{zid}/*.example.com.": "fail",
        f"{zid}/blue.example.com.#blue": "pass",
        f"{zid}/blue.example.com.#green": "fail",
    }
    alias = scan.on("aws.route53.aaaa", f"{zid}/api.example.com.")
    assert alias.evidence["expected"] == (
        "AAAA api.example.com. alias to web-1.us-east-1.elb.amazonaws.com"
    )
    assert alias.evidence["note"] == "the load balancer must be dualstack (aws.elb.dualstack)"
    green = scan.on("aws.route53.aaaa", f"{zid}/blue.example.com.#green")
    assert green.evidence["expected"].endswith("(set identifier green)")
    assert green.resource.region == "global" and green.resource.account == "123456789012"
