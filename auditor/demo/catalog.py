"""The demo account's managed services, half-way through the migration like the rest of it:
one resource that is ready and one that is not for each catalog v2 check that the emulator can
hold (moto keeps no Network Firewall policies, no Resolver endpoint type, no RDS instance
network type: those checks show what moto can keep, or nothing)."""

from __future__ import annotations

from typing import Any

import boto3

ROLE = "arn:aws:iam::123456789012:role/payments-task"
CERT = "arn:aws:acm:us-east-1:123456789012:certificate/demo"


def build_catalog(region: str, vpc_id: str, v6_subnets: list[str], v4_subnet: str) -> dict:
    """`v6_subnets`: two subnets with IPv6 CIDRs in two zones; `v4_subnet`: one without."""
    ids: dict[str, Any] = {}
    ec2 = boto3.client("ec2", region_name=region)
    sg = ec2.create_security_group(GroupName="data", Description="data", VpcId=vpc_id)["GroupId"]

    rds = boto3.client("rds", region_name=region)
    rds.create_db_subnet_group(
        DBSubnetGroupName="payments-db", DBSubnetGroupDescription="db", SubnetIds=v6_subnets
    )
    for name, kind in (("payments-ledger", "DUAL"), ("payments-archive", "IPV4")):
        rds.create_db_cluster(
            DBClusterIdentifier=name,
            Engine="aurora-postgresql",
            MasterUsername="payments",
            MasterUserPassword="demo-only-not-secret",
            DBSubnetGroupName="payments-db",
            VpcSecurityGroupIds=[sg],
            NetworkType=kind,
        )

    cache = boto3.client("elasticache", region_name=region)
    cache.create_cache_subnet_group(
        CacheSubnetGroupName="payments-cache",
        CacheSubnetGroupDescription="cache",
        SubnetIds=v6_subnets[:1],
    )
    for name, kw in (
        ("payments-sessions", {"NetworkType": "dual_stack", "IpDiscovery": "ipv6"}),
        ("payments-ratelimit", {}),
    ):
        cache.create_cache_cluster(
            CacheClusterId=name,
            Engine="redis",
            CacheNodeType="cache.t3.micro",
            NumCacheNodes=1,
            CacheSubnetGroupName="payments-cache",
            **kw,
        )

    eks = boto3.client("eks", region_name=region)
    for name, net in (("payments-v6", {"ipFamily": "ipv6"}), ("payments", {})):
        eks.create_cluster(
            name=name,
            roleArn="arn:aws:iam::123456789012:role/eks",
            resourcesVpcConfig={"subnetIds": v6_subnets},
            kubernetesNetworkConfig=net,
        )

    ecs = boto3.client("ecs", region_name=region)
    ecs.put_account_setting(name="dualStackIPv6", value="enabled")
    ecs.create_cluster(clusterName="payments")
    env = [{"name": "AWS_USE_DUALSTACK_ENDPOINT", "value": "true"}]
    for family, environment in (("payments-api", env), ("payments-worker", [])):
        ecs.register_task_definition(
            family=family,
            taskRoleArn=ROLE,
            networkMode="awsvpc",
            containerDefinitions=[
                {"name": "app", "image": "payments", "memory": 256, "environment": environment}
            ],
        )
    for name, subnet in (("api", v6_subnets[0]), ("worker", v4_subnet)):
        ecs.create_service(
            cluster="payments",
            serviceName=name,
            taskDefinition=f"payments-{name}",
            desiredCount=1,
            launchType="FARGATE",
            networkConfiguration={
                "awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [sg]}
            },
        )

    _transit(ec2, vpc_id, v6_subnets, ids)

    api = boto3.client("apigateway", region_name=region)
    api.create_rest_api(
        name="payments-public",
        endpointConfiguration={"types": ["REGIONAL"], "ipAddressType": "dualstack"},
    )
    api.create_rest_api(name="payments-partners")
    api.create_domain_name(
        domainName="api.payments.demo.example",
        regionalCertificateArn=CERT,
        endpointConfiguration={"types": ["REGIONAL"], "ipAddressType": "ipv4"},
    )

    lt = ec2.create_launch_template(
        LaunchTemplateName="payments-workers",
        LaunchTemplateData={
            "NetworkInterfaces": [{"DeviceIndex": 0, "Ipv6AddressCount": 1, "PrimaryIpv6": True}]
        },
    )["LaunchTemplate"]["LaunchTemplateId"]
    legacy_lt = ec2.create_launch_template(
        LaunchTemplateName="batch-hosts", LaunchTemplateData={"InstanceType": "t3.small"}
    )["LaunchTemplate"]["LaunchTemplateId"]
    asg = boto3.client("autoscaling", region_name=region)
    for name, template, subnet in (
        ("payments-workers", lt, v6_subnets[0]),
        ("batch", legacy_lt, v4_subnet),
    ):
        asg.create_auto_scaling_group(
            AutoScalingGroupName=name,
            LaunchTemplate={"LaunchTemplateId": template, "Version": "$Default"},
            MinSize=0,
            MaxSize=2,
            VPCZoneIdentifier=subnet,
        )

    resolver = boto3.client("route53resolver", region_name=region)
    resolver.create_resolver_endpoint(
        CreatorRequestId="payments-inbound",
        Name="payments-inbound",
        SecurityGroupIds=[sg],
        Direction="INBOUND",
        IpAddresses=[{"SubnetId": s} for s in v6_subnets],
    )
    return ids


