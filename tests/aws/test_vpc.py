"""vpc family: VPC and subnet IPv6 CIDRs, address plan, IPv6-only subnets (DNS64 + NAT64
route), public IPv4 on launch, IPv6 default routes, ingress routing, interface endpoints."""

from __future__ import annotations

import pytest

from auditor.model import Severity, Status
from checks.vpc import classify_ipv4
from tests.aws.conftest import stub_scan
from tests.aws.estate import make_subnet, make_vpc, stub_client


def test_vpc_ipv6_cidr(lab):
    ec2 = lab.client("ec2")
    good = make_vpc(ec2, "100.64.0.0/16")
    bad = make_vpc(ec2, "10.20.0.0/16", ipv6=False)
    scan = lab.scan(["aws.vpc.ipv6_cidr"])
    ok = scan.on("aws.vpc.ipv6_cidr", good.id)
    assert ok.status is Status.PASS
    assert ok.evidence["ipv6_cidrs"] == [{"cidr": good.ipv6, "pool": "Amazon"}]
    assert ok.resource.account == "123456789012" and ok.resource.region == "us-east-1"
    fail = scan.on("aws.vpc.ipv6_cidr", bad.id)
    assert fail.status is Status.FAIL and fail.stage == 1 and fail.severity is Severity.HIGH
    assert fail.message.startswith(f"VPC {bad.id} (10.20.0.0/16) has no IPv6 CIDR")
    assert fail.evidence["ipv4_cidrs"] == ["10.20.0.0/16"]


def test_address_plan_classes():
    assert classify_ipv4("10.1.0.0/16")[0] == "rfc1918"
    assert classify_ipv4("172.31.0.0/16")[0] == "rfc1918"
    assert classify_ipv4("100.64.0.0/16")[0] == "rfc6598"
    assert classify_ipv4("11.0.0.0/16")[0] == "public"  # globally routed, used internally
    assert classify_ipv4("198.51.100.0/24")[0] == "reserved"  # documentation range


def test_vpc_address_plan(lab):
    ec2 = lab.client("ec2")
    shared = make_vpc(ec2, "100.64.0.0/16")
    odd = make_vpc(ec2, "198.51.100.0/24", ipv6=False)
    scan = lab.scan(["aws.vpc.address_plan"])
    fine = scan.on("aws.vpc.address_plan", shared.id)
    assert fine.status is Status.INFO
    assert fine.evidence["ipv4"][0]["class"] == "rfc6598"
    assert fine.evidence["ipv6"] == [{"cidr": shared.ipv6, "pool": "Amazon", "source": "amazon"}]
    warn = scan.on("aws.vpc.address_plan", odd.id)
    assert warn.status is Status.WARN
    assert "198.51.100.0/24" in warn.message and warn.evidence["ipv4"][0]["class"] == "reserved"


def test_subnet_ipv6_cidr_suggests_a_free_64(lab):
    ec2 = lab.client("ec2")
    vpc = make_vpc(ec2)
    with_v6 = make_subnet(ec2, vpc, "100.64.0.0/24")
    without = make_subnet(ec2, vpc, "100.64.1.0/24", ipv6=False, az="b")
    legacy = make_vpc(ec2, "10.9.0.0/16", ipv6=False)
    orphan = make_subnet(ec2, legacy, "10.9.0.0/24", ipv6=False)
    scan = lab.scan(["aws.subnet.ipv6_cidr"])
    assert scan.on("aws.subnet.ipv6_cidr", with_v6["SubnetId"]).status is Status.PASS
    fail = scan.on("aws.subnet.ipv6_cidr", without["SubnetId"])
    assert fail.status is Status.FAIL
    assert fail.evidence["expected"] == vpc.free64[0]  # the first /64 nobody uses
    assert f"associate {vpc.free64[0]} from VPC {vpc.id}" in fail.message
    no_vpc_v6 = scan.on("aws.subnet.ipv6_cidr", orphan["SubnetId"])
    assert no_vpc_v6.status is Status.FAIL and "has none to give" in no_vpc_v6.message


