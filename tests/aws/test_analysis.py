"""The pure analysis behind the routing, WAF and S3 checks, on EC2/WAF/S3 answer shapes
(what moto cannot produce, e.g. an instance route that also names its ENI)."""

from __future__ import annotations

import pytest

from auditor.aws.ingress import DIFFERENT, MISSING, SAME, ingress_parity
from auditor.aws.routes import DIFFERENT as ELSEWHERE
from auditor.aws.routes import EXPOSED, Target, appliance_of, default_routes, target_of
from auditor.aws.routes import MISSING as NO_DEFAULT
from auditor.aws.sourceip import address_family, source_ip_parity
from auditor.aws.waf import waf_parity


def table(*routes: dict, edge: str = "") -> dict:
    assoc = [{"GatewayId": edge, "AssociationState": {"State": "associated"}}] if edge else []
    return {
        "RouteTableId": "rtb-1",
        "VpcId": "vpc-1",
        "Routes": list(routes),
        "Associations": assoc,
    }


def v4(**target) -> dict:
    return {"DestinationCidrBlock": "0.0.0.0/0", "State": "active", **target}


def v6(**target) -> dict:
    return {"DestinationIpv6CidrBlock": "::/0", "State": "active", **target}


@pytest.mark.parametrize(
    ("route", "kind"),
    [
        ({"GatewayId": "igw-1"}, "internet-gateway"),
        ({"GatewayId": "vpce-1"}, "vpc-endpoint"),  # GWLB / Network Firewall endpoint
        ({"GatewayId": "vgw-1"}, "virtual-private-gateway"),
        ({"EgressOnlyInternetGatewayId": "eigw-1"}, "egress-only-internet-gateway"),
        ({"InstanceId": "i-1", "NetworkInterfaceId": "eni-1"}, "network-interface"),
        ({"TransitGatewayId": "tgw-1"}, "transit-gateway"),
    ],
)
def test_route_targets_are_read_by_kind(route, kind):
    assert target_of(route).kind == kind


def test_appliances_include_endpoints_reported_as_gateway_ids():
    assert appliance_of({"GatewayId": "vpce-0abc"}) == Target("vpc-endpoint", "vpce-0abc")
    assert appliance_of({"GatewayId": "igw-1"}) is None


@pytest.mark.parametrize(
    ("routes", "problem"),
    [
        ((v4(NatGatewayId="nat-1"), v6(EgressOnlyInternetGatewayId="eigw-1")), None),
        ((v4(NatGatewayId="nat-1"), v6(GatewayId="igw-1")), EXPOSED),
        ((v4(TransitGatewayId="tgw-1"), v6(GatewayId="igw-1")), EXPOSED),
        ((v4(GatewayId="igw-1"), v6(GatewayId="igw-1")), None),
        ((v4(GatewayId="igw-1"), v6(EgressOnlyInternetGatewayId="eigw-1")), ELSEWHERE),
        ((v4(TransitGatewayId="tgw-1"), v6(TransitGatewayId="tgw-1")), None),
        ((v4(TransitGatewayId="tgw-1"), v6(TransitGatewayId="tgw-2")), ELSEWHERE),
        ((v4(NetworkInterfaceId="eni-1"),), NO_DEFAULT),
        ((v4(GatewayId="vpce-1"), v6(GatewayId="vpce-1")), None),
    ],
)
def test_default_routes_compare_kinds_of_target(routes, problem):
    found = default_routes(table(*routes))
    assert (found.gap.problem if found.gap else None) == problem


def test_no_ipv4_default_means_nothing_to_compare():
    found = default_routes(table({"DestinationCidrBlock": "100.64.0.0/16", "GatewayId": "local"}))
    assert found.ipv4 is None and found.gap is None


def test_ingress_parity_by_longest_prefix_and_appliance():
    subnet = {
        "SubnetId": "subnet-1",
        "VpcId": "vpc-1",
        "CidrBlock": "100.64.1.0/24",
        "Ipv6CidrBlockAssociationSet": [
            {"Ipv6CidrBlock": "2001:db8:0:1::/64", "Ipv6CidrBlockState": {"State": "associated"}}
        ],
    }
    steer4 = {"DestinationCidrBlock": "100.64.1.0/24", "GatewayId": "vpce-a", "State": "active"}
    wide6 = {"DestinationIpv6CidrBlock": "2001:db8::/56", "GatewayId": "vpce-a", "State": "active"}
    narrow6 = {
        "DestinationIpv6CidrBlock": "2001:db8:0:1::/64",
        "NetworkInterfaceId": "eni-b",
        "State": "active",
    }
    (item,) = ingress_parity(table(steer4, edge="igw-1"), [subnet]).steered
    assert item.verdict == MISSING
    (item,) = ingress_parity(table(steer4, wide6, edge="igw-1"), [subnet]).steered
    assert item.verdict == SAME
    (item,) = ingress_parity(table(steer4, wide6, narrow6, edge="igw-1"), [subnet]).steered
    assert item.verdict == DIFFERENT and item.ipv6_appliance.id == "eni-b"


