"""filtering family against moto: security groups, network ACLs, WAF IP sets, S3 policies."""

from __future__ import annotations

import json

from auditor.model import Status
from tests.aws.estate import ip_set, make_vpc, web_acl


def _sg(ec2, vpc_id, name, ingress):
    gid = ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc_id)["GroupId"]
    if ingress:
        ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=ingress)
    return gid


def test_sg_parity(lab):
    ec2 = lab.client("ec2")
    vpc = make_vpc(ec2)
    https = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443}
    web = _sg(
        ec2,
        vpc.id,
        "web",
        [{**https, "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}],
    )
    api = _sg(ec2, vpc.id, "api", [{**https, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    ssh = _sg(
        ec2,
        vpc.id,
        "ssh",
        [
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "198.51.100.0/24", "Description": "office"}],
            }
        ],
    )
    pl = ec2.create_managed_prefix_list(
        PrefixListName="partners",
        AddressFamily="IPv4",
        MaxEntries=5,
        Entries=[{"Cidr": "203.0.113.0/24"}],
    )["PrefixList"]["PrefixListId"]
    partners = _sg(ec2, vpc.id, "partners", [{**https, "PrefixListIds": [{"PrefixListId": pl}]}])
    refs = _sg(ec2, vpc.id, "refs", [{**https, "UserIdGroupPairs": [{"GroupId": web}]}])
    scan = lab.scan(["aws.sg.parity"])
    assert scan.on("aws.sg.parity", web).status is Status.PASS
    fail = scan.on("aws.sg.parity", api)
    assert fail.status is Status.FAIL
    assert "ingress tcp/443 from 0.0.0.0/0 has no ::/0 counterpart" in fail.message
    assert fail.evidence["missing"] == [
        {"direction": "ingress", "rule": "tcp/443 from 0.0.0.0/0", "expected": "tcp/443 from ::/0"}
    ]
    assert fail.resource.kind == "security-group" and fail.resource.name == "api"
    warn = scan.on("aws.sg.parity", ssh)
    assert warn.status is Status.WARN
    assert warn.evidence["needs_mapping"][0]["description"] == "office"
    assert warn.evidence["needs_mapping"][0]["expected"] == (
        "tcp/22 from <the IPv6 prefix of 198.51.100.0/24>"
    )
    pl_warn = scan.on("aws.sg.parity", partners)
    assert pl_warn.status is Status.WARN
    assert pl_warn.evidence["needs_mapping"][0]["rule"] == f"tcp/443 from {pl}"
    assert scan.on("aws.sg.parity", refs).status is Status.PASS


def _acl(ec2, vpc_id, entries):
    acl = ec2.create_network_acl(VpcId=vpc_id)["NetworkAcl"]["NetworkAclId"]
    for number, action, cidr, ports, egress in entries:
        kw = {"Ipv6CidrBlock": cidr} if ":" in cidr else {"CidrBlock": cidr}
        ec2.create_network_acl_entry(
            NetworkAclId=acl,
            RuleNumber=number,
            Protocol="6",
            RuleAction=action,
            Egress=egress,
            PortRange={"From": ports[0], "To": ports[1]},
            **kw,
        )
    return acl


def test_nacl_parity(lab):
    ec2 = lab.client("ec2")
    vpc = make_vpc(ec2)
    twins = _acl(
        ec2,
        vpc.id,
        [
            (100, "allow", "0.0.0.0/0", (443, 443), False),
            (101, "allow", "::/0", (443, 443), False),
            (100, "allow", "0.0.0.0/0", (1024, 65535), True),
            (101, "allow", "::/0", (1024, 65535), True),
        ],
    )
    v4only = _acl(ec2, vpc.id, [(100, "allow", "0.0.0.0/0", (443, 443), False)])
    misordered = _acl(
        ec2,
        vpc.id,
        [
            (100, "deny", "0.0.0.0/0", (22, 22), False),
            (200, "allow", "0.0.0.0/0", (0, 65535), False),
            (150, "allow", "::/0", (0, 65535), False),
            (250, "deny", "::/0", (22, 22), False),
        ],
    )
    scan = lab.scan(["aws.nacl.parity"])
    assert scan.on("aws.nacl.parity", twins).status is Status.PASS
    fail = scan.on("aws.nacl.parity", v4only)
    assert fail.status is Status.FAIL
    assert fail.evidence["gaps"][0]["expected"] == (
        "IPv6 entry #101: allow tcp/443 from ::/0 (the twin of IPv4 #100)"
    )
    assert "IPv6 falls to the implicit deny" in fail.message
    order = scan.on("aws.nacl.parity", misordered)
    assert order.status is Status.FAIL
    assert order.evidence["gaps"][0]["problem"] == (
        "IPv4 entry #100 denies tcp/22 from 0.0.0.0/0 but IPv6 entry #150 allows it: "
        "IPv6 traffic bypasses the deny"
    )


def test_waf_ipset_parity(lab):
    waf = lab.client("wafv2")
    v4 = ip_set(waf, "office-v4", "IPV4")
    v6 = ip_set(waf, "office-v6", "IPV6")
    ref = lambda arn: {"IPSetReferenceStatement": {"ARN": arn}}  # noqa: E731
    both = web_acl(waf, "both", [("office", {"OrStatement": {"Statements": [ref(v4), ref(v6)]}})])
    only4 = web_acl(waf, "only4", [("office", ref(v4))])
    group = waf.create_rule_group(
        Name="blocklist",
        Scope="REGIONAL",
        Capacity=10,
        VisibilityConfig={
            "SampledRequestsEnabled": False,
            "CloudWatchMetricsEnabled": False,
            "MetricName": "g",
        },
        Rules=[
            {
                "Name": "bad-actors",
                "Priority": 0,
                "Action": {"Block": {}},
                "Statement": ref(v4),
                "VisibilityConfig": {
                    "SampledRequestsEnabled": False,
                    "CloudWatchMetricsEnabled": False,
                    "MetricName": "r",
                },
            }
        ],
    )["Summary"]["ARN"]
    via_group = waf.create_web_acl(
        Name="via-group",
        Scope="REGIONAL",
        DefaultAction={"Allow": {}},
        VisibilityConfig={
            "SampledRequestsEnabled": False,
            "CloudWatchMetricsEnabled": False,
            "MetricName": "m",
        },
        Rules=[
            {
                "Name": "group",
                "Priority": 0,
                "OverrideAction": {"None": {}},
                "Statement": {"RuleGroupReferenceStatement": {"ARN": group}},
                "VisibilityConfig": {
                    "SampledRequestsEnabled": False,
                    "CloudWatchMetricsEnabled": False,
                    "MetricName": "g",
                },
            }
        ],
    )["Summary"]
    cf_v4 = ip_set(waf, "cf-v4", "IPV4", scope="CLOUDFRONT")
    cf_acl = web_acl(waf, "edge", [("geo", ref(cf_v4))], scope="CLOUDFRONT")
    scan = lab.scan(["aws.waf.ipset_parity"])
    assert scan.on("aws.waf.ipset_parity", both["ARN"]).status is Status.PASS
    fail = scan.on("aws.waf.ipset_parity", only4["ARN"])
    assert fail.status is Status.FAIL
    assert "rule office (block) matches IPv4 IP set office-v4 but no IPv6 set" in fail.message
    assert fail.evidence["gaps"][0]["ipv4_sets"] == [v4]
    grouped = scan.on("aws.waf.ipset_parity", via_group["ARN"])
    assert grouped.status is Status.FAIL
    assert grouped.evidence["gaps"][0]["rule"] == "blocklist/bad-actors"
    edge = scan.on("aws.waf.ipset_parity", cf_acl["ARN"])
    assert edge.status is Status.FAIL and edge.resource.region == "global"
    assert edge.evidence["scope"] == "CLOUDFRONT"


def test_s3_policy_sourceip(lab):
    s3 = lab.client("s3")

    def bucket(name, condition=None, region=None):
        kw = {"CreateBucketConfiguration": {"LocationConstraint": region}} if region else {}
        s3.create_bucket(Bucket=name, **kw)
        if condition:
            s3.put_bucket_policy(
                Bucket=name,
                Policy=json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "OfficeOnly",
                                "Effect": "Deny",
                                "Principal": "*",
                                "Action": "s3:*",
                                "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
                                "Condition": condition,
                            }
                        ],
                    }
                ),
            )

    bucket("v4-only-bucket", {"NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24"]}})
    bucket(
        "dual-bucket",
        {"NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24", "2001:db8::/32"]}},
    )
    bucket("open-v4-bucket", {"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}})
    bucket("no-policy-bucket")
    bucket("elsewhere-bucket", {"NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24"]}}, "eu-west-1")
    scan = lab.scan(["aws.s3.policy_sourceip"])
    assert set(scan.statuses("aws.s3.policy_sourceip")) == {
        "arn:aws:s3:::v4-only-bucket",
        "arn:aws:s3:::dual-bucket",
        "arn:aws:s3:::open-v4-bucket",
    }
    fail = scan.on("aws.s3.policy_sourceip", "arn:aws:s3:::v4-only-bucket")
    assert fail.status is Status.FAIL and fail.resource.region == "us-east-1"
    assert "this Deny locks out every IPv6 client" in fail.message
    assert scan.on("aws.s3.policy_sourceip", "arn:aws:s3:::dual-bucket").status is Status.PASS
    anywhere = scan.on("aws.s3.policy_sourceip", "arn:aws:s3:::open-v4-bucket")
    assert anywhere.evidence["gaps"][0]["expected"] == "add ::/0 to aws:SourceIp"
    # the eu-west-1 bucket is checked when its region is scanned
    both = lab.scan(["aws.s3.policy_sourceip"], regions=("us-east-1", "eu-west-1"))
    assert both.on("aws.s3.policy_sourceip", "arn:aws:s3:::elsewhere-bucket").resource.region == (
        "eu-west-1"
    )
