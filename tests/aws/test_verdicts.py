"""Verdicts an AWS networking expert would give: the kind of a route's target, appliances
reached through Gateway Load Balancer endpoints, ICMP by meaning, IPv4-mapped ranges, and
equivalent shapes (twin statements and rules, weighted record sets) judged alike."""

from __future__ import annotations

import json

from auditor.model import Status
from tests.aws.estate import ip_set, make_subnet, make_vpc, records, web_acl


def _table(ec2, vpc_id: str) -> str:
    return ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]


def _nat(ec2, subnet_id: str) -> str:
    eip = ec2.allocate_address(Domain="vpc")
    nat = ec2.create_nat_gateway(SubnetId=subnet_id, AllocationId=eip["AllocationId"])
    return nat["NatGateway"]["NatGatewayId"]


def test_nat_default_with_ipv6_default_to_the_internet_gateway_fails(lab):
    ec2 = lab.client("ec2")
    vpc = make_vpc(ec2)
    public = make_subnet(ec2, vpc, "100.64.0.0/24")
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc.id)
    eigw = ec2.create_egress_only_internet_gateway(VpcId=vpc.id)["EgressOnlyInternetGateway"][
        "EgressOnlyInternetGatewayId"
    ]
    nat = _nat(ec2, public["SubnetId"])
    exposed = _table(ec2, vpc.id)
    ec2.create_route(RouteTableId=exposed, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
    ec2.create_route(RouteTableId=exposed, DestinationIpv6CidrBlock="::/0", GatewayId=igw)
    private = _table(ec2, vpc.id)
    ec2.create_route(RouteTableId=private, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
    ec2.create_route(
        RouteTableId=private, DestinationIpv6CidrBlock="::/0", EgressOnlyInternetGatewayId=eigw
    )
    scan = lab.scan(["aws.route.ipv6_default"])
    fail = scan.on("aws.route.ipv6_default", exposed)
    assert fail.status is Status.FAIL
    assert f"sends 0.0.0.0/0 to NAT gateway {nat} but ::/0 to internet gateway {igw}" in (
        fail.message
    )
    assert "reachable from the internet" in fail.message
    assert fail.evidence["expected"] == (
        "::/0 → an egress-only internet gateway (eigw-…) of the VPC"
    )
    assert scan.on("aws.route.ipv6_default", private).status is Status.PASS


def test_default_routes_through_a_transit_gateway_need_their_ipv6_twin(lab):
    ec2 = lab.client("ec2")
    vpc = make_vpc(ec2)
    make_subnet(ec2, vpc, "100.64.0.0/24")
    tgw = ec2.create_transit_gateway()["TransitGateway"]["TransitGatewayId"]
    vgw = ec2.create_vpn_gateway(Type="ipsec.1")["VpnGateway"]["VpnGatewayId"]
    ec2.attach_vpn_gateway(VpcId=vpc.id, VpnGatewayId=vgw)
    both = _table(ec2, vpc.id)
    ec2.create_route(RouteTableId=both, DestinationCidrBlock="0.0.0.0/0", TransitGatewayId=tgw)
    ec2.create_route(RouteTableId=both, DestinationIpv6CidrBlock="::/0", TransitGatewayId=tgw)
    v4_only = _table(ec2, vpc.id)
    ec2.create_route(RouteTableId=v4_only, DestinationCidrBlock="0.0.0.0/0", TransitGatewayId=tgw)
    via_vgw = _table(ec2, vpc.id)
    ec2.create_route(RouteTableId=via_vgw, DestinationCidrBlock="0.0.0.0/0", GatewayId=vgw)
    scan = lab.scan(["aws.route.ipv6_default"])
    assert scan.on("aws.route.ipv6_default", both).status is Status.PASS
    fail = scan.on("aws.route.ipv6_default", v4_only)
    assert fail.status is Status.FAIL
    assert fail.evidence["expected"] == f"::/0 → {tgw}"
    assert f"sends 0.0.0.0/0 to transit gateway {tgw}" in fail.message
    vgw_fail = scan.on("aws.route.ipv6_default", via_vgw)
    assert vgw_fail.status is Status.FAIL and vgw_fail.evidence["expected"] == f"::/0 → {vgw}"


def _edge(ec2, vpc, subnet_cidr: str):
    subnet = make_subnet(ec2, vpc, subnet_cidr, az="b")
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc.id)
    edge = _table(ec2, vpc.id)
    ec2.associate_route_table(RouteTableId=edge, GatewayId=igw)
    return edge, subnet


def test_ingress_routing_through_a_gateway_load_balancer_endpoint_is_seen(lab):
    """EC2 and moto report the route as `GatewayId: vpce-…` (no VpcEndpointId)."""
    ec2 = lab.client("ec2")
    vpc = make_vpc(ec2)
    appliance_subnet = make_subnet(ec2, vpc, "100.64.0.0/24")
    vpce = ec2.create_vpc_endpoint(
        VpcId=vpc.id,
        ServiceName="com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0",
        VpcEndpointType="GatewayLoadBalancer",
        SubnetIds=[appliance_subnet["SubnetId"]],
    )["VpcEndpoint"]["VpcEndpointId"]
    edge, subnet = _edge(ec2, vpc, "100.64.1.0/24")
    ec2.create_route(RouteTableId=edge, DestinationCidrBlock="100.64.1.0/24", VpcEndpointId=vpce)
    routes = ec2.describe_route_tables(RouteTableIds=[edge])["RouteTables"][0]["Routes"]
    assert any(r.get("GatewayId") == vpce for r in routes)  # the shape this test is about
    scan = lab.scan(["aws.route.ingress_parity"])
    fail = scan.on("aws.route.ingress_parity", edge)
    assert fail.status is Status.FAIL
    subnet_v6 = subnet["Ipv6CidrBlockAssociationSet"][0]["Ipv6CidrBlock"]
    assert f"add route {subnet_v6} → {vpce}" in fail.message


def test_ipv6_steered_to_another_appliance_is_named_not_passed(lab):
    ec2 = lab.client("ec2")
    vpc = make_vpc(ec2)
    appliance_subnet = make_subnet(ec2, vpc, "100.64.0.0/24")
    eni_a = ec2.create_network_interface(SubnetId=appliance_subnet["SubnetId"])["NetworkInterface"][
        "NetworkInterfaceId"
    ]
    eni_b = ec2.create_network_interface(SubnetId=appliance_subnet["SubnetId"])["NetworkInterface"][
        "NetworkInterfaceId"
    ]
    edge, subnet = _edge(ec2, vpc, "100.64.1.0/24")
    subnet_v6 = subnet["Ipv6CidrBlockAssociationSet"][0]["Ipv6CidrBlock"]
    ec2.create_route(
        RouteTableId=edge, DestinationCidrBlock="100.64.1.0/24", NetworkInterfaceId=eni_a
    )
    ec2.create_route(
        RouteTableId=edge, DestinationIpv6CidrBlock=subnet_v6, NetworkInterfaceId=eni_b
    )
    scan = lab.scan(["aws.route.ingress_parity"])
    warn = scan.on("aws.route.ingress_parity", edge)
    assert warn.status is Status.WARN
    assert f"sends 100.64.1.0/24 to {eni_a} but {subnet_v6} to {eni_b}" in warn.message
    assert "different appliance" in warn.message


def _bucket(s3, name: str, *statements: dict) -> None:
    s3.create_bucket(Bucket=name)
    full = [
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
            **st,
        }
        for st in statements
    ]
    s3.put_bucket_policy(
        Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": full})
    )


