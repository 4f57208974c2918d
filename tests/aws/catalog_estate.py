"""Builders for the catalog v2 resources in moto (boto3 calls only), and the facts about what
moto 5.2 keeps of them.

Checked against moto 5.2 with describe calls after create (see docs/aws-catalog.md):
kept: EKS `kubernetesNetworkConfig.ipFamily`; ElastiCache `NetworkType`/`IpDiscovery` (cache
clusters and replication groups); RDS DB cluster `NetworkType`; ECS account settings
(`PutAccountSetting`), services' awsvpc subnets, task definitions' environments; transit gateway
VPC attachments' `Ipv6Support`, TGW route tables and static routes (without their attachment);
peering connections and routes over `pcx-`; Resolver endpoints (without their type); Network
Firewall `SubnetMappings[].IPAddressType`; API Gateway REST `ipAddressType` and custom domains
(v1 and v2 apart); launch templates' network interfaces; Auto Scaling groups with a launch
template or a mixed instances policy; Lambda environments.
Not kept: RDS DB instance `NetworkType` and DB subnet group `SupportedNetworkTypes`; Resolver
`ResolverEndpointType`; HTTP API `IpAddressType`; Network Firewall policies and rule groups
(not implemented); a peering connection's `Ipv6CidrBlockSet`. Those are tested with botocore's
Stubber and real response shapes.
"""

from __future__ import annotations

from tests.aws.estate import Vpc, lambda_role, lambda_zip, make_subnet, make_vpc

PASSWORD = "not-a-secret-1"  # moto wants one; nothing reads it
ROLE = "arn:aws:iam::123456789012:role/app"


def two_subnets(ec2, vpc: Vpc, base: int = 0, ipv6: bool = True) -> list[str]:
    prefix = vpc.ipv4.rsplit(".", 2)[0]
    return [
        make_subnet(ec2, vpc, f"{prefix}.{base + i}.0/24", ipv6=ipv6, az=az)["SubnetId"]
        for i, az in enumerate("ab")
    ]


def rds_clusters(lab, subnets: list[str]) -> dict[str, str]:
    rds, ec2 = lab.client("rds"), lab.client("ec2")
    vpc = ec2.describe_subnets(SubnetIds=subnets[:1])["Subnets"][0]["VpcId"]
    # moto falls back to the default VPC's group, which a test may have deleted
    sg = ec2.create_security_group(GroupName="db", Description="db", VpcId=vpc)["GroupId"]
    rds.create_db_subnet_group(
        DBSubnetGroupName="db", DBSubnetGroupDescription="db", SubnetIds=subnets
    )
    out = {}
    for name, kind in (("orders", "DUAL"), ("ledger", "IPV4")):
        out[name] = rds.create_db_cluster(
            DBClusterIdentifier=name,
            Engine="aurora-postgresql",
            MasterUsername="app",
            MasterUserPassword=PASSWORD,
            DBSubnetGroupName="db",
            NetworkType=kind,
        )["DBCluster"]["DBClusterArn"]
    out["reports"] = rds.create_db_instance(
        DBInstanceIdentifier="reports",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="app",
        MasterUserPassword=PASSWORD,
        AllocatedStorage=20,
        DBSubnetGroupName="db",
        VpcSecurityGroupIds=[sg],
        NetworkType="DUAL",  # accepted, not kept: moto answers without NetworkType
    )["DBInstance"]["DBInstanceArn"]
    return out


