"""Dual-stack verdicts for managed data stores: RDS DB instances and clusters, ElastiCache
clusters and replication groups. Pure functions over the Describe answers; the wording of
findings is the check's (checks/data.py).

RDS: a DB instance or cluster is reachable over IPv6 only with `NetworkType: DUAL`, and that is
possible only when its DB subnet group supports DUAL (every subnet of the group has an IPv6
CIDR). An instance that belongs to a cluster follows its cluster, so it is judged there.
An absent `NetworkType` is AWS's default, IPV4 (emulators and old API versions leave it out).

ElastiCache: `NetworkType` `dual_stack` or `ipv6` gives nodes IPv6 addresses, and it is fixed at
creation (ModifyReplicationGroup cannot change it); `IpDiscovery` decides which addresses the
cluster hands to clients (cluster mode), and a client on an IPv6-only subnet needs `ipv6`.
Cluster members of a replication group are judged through their group.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

RDS_DEFAULT = "IPV4"
RDS_NEEDED = "DUAL"
CACHE_DEFAULT = "ipv4"
CACHE_OK = ("dual_stack", "ipv6")


@dataclass
class StoreVerdict:
    """One DB instance/cluster or cache cluster/replication group."""

    kind: str  # db-instance, db-cluster, cache-cluster, cache-replication-group
    id: str
    arn: str
    attribute: str  # the attribute judged, e.g. NetworkType
    value: str  # what it has (AWS's default when the API did not report it)
    needed: str
    reported: bool = True
    subnet_group: str = ""
    subnet_group_types: list[str] | None = None  # SupportedNetworkTypes; None: unknown
    ip_discovery: str | None = None
    ipv6_only_clients: bool | None = None  # the VPC has IPv6-only subnets; None: unknown
    problems: list[str] = field(default_factory=list)
    fix: list[str] = field(default_factory=list)  # CLI calls, in order

    @property
    def ok(self) -> bool:
        return not self.problems


def _types(group: dict | None) -> list[str] | None:
    if not group:
        return None
    types = group.get("SupportedNetworkTypes")
    return [str(t) for t in types] if types is not None else None


def rds_verdicts(
    instances: Iterable[dict], clusters: Iterable[dict], subnet_groups: Iterable[dict]
) -> list[StoreVerdict]:
    """Verdicts for every DB cluster and every DB instance outside a cluster."""
    groups = {g.get("DBSubnetGroupName", ""): g for g in subnet_groups}
    out: list[StoreVerdict] = []
    for cluster in clusters:
        name = str(cluster.get("DBSubnetGroup") or "")
        out.append(
            _rds(
                "db-cluster",
                cluster.get("DBClusterIdentifier", ""),
                cluster.get("DBClusterArn", ""),
                cluster.get("NetworkType"),
                name,
                groups.get(name),
                "aws rds modify-db-cluster --db-cluster-identifier {id} --network-type DUAL "
                "--apply-immediately",
            )
        )
    for inst in instances:
        if inst.get("DBClusterIdentifier"):
            continue
        embedded = inst.get("DBSubnetGroup") or {}
        name = str(embedded.get("DBSubnetGroupName", ""))
        group = embedded if _types(embedded) is not None else groups.get(name, embedded)
        out.append(
            _rds(
                "db-instance",
                inst.get("DBInstanceIdentifier", ""),
                inst.get("DBInstanceArn", ""),
                inst.get("NetworkType"),
                name,
                group,
                "aws rds modify-db-instance --db-instance-identifier {id} --network-type DUAL "
                "--apply-immediately",
            )
        )
    return out


def _rds(
    kind: str,
    ident: str,
    arn: str,
    network_type: str | None,
    group_name: str,
    group: dict | None,
    modify: str,
) -> StoreVerdict:
    v = StoreVerdict(
        kind=kind,
        id=ident,
        arn=arn or ident,
        attribute="NetworkType",
        value=str(network_type or RDS_DEFAULT),
        needed=RDS_NEEDED,
        reported=network_type is not None,
        subnet_group=group_name,
        subnet_group_types=_types(group),
    )
    if v.value.upper() == RDS_NEEDED:
        return v
    v.problems.append(f"NetworkType is {v.value}")
    if v.subnet_group_types is not None and RDS_NEEDED not in v.subnet_group_types:
        v.problems.append(
            f"DB subnet group {group_name} supports only {', '.join(v.subnet_group_types)}"
        )
        subnets = ", ".join(group_subnets(group)) or "S"
        v.fix.append(
            f"give every subnet of DB subnet group {group_name} ({subnets}) an IPv6 CIDR: "
            "aws ec2 associate-subnet-cidr-block --subnet-id S --ipv6-cidr-block "
            "<a /64 of the VPC's IPv6 CIDR>"
        )
    v.fix.append(modify.format(id=ident))
    return v


def group_subnets(group: dict | None) -> list[str]:
    """The subnet ids of a DB or cache subnet group."""
    return [
        str(s.get("SubnetIdentifier"))
        for s in (group or {}).get("Subnets") or []
        if s.get("SubnetIdentifier")
    ]


def cache_verdicts(
    clusters: Iterable[dict],
    groups: Iterable[dict],
    subnet_groups: Iterable[dict],
    ipv6_only_vpcs: set[str],
) -> list[StoreVerdict]:
    """Verdicts for every replication group and every cache cluster outside one.
    `ipv6_only_vpcs`: the VPCs that have IPv6-only subnets (their clients need ipv6
    discovery)."""
    clusters = list(clusters)
    by_id = {c.get("CacheClusterId", ""): c for c in clusters}
    sgs = {g.get("CacheSubnetGroupName", ""): g for g in subnet_groups}
    out: list[StoreVerdict] = []
    for group in groups:
        gid = group.get("ReplicationGroupId", "")
        members = [by_id[m] for m in group.get("MemberClusters") or [] if m in by_id]
        sg_name = next((m.get("CacheSubnetGroupName") for m in members), None) or ""
        out.append(
            _cache(
                "cache-replication-group",
                gid,
                group.get("ARN", ""),
                group,
                sg_name,
                sgs.get(sg_name),
                ipv6_only_vpcs,
                f"aws elasticache modify-replication-group --replication-group-id {gid} "
                "--ip-discovery ipv6 --apply-immediately",
                f"aws elasticache create-replication-group --replication-group-id {gid}-ds "
                "--network-type dual_stack --ip-discovery ipv6 --snapshot-name <a snapshot of "
                f"{gid}> --cache-subnet-group-name <a group whose subnets have IPv6> ...",
            )
        )
    for cluster in clusters:
        if cluster.get("ReplicationGroupId"):
            continue
        cid = cluster.get("CacheClusterId", "")
        sg_name = str(cluster.get("CacheSubnetGroupName") or "")
        out.append(
            _cache(
                "cache-cluster",
                cid,
                cluster.get("ARN", ""),
                cluster,
                sg_name,
                sgs.get(sg_name),
                ipv6_only_vpcs,
                f"aws elasticache modify-cache-cluster --cache-cluster-id {cid} "
                "--ip-discovery ipv6 --apply-immediately",
                f"aws elasticache create-cache-cluster --cache-cluster-id {cid}-ds "
                "--network-type dual_stack --ip-discovery ipv6 --cache-subnet-group-name "
                "<a group whose subnets have IPv6> ...",
            )
        )
    return out


def _cache(
    kind: str,
    ident: str,
    arn: str,
    item: dict,
    sg_name: str,
    sg: dict | None,
    ipv6_only_vpcs: set[str],
    modify: str,
    recreate: str,
) -> StoreVerdict:
    network_type = item.get("NetworkType")
    discovery = item.get("IpDiscovery")
    v = StoreVerdict(
        kind=kind,
        id=ident,
        arn=arn or ident,
        attribute="NetworkType",
        value=str(network_type or CACHE_DEFAULT),
        needed=" or ".join(CACHE_OK),
        reported=network_type is not None,
        subnet_group=sg_name,
        subnet_group_types=_types(sg),
        ip_discovery=str(discovery or CACHE_DEFAULT),
        ipv6_only_clients=(sg.get("VpcId") in ipv6_only_vpcs) if sg and sg.get("VpcId") else None,
    )
    if v.value not in CACHE_OK:
        v.problems.append(f"NetworkType is {v.value}")
        if v.subnet_group_types is not None and "dual_stack" not in v.subnet_group_types:
            v.problems.append(
                f"cache subnet group {sg_name} supports only {', '.join(v.subnet_group_types)}"
            )
            subnets = ", ".join(group_subnets(sg)) or "S"
            v.fix.append(
                f"give every subnet of cache subnet group {sg_name} ({subnets}) an IPv6 CIDR: "
                "aws ec2 associate-subnet-cidr-block --subnet-id S --ipv6-cidr-block "
                "<a /64 of the VPC's IPv6 CIDR>"
            )
        v.fix.append(recreate)  # NetworkType is fixed at creation
        return v
    if v.value == "dual_stack" and v.ip_discovery != "ipv6" and v.ipv6_only_clients:
        v.attribute = "IpDiscovery"
        v.needed = "ipv6"
        v.problems.append(
            f"IpDiscovery is {v.ip_discovery} while its VPC has IPv6-only subnets, whose "
            "clients cannot use the IPv4 addresses discovery hands out"
        )
        v.fix.append(modify)
    return v
