"""The demo's AWS account: a VPC half-way through its IPv6 migration, built with boto3 calls
against moto in-process (nothing leaves the machine)."""

from __future__ import annotations

import io
import ipaddress
import json
import zipfile
from typing import Any

import boto3

REGION = "us-east-1"
ACCOUNT = "123456789012"


def _lambda_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("handler.py", "def handler(event, context):\n    return 'ok'\n")
    return buf.getvalue()


def build_estate(region: str = REGION) -> dict[str, Any]:
    """Create the sample estate; returns the ids a reader of the demo may look for."""
    ec2 = boto3.client("ec2", region_name=region)
    ids: dict[str, Any] = {}

    # A 100.64.0.0/16 VPC (RFC 6598 space used internally) with an Amazon-provided IPv6 /56.
    vpc = ec2.create_vpc(CidrBlock="100.64.0.0/16", AmazonProvidedIpv6CidrBlock=True)["Vpc"]
    vpc_id = ids["vpc"] = vpc["VpcId"]
    ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": "Name", "Value": "payments"}])
    v6 = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]["Ipv6CidrBlockAssociationSet"][0]
    slash64 = ipaddress.IPv6Network(v6["Ipv6CidrBlock"]).subnets(new_prefix=64)
    v6_public, v6_private, v6_public_b = (str(next(slash64)) for _ in range(3))

    # A second VPC that has not started: IPv4 only.
    legacy = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    ec2.create_tags(Resources=[legacy], Tags=[{"Key": "Name", "Value": "legacy-batch"}])
    ids["legacy_vpc"] = legacy

    public = ec2.create_subnet(
        VpcId=vpc_id,
        CidrBlock="100.64.0.0/24",
        Ipv6CidrBlock=v6_public,
        AvailabilityZone=f"{region}a",
    )["Subnet"]["SubnetId"]
    ec2.modify_subnet_attribute(SubnetId=public, AssignIpv6AddressOnCreation={"Value": True})
    ec2.modify_subnet_attribute(SubnetId=public, MapPublicIpOnLaunch={"Value": True})
    private = ec2.create_subnet(
        VpcId=vpc_id,
        CidrBlock="100.64.1.0/24",
        Ipv6CidrBlock=v6_private,
        AvailabilityZone=f"{region}a",
    )["Subnet"]["SubnetId"]
    app = ec2.create_subnet(VpcId=vpc_id, CidrBlock="100.64.2.0/24", AvailabilityZone=f"{region}b")[
        "Subnet"
    ]["SubnetId"]
    ids.update(public_subnet=public, private_subnet=private, app_subnet=app)
    for sid, name in ((public, "public-a"), (private, "private-a"), (app, "app-b")):
        ec2.create_tags(Resources=[sid], Tags=[{"Key": "Name", "Value": name}])

    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
    eigw = ec2.create_egress_only_internet_gateway(VpcId=vpc_id)["EgressOnlyInternetGateway"][
        "EgressOnlyInternetGatewayId"
    ]

    # Public route table: dual-stack default routes.
    rt_public = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=rt_public, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ec2.create_route(RouteTableId=rt_public, DestinationIpv6CidrBlock="::/0", GatewayId=igw)
    ec2.associate_route_table(RouteTableId=rt_public, SubnetId=public)

    # NAT gateway with an Elastic IP; the private table has an IPv4 default route only.
    eip_nat = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=public, AllocationId=eip_nat)["NatGateway"][
        "NatGatewayId"
    ]
    rt_private = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=rt_private, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
    ec2.associate_route_table(RouteTableId=rt_private, SubnetId=private)
    ec2.associate_route_table(RouteTableId=rt_private, SubnetId=app)
    ids.update(igw=igw, eigw=eigw, nat=nat, rt_public=rt_public, rt_private=rt_private)

    # VPC ingress routing: the IGW's edge route table sends the private subnet's IPv4 CIDR to a
    # firewall appliance's ENI, but not its IPv6 CIDR: IPv6 bypasses inspection.
    fw_eni = ec2.create_network_interface(SubnetId=public, Description="firewall appliance")[
        "NetworkInterface"
    ]["NetworkInterfaceId"]
    rt_edge = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=rt_edge, GatewayId=igw)
    ec2.create_route(
        RouteTableId=rt_edge, DestinationCidrBlock="100.64.1.0/24", NetworkInterfaceId=fw_eni
    )
    ids.update(rt_edge=rt_edge, firewall_eni=fw_eni)

    # Security groups: one at parity, one that forgot IPv6, one with a partner range.
    web = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc_id)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=web,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
                "Ipv6Ranges": [{"CidrIpv6": "::/0"}],
            },
            {
                "IpProtocol": "tcp",
                "FromPort": 80,
                "ToPort": 80,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            },
        ],
    )
    admin = ec2.create_security_group(GroupName="admin", Description="admin", VpcId=vpc_id)[
        "GroupId"
    ]
    ec2.authorize_security_group_ingress(
        GroupId=admin,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "203.0.113.0/24", "Description": "partner office"}],
            },
        ],
    )
    ids.update(sg_web=web, sg_admin=admin)

    # A network ACL with an IPv4 allow and no IPv6 twin.
    acl = ec2.create_network_acl(VpcId=vpc_id)["NetworkAcl"]["NetworkAclId"]
    ec2.create_network_acl_entry(
        NetworkAclId=acl,
        RuleNumber=100,
        Protocol="6",
        RuleAction="allow",
        Egress=False,
        CidrBlock="0.0.0.0/0",
        PortRange={"From": 443, "To": 443},
    )
    ids["nacl"] = acl

    # An idle Elastic IP (pure waste) and an associated one.
    ids["eip_idle"] = ec2.allocate_address(Domain="vpc")["AllocationId"]

    # Instances: IMDS over IPv6 off on one, on in the launch template.
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    inst = ec2.run_instances(
        ImageId=image,
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.small",
        SubnetId=public,
        MetadataOptions={"HttpTokens": "required", "HttpProtocolIpv6": "disabled"},
    )["Instances"][0]
    ids["instance"] = inst["InstanceId"]
    eip_web = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.associate_address(AllocationId=eip_web, InstanceId=inst["InstanceId"])
    ec2.create_launch_template(
        LaunchTemplateName="docker-hosts",
        LaunchTemplateData={"ImageId": image, "MetadataOptions": {"HttpProtocolIpv6": "enabled"}},
    )

    # A Lambda in the VPC, not dual-stack, attached to a subnet without IPv6.
    iam = boto3.client("iam", region_name=region)
    role = iam.create_role(
        RoleName="payments-fn",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "sts:AssumeRole",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    lam = boto3.client("lambda", region_name=region)
    lam.create_function(
        FunctionName="payments-webhook",
        Runtime="python3.11",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": _lambda_zip()},
        VpcConfig={"SubnetIds": [private, app], "SecurityGroupIds": [web]},
    )

    # An internet-facing ALB that is IPv4-only, and a dual-stack NLB.
    elb = boto3.client("elbv2", region_name=region)
    public_b = ec2.create_subnet(
        VpcId=vpc_id,
        CidrBlock="100.64.3.0/24",
        Ipv6CidrBlock=v6_public_b,
        AvailabilityZone=f"{region}b",
    )["Subnet"]["SubnetId"]
    alb = elb.create_load_balancer(
        Name="payments-alb",
        Subnets=[public, public_b],
        SecurityGroups=[web],
        Scheme="internet-facing",
        Type="application",
        IpAddressType="ipv4",
    )["LoadBalancers"][0]
    elb.create_load_balancer(
        Name="payments-nlb",
        Subnets=[public, public_b],
        Scheme="internet-facing",
        Type="network",
        IpAddressType="dualstack",
    )
    elb.create_target_group(
        Name="payments-v6",
        Protocol="HTTP",
        Port=80,
        VpcId=vpc_id,
        TargetType="ip",
        IpAddressType="ipv6",
    )
    ids["alb"] = alb["LoadBalancerArn"]

    # CloudFront: one distribution with IPv6, one without.
    cf = boto3.client("cloudfront", region_name=region)
    for name, ipv6 in (("static", True), ("legacy-downloads", False)):
        cf.create_distribution(
            DistributionConfig={
                "CallerReference": name,
                "Comment": name,
                "Enabled": True,
                "IsIPV6Enabled": ipv6,
                "Origins": {
                    "Quantity": 1,
                    "Items": [
                        {
                            "Id": "origin",
                            "DomainName": f"{name}.demo.example",
                            "CustomOriginConfig": {
                                "HTTPPort": 80,
                                "HTTPSPort": 443,
                                "OriginProtocolPolicy": "https-only",
                            },
                        }
                    ],
                },
                "DefaultCacheBehavior": {
                    "TargetOriginId": "origin",
                    "ViewerProtocolPolicy": "redirect-to-https",
                    "MinTTL": 0,
                    "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
                    "TrustedSigners": {"Enabled": False, "Quantity": 0},
                },
            }
        )

    # Route 53: api has A and AAAA, www has A only.
    r53 = boto3.client("route53", region_name=region)
    zone = r53.create_hosted_zone(Name="payments.demo.example.", CallerReference="demo")[
        "HostedZone"
    ]["Id"]
    changes = [
        ("api.payments.demo.example.", "A", "192.0.2.20"),
        ("api.payments.demo.example.", "AAAA", "2001:db8:10::20"),
        ("www.payments.demo.example.", "A", "192.0.2.21"),
    ]
    r53.change_resource_record_sets(
        HostedZoneId=zone,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "CREATE",
                    "ResourceRecordSet": {
                        "Name": name,
                        "Type": rtype,
                        "TTL": 300,
                        "ResourceRecords": [{"Value": value}],
                    },
                }
                for name, rtype, value in changes
            ]
        },
    )
    ids["hosted_zone"] = zone

    # WAF: a rule blocks an IPv4 IP set and has no IPv6 twin.
    waf = boto3.client("wafv2", region_name=region)
    ipset = waf.create_ip_set(
        Name="blocked-v4", Scope="REGIONAL", IPAddressVersion="IPV4", Addresses=["198.51.100.0/24"]
    )["Summary"]["ARN"]
    waf.create_web_acl(
        Name="payments",
        Scope="REGIONAL",
        DefaultAction={"Allow": {}},
        VisibilityConfig={
            "SampledRequestsEnabled": False,
            "CloudWatchMetricsEnabled": False,
            "MetricName": "payments",
        },
        Rules=[
            {
                "Name": "block-list",
                "Priority": 1,
                "Action": {"Block": {}},
                "Statement": {"IPSetReferenceStatement": {"ARN": ipset}},
                "VisibilityConfig": {
                    "SampledRequestsEnabled": False,
                    "CloudWatchMetricsEnabled": False,
                    "MetricName": "block-list",
                },
            }
        ],
    )

    # S3: a bucket policy that allows an office range over IPv4 only.
    s3 = boto3.client("s3", region_name=region)
    s3.create_bucket(Bucket="payments-reports-demo")
    s3.put_bucket_policy(
        Bucket="payments-reports-demo",
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "OfficeOnly",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": ["arn:aws:s3:::payments-reports-demo/*"],
                        "Condition": {"NotIpAddress": {"aws:SourceIp": ["203.0.113.0/24"]}},
                    }
                ],
            }
        ),
    )

    # Managed services (databases, caches, containers, transit, APIs, launch, SDKs).
    from auditor.demo.catalog import build_catalog

    ids.update(build_catalog(region, vpc_id, [public, public_b], app))
    return ids
