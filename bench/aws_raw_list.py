"""The baseline for bench/aws_scan.py: a minimal boto3 script that only pages through the
Describe/List calls a full `aws.*` scan makes, one after the other, and keeps nothing."""

from __future__ import annotations

import json
import sys
import time

import boto3

# (service, operation, params): what the inventory lists per region and once per account
REGIONAL = [
    ("ec2", "describe_vpcs", {}),
    ("ec2", "describe_subnets", {}),
    ("ec2", "describe_route_tables", {}),
    ("ec2", "describe_security_groups", {}),
    ("ec2", "describe_network_acls", {}),
    ("ec2", "describe_vpc_endpoints", {}),
    ("ec2", "describe_instances", {}),
    ("ec2", "describe_launch_template_versions", {"Versions": ["$Default", "$Latest"]}),
    ("ec2", "describe_network_interfaces", {}),
    ("ec2", "describe_addresses", {}),
    ("ec2", "describe_nat_gateways", {}),
    ("elbv2", "describe_load_balancers", {}),
    ("elbv2", "describe_target_groups", {}),
    ("elb", "describe_load_balancers", {}),
    ("lambda", "list_functions", {}),
    ("wafv2", "list_web_acls", {"Scope": "REGIONAL"}),
]
ACCOUNT = [
    ("sts", "get_caller_identity", {}),
    ("cloudfront", "list_distributions", {}),
    ("route53", "list_hosted_zones", {}),
    ("s3", "list_buckets", {}),
    ("wafv2", "list_web_acls", {"Scope": "CLOUDFRONT"}),
]


def page(client, operation: str, params: dict) -> int:
    if client.can_paginate(operation):
        return sum(1 for _ in client.get_paginator(operation).paginate(**params))
    pages = 1
    response = getattr(client, operation)(**params)
    while response.get("NextMarker"):
        pages += 1
        response = getattr(client, operation)(**params, NextMarker=response["NextMarker"])
    return pages


def raw_listing(endpoint: str, regions: list[str]) -> dict:
    session = boto3.Session(region_name=regions[0])
    clients: dict[tuple[str, str], object] = {}

    def client(service: str, region: str):
        if (service, region) not in clients:
            clients[service, region] = session.client(
                service, region_name=region, endpoint_url=endpoint
            )
        return clients[service, region]

    actions = set()
    work = [(r, *op) for r in regions for op in REGIONAL] + [("us-east-1", *op) for op in ACCOUNT]
    for region, service, operation, params in work:
        c = client(service, region)
        page(c, operation, params)
        model = c.meta.service_model
        name = c.meta.method_to_api_mapping[operation]
        actions.add(f"{model.signing_name}:{name}".replace("s3:ListBuckets", "s3:ListAllMyBuckets"))
    return {"actions": sorted(actions), "calls": len(work)}


if __name__ == "__main__":
    start = time.perf_counter()
    out = raw_listing(sys.argv[1], sys.argv[2].split(","))
    out["seconds"] = time.perf_counter() - start
    print(json.dumps(out))