def test_s3_ipv4_mapped_ranges_and_twin_statements(lab):
    s3 = lab.client("s3")
    _bucket(
        s3,
        "mapped-bucket",
        {"Sid": "Block", "Condition": {"IpAddress": {"aws:SourceIp": ["::ffff:c000:200/120"]}}},
    )
    _bucket(
        s3,
        "twins-bucket",
        {"Sid": "Block4", "Condition": {"IpAddress": {"aws:SourceIp": ["192.0.2.0/24"]}}},
        {"Sid": "Block6", "Condition": {"IpAddress": {"aws:SourceIp": ["2001:db8::/32"]}}},
    )
    _bucket(
        s3,
        "split-bucket",
        {"Sid": "Only4", "Condition": {"NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24"]}}},
        {"Sid": "Only6", "Condition": {"NotIpAddress": {"aws:SourceIp": ["2001:db8::/32"]}}},
    )
    scan = lab.scan(["aws.s3.policy_sourceip"])
    mapped = scan.on("aws.s3.policy_sourceip", "arn:aws:s3:::mapped-bucket")
    assert mapped.status is Status.FAIL
    assert mapped.evidence["gaps"][0]["ipv4_mapped"] == ["::ffff:c000:200/120"]
    assert scan.on("aws.s3.policy_sourceip", "arn:aws:s3:::twins-bucket").status is Status.PASS
    split = scan.on("aws.s3.policy_sourceip", "arn:aws:s3:::split-bucket")
    assert split.status is Status.FAIL
    assert "together these Denies lock out every client" in split.message
    assert "merge statement Only6 into Only4" in split.message


def test_waf_twin_rules_pass_like_one_rule_listing_both(lab):
    waf = lab.client("wafv2")
    v4 = ip_set(waf, "bad-v4", "IPV4")
    v6 = ip_set(waf, "bad-v6", "IPV6")
    ref = lambda arn: {"IPSetReferenceStatement": {"ARN": arn}}  # noqa: E731
    twins = web_acl(waf, "twins", [("bad4", ref(v4)), ("bad6", ref(v6))])
    scan = lab.scan(["aws.waf.ipset_parity"])
    finding = scan.on("aws.waf.ipset_parity", twins["ARN"])
    assert finding.status is Status.PASS, finding.message
    assert finding.evidence["rules"][0]["ipv6_twin"] == "bad6"


def test_weighted_record_set_missing_aaaa_on_one_member_says_so(lab):
    r53 = lab.client("route53")
    zone = r53.create_hosted_zone(Name="example.com", CallerReference="w")["HostedZone"]
    zid = zone["Id"].rsplit("/", 1)[-1]

    def member(kind: str, set_id: str, value: str) -> dict:
        return {
            "Name": "app.example.com",
            "Type": kind,
            "SetIdentifier": set_id,
            "Weight": 50,
            "TTL": 60,
            "ResourceRecords": [{"Value": value}],
        }

    records(
        r53,
        zid,
        member("A", "blue", "192.0.2.10"),
        member("AAAA", "blue", "2001:db8::10"),
        member("A", "green", "192.0.2.20"),
    )
    scan = lab.scan(["aws.route53.aaaa"])
    fail = scan.on("aws.route53.aaaa", f"{zid}/app.example.com.#green")
    assert fail.status is Status.FAIL
    assert "weighted record set app.example.com." in fail.message
    assert "member green has an A record but no AAAA" in fail.message
    assert "IPv6-only clients get only blue" in fail.message
    assert scan.on("aws.route53.aaaa", f"{zid}/app.example.com.#blue").status is Status.PASS