V4 = "arn:aws:wafv2:us-east-1:123456789012:regional/ipset/v4/1"
V6 = "arn:aws:wafv2:us-east-1:123456789012:regional/ipset/v6/2"
V4B = "arn:aws:wafv2:us-east-1:123456789012:regional/ipset/v4b/3"
VERSIONS = {V4: "IPV4", V6: "IPV6", V4B: "IPV4"}


def rule(name: str, priority: int, statement: dict, action: str = "Block") -> dict:
    return {"Name": name, "Priority": priority, "Statement": statement, "Action": {action: {}}}


def ref(arn: str) -> dict:
    return {"IPSetReferenceStatement": {"ARN": arn}}


def test_waf_twin_rules_need_the_same_action_and_no_ip_set_rule_between():
    twins = {"Rules": [rule("a", 0, ref(V4)), rule("b", 1, ref(V6))]}
    assert waf_parity(twins, {}, VERSIONS).gaps == []
    other_action = {"Rules": [rule("a", 0, ref(V4)), rule("b", 1, ref(V6), "Allow")]}
    assert [g.rule for g in waf_parity(other_action, {}, VERSIONS).gaps] == ["a"]
    between = {
        "Rules": [rule("a", 0, ref(V4)), rule("x", 1, ref(V4B), "Allow"), rule("b", 2, ref(V6))]
    }
    assert {g.rule for g in waf_parity(between, {}, VERSIONS).gaps} == {"a", "x"}
    neutral = {
        "Rules": [
            rule("a", 0, ref(V4)),
            rule("geo", 1, {"GeoMatchStatement": {}}),
            rule("b", 2, ref(V6)),
        ]
    }
    assert waf_parity(neutral, {}, VERSIONS).gaps == []


def test_waf_negated_twins_are_not_equivalent():
    negated = {
        "Rules": [
            rule("a", 0, {"NotStatement": {"Statement": ref(V4)}}),
            rule("b", 1, {"NotStatement": {"Statement": ref(V6)}}),
        ]
    }
    assert [g.rule for g in waf_parity(negated, {}, VERSIONS).gaps] == ["a"]


def test_ipv4_mapped_ranges_are_ipv4():
    assert address_family("::ffff:0:0/96") == 4
    assert address_family("::ffff:192.0.2.1") == 4
    assert address_family("::/0") == 6
    assert address_family("2001:db8::/32") == 6
    assert address_family("not an address") is None


def statement(sid: str, operator: str, values: list[str], effect: str = "Deny") -> dict:
    return {
        "Sid": sid,
        "Effect": effect,
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::b/*",
        "Condition": {operator: {"aws:SourceIp": values}},
    }


def test_source_ip_twins_count_only_for_ipaddress():
    twins = {
        "Statement": [
            statement("v4", "IpAddress", ["192.0.2.0/24"]),
            statement("v6", "IpAddress", ["2001:db8::/32"]),
        ]
    }
    result = source_ip_parity(twins)
    assert result.gaps == [] and result.twins == [{"ipv4": "v4", "ipv6": "v6"}]
    split = {
        "Statement": [
            statement("v4", "NotIpAddress", ["192.0.2.0/24"]),
            statement("v6", "NotIpAddress", ["2001:db8::/32"]),
        ]
    }
    (gap,) = source_ip_parity(split).gaps
    assert gap.split_with == "v6" and "lock out every client" in gap.consequence
    differ = {
        "Statement": [
            statement("v4", "IpAddress", ["192.0.2.0/24"]),
            statement("v6", "IpAddress", ["2001:db8::/32"], effect="Allow"),
        ]
    }
    assert [g.statement for g in source_ip_parity(differ).gaps] == ["v4"]
    mapped = {"Statement": [statement("m", "IpAddress", ["192.0.2.0/24", "::ffff:0:0/96"])]}
    (gap,) = source_ip_parity(mapped).gaps
    assert gap.ipv4_mapped == ["::ffff:0:0/96"]
