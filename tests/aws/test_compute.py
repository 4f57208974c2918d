"""compute family: Lambda dual-stack, IMDS over IPv6, ENI prefixes, public IPv4 cost."""

from __future__ import annotations

from auditor.model import Status
from auditor.registry import load_checks
from auditor.result import build_result
from tests.aws.conftest import stub_scan
from tests.aws.estate import make_function, make_subnet, make_vpc, stub_client


def test_lambda_dualstack(lab):
    ec2, lam, iam = lab.client("ec2"), lab.client("lambda"), lab.client("iam")
    vpc = make_vpc(ec2)
    a = make_subnet(ec2, vpc, "100.64.0.0/24")
    b = make_subnet(ec2, vpc, "100.64.1.0/24", az="b")
    v4 = make_subnet(ec2, vpc, "100.64.2.0/24", ipv6=False, az="c")
    good = make_function(lam, iam, "good", [a["SubnetId"], b["SubnetId"]], dualstack=True)
    flag_off = make_function(lam, iam, "flag-off", [a["SubnetId"]], dualstack=False)
    v4_subnet = make_function(lam, iam, "v4-subnet", [a["SubnetId"], v4["SubnetId"]], True)
    outside = make_function(lam, iam, "outside", None)
    scan = lab.scan(["aws.lambda.dualstack"])
    assert scan.on("aws.lambda.dualstack", good).status is Status.PASS
    off = scan.on("aws.lambda.dualstack", flag_off)
    assert off.status is Status.FAIL and "Ipv6AllowedForDualStack is off" in off.message
    bad_subnet = scan.on("aws.lambda.dualstack", v4_subnet)
    assert bad_subnet.status is Status.FAIL
    assert bad_subnet.evidence["subnets_without_ipv6"] == [v4["SubnetId"]]
    assert outside not in scan.statuses("aws.lambda.dualstack")


def test_imds_ipv6(lab):
    ec2 = lab.client("ec2")
    vpc = make_vpc(ec2)
    subnet = make_subnet(ec2, vpc, "100.64.0.0/24")

    def instance(**kw):
        return ec2.run_instances(
            ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=subnet["SubnetId"], **kw
        )["Instances"][0]["InstanceId"]

    on = instance(MetadataOptions={"HttpProtocolIpv6": "enabled", "HttpTokens": "required"})
    off = instance()
    no_imds = instance(MetadataOptions={"HttpEndpoint": "disabled"})
    good_lt = ec2.create_launch_template(
        LaunchTemplateName="good",
        LaunchTemplateData={"MetadataOptions": {"HttpProtocolIpv6": "enabled"}},
    )["LaunchTemplate"]["LaunchTemplateId"]
    mixed_lt = ec2.create_launch_template(LaunchTemplateName="mixed", LaunchTemplateData={})[
        "LaunchTemplate"
    ]["LaunchTemplateId"]
    ec2.create_launch_template_version(
        LaunchTemplateId=mixed_lt,
        LaunchTemplateData={"MetadataOptions": {"HttpProtocolIpv6": "enabled"}},
    )
    scan = lab.scan(["aws.ec2.imds_ipv6"])
    assert scan.on("aws.ec2.imds_ipv6", on).status is Status.PASS
    fail = scan.on("aws.ec2.imds_ipv6", off)
    assert fail.status is Status.FAIL and fail.evidence["HttpProtocolIpv6"] == "disabled"
    assert no_imds not in scan.statuses("aws.ec2.imds_ipv6")
    assert scan.on("aws.ec2.imds_ipv6", good_lt).status is Status.PASS
    mixed = scan.on("aws.ec2.imds_ipv6", mixed_lt)
    assert mixed.status is Status.FAIL and "v1 (default)" in mixed.message
    assert mixed.evidence["versions"] == [
        {"version": 1, "default": True, "latest": False, "HttpProtocolIpv6": "disabled"},
        {"version": 2, "default": False, "latest": True, "HttpProtocolIpv6": "enabled"},
    ]


def test_eni_prefix_on_moto_has_nothing_to_check(lab):
    """moto does not keep ENI prefixes: no container host is visible, the check skips."""
    ec2 = lab.client("ec2")
    vpc = make_vpc(ec2)
    subnet = make_subnet(ec2, vpc, "100.64.0.0/24")
    ec2.create_network_interface(SubnetId=subnet["SubnetId"])
    (finding,) = lab.scan(["aws.ec2.eni_prefix"]).of("aws.ec2.eni_prefix")
    assert finding.status is Status.SKIP


def _eni(eid, subnet, v4=(), v6=(), instance=None):
    eni = {
        "NetworkInterfaceId": eid,
        "SubnetId": subnet,
        "VpcId": "vpc-0a1b2c3d4e5f60718",
        "InterfaceType": "interface",
        "Status": "in-use",
        "PrivateIpAddress": "100.64.0.10",
        "Ipv4Prefixes": [{"Ipv4Prefix": p} for p in v4],
        "Ipv6Prefixes": [{"Ipv6Prefix": p} for p in v6],
    }
    if instance:
        eni["Attachment"] = {"InstanceId": instance, "DeviceIndex": 0, "Status": "attached"}
    return eni


