"""What AWS checks share: permissions, resources for findings, and readers for the odd corners
of EC2's answers. Fanning a check out over scopes is :mod:`auditor.aws.scoped`."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import Any

from auditor.aws.inventory import GLOBAL, Inventory, Scope
from auditor.model import Resource

BASE_PERMISSIONS = ("sts:GetCallerIdentity",)  # the inventory learns the account id first
HOURS_PER_MONTH = 730
PUBLIC_IPV4_HOURLY_USD = 0.005


def perms(*actions: str) -> list[str]:
    return sorted({*BASE_PERMISSIONS, *actions})


def resource(scope: Scope, rid: str, kind: str, name: str = "", region: str = "") -> Resource:
    return Resource(
        id=rid, kind=kind, name=name, account=scope.account, region=region or scope.region
    )


def tag(item: dict, key: str = "Name") -> str:
    for t in item.get("Tags") or item.get("TagSet") or []:
        if t.get("Key") == key:
            return str(t.get("Value", ""))
    return ""


_STATE_RE = re.compile(r"(disassociating|disassociated|associating|associated|failing|failed)")


def association_state(value: Any) -> str:
    """`{"State": "associated"}`, `"associated"`, or an emulator's stringified dict."""
    if isinstance(value, dict):
        value = value.get("State", "")
    match = _STATE_RE.search(str(value or ""))
    return match.group(1) if match else ""


def ipv6_blocks(item: dict) -> list[dict]:
    """Associated IPv6 CIDR associations of a VPC or subnet."""
    out = []
    for assoc in item.get("Ipv6CidrBlockAssociationSet") or []:
        if association_state(assoc.get("Ipv6CidrBlockState")) == "associated":
            out.append(assoc)
    return out


def ipv6_cidrs(item: dict) -> list[str]:
    return [a["Ipv6CidrBlock"] for a in ipv6_blocks(item) if a.get("Ipv6CidrBlock")]


def ipv4_cidrs(vpc: dict) -> list[str]:
    cidrs = [
        a["CidrBlock"]
        for a in vpc.get("CidrBlockAssociationSet") or []
        if a.get("CidrBlock") and association_state(a.get("CidrBlockState")) == "associated"
    ]
    if not cidrs and vpc.get("CidrBlock"):
        cidrs = [vpc["CidrBlock"]]
    return cidrs


def by_key(items: Iterable[dict], key: str) -> dict[str, dict]:
    return {item[key]: item for item in items if key in item}


def subnet_route_tables(route_tables: Iterable[dict]) -> tuple[dict[str, dict], dict[str, dict]]:
    """(subnet id → explicitly associated table, VPC id → main table)."""
    explicit: dict[str, dict] = {}
    main: dict[str, dict] = {}
    for table in route_tables:
        for assoc in table.get("Associations") or []:
            if association_state(assoc.get("AssociationState") or "associated") != "associated":
                continue
            if assoc.get("SubnetId"):
                explicit[assoc["SubnetId"]] = table
            elif assoc.get("Main"):
                main[table.get("VpcId", "")] = table
    return explicit, main


def route_table_of(subnet: dict, explicit: dict[str, dict], main: dict[str, dict]) -> dict | None:
    return explicit.get(subnet.get("SubnetId", "")) or main.get(subnet.get("VpcId", ""))


def route_target(route: dict) -> str:
    for key in (
        "GatewayId",
        "EgressOnlyInternetGatewayId",
        "NatGatewayId",
        "NetworkInterfaceId",
        "VpcEndpointId",
        "TransitGatewayId",
        "VpcPeeringConnectionId",
        "InstanceId",
        "LocalGatewayId",
        "CarrierGatewayId",
        "CoreNetworkArn",
    ):
        if route.get(key):
            return str(route[key])
    return ""


def route_destination(route: dict) -> str:
    return (
        route.get("DestinationCidrBlock")
        or route.get("DestinationIpv6CidrBlock")
        or route.get("DestinationPrefixListId")
        or ""
    )


def active(route: dict) -> bool:
    return route.get("State", "active") == "active"


def network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return None


def monthly_usd(count: int) -> float:
    return round(count * PUBLIC_IPV4_HOURLY_USD * HOURS_PER_MONTH, 2)


def capped(items: list, limit: int = 50) -> dict[str, Any]:
    """A list for evidence, cut at `limit` with the total kept."""
    out: dict[str, Any] = {"items": items[:limit], "total": len(items)}
    return out


__all__ = [
    "GLOBAL",
    "Inventory",
    "Scope",
    "by_key",
    "ipv4_cidrs",
    "ipv6_cidrs",
    "perms",
    "resource",
    "tag",
]
