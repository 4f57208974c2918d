"""Builders for AWS resources in moto, the way the field builds them (boto3 calls only)."""

from __future__ import annotations

import io
import ipaddress
import json
import zipfile
from dataclasses import dataclass, field

import boto3
from botocore.stub import Stubber

VC = {"SampledRequestsEnabled": False, "CloudWatchMetricsEnabled": False, "MetricName": "m"}


@dataclass
class Vpc:
    id: str
    ipv4: str
    ipv6: str | None
    free64: list[str] = field(default_factory=list)

    def next64(self) -> str:
        return self.free64.pop(0)


def make_vpc(ec2, cidr: str = "100.64.0.0/16", ipv6: bool = True) -> Vpc:
    kwargs = {"AmazonProvidedIpv6CidrBlock": True} if ipv6 else {}
    vpc = ec2.create_vpc(CidrBlock=cidr, **kwargs)["Vpc"]
    v6 = None
    free: list[str] = []
    if ipv6:
        v6 = vpc["Ipv6CidrBlockAssociationSet"][0]["Ipv6CidrBlock"]
        free = [str(n) for n in ipaddress.ip_network(v6).subnets(new_prefix=64)]
    return Vpc(vpc["VpcId"], cidr, v6, free)


def make_subnet(ec2, vpc: Vpc, cidr: str | None, *, ipv6: bool = True, az: str = "a", **kw) -> dict:
    args: dict = {"VpcId": vpc.id, "AvailabilityZone": ec2.meta.region_name + az}
    if cidr:
        args["CidrBlock"] = cidr
    else:
        args["Ipv6Native"] = True
    if ipv6:
        args["Ipv6CidrBlock"] = vpc.next64()
    subnet = ec2.create_subnet(**args)["Subnet"]
    # moto makes the first subnet of a zone "default for AZ" with public IPv4 on launch
    kw.setdefault("MapPublicIpOnLaunch", False)
    for attr, value in kw.items():
        ec2.modify_subnet_attribute(SubnetId=subnet["SubnetId"], **{attr: {"Value": value}})
    return subnet


def lambda_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("handler.py", "def handler(event, context):\n    return 1\n")
    return buf.getvalue()


def lambda_role(iam) -> str:
    try:
        return iam.get_role(RoleName="lambda-exec")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        return iam.create_role(
            RoleName="lambda-exec",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )["Role"]["Arn"]


def make_function(lam, iam, name: str, subnets: list[str] | None, dualstack: bool = False) -> str:
    kwargs = {}
    if subnets:
        kwargs["VpcConfig"] = {
            "SubnetIds": subnets,
            "SecurityGroupIds": [],
            "Ipv6AllowedForDualStack": dualstack,
        }
    return lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=lambda_role(iam),
        Handler="handler.handler",
        Code={"ZipFile": lambda_zip()},
        **kwargs,
    )["FunctionArn"]


def ip_set(waf, name: str, version: str, scope: str = "REGIONAL") -> str:
    addresses = ["192.0.2.0/24"] if version == "IPV4" else ["2001:db8::/32"]
    return waf.create_ip_set(Name=name, Scope=scope, IPAddressVersion=version, Addresses=addresses)[
        "Summary"
    ]["ARN"]


def web_acl(waf, name: str, rules: list[dict], scope: str = "REGIONAL") -> dict:
    full = []
    for priority, (rule_name, statement) in enumerate(rules):
        full.append(
            {
                "Name": rule_name,
                "Priority": priority,
                "Action": {"Block": {}},
                "Statement": statement,
                "VisibilityConfig": VC,
            }
        )
    return waf.create_web_acl(
        Name=name, Scope=scope, DefaultAction={"Allow": {}}, VisibilityConfig=VC, Rules=full
    )["Summary"]