def test_eni_prefix_stubbed(suite_calls):
    ec2, stub = stub_client("ec2")
    stub.add_response(
        "describe_network_interfaces",
        {
            "NetworkInterfaces": [
                _eni(
                    "eni-0000000000000aaaa",
                    "subnet-0000000000000aaaa",
                    ["100.64.0.32/28"],
                    ["2001:db8:0:1:a0::/80"],
                    "i-0123456789abcdef0",
                ),
                _eni("eni-0000000000000bbbb", "subnet-0000000000000aaaa", ["100.64.0.48/28"]),
                _eni("eni-0000000000000cccc", "subnet-0000000000000bbbb", ["100.64.1.16/28"]),
                _eni("eni-0000000000000dddd", "subnet-0000000000000aaaa"),  # no prefixes
            ]
        },
    )
    stub.add_response(
        "describe_subnets",
        {
            "Subnets": [
                {
                    "SubnetId": "subnet-0000000000000aaaa",
                    "VpcId": "vpc-0a1b2c3d4e5f60718",
                    "CidrBlock": "100.64.0.0/24",
                    "Ipv6CidrBlockAssociationSet": [
                        {
                            "AssociationId": "subnet-cidr-assoc-0000000000000001",
                            "Ipv6CidrBlock": "2001:db8:0:1::/64",
                            "Ipv6CidrBlockState": {"State": "associated"},
                        }
                    ],
                },
                {
                    "SubnetId": "subnet-0000000000000bbbb",
                    "VpcId": "vpc-0a1b2c3d4e5f60718",
                    "CidrBlock": "100.64.1.0/24",
                    "Ipv6CidrBlockAssociationSet": [],
                },
            ]
        },
    )
    with stub:
        scan = stub_scan(["aws.ec2.eni_prefix"], {"us-east-1": {"ec2": ec2}}, suite_calls)
        stub.assert_no_pending_responses()
    assert scan.statuses("aws.ec2.eni_prefix") == {
        "eni-0000000000000aaaa": "pass",
        "eni-0000000000000bbbb": "fail",
        "eni-0000000000000cccc": "fail",
    }
    fail = scan.on("aws.ec2.eni_prefix", "eni-0000000000000bbbb")
    assert fail.evidence["expected"] == "an IPv6 /80 prefix from 2001:db8:0:1::/64"
    no_subnet_v6 = scan.on("aws.ec2.eni_prefix", "eni-0000000000000cccc")
    assert "has no IPv6 to take one from" in no_subnet_v6.message


def test_public_ipv4_counted_by_kind_and_priced(lab):
    ec2, elb = lab.client("ec2"), lab.client("elbv2")
    vpc = make_vpc(ec2)
    public = make_subnet(ec2, vpc, "100.64.0.0/24", MapPublicIpOnLaunch=True)
    other = make_subnet(ec2, vpc, "100.64.1.0/24", az="b")
    ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=public["SubnetId"])
    pinned = ec2.run_instances(
        ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=other["SubnetId"]
    )["Instances"][0]["InstanceId"]
    eip = ec2.allocate_address(Domain="vpc")
    ec2.associate_address(AllocationId=eip["AllocationId"], InstanceId=pinned)
    idle = ec2.allocate_address(Domain="vpc")
    nat_eip = ec2.allocate_address(Domain="vpc")
    ec2.create_nat_gateway(SubnetId=public["SubnetId"], AllocationId=nat_eip["AllocationId"])
    elb.create_load_balancer(
        Name="public-alb",
        Subnets=[public["SubnetId"], other["SubnetId"]],
        Scheme="internet-facing",
        Type="application",
    )
    elb.create_load_balancer(
        Name="internal-alb",
        Subnets=[public["SubnetId"], other["SubnetId"]],
        Scheme="internal",
        Type="application",
    )
    scan = lab.scan(["aws.eip.public_ipv4"], regions=("us-east-1", "eu-west-1"))
    finding = scan.on("aws.eip.public_ipv4", "123456789012/us-east-1")
    assert finding.status is Status.FAIL and finding.stage == 4
    assert finding.evidence["public_ipv4"] == {
        "eip-associated": 1,
        "eip-idle": 1,
        "eni-public-ip": 1,
        "nat-gateway": 1,
        "load-balancer": 2,  # one per zone of the internet-facing ALB; the internal has none
    }
    assert finding.evidence["idle_eips"] == [
        {"allocation_id": idle["AllocationId"], "ip": idle["PublicIp"]}
    ]
    assert finding.message.startswith(
        "6 public IPv4 address(es) in account 123456789012 in us-east-1 cost $21.90 a month"
    )
    assert "1 idle Elastic IP(s) are pure waste ($3.65 a month): release them" in finding.message
    empty = scan.on("aws.eip.public_ipv4", "123456789012/eu-west-1")
    assert empty.status is Status.PASS and empty.evidence["public_ipv4"] == {}
    checks = {c.id: c.meta for c in load_checks()}
    result = build_result(
        workload="lab",
        findings=scan.findings,
        checks=[checks["aws.eip.public_ipv4"]],
        started_at="2026-01-01T00:00:00Z",
        finished_at="2026-01-01T00:00:01Z",
    )
    assert result["cost"]["public_ipv4"]["count"] == 6
    assert result["cost"]["public_ipv4"]["monthly_usd"] == 21.9
    assert result["cost"]["public_ipv4"]["by_kind"]["eip-idle"] == 1
