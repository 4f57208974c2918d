"""What every AWS check needs: the run's inventory, a loop over scopes that turns AWS errors
into findings, and readers for the odd corners of EC2's answers."""

from __future__ import annotations

import asyncio
import ipaddress
import re
from collections.abc import AsyncIterator, Callable, Iterable
from typing import TYPE_CHECKING, Any

from auditor.aws.errors import (
    AwsAccessDenied,
    AwsError,
    AwsNoCredentials,
    AwsRegionDisabled,
    AwsThrottled,
)
from auditor.aws.inventory import GLOBAL, Inventory, Scope
from auditor.model import Finding, Resource, errored, skipped

if TYPE_CHECKING:
    from auditor.context import CheckContext

SERVICE = "aws"
BASE_PERMISSIONS = ("sts:GetCallerIdentity",)  # the inventory learns the account id first
HOURS_PER_MONTH = 730
PUBLIC_IPV4_HOURLY_USD = 0.005

Body = Callable[[Inventory, Scope], AsyncIterator[Finding]]


def inventory(ctx: CheckContext) -> Inventory:
    return ctx.service(SERVICE, Inventory)


def perms(*actions: str) -> list[str]:
    return sorted({*BASE_PERMISSIONS, *actions})


def scope_error(
    ctx: CheckContext, exc: AwsError, scope: Scope | None, on: Resource | None = None
) -> Finding:
    """The finding for a scope (or, with `on`, one resource) that could not be read."""
    resource = on or (scope.resource() if scope else None)
    where = scope.where if scope else "AWS"
    evidence = exc.evidence()
    if isinstance(exc, AwsRegionDisabled):
        return skipped(
            f"Not checked: region {scope.region if scope else '?'} is not enabled for account "
            f"{scope.account if scope else '?'} ({exc.code}); enable it or remove it from "
            "aws.regions",
            resource=resource,
            evidence=evidence,
        )
    if isinstance(exc, AwsAccessDenied):
        if exc.action == "sts:AssumeRole":
            message = f"Not checked: {exc}"
        else:
            message = (
                f"Not checked in {where}: the audit identity is denied {exc.action}; grant it "
                "(`v6audit iam-policy` prints the read-only policy the checks need)"
            )
        return errored(message, resource=resource, evidence=evidence)
    if isinstance(exc, AwsThrottled):
        return errored(
            f"Not checked in {where}: {exc.action} was still throttled after botocore's "
            "retries; re-run later or with a lower --concurrency",
            resource=resource,
            evidence=evidence,
        )
    if isinstance(exc, AwsNoCredentials):
        ctx.state.report_problem(SERVICE, f"AWS checks not run: {exc}", fatal=True)
        return errored(f"Not checked: {exc}", resource=resource, evidence=evidence)
    return errored(f"Not checked in {where}: {exc}", resource=resource, evidence=evidence)


async def _collect(ctx: CheckContext, gen: AsyncIterator[Finding], scope: Scope) -> list[Finding]:
    out: list[Finding] = []
    try:
        async for finding in gen:
            out.append(finding)
    except AwsError as exc:
        out.append(scope_error(ctx, exc, scope))
    return out


async def each_scope(
    ctx: CheckContext, regional: Body | None = None, account_wide: Body | None = None
) -> AsyncIterator[Finding]:
    """Run `regional` for every account and region and `account_wide` once per account, all
    concurrently. An AWS error ends that scope with an `error` finding (`skip` for a region
    that is not enabled) and leaves the others running; without credentials the check gets
    one `error` finding and the run one fatal problem."""
    inv = inventory(ctx)
    try:
        scopes = [(regional, s) for s in await inv.scopes()] if regional else []
        if account_wide:
            scopes += [(account_wide, s) for s in await inv.global_scopes()]
    except AwsError as exc:
        if isinstance(exc, AwsNoCredentials):
            ctx.state.report_problem(SERVICE, f"AWS checks not run: {exc}", fatal=True)
        yield errored(f"Not checked: {exc}", evidence=exc.evidence())
        return
    results = await asyncio.gather(*(_collect(ctx, body(inv, s), s) for body, s in scopes))
    for findings in results:
        for finding in findings:
            yield finding


def per_region(ctx: CheckContext, body: Body) -> AsyncIterator[Finding]:
    """`body` for every account and region (see each_scope)."""
    return each_scope(ctx, regional=body)


def per_account(ctx: CheckContext, body: Body) -> AsyncIterator[Finding]:
    """`body` once per account, for account-wide services (see each_scope)."""
    return each_scope(ctx, account_wide=body)


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
    "inventory",
    "ipv4_cidrs",
    "ipv6_cidrs",
    "per_account",
    "per_region",
    "perms",
    "resource",
    "tag",
]