def cache_clusters(lab, subnet: str) -> dict[str, str]:
    ec = lab.client("elasticache")
    ec.create_cache_subnet_group(
        CacheSubnetGroupName="cache", CacheSubnetGroupDescription="c", SubnetIds=[subnet]
    )
    out = {}
    for name, kw in (
        ("sessions", {"NetworkType": "dual_stack", "IpDiscovery": "ipv6"}),
        ("legacy", {}),
        ("catalog", {"NetworkType": "dual_stack", "IpDiscovery": "ipv4"}),
    ):
        out[name] = ec.create_cache_cluster(
            CacheClusterId=name,
            Engine="redis",
            CacheNodeType="cache.t3.micro",
            NumCacheNodes=1,
            CacheSubnetGroupName="cache",
            **kw,
        )["CacheCluster"]["ARN"]
    out["queue"] = ec.create_replication_group(
        ReplicationGroupId="queue",
        ReplicationGroupDescription="q",
        Engine="redis",
        CacheNodeType="cache.t3.micro",
        NumCacheClusters=1,
        NetworkType="ipv4",
    )["ReplicationGroup"]["ARN"]
    return out


def eks_clusters(lab, subnets: list[str]) -> dict[str, str]:
    eks = lab.client("eks")
    out = {}
    for name, family in (("apps-v6", "ipv6"), ("apps", None)):
        kw = {"kubernetesNetworkConfig": {"ipFamily": family}} if family else {}
        out[name] = eks.create_cluster(
            name=name,
            roleArn="arn:aws:iam::123456789012:role/eks",
            resourcesVpcConfig={"subnetIds": subnets},
            **kw,
        )["cluster"]["arn"]
    return out


def ecs_services(lab, ec2, vpc: Vpc, v6_subnet: str, v4_subnet: str) -> dict[str, str]:
    ecs = lab.client("ecs")
    sg = ec2.create_security_group(GroupName="tasks", Description="t", VpcId=vpc.id)["GroupId"]
    ecs.create_cluster(clusterName="prod")
    ecs.register_task_definition(
        family="web",
        networkMode="awsvpc",
        containerDefinitions=[{"name": "app", "image": "nginx", "memory": 128}],
    )
    out = {}
    for name, subnet in (("web", v6_subnet), ("worker", v4_subnet)):
        out[name] = ecs.create_service(
            cluster="prod",
            serviceName=name,
            taskDefinition="web:1",
            desiredCount=1,
            launchType="FARGATE",
            networkConfiguration={
                "awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [sg]}
            },
        )["service"]["serviceArn"]
    return out


def task_definitions(lab) -> dict[str, str]:
    ecs = lab.client("ecs")
    env_on = [{"name": "AWS_USE_DUALSTACK_ENDPOINT", "value": "true"}]

    def register(family, role, env):
        kw = {"taskRoleArn": role} if role else {}
        return ecs.register_task_definition(
            family=family,
            containerDefinitions=[
                {"name": "app", "image": "app", "memory": 128, "environment": env}
            ],
            **kw,
        )["taskDefinition"]["taskDefinitionArn"]

    register("api", ROLE, [])  # revision 1: superseded
    return {
        "api": register("api", ROLE, env_on),
        "batch": register("batch", ROLE, []),
        "static": register("static", None, []),  # no task role: no AWS calls
    }


def functions(lab, subnet: str) -> dict[str, str]:
    lam, iam = lab.client("lambda"), lab.client("iam")
    out = {}
    for name, env, vpc in (
        ("ingest", {"AWS_USE_DUALSTACK_ENDPOINT": "true"}, True),
        ("report", {"DB_PASSWORD": "hunter2"}, True),
        ("edge", {}, False),
    ):
        kw = {"VpcConfig": {"SubnetIds": [subnet], "SecurityGroupIds": []}} if vpc else {}
        out[name] = lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=lambda_role(iam),
            Handler="handler.handler",
            Code={"ZipFile": lambda_zip()},
            Environment={"Variables": env},
            **kw,
        )["FunctionArn"]
    return out


