"""Checks of the data family: managed databases and caches reachable over IPv6 (RDS
`NetworkType: DUAL`, ElastiCache `dual_stack`/`ipv6` with IPv6 discovery)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from auditor.aws.datastores import StoreVerdict, cache_verdicts, rds_verdicts
from auditor.aws.findings import next_step, verdict
from auditor.aws.helpers import perms, resource
from auditor.aws.inventory import Inventory, Scope
from auditor.context import CheckContext
from auditor.model import Finding
from auditor.registry import check

FAMILY = "data"
REF_RDS = "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_VPC.WorkingWithRDSInstanceinaVPC.html#USER_VPC.IP_addressing"
REF_CACHE = "https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/network-type.html"


def _finding(v: StoreVerdict, scope: Scope, label: str) -> Finding:
    res = resource(scope, v.arn, v.kind, v.id)
    evidence = {
        "reported": v.reported,
        "subnet_group": v.subnet_group or None,
        "subnet_group_supported_network_types": v.subnet_group_types,
    }
    if v.ip_discovery is not None:
        evidence["IpDiscovery"] = v.ip_discovery
        evidence["vpc_has_ipv6_only_subnets"] = v.ipv6_only_clients
    if v.ok:
        extra = f", IpDiscovery {v.ip_discovery}" if v.ip_discovery else ""
        return verdict(
            "pass",
            f"{label} {v.id} is {v.value}{extra}: reachable over IPv6",
            res,
            attribute=v.attribute,
            value=v.value,
            expected=v.needed,
            **evidence,
        )
    unreported = "" if v.reported else " (not reported by the API: AWS's default)"
    return verdict(
        "fail",
        f"{label} {v.id}: {'; '.join(v.problems)}{unreported} (needs {v.needed}): clients on "
        f"IPv6-only subnets cannot reach it; {next_step(v.fix)}",
        res,
        attribute=v.attribute,
        value=v.ip_discovery if v.attribute == "IpDiscovery" else v.value,
        expected=v.needed,
        fix=v.fix,
        **evidence,
    )


@check(
    id="aws.rds.dualstack",
    title="RDS DB instances and clusters are dual-stack",
    family=FAMILY,
    severity="high",
    stage=2,
    permissions=perms(
        "rds:DescribeDBInstances", "rds:DescribeDBClusters", "rds:DescribeDBSubnetGroups"
    ),
    fix_order=70,
    remediation="""
        Give every subnet of the DB subnet group an IPv6 CIDR (the group then supports DUAL),
        then `aws rds modify-db-instance --db-instance-identifier DB --network-type DUAL
        --apply-immediately` (`modify-db-cluster` for Aurora and Multi-AZ clusters). An IPV4
        database has no AAAA record: an IPv6-only client cannot reach it.
    """,
    references=[REF_RDS],
    scope="region",
)
async def rds_dualstack(ctx: CheckContext, inv: Inventory, scope: Scope) -> AsyncIterator[Finding]:
    """DB clusters, and DB instances outside a cluster, have `NetworkType: DUAL`; when not,
    the evidence says whether their DB subnet group supports DUAL yet. Instances of a cluster
    are judged through the cluster."""
    instances = await inv.list(scope, "rds", "describe_db_instances")
    clusters = await inv.list(scope, "rds", "describe_db_clusters")
    if not instances and not clusters:
        return
    groups = await inv.list(scope, "rds", "describe_db_subnet_groups")
    for v in rds_verdicts(instances, clusters, groups):
        label = "DB cluster" if v.kind == "db-cluster" else "DB instance"
        yield _finding(v, scope, label)


@check(
    id="aws.elasticache.dualstack",
    title="ElastiCache clusters are dual-stack, with IPv6 discovery for IPv6-only clients",
    family=FAMILY,
    severity="high",
    stage=2,
    permissions=perms(
        "elasticache:DescribeCacheClusters",
        "elasticache:DescribeReplicationGroups",
        "elasticache:DescribeCacheSubnetGroups",
        "ec2:DescribeSubnets",
    ),
    fix_order=70,
    remediation="""
        `NetworkType` is chosen at creation: create a replacement with `--network-type
        dual_stack --ip-discovery ipv6` in a cache subnet group whose subnets have IPv6 (from a
        snapshot of the old one), and move the clients. For a dual-stack cluster whose VPC has
        IPv6-only subnets: `aws elasticache modify-replication-group --replication-group-id RG
        --ip-discovery ipv6 --apply-immediately`.
    """,
    references=[REF_CACHE],
    scope="region",
)
async def elasticache_dualstack(
    ctx: CheckContext, inv: Inventory, scope: Scope
) -> AsyncIterator[Finding]:
    """Replication groups, and cache clusters outside one, have `NetworkType` `dual_stack` or
    `ipv6`; a dual-stack one in a VPC with IPv6-only subnets also has `IpDiscovery: ipv6`."""
    clusters = await inv.list(scope, "elasticache", "describe_cache_clusters")
    groups = await inv.list(scope, "elasticache", "describe_replication_groups")
    if not clusters and not groups:
        return
    subnet_groups = await inv.list(scope, "elasticache", "describe_cache_subnet_groups")
    ipv6_only_vpcs = {
        s.get("VpcId", "")
        for s in await inv.list(scope, "ec2", "describe_subnets")
        if s.get("Ipv6Native")
    }
    for v in cache_verdicts(clusters, groups, subnet_groups, ipv6_only_vpcs):
        label = "Replication group" if v.kind == "cache-replication-group" else "Cache cluster"
        yield _finding(v, scope, label)