def test_subnet_assign_ipv6(lab):
    ec2 = lab.client("ec2")
    vpc = make_vpc(ec2)
    on = make_subnet(ec2, vpc, "100.64.0.0/24", AssignIpv6AddressOnCreation=True)
    off = make_subnet(ec2, vpc, "100.64.1.0/24")
    v4only = make_subnet(ec2, vpc, "100.64.2.0/24", ipv6=False)
    scan = lab.scan(["aws.subnet.assign_ipv6"])
    assert scan.on("aws.subnet.assign_ipv6", on["SubnetId"]).status is Status.PASS
    fail = scan.on("aws.subnet.assign_ipv6", off["SubnetId"])
    assert fail.status is Status.FAIL and "AssignIpv6AddressOnCreation" in fail.message
    assert v4only["SubnetId"] not in scan.statuses("aws.subnet.assign_ipv6")


def test_subnet_public_ipv4(lab):
    ec2 = lab.client("ec2")
    vpc = make_vpc(ec2)
    public = make_subnet(ec2, vpc, "100.64.0.0/24", MapPublicIpOnLaunch=True)
    private = make_subnet(ec2, vpc, "100.64.1.0/24")
    scan = lab.scan(["aws.subnet.public_ipv4"])
    fail = scan.on("aws.subnet.public_ipv4", public["SubnetId"])
    assert fail.status is Status.FAIL and fail.stage == 4 and "$3.65 a month" in fail.message
    assert scan.on("aws.subnet.public_ipv4", private["SubnetId"]).status is Status.PASS


def test_dns64_on_moto_ipv6_only_subnet_without_dns64_fails(lab):
    """moto keeps Ipv6Native and routes but not EnableDns64: an IPv6-only subnet there reads
    as DNS64 off, which must fail even with the NAT64 route in place."""
    ec2 = lab.client("ec2")
    vpc = make_vpc(ec2)
    public = make_subnet(ec2, vpc, "100.64.0.0/24")
    v6only = make_subnet(ec2, vpc, None)
    eip = ec2.allocate_address(Domain="vpc")
    nat = ec2.create_nat_gateway(SubnetId=public["SubnetId"], AllocationId=eip["AllocationId"])
    rtb = ec2.create_route_table(VpcId=vpc.id)["RouteTable"]["RouteTableId"]
    ec2.create_route(
        RouteTableId=rtb,
        DestinationIpv6CidrBlock="64:ff9b::/96",
        NatGatewayId=nat["NatGateway"]["NatGatewayId"],
    )
    ec2.associate_route_table(RouteTableId=rtb, SubnetId=v6only["SubnetId"])
    scan = lab.scan(["aws.subnet.dns64"])
    fail = scan.on("aws.subnet.dns64", v6only["SubnetId"])
    assert fail.status is Status.FAIL and "DNS64 off" in fail.message
    assert fail.evidence["route_table_id"] == rtb
    assert fail.evidence["nat64_route"]["target"] == nat["NatGateway"]["NatGatewayId"]
    assert public["SubnetId"] not in scan.statuses("aws.subnet.dns64")  # dual-stack, no DNS64


def _subnet(sid, *, dns64, native=True, vpc="vpc-0a1b2c3d4e5f60718"):
    return {
        "SubnetId": sid,
        "VpcId": vpc,
        "State": "available",
        "AvailabilityZone": "us-east-1a",
        "Ipv6Native": native,
        "EnableDns64": dns64,
        "AssignIpv6AddressOnCreation": True,
        "MapPublicIpOnLaunch": False,
        "Ipv6CidrBlockAssociationSet": [
            {
                "AssociationId": f"subnet-cidr-assoc-{sid[-8:]}",
                "Ipv6CidrBlock": "2001:db8:0:1::/64",
                "Ipv6CidrBlockState": {"State": "associated"},
            }
        ],
    }


def _table(rtb, subnet_id, routes, vpc="vpc-0a1b2c3d4e5f60718"):
    return {
        "RouteTableId": rtb,
        "VpcId": vpc,
        "Associations": [
            {
                "Main": False,
                "RouteTableAssociationId": f"rtbassoc-{rtb[-8:]}",
                "RouteTableId": rtb,
                "SubnetId": subnet_id,
                "AssociationState": {"State": "associated"},
            }
        ],
        "Routes": [
            {
                "DestinationIpv6CidrBlock": "2001:db8::/56",
                "GatewayId": "local",
                "Origin": "CreateRouteTable",
                "State": "active",
            },
            *routes,
        ],
    }


