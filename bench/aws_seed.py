"""Seed a moto server with a large estate for bench/aws_scan.py.

Per region: 2 VPCs (one with IPv6), 500 subnets, 2,000 security groups of 5 rules each,
200 network ACLs and 300 VPC Lambda functions; and the catalog v2 services
(bench/aws_seed_catalog.py): 200 DB instances, 200 cache clusters, 50 EKS clusters, 100 transit
gateway attachments, 500 launch templates, 1,000 ECS task definitions.
"""

from __future__ import annotations

import io
import ipaddress
import json
import threading
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

from bench.aws_seed_catalog import retried, seed_catalog

SECURITY_GROUPS = 2000
SUBNETS = 500
NACLS = 200
LAMBDAS = 300
WORKERS = 8

_clients: dict[tuple[str, str, str], object] = {}
_making = threading.Lock()


def _client(endpoint: str, region: str, service: str):
    """One client per region and service, shared by the worker threads (botocore clients are
    thread-safe once made; making them is not, hence the lock)."""
    key = (endpoint, region, service)
    with _making:
        if key not in _clients:
            session = boto3.Session(
                aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
            )
            _clients[key] = session.client(
                service,
                region_name=region,
                endpoint_url=endpoint,
                config=Config(max_pool_connections=WORKERS),
            )
        return _clients[key]


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("handler.py", "def handler(event, context):\n    return 1\n")
    return buf.getvalue()


def _lambda_role(iam) -> str:
    """The functions' role (IAM is global: the regions, seeded side by side, share it)."""
    try:
        return iam.get_role(RoleName="bench-lambda")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        pass
    try:
        return iam.create_role(
            RoleName="bench-lambda",
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        )["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:  # another region made it meanwhile
        return iam.get_role(RoleName="bench-lambda")["Role"]["Arn"]


def _rules(i: int) -> list[dict]:
    """Five rules; every other group lacks the ::/0 twin of its HTTPS rule."""
    https = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443}
    rules = [
        {**https, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
        {
            "IpProtocol": "tcp",
            "FromPort": 22,
            "ToPort": 22,
            "IpRanges": [{"CidrIp": "198.51.100.0/24"}],
        },
        {
            "IpProtocol": "udp",
            "FromPort": 53,
            "ToPort": 53,
            "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            "Ipv6Ranges": [{"CidrIpv6": "::/0"}],
        },
        {"IpProtocol": "icmp", "FromPort": 8, "ToPort": -1, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
    ]
    if i % 2 == 0:
        rules.append({**https, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]})
    else:
        rules.append(
            {
                "IpProtocol": "tcp",
                "FromPort": 8080,
                "ToPort": 8080,
                "IpRanges": [{"CidrIp": "203.0.113.0/24"}],
            }
        )
    return rules


def seed_region(
    endpoint: str, region: str, log: Callable[[str], None] = print, scale: float = 1.0
) -> dict:
    """Seed one region; `scale` shrinks every count (for a quick trial run)."""
    n_sgs, n_subnets = int(SECURITY_GROUPS * scale), max(2, int(SUBNETS * scale))
    n_nacls, n_lambdas = int(NACLS * scale), int(LAMBDAS * scale)
    ec2 = _client(endpoint, region, "ec2")
    vpc6 = ec2.create_vpc(CidrBlock="10.0.0.0/16", AmazonProvidedIpv6CidrBlock=True)["Vpc"]
    vpc4 = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]
    block = ipaddress.ip_network(vpc6["Ipv6CidrBlockAssociationSet"][0]["Ipv6CidrBlock"])
    v6_64s = list(block.subnets(new_prefix=64))
    zones = [f"{region}a", f"{region}b", f"{region}c"]
    half = n_subnets // 2

    def subnet(i: int) -> str:
        c = _client(endpoint, region, "ec2")
        if i < half:
            args = {
                "VpcId": vpc6["VpcId"],
                "CidrBlock": f"10.0.{i}.0/24",
                "Ipv6CidrBlock": str(v6_64s[i]),
            }
        else:
            args = {"VpcId": vpc4["VpcId"], "CidrBlock": f"10.1.{i - half}.0/24"}
        return c.create_subnet(AvailabilityZone=zones[i % 3], **args)["Subnet"]["SubnetId"]

    def group(i: int) -> None:
        c = _client(endpoint, region, "ec2")
        vpc = vpc6 if i % 2 == 0 else vpc4
        gid = c.create_security_group(
            GroupName=f"bench-{i}", Description="bench", VpcId=vpc["VpcId"]
        )["GroupId"]
        c.authorize_security_group_ingress(GroupId=gid, IpPermissions=_rules(i))

    def nacl(i: int) -> None:
        c = _client(endpoint, region, "ec2")
        vpc = vpc6 if i % 2 == 0 else vpc4
        acl = c.create_network_acl(VpcId=vpc["VpcId"])["NetworkAcl"]["NetworkAclId"]
        entries = [(100, "0.0.0.0/0", False, (443, 443)), (100, "0.0.0.0/0", True, (1024, 65535))]
        if i % 2 == 0:
            entries += [(101, "::/0", False, (443, 443)), (101, "::/0", True, (1024, 65535))]
        for number, cidr, egress, ports in entries:
            kw = {"Ipv6CidrBlock": cidr} if ":" in cidr else {"CidrBlock": cidr}
            c.create_network_acl_entry(
                NetworkAclId=acl,
                RuleNumber=number,
                Protocol="6",
                RuleAction="allow",
                Egress=egress,
                PortRange={"From": ports[0], "To": ports[1]},
                **kw,
            )

    with ThreadPoolExecutor(WORKERS) as pool:
        subnet_ids = list(pool.map(retried(subnet), range(n_subnets)))
        log(f"{region}: {len(subnet_ids)} subnets")
        list(pool.map(retried(group), range(n_sgs)))
        log(f"{region}: {n_sgs} security groups of 5 rules")
        list(pool.map(retried(nacl), range(n_nacls)))
        log(f"{region}: {n_nacls} network ACLs")
        role = _lambda_role(_client(endpoint, region, "iam"))
        code = _zip()

        def function(i: int) -> None:
            lam = _client(endpoint, region, "lambda")
            subnets = [subnet_ids[i % n_subnets], subnet_ids[(i + 1) % n_subnets]]
            lam.create_function(
                FunctionName=f"bench-{i}",
                Runtime="python3.12",
                Role=role,
                Handler="handler.handler",
                Code={"ZipFile": code},
                VpcConfig={
                    "SubnetIds": subnets,
                    "SecurityGroupIds": [],
                    "Ipv6AllowedForDualStack": i % 2 == 0,
                },
            )

        list(pool.map(retried(function), range(n_lambdas)))
        log(f"{region}: {n_lambdas} Lambda functions")
    catalog = seed_catalog(
        lambda service: _client(endpoint, region, service),
        (vpc6["VpcId"], vpc4["VpcId"]),
        subnet_ids,
        lambda m: log(f"{region}: {m}"),
        scale,
    )
    return {
        "subnets": n_subnets,
        "security_groups": n_sgs,
        "nacls": n_nacls,
        "lambdas": n_lambdas,
        **catalog,
    }