def distribution(cf, ref: str, ipv6: bool, aliases: list[str] | None = None) -> dict:
    config = {
        "CallerReference": ref,
        "Comment": ref,
        "Enabled": True,
        "IsIPV6Enabled": ipv6,
        "Origins": {
            "Quantity": 1,
            "Items": [
                {
                    "Id": "origin",
                    "DomainName": "origin.example.com",
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
            "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
            "MinTTL": 0,
            "TrustedSigners": {"Enabled": False, "Quantity": 0},
        },
    }
    if aliases:
        config["Aliases"] = {"Quantity": len(aliases), "Items": aliases}
    return cf.create_distribution(DistributionConfig=config)["Distribution"]


def records(r53, zone_id: str, *sets: dict) -> None:
    r53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": s} for s in sets]},
    )


# --- botocore Stubber: for what moto does not store ----------------------------------------


def stub_client(service: str, region: str = "us-east-1"):
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
    )
    client = session.client(service, region_name=region)
    return client, Stubber(client)


def clear_default_vpc(ec2) -> list[str]:
    """Delete moto's default VPC (and its subnets) so a test sees only what it builds.
    Returns the ids of network ACLs the emulator keeps after the VPC is gone."""
    vpc_ids = [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if v.get("IsDefault")]
    leftovers = []
    for vpc_id in vpc_ids:
        filters = [{"Name": "vpc-id", "Values": [vpc_id]}]
        for subnet in ec2.describe_subnets(Filters=filters)["Subnets"]:
            ec2.delete_subnet(SubnetId=subnet["SubnetId"])
        leftovers += [
            a["NetworkAclId"] for a in ec2.describe_network_acls(Filters=filters)["NetworkAcls"]
        ]
        ec2.delete_vpc(VpcId=vpc_id)
    return leftovers


