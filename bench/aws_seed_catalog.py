"""Seed the catalog v2 services of one region for bench/aws_scan.py: 200 RDS DB instances,
200 ElastiCache clusters, 50 EKS clusters, 100 transit gateway VPC attachments (10 gateways of
10), 500 launch templates and 1,000 ECS task definitions (250 families of 4 revisions). Half of
each kind is ready for IPv6, half not."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError

DB_INSTANCES = 200
CACHE_CLUSTERS = 200
EKS_CLUSTERS = 50
TGWS, ATTACHMENTS_PER_TGW = 10, 10
LAUNCH_TEMPLATES = 500
TASK_FAMILIES, REVISIONS = 250, 4
WORKERS = 8
ROLE = "arn:aws:iam::123456789012:role/bench"
ATTEMPTS = 3


def retried(func: Callable[[int], object]) -> Callable[[int], object]:
    """One seeding item, tried again when moto's server answers an HTML 500 (it does, rarely,
    under concurrent writes on a loaded machine); what the failed try created is kept."""

    def run(i: int) -> object:
        for attempt in range(ATTEMPTS):
            try:
                return func(i)
            except ResponseParserError:
                if attempt == ATTEMPTS - 1:
                    raise
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if attempt and ("Duplicate" in code or "AlreadyExist" in code):
                    return None
                raise
        return None

    return run


def seed_catalog(
    client: Callable[[str], object],
    vpcs: tuple[str, str],
    subnets: list[str],
    log: Callable[[str], None],
    scale: float = 1.0,
) -> dict[str, int]:
    """`client(service)` gives the region's client; `vpcs` (one with IPv6, one without);
    `subnets`: at least two, in different zones."""
    n = {
        "db_instances": int(DB_INSTANCES * scale),
        "cache_clusters": int(CACHE_CLUSTERS * scale),
        "eks_clusters": int(EKS_CLUSTERS * scale),
        "tgw_attachments": max(1, int(TGWS * scale)) * ATTACHMENTS_PER_TGW,
        "launch_templates": int(LAUNCH_TEMPLATES * scale),
        "task_definitions": int(TASK_FAMILIES * scale) * REVISIONS,
    }
    rds = client("rds")
    rds.create_db_subnet_group(
        DBSubnetGroupName="bench", DBSubnetGroupDescription="bench", SubnetIds=subnets[:2]
    )
    ec2 = client("ec2")
    sg = ec2.create_security_group(GroupName="bench-db", Description="db", VpcId=vpcs[0])["GroupId"]

    def db(i: int) -> None:
        client("rds").create_db_instance(
            DBInstanceIdentifier=f"bench-{i}",
            DBInstanceClass="db.t3.micro",
            Engine="postgres",
            MasterUsername="bench",
            MasterUserPassword="bench-not-secret",
            AllocatedStorage=20,
            DBSubnetGroupName="bench",
            VpcSecurityGroupIds=[sg],
            NetworkType="DUAL" if i % 2 == 0 else "IPV4",
        )

    def cache(i: int) -> None:
        kw = {"NetworkType": "dual_stack", "IpDiscovery": "ipv6"} if i % 2 == 0 else {}
        client("elasticache").create_cache_cluster(
            CacheClusterId=f"bench-{i}",
            Engine="redis",
            CacheNodeType="cache.t3.micro",
            NumCacheNodes=1,
            **kw,
        )

    def eks(i: int) -> None:
        net = {"ipFamily": "ipv6"} if i % 2 == 0 else {}
        client("eks").create_cluster(
            name=f"bench-{i}",
            roleArn="arn:aws:iam::123456789012:role/eks",
            resourcesVpcConfig={"subnetIds": subnets[:2]},
            kubernetesNetworkConfig=net,
        )

    # a VPC attaches to a gateway once: ten spoke VPCs (half with IPv6), each on every gateway
    spokes = []
    for j in range(ATTACHMENTS_PER_TGW):
        kw = {"AmazonProvidedIpv6CidrBlock": True} if j % 2 == 0 else {}
        vpc = ec2.create_vpc(CidrBlock=f"10.{10 + j}.0.0/16", **kw)["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.{10 + j}.0.0/24")["Subnet"]
        spokes.append((vpc, subnet["SubnetId"], f"10.{10 + j}.0.0/16"))

    def tgw(i: int) -> None:
        c = client("ec2")
        gw = c.create_transit_gateway(Description=f"bench-{i}")["TransitGateway"][
            "TransitGatewayId"
        ]
        rt = c.create_transit_gateway_route_table(TransitGatewayId=gw)["TransitGatewayRouteTable"]
        for j, (vpc, subnet, cidr) in enumerate(spokes):
            att = c.create_transit_gateway_vpc_attachment(
                TransitGatewayId=gw,
                VpcId=vpc,
                SubnetIds=[subnet],
                Options={"Ipv6Support": "enable" if j % 2 == 0 else "disable"},
            )["TransitGatewayVpcAttachment"]["TransitGatewayAttachmentId"]
            c.create_transit_gateway_route(
                DestinationCidrBlock=cidr,
                TransitGatewayRouteTableId=rt["TransitGatewayRouteTableId"],
                TransitGatewayAttachmentId=att,
            )

    def template(i: int) -> None:
        nic = [{"DeviceIndex": 0, "Ipv6AddressCount": 1}] if i % 2 == 0 else []
        client("ec2").create_launch_template(
            LaunchTemplateName=f"bench-{i}",
            LaunchTemplateData={"NetworkInterfaces": nic} if nic else {"InstanceType": "t3.small"},
        )

    def family(i: int) -> None:
        ecs = client("ecs")
        for rev in range(REVISIONS):
            on = i % 2 == 0 and rev == REVISIONS - 1
            env = [{"name": "AWS_USE_DUALSTACK_ENDPOINT", "value": "true"}] if on else []
            ecs.register_task_definition(
                family=f"bench-{i}",
                taskRoleArn=ROLE,
                containerDefinitions=[
                    {"name": "app", "image": "app", "memory": 128, "environment": env}
                ],
            )

    with ThreadPoolExecutor(WORKERS) as pool:
        for name, func, count in (
            ("DB instances", db, n["db_instances"]),
            ("cache clusters", cache, n["cache_clusters"]),
            ("EKS clusters", eks, n["eks_clusters"]),
            ("transit gateways of 10 attachments", tgw, n["tgw_attachments"] // 10),
            ("launch templates", template, n["launch_templates"]),
            (f"task definition families of {REVISIONS}", family, n["task_definitions"] // 4),
        ):
            list(pool.map(retried(func), range(count)))
            log(f"{count} {name}")
    return n