def transit(lab, ec2) -> dict[str, str]:
    """Two VPCs on a transit gateway (one attachment with IPv6) and a TGW route table with a
    static IPv4 route to each, the IPv6 route only for the first."""
    a = make_vpc(ec2, "10.1.0.0/16")
    b = make_vpc(ec2, "10.2.0.0/16")
    sa = make_subnet(ec2, a, "10.1.0.0/24")["SubnetId"]
    sb = make_subnet(ec2, b, "10.2.0.0/24")["SubnetId"]
    tgw = ec2.create_transit_gateway(Description="core")["TransitGateway"]["TransitGatewayId"]
    att_a = ec2.create_transit_gateway_vpc_attachment(
        TransitGatewayId=tgw, VpcId=a.id, SubnetIds=[sa], Options={"Ipv6Support": "enable"}
    )["TransitGatewayVpcAttachment"]["TransitGatewayAttachmentId"]
    att_b = ec2.create_transit_gateway_vpc_attachment(
        TransitGatewayId=tgw, VpcId=b.id, SubnetIds=[sb]
    )["TransitGatewayVpcAttachment"]["TransitGatewayAttachmentId"]
    rt = ec2.create_transit_gateway_route_table(TransitGatewayId=tgw)["TransitGatewayRouteTable"][
        "TransitGatewayRouteTableId"
    ]
    for cidr, att in (("10.1.0.0/16", att_a), (a.ipv6, att_a), ("10.2.0.0/16", att_b)):
        ec2.create_transit_gateway_route(
            DestinationCidrBlock=cidr, TransitGatewayRouteTableId=rt, TransitGatewayAttachmentId=att
        )
    return {
        "tgw": tgw,
        "att_a": att_a,
        "att_b": att_b,
        "rt": rt,
        "vpc_b": b.id,
        "vpc_b_v6": b.ipv6 or "",
    }


def peering(lab, ec2) -> dict[str, str]:
    """vpc-a peers with b (IPv6) and c (no IPv6); one table routes b over both families, one
    routes b and c over IPv4 only."""
    a, b = make_vpc(ec2, "10.10.0.0/16"), make_vpc(ec2, "10.11.0.0/16")
    c = make_vpc(ec2, "10.12.0.0/16", ipv6=False)
    out = {"b_v6": b.ipv6 or "", "c": c.id}
    for name, peer in (("pcx_b", b), ("pcx_c", c)):
        pcx = ec2.create_vpc_peering_connection(VpcId=a.id, PeerVpcId=peer.id)[
            "VpcPeeringConnection"
        ]["VpcPeeringConnectionId"]
        ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)
        out[name] = pcx
    good = ec2.create_route_table(VpcId=a.id)["RouteTable"]["RouteTableId"]
    ec2.create_route(
        RouteTableId=good, DestinationCidrBlock="10.11.0.0/16", VpcPeeringConnectionId=out["pcx_b"]
    )
    ec2.create_route(
        RouteTableId=good, DestinationIpv6CidrBlock=b.ipv6, VpcPeeringConnectionId=out["pcx_b"]
    )
    bad = ec2.create_route_table(VpcId=a.id)["RouteTable"]["RouteTableId"]
    for cidr, pcx in (("10.11.0.0/16", out["pcx_b"]), ("10.12.0.0/16", out["pcx_c"])):
        ec2.create_route(RouteTableId=bad, DestinationCidrBlock=cidr, VpcPeeringConnectionId=pcx)
    out.update(good=good, bad=bad)
    return out


def apis(lab) -> dict[str, str]:
    ag, v2 = lab.client("apigateway"), lab.client("apigatewayv2")
    cert = "arn:aws:acm:us-east-1:123456789012:certificate/demo"
    out = {
        "orders": ag.create_rest_api(
            name="orders",
            endpointConfiguration={"types": ["REGIONAL"], "ipAddressType": "dualstack"},
        )["id"],
        "legacy": ag.create_rest_api(name="legacy")["id"],
        "hooks": v2.create_api(Name="hooks", ProtocolType="HTTP")["ApiId"],
    }
    ag.create_domain_name(
        domainName="api.example.com",
        regionalCertificateArn=cert,
        endpointConfiguration={"types": ["REGIONAL"], "ipAddressType": "dualstack"},
    )
    v2.create_domain_name(
        DomainName="hooks.example.com",
        DomainNameConfigurations=[
            {"CertificateArn": cert, "EndpointType": "REGIONAL", "IpAddressType": "ipv4"}
        ],
    )
    return out