def test_dns64_stubbed_pass_and_fail_cases(suite_calls):
    ec2, stub = stub_client("ec2")
    stub.add_response(
        "describe_subnets",
        {
            "Subnets": [
                _subnet("subnet-0000000000000aaaa", dns64=True),  # DNS64 + NAT64 route
                _subnet("subnet-0000000000000bbbb", dns64=True),  # DNS64, no route: hangs
                _subnet("subnet-0000000000000cccc", dns64=True),  # route to a deleted NAT
                _subnet("subnet-0000000000000dddd", dns64=True),  # centralised via TGW
                _subnet("subnet-0000000000000eeee", dns64=False, native=False),  # dual-stack
            ]
        },
    )
    nat64 = {"DestinationIpv6CidrBlock": "64:ff9b::/96", "Origin": "CreateRoute"}
    stub.add_response(
        "describe_route_tables",
        {
            "RouteTables": [
                _table(
                    "rtb-000000000000000a1",
                    "subnet-0000000000000aaaa",
                    [{**nat64, "NatGatewayId": "nat-0123456789abcdef0", "State": "active"}],
                ),
                _table("rtb-000000000000000b1", "subnet-0000000000000bbbb", []),
                _table(
                    "rtb-000000000000000c1",
                    "subnet-0000000000000cccc",
                    [{**nat64, "NatGatewayId": "nat-0fedcba9876543210", "State": "blackhole"}],
                ),
                _table(
                    "rtb-000000000000000d1",
                    "subnet-0000000000000dddd",
                    [{**nat64, "TransitGatewayId": "tgw-0123456789abcdef0", "State": "active"}],
                ),
            ]
        },
    )
    with stub:
        scan = stub_scan(["aws.subnet.dns64"], {"us-east-1": {"ec2": ec2}}, suite_calls)
        stub.assert_no_pending_responses()
    assert scan.statuses("aws.subnet.dns64") == {
        "subnet-0000000000000aaaa": "pass",
        "subnet-0000000000000bbbb": "fail",
        "subnet-0000000000000cccc": "fail",
        "subnet-0000000000000dddd": "warn",
    }
    hang = scan.on("aws.subnet.dns64", "subnet-0000000000000bbbb")
    assert "connections to synthesized addresses hang" in hang.message
    assert (
        hang.evidence["expected"]
        == "route 64:ff9b::/96 → a NAT gateway (nat-…) in rtb-000000000000000b1"
    )
    blackhole = scan.on("aws.subnet.dns64", "subnet-0000000000000cccc")
    assert blackhole.evidence["other_nat64_route"]["state"] == "blackhole"
    warn = scan.on("aws.subnet.dns64", "subnet-0000000000000dddd")
    assert warn.is_blocking is False


def test_route_ipv6_default(lab):
    ec2 = lab.client("ec2")
    vpc = make_vpc(ec2)
    public = make_subnet(ec2, vpc, "100.64.0.0/24")
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc.id)
    good = ec2.create_route_table(VpcId=vpc.id)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=good, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ec2.create_route(RouteTableId=good, DestinationIpv6CidrBlock="::/0", GatewayId=igw)
    eip = ec2.allocate_address(Domain="vpc")
    nat = ec2.create_nat_gateway(SubnetId=public["SubnetId"], AllocationId=eip["AllocationId"])
    natted = ec2.create_route_table(VpcId=vpc.id)["RouteTable"]["RouteTableId"]
    ec2.create_route(
        RouteTableId=natted,
        DestinationCidrBlock="0.0.0.0/0",
        NatGatewayId=nat["NatGateway"]["NatGatewayId"],
    )
    public_v4only = ec2.create_route_table(VpcId=vpc.id)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public_v4only, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    local_only = ec2.create_route_table(VpcId=vpc.id)["RouteTable"]["RouteTableId"]
    scan = lab.scan(["aws.route.ipv6_default"])
    assert scan.on("aws.route.ipv6_default", good).status is Status.PASS
    fail = scan.on("aws.route.ipv6_default", natted)
    assert fail.status is Status.FAIL
    assert fail.evidence["expected"] == "::/0 → an egress-only internet gateway (eigw-…) of the VPC"
    fail2 = scan.on("aws.route.ipv6_default", public_v4only)
    assert fail2.evidence["expected"] == f"::/0 → {igw}"
    assert local_only not in scan.statuses("aws.route.ipv6_default")