def build_field(lab) -> dict:
    """The field estate of the scenario test; returns the ids of what it built."""
    ec2 = lab.client("ec2")
    leftovers = clear_default_vpc(ec2)
    vpc = make_vpc(ec2, "100.64.0.0/16")
    pub = make_subnet(ec2, vpc, "100.64.0.0/24", MapPublicIpOnLaunch=True)["SubnetId"]
    priv = make_subnet(ec2, vpc, "100.64.1.0/24", az="b", AssignIpv6AddressOnCreation=True)
    priv_id = priv["SubnetId"]
    priv_v6 = priv["Ipv6CidrBlockAssociationSet"][0]["Ipv6CidrBlock"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc.id)
    rt_pub = ec2.create_route_table(VpcId=vpc.id)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=rt_pub, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ec2.associate_route_table(RouteTableId=rt_pub, SubnetId=pub)
    firewall = ec2.create_network_interface(SubnetId=pub, Description="firewall")[
        "NetworkInterface"
    ]["NetworkInterfaceId"]
    ec2.modify_network_interface_attribute(
        NetworkInterfaceId=firewall, SourceDestCheck={"Value": False}
    )
    rt_edge = ec2.create_route_table(VpcId=vpc.id)["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=rt_edge, GatewayId=igw)
    ec2.create_route(
        RouteTableId=rt_edge, DestinationCidrBlock="100.64.1.0/24", NetworkInterfaceId=firewall
    )
    # the docker host: public subnet, IPv4 /28 and IPv6 /80 prefixes on its ENI
    host = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=pub)[
        "Instances"
    ][0]
    host_eni = host["NetworkInterfaces"][0]["NetworkInterfaceId"]
    ec2.assign_private_ip_addresses(NetworkInterfaceId=host_eni, Ipv4PrefixCount=1)
    ec2.assign_ipv6_addresses(NetworkInterfaceId=host_eni, Ipv6PrefixCount=1)
    groups = {}
    for name, ranges in (
        ("web", {"IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}),
        ("ssh", {"IpRanges": [{"CidrIp": "198.51.100.0/24"}]}),
    ):
        gid = ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc.id)["GroupId"]
        port = 443 if name == "web" else 22
        ec2.authorize_security_group_ingress(
            GroupId=gid,
            IpPermissions=[{"IpProtocol": "tcp", "FromPort": port, "ToPort": port, **ranges}],
        )
        groups[name] = gid
    default_sg = ec2.describe_security_groups(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc.id]},
            {"Name": "group-name", "Values": ["default"]},
        ]
    )["SecurityGroups"][0]["GroupId"]
    # the default network ACL of an IPv6 VPC allows ::/0 as rule 101, as AWS creates it
    default_acl = ec2.describe_network_acls(
        Filters=[{"Name": "vpc-id", "Values": [vpc.id]}, {"Name": "default", "Values": ["true"]}]
    )["NetworkAcls"][0]
    for egress in (False, True):
        ec2.create_network_acl_entry(
            NetworkAclId=default_acl["NetworkAclId"],
            RuleNumber=101,
            Protocol="-1",
            RuleAction="allow",
            Egress=egress,
            Ipv6CidrBlock="::/0",
        )
    priv_acl = ec2.create_network_acl(VpcId=vpc.id)["NetworkAcl"]["NetworkAclId"]
    for egress, ports in ((False, (443, 443)), (True, (1024, 65535))):
        ec2.create_network_acl_entry(
            NetworkAclId=priv_acl,
            RuleNumber=100,
            Protocol="6",
            RuleAction="allow",
            Egress=egress,
            CidrBlock="0.0.0.0/0",
            PortRange={"From": ports[0], "To": ports[1]},
        )
    assoc = next(
        a["NetworkAclAssociationId"]
        for a in default_acl["Associations"]
        if a["SubnetId"] == priv_id
    )
    ec2.replace_network_acl_association(AssociationId=assoc, NetworkAclId=priv_acl)
    idle = ec2.allocate_address(Domain="vpc")
    fn = make_function(lab.client("lambda"), lab.client("iam"), "orders", [priv_id])
    elb = lab.client("elbv2")
    alb = elb.create_load_balancer(
        Name="web",
        Subnets=[pub, priv_id],
        SecurityGroups=[groups["web"]],
        Scheme="internet-facing",
        Type="application",
    )["LoadBalancers"][0]
    tg = elb.create_target_group(
        Name="web", Protocol="HTTP", Port=80, VpcId=vpc.id, TargetType="instance"
    )["TargetGroups"][0]["TargetGroupArn"]
    elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": host["InstanceId"]}])
    dist = distribution(lab.client("cloudfront"), "www", True, ["www.example.com"])
    r53 = lab.client("route53")
    zone = r53.create_hosted_zone(Name="example.com", CallerReference="field")["HostedZone"]
    cf_alias = {
        "HostedZoneId": "Z2FDTNDATAQYW2",
        "DNSName": dist["DomainName"],
        "EvaluateTargetHealth": False,
    }
    alb_alias = {
        "HostedZoneId": alb["CanonicalHostedZoneId"],
        "DNSName": alb["DNSName"],
        "EvaluateTargetHealth": False,
    }
    records(
        r53,
        zone["Id"],
        {"Name": "www.example.com", "Type": "A", "AliasTarget": cf_alias},
        {"Name": "www.example.com", "Type": "AAAA", "AliasTarget": cf_alias},
        {"Name": "api.example.com", "Type": "A", "AliasTarget": alb_alias},
    )
    zid = zone["Id"].rsplit("/", 1)[-1]
    return {
        "leftovers": set(leftovers),
        "vpc": vpc.id,
        "pub": pub,
        "priv": priv_id,
        "priv_v6": priv_v6,
        "igw": igw,
        "rt_pub": rt_pub,
        "rt_edge": rt_edge,
        "firewall": firewall,
        "host": host["InstanceId"],
        "web_sg": groups["web"],
        "ssh_sg": groups["ssh"],
        "default_sg": default_sg,
        "default_acl": default_acl["NetworkAclId"],
        "priv_acl": priv_acl,
        "idle_eip": idle["AllocationId"],
        "fn": fn,
        "alb": alb["LoadBalancerArn"],
        "tg": tg,
        "dist": dist["ARN"],
        "www": f"{zid}/www.example.com.",
        "api": f"{zid}/api.example.com.",
    }