def launch(lab, ec2, vpc: Vpc) -> dict[str, str]:
    auto = make_subnet(ec2, vpc, "100.64.8.0/24", AssignIpv6AddressOnCreation=True)
    plain = make_subnet(ec2, vpc, "100.64.9.0/24", az="b")
    out = {"auto": auto["SubnetId"], "plain": plain["SubnetId"]}

    def lt(name, data):
        return ec2.create_launch_template(LaunchTemplateName=name, LaunchTemplateData=data)[
            "LaunchTemplate"
        ]["LaunchTemplateId"]

    nic6 = {"NetworkInterfaces": [{"DeviceIndex": 0, "Ipv6AddressCount": 1, "PrimaryIpv6": True}]}
    out["lt_v6"] = lt("web-v6", nic6)
    out["lt_bare"] = lt("bare", {"ImageId": "ami-12c6146b"})
    out["lt_pinned"] = lt(
        "pinned", {"NetworkInterfaces": [{"DeviceIndex": 0, "SubnetId": plain["SubnetId"]}]}
    )
    out["lt_loose"] = lt("loose", {"ImageId": "ami-12c6146b"})
    asg = lab.client("autoscaling")
    for name, spec, zones in (
        ("web", {"LaunchTemplateId": out["lt_v6"], "Version": "$Default"}, plain["SubnetId"]),
        ("jobs", {"LaunchTemplateId": out["lt_bare"], "Version": "$Latest"}, auto["SubnetId"]),
        ("batch", {"LaunchTemplateId": out["lt_bare"], "Version": "1"}, plain["SubnetId"]),
    ):
        asg.create_auto_scaling_group(
            AutoScalingGroupName=name,
            LaunchTemplate=spec,
            MinSize=0,
            MaxSize=1,
            VPCZoneIdentifier=zones,
        )
        out[name] = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])[
            "AutoScalingGroups"
        ][0]["AutoScalingGroupARN"]
    return out


def resolver_endpoint(lab, ec2, vpc: Vpc, subnets: list[str]) -> str:
    sg = ec2.create_security_group(GroupName="dns", Description="d", VpcId=vpc.id)["GroupId"]
    return lab.client("route53resolver").create_resolver_endpoint(
        CreatorRequestId="inbound",
        Name="inbound",
        SecurityGroupIds=[sg],
        Direction="INBOUND",
        IpAddresses=[{"SubnetId": s} for s in subnets],
    )["ResolverEndpoint"]["Arn"]


def build_all(lab) -> dict[str, dict]:
    """One of everything the catalog v2 checks read, so every conditional call is made."""
    ec2 = lab.client("ec2")
    vpc = make_vpc(ec2, "100.70.0.0/16")
    subnets = two_subnets(ec2, vpc)
    v4 = make_subnet(ec2, vpc, "100.70.5.0/24", ipv6=False, az="c")["SubnetId"]
    return {
        "rds": rds_clusters(lab, subnets),
        "cache": cache_clusters(lab, subnets[0]),
        "eks": eks_clusters(lab, subnets),
        "ecs": ecs_services(lab, ec2, vpc, subnets[0], v4),
        "tds": task_definitions(lab),
        "fns": functions(lab, subnets[0]),
        "transit": transit(lab, ec2),
        "peering": peering(lab, ec2),
        "resolver": {"inbound": resolver_endpoint(lab, ec2, vpc, subnets)},
        "apis": apis(lab),
        "launch": launch(lab, ec2, make_vpc(ec2, "100.64.0.0/16")),
    }
