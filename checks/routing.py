"""Checks of the vpc family about routing: IPv6 default routes next to IPv4 ones, and ingress
routing that inspects IPv6 like IPv4. The analysis is in :mod:`auditor.aws.routes` and
:mod:`auditor.aws.ingress`; these checks word its results."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from auditor.aws.helpers import perms, resource, tag
from auditor.aws.ingress import DIFFERENT, MISSING, SAME, gateway_tables, ingress_parity
from auditor.aws.inventory import Inventory, Scope
from auditor.aws.routes import ANY_V4, ANY_V6, EXPOSED, IGW, default_routes
from auditor.aws.routes import MISSING as NO_DEFAULT
from auditor.context import CheckContext
from auditor.model import Finding, failed, passed, warned
from auditor.registry import check

FAMILY = "vpc"

REF_VPC_IPV6 = "https://docs.aws.amazon.com/vpc/latest/userguide/vpc-migrate-ipv6.html"
REF_INGRESS = "https://docs.aws.amazon.com/vpc/latest/userguide/gateway-route-tables.html"
REF_EIGW = "https://docs.aws.amazon.com/vpc/latest/userguide/egress-only-internet-gateway.html"


def _more(items: list, what: str = "") -> str:
    extra = len(items) - 1
    return f" (and {extra} more{' ' + what if what else ''})" if extra > 0 else ""


@check(
    id="aws.route.ipv6_default",
    title="Route tables with an IPv4 default route have an IPv6 default route",
    family=FAMILY,
    severity="high",
    stage=1,
    permissions=perms("ec2:DescribeRouteTables"),
    fix_order=30,
    remediation="""
        Add `::/0` next to `0.0.0.0/0`: to the same internet gateway in public route tables,
        to an egress-only internet gateway where 0.0.0.0/0 goes to a NAT gateway
        (`aws ec2 create-egress-only-internet-gateway --vpc-id VPC`, then
        `aws ec2 create-route --route-table-id RTB --destination-ipv6-cidr-block ::/0
        --egress-only-internet-gateway-id EIGW`), and to the same transit gateway, virtual
        private gateway, appliance or endpoint where 0.0.0.0/0 goes through one. Never send
        ::/0 of a private subnet to the internet gateway.
    """,
    references=[REF_VPC_IPV6, REF_EIGW],
    scope="region",
)
async def route_ipv6_default(
    ctx: CheckContext, inv: Inventory, scope: Scope
) -> AsyncIterator[Finding]:
    """A route table with an active `0.0.0.0/0` also has an active `::/0` to the matching kind
    of target: the same internet gateway, an egress-only internet gateway where IPv4 goes
    through a NAT gateway, else the same target (transit gateway, virtual private gateway,
    appliance, endpoint). `::/0` to the internet gateway behind a NAT'd IPv4 default fails: it
    opens the subnet to inbound IPv6."""
    for table in await inv.list(scope, "ec2", "describe_route_tables"):
        found = default_routes(table)
        if found.ipv4 is None:
            continue
        rtb = table["RouteTableId"]
        v4, v6, gap = found.ipv4, found.ipv6, found.gap
        res = resource(scope, rtb, "route-table", tag(table))
        associations = table.get("Associations") or []
        evidence: dict[str, Any] = {
            "vpc_id": table.get("VpcId"),
            "ipv4_route": {"destination": ANY_V4, "target": v4.id, "kind": v4.kind},
            "ipv6_route": (
                {"destination": ANY_V6, "target": v6.id, "kind": v6.kind} if v6 else None
            ),
            "subnets": [a["SubnetId"] for a in associations if a.get("SubnetId")],
            "main": any(a.get("Main") for a in associations),
        }
        if gap is None:
            assert v6 is not None
            yield passed(
                f"Route table {rtb} has ::/0 → {v6.id} next to 0.0.0.0/0 → {v4.id}",
                resource=res,
                evidence=evidence,
            )
            continue
        evidence["expected"] = gap.expected
        if gap.problem == NO_DEFAULT:
            if gap.inactive_ipv6:
                evidence["inactive_ipv6_default"] = gap.inactive_ipv6
            yield failed(
                f"Route table {rtb} sends 0.0.0.0/0 to {v4.text} but has no "
                f"{'active ' if gap.inactive_ipv6 else ''}IPv6 default route: add "
                f"{gap.expected}",
                resource=res,
                evidence=evidence,
            )
            continue
        assert v6 is not None
        sends = f"Route table {rtb} sends 0.0.0.0/0 to {v4.text} but ::/0 to {v6.text}"
        if gap.problem == EXPOSED:
            yield failed(
                f"{sends}: every IPv6 address of its subnets is reachable from the internet, "
                f"while IPv4 lets no connection in; route {gap.expected} instead",
                resource=res,
                evidence=evidence,
            )
            continue
        why = (
            "hosts that accept connections over IPv4 cannot be reached over IPv6; if they "
            f"serve the internet, route {gap.expected}"
            if v4.kind == IGW
            else "IPv6 leaves by another path than IPv4 and skips whatever filters or inspects "
            f"it there; route {gap.expected} unless that is intended"
        )
        yield warned(f"{sends}: {why}", resource=res, evidence=evidence)


@check(
    id="aws.route.ingress_parity",
    title="Ingress routing sends IPv6 through the same appliance as IPv4",
    family=FAMILY,
    severity="critical",
    stage=1,
    permissions=perms("ec2:DescribeRouteTables", "ec2:DescribeSubnets"),
    fix_order=25,
    remediation="""
        In the gateway route table (the one edge-associated with the internet or virtual
        private gateway), route each inspected subnet's IPv6 /64 to the same appliance as its
        IPv4 CIDR: `aws ec2 create-route --route-table-id RTB --destination-ipv6-cidr-block
        SUBNET-IPV6/64 --network-interface-id ENI` (or `--vpc-endpoint-id` for a Gateway Load
        Balancer or Network Firewall endpoint). Without it inbound IPv6 skips the firewall:
        fix this before adding the ::/0 route that lets IPv6 in.
    """,
    references=[REF_INGRESS],
    scope="region",
)
async def route_ingress_parity(
    ctx: CheckContext, inv: Inventory, scope: Scope
) -> AsyncIterator[Finding]:
    """A gateway route table that sends a subnet's IPv4 CIDR to an appliance (ENI, instance,
    Gateway Load Balancer or Network Firewall endpoint, which EC2 reports as `GatewayId:
    vpce-…`) sends that subnet's IPv6 CIDR to the same appliance; otherwise inbound IPv6
    follows the local route and bypasses inspection (fail), or is inspected by another
    appliance (warn)."""
    tables = gateway_tables(await inv.list(scope, "ec2", "describe_route_tables"))
    if not tables:
        return
    subnets = await inv.list(scope, "ec2", "describe_subnets")
    for table in tables:
        result = ingress_parity(table, subnets)
        if not result.steered:
            continue
        missing, different = result.of(MISSING), result.of(DIFFERENT)
        rtb = result.route_table_id
        res = resource(scope, rtb, "route-table", tag(table))
        evidence: dict[str, Any] = {
            "route_table_id": rtb,
            "edge_associations": result.edge_associations,
            "vpc_id": result.vpc_id,
            "inspected": [s.to_dict() for s in result.steered if s.verdict != MISSING],
            "missing": [s.to_dict() for s in missing],
        }
        edges = ", ".join(result.edge_associations)
        edge = f"Gateway route table {rtb} (edge-associated with {edges})"
        if missing:
            first = missing[0]
            appliance = first.ipv4_appliance.id
            yield failed(
                f"{edge} sends {first.ipv4_destination} to {appliance} but not "
                f"{first.subnet_ipv6}: inbound IPv6 to {first.subnet_id} bypasses the appliance; "
                f"add route {first.subnet_ipv6} → {appliance}{_more(missing, 'subnet(s)')}",
                resource=res,
                evidence=evidence,
            )
        elif different:
            first = different[0]
            assert first.ipv6_appliance is not None
            yield warned(
                f"{edge} sends {first.ipv4_destination} to {first.ipv4_appliance.id} but "
                f"{first.subnet_ipv6} to {first.ipv6_appliance.id}: inbound IPv6 to "
                f"{first.subnet_id} is inspected by a different appliance than IPv4; route it "
                f"to {first.ipv4_appliance.id}, or make sure {first.ipv6_appliance.id} "
                f"enforces the same policy{_more(different, 'subnet(s)')}",
                resource=res,
                evidence=evidence,
            )
        else:
            yield passed(
                f"{edge} steers IPv6 of {len(result.of(SAME))} subnet(s) through the same "
                "appliances as IPv4",
                resource=res,
                evidence=evidence,
            )
