"""The baseline for bench/aws_scan.py: a minimal boto3 script that only pages through the
Describe/List calls a full `aws.*` scan makes, one after the other, and keeps nothing."""

from __future__ import annotations

import json
import sys
import time

import boto3

from auditor.aws.actions import iam_action  # names the calls as the scan's recorder does

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
    # catalog v2
    ("rds", "describe_db_instances", {}),
    ("rds", "describe_db_clusters", {}),
    ("rds", "describe_db_subnet_groups", {}),
    ("elasticache", "describe_cache_clusters", {}),
    ("elasticache", "describe_replication_groups", {}),
    ("elasticache", "describe_cache_subnet_groups", {}),
    ("eks", "list_clusters", {}),  # then DescribeCluster for each
    ("ecs", "list_clusters", {}),
    ("ecs", "list_task_definitions", {"status": "ACTIVE"}),  # then the newest of each family
    ("ec2", "describe_transit_gateway_vpc_attachments", {}),
    ("ec2", "describe_transit_gateway_route_tables", {}),  # then SearchTransitGatewayRoutes
    ("route53resolver", "list_resolver_endpoints", {}),
    ("network-firewall", "list_firewalls", {}),
    ("apigateway", "get_rest_apis", {}),
    ("apigateway", "get_domain_names", {}),
    ("apigatewayv2", "get_apis", {}),
    ("apigatewayv2", "get_domain_names", {}),
    ("autoscaling", "describe_auto_scaling_groups", {}),
]
ACCOUNT = [
    ("sts", "get_caller_identity", {}),
    ("cloudfront", "list_distributions", {}),
    ("route53", "list_hosted_zones", {}),
    ("s3", "list_buckets", {}),
    ("wafv2", "list_web_acls", {"Scope": "CLOUDFRONT"}),
]


def page(client, operation: str, params: dict) -> list[dict]:
    if client.can_paginate(operation):
        return list(client.get_paginator(operation).paginate(**params))
    pages = [getattr(client, operation)(**params)]
    while pages[-1].get("NextMarker"):
        pages.append(getattr(client, operation)(**params, NextMarker=pages[-1]["NextMarker"]))
    return pages


def newest_revisions(arns: list[str]) -> list[str]:
    best: dict[str, tuple[int, str]] = {}
    for arn in arns:
        family, _, rev = arn.rsplit("/", 1)[-1].rpartition(":")
        if family not in best or int(rev) > best[family][0]:
            best[family] = (int(rev), arn)
    return [arn for _, arn in best.values()]


def follow_ups(operation: str, pages: list[dict]) -> list[tuple[str, dict]]:
    """The per-resource calls the checks make after a listing."""
    if operation == "list_clusters" and pages and "clusters" in pages[0]:  # EKS
        return [("describe_cluster", {"name": n}) for p in pages for n in p["clusters"]]
    if operation == "list_task_definitions":
        arns = [a for p in pages for a in p["taskDefinitionArns"]]
        return [("describe_task_definition", {"taskDefinition": a}) for a in newest_revisions(arns)]
    if operation == "describe_transit_gateway_route_tables":
        states = [{"Name": "state", "Values": ["active", "blackhole"]}]
        return [
            (
                "search_transit_gateway_routes",
                {"TransitGatewayRouteTableId": t["TransitGatewayRouteTableId"], "Filters": states},
            )
            for p in pages
            for t in p["TransitGatewayRouteTables"]
        ]
    return []


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
    calls = 0
    work = [(r, *op) for r in regions for op in REGIONAL] + [("us-east-1", *op) for op in ACCOUNT]
    for region, service, operation, params in work:
        c = client(service, region)
        todo = [(operation, params)]
        while todo:
            op, kw = todo.pop()
            todo += follow_ups(op, page(c, op, kw))
            calls += 1
            actions.add(iam_action(c.meta.service_model, c.meta.method_to_api_mapping[op]))
    return {"actions": sorted(actions), "calls": calls}


if __name__ == "__main__":
    start = time.perf_counter()
    out = raw_listing(sys.argv[1], sys.argv[2].split(","))
    out["seconds"] = time.perf_counter() - start
    print(json.dumps(out))