def _ingress_vpc(ec2, with_v6_route: bool):
    vpc = make_vpc(ec2)
    public = make_subnet(ec2, vpc, "100.64.0.0/24")
    private = make_subnet(ec2, vpc, "100.64.1.0/24", az="b")
    firewall = ec2.create_network_interface(SubnetId=public["SubnetId"])["NetworkInterface"]
    eni = firewall["NetworkInterfaceId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc.id)
    edge = ec2.create_route_table(VpcId=vpc.id)["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=edge, GatewayId=igw)
    ec2.create_route(
        RouteTableId=edge, DestinationCidrBlock="100.64.1.0/24", NetworkInterfaceId=eni
    )
    private_v6 = private["Ipv6CidrBlockAssociationSet"][0]["Ipv6CidrBlock"]
    if with_v6_route:
        ec2.create_route(
            RouteTableId=edge, DestinationIpv6CidrBlock=private_v6, NetworkInterfaceId=eni
        )
    return edge, igw, eni, private["SubnetId"], private_v6


def test_ingress_parity(lab):
    ec2 = lab.client("ec2")
    good_rtb, *_ = _ingress_vpc(ec2, with_v6_route=True)
    bad_rtb, igw, eni, subnet_id, subnet_v6 = _ingress_vpc(ec2, with_v6_route=False)
    scan = lab.scan(["aws.route.ingress_parity"])
    assert scan.on("aws.route.ingress_parity", good_rtb).status is Status.PASS
    fail = scan.on("aws.route.ingress_parity", bad_rtb)
    assert fail.status is Status.FAIL and fail.severity is Severity.CRITICAL and fail.stage == 1
    assert fail.evidence["route_table_id"] == bad_rtb
    assert fail.evidence["edge_associations"] == [igw]
    assert fail.evidence["missing"] == [
        {
            "subnet_id": subnet_id,
            "subnet_ipv4": "100.64.1.0/24",
            "subnet_ipv6": subnet_v6,
            "ipv4_route": {"destination": "100.64.1.0/24", "target": eni},
            "missing_ipv6_route": {"destination": subnet_v6, "target": eni},
        }
    ]
    assert f"add route {subnet_v6} → {eni}" in fail.message
    assert "bypasses the appliance" in fail.message


def test_vpce_on_moto_reads_as_ipv4(lab):
    """moto does not keep IpAddressType: AWS's default (ipv4) applies and fails."""
    ec2 = lab.client("ec2")
    vpc = make_vpc(ec2)
    subnet = make_subnet(ec2, vpc, "100.64.0.0/24")
    vpce = ec2.create_vpc_endpoint(
        VpcId=vpc.id,
        ServiceName="com.amazonaws.us-east-1.sqs",
        VpcEndpointType="Interface",
        SubnetIds=[subnet["SubnetId"]],
    )["VpcEndpoint"]["VpcEndpointId"]
    gateway = ec2.create_vpc_endpoint(
        VpcId=vpc.id, ServiceName="com.amazonaws.us-east-1.s3", VpcEndpointType="Gateway"
    )["VpcEndpoint"]["VpcEndpointId"]
    scan = lab.scan(["aws.vpce.dualstack"])
    fail = scan.on("aws.vpce.dualstack", vpce)
    assert fail.status is Status.FAIL and fail.evidence["IpAddressType"] == "ipv4"
    assert gateway not in scan.statuses("aws.vpce.dualstack")


@pytest.mark.parametrize(
    ("ip_type", "status"), [("dualstack", "pass"), ("ipv6", "pass"), ("ipv4", "fail")]
)
def test_vpce_stubbed(suite_calls, ip_type, status):
    ec2, stub = stub_client("ec2")
    stub.add_response(
        "describe_vpc_endpoints",
        {
            "VpcEndpoints": [
                {
                    "VpcEndpointId": "vpce-0123456789abcdef0",
                    "VpcEndpointType": "Interface",
                    "VpcId": "vpc-0a1b2c3d4e5f60718",
                    "ServiceName": "com.amazonaws.us-east-1.ecr.api",
                    "State": "available",
                    "SubnetIds": ["subnet-0000000000000aaaa"],
                    "IpAddressType": ip_type,
                    "DnsOptions": {"DnsRecordIpType": ip_type},
                    "PrivateDnsEnabled": True,
                }
            ]
        },
    )
    with stub:
        scan = stub_scan(["aws.vpce.dualstack"], {"us-east-1": {"ec2": ec2}}, suite_calls)
    finding = scan.on("aws.vpce.dualstack", "vpce-0123456789abcdef0")
    assert str(finding.status) == status
    assert finding.evidence["IpAddressType"] == ip_type