def _transit(ec2, vpc_id: str, v6_subnets: list[str], ids: dict[str, Any]) -> None:
    """A shared-services VPC on a transit gateway and over a peering connection: the payments
    VPC's attachment carries IPv6, the shared one's does not; one route table routes the peer
    over both families, one over IPv4 only."""
    shared = ec2.create_vpc(CidrBlock="100.65.0.0/16", AmazonProvidedIpv6CidrBlock=True)["Vpc"]
    shared_v6 = shared["Ipv6CidrBlockAssociationSet"][0]["Ipv6CidrBlock"]
    ec2.create_tags(Resources=[shared["VpcId"]], Tags=[{"Key": "Name", "Value": "shared"}])
    shared_subnet = ec2.create_subnet(
        VpcId=shared["VpcId"],
        CidrBlock="100.65.0.0/24",
        AvailabilityZone=f"{ec2.meta.region_name}a",
    )["Subnet"]["SubnetId"]
    tgw = ec2.create_transit_gateway(Description="core")["TransitGateway"]["TransitGatewayId"]
    ec2.create_transit_gateway_vpc_attachment(
        TransitGatewayId=tgw,
        VpcId=vpc_id,
        SubnetIds=v6_subnets[:1],
        Options={"Ipv6Support": "enable"},
    )
    shared_att = ec2.create_transit_gateway_vpc_attachment(
        TransitGatewayId=tgw, VpcId=shared["VpcId"], SubnetIds=[shared_subnet]
    )["TransitGatewayVpcAttachment"]["TransitGatewayAttachmentId"]
    rt = ec2.create_transit_gateway_route_table(TransitGatewayId=tgw)["TransitGatewayRouteTable"][
        "TransitGatewayRouteTableId"
    ]
    ec2.create_transit_gateway_route(
        DestinationCidrBlock="100.65.0.0/16",
        TransitGatewayRouteTableId=rt,
        TransitGatewayAttachmentId=shared_att,
    )
    pcx = ec2.create_vpc_peering_connection(VpcId=vpc_id, PeerVpcId=shared["VpcId"])[
        "VpcPeeringConnection"
    ]["VpcPeeringConnectionId"]
    ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    for routes in (
        (("DestinationCidrBlock", "100.65.0.0/16"), ("DestinationIpv6CidrBlock", shared_v6)),
        (("DestinationCidrBlock", "100.65.0.0/16"),),
    ):
        table = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
        for key, cidr in routes:
            ec2.create_route(RouteTableId=table, VpcPeeringConnectionId=pcx, **{key: cidr})
    ids.update(tgw=tgw, tgw_route_table=rt, pcx=pcx)
