"""Checks of the vpc family: VPC and subnet IPv6 CIDRs, IPv6-only subnets and interface
endpoints. Default routes and ingress routing are in :mod:`checks.routing`."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from typing import Any

from auditor.aws.helpers import (
    active,
    by_key,
    ipv4_cidrs,
    ipv6_blocks,
    ipv6_cidrs,
    network,
    perms,
    resource,
    route_table_of,
    route_target,
    subnet_route_tables,
    tag,
)
from auditor.aws.inventory import Inventory, Scope
from auditor.context import CheckContext
from auditor.model import Finding, failed, info, passed, warned
from auditor.registry import check

FAMILY = "vpc"
NAT64_WKP = "64:ff9b::/96"

REF_VPC_IPV6 = "https://docs.aws.amazon.com/vpc/latest/userguide/vpc-migrate-ipv6.html"
REF_DNS64 = "https://docs.aws.amazon.com/vpc/latest/userguide/nat-gateway-nat64-dns64.html"
REF_SUBNETS = "https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html"
REF_TAXONOMY = "https://dev.to/aws-builders/a-taxonomy-of-ip-addresses-in-the-aws-vpc-560"
REF_PATH = "https://dev.to/aws-builders/the-path-to-ipv6-only-in-the-aws-vpc-e0c"
REF_VPCE = "https://docs.aws.amazon.com/vpc/latest/privatelink/create-interface-endpoint.html"
REF_PRICING = "https://aws.amazon.com/vpc/pricing/"


def _vpc_resource(scope: Scope, vpc: dict):
    return resource(scope, vpc["VpcId"], "vpc", tag(vpc))


def _subnet_resource(scope: Scope, subnet: dict):
    return resource(scope, subnet["SubnetId"], "subnet", tag(subnet))


def _subnet_label(subnet: dict) -> str:
    cidr = subnet.get("CidrBlock") or "IPv6-only"
    return f"{subnet['SubnetId']} ({cidr}, {subnet.get('AvailabilityZone', '?')})"


# --- VPC ---------------------------------------------------------------------------------------


@check(
    id="aws.vpc.ipv6_cidr",
    title="Every VPC has an IPv6 CIDR",
    family=FAMILY,
    severity="high",
    stage=1,
    permissions=perms("ec2:DescribeVpcs"),
    fix_order=10,
    remediation="""
        Associate an IPv6 block with the VPC: `aws ec2 associate-vpc-cidr-block --vpc-id VPC
        --amazon-provided-ipv6-cidr-block` (a /56), or `--ipv6-ipam-pool-id` for a block from
        your IPAM or BYOIP pool. Nothing else in the VPC can have IPv6 until this is done.
    """,
    references=[REF_VPC_IPV6],
    scope="region",
)
async def vpc_ipv6_cidr(ctx: CheckContext, inv: Inventory, scope: Scope) -> AsyncIterator[Finding]:
    """Each VPC has an associated IPv6 CIDR block (Amazon-provided, IPAM or BYOIP)."""
    for vpc in await inv.list(scope, "ec2", "describe_vpcs"):
        v4 = ipv4_cidrs(vpc)
        blocks = [
            {"cidr": b.get("Ipv6CidrBlock"), "pool": b.get("Ipv6Pool", "")}
            for b in ipv6_blocks(vpc)
        ]
        evidence: dict[str, Any] = {"ipv4_cidrs": v4, "ipv6_cidrs": blocks}
        res = _vpc_resource(scope, vpc)
        if blocks:
            yield passed(
                f"VPC {vpc['VpcId']} has IPv6 {', '.join(b['cidr'] for b in blocks)}",
                resource=res,
                evidence=evidence,
            )
        else:
            evidence["expected"] = "an associated IPv6 /56 (Amazon-provided, IPAM or BYOIP)"
            yield failed(
                f"VPC {vpc['VpcId']} ({', '.join(v4)}) has no IPv6 CIDR: associate an "
                "Amazon-provided /56 before its subnets can get /64s",
                resource=res,
                evidence=evidence,
            )


_RFC1918 = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]
_RFC6598 = ipaddress.ip_network("100.64.0.0/10")


def classify_ipv4(cidr: str) -> tuple[str, str]:
    """(class, note) of a VPC IPv4 CIDR."""
    net = network(cidr)
    if not isinstance(net, ipaddress.IPv4Network):
        return "invalid", "not an IPv4 network"
    if any(net.subnet_of(r) for r in _RFC1918):
        return "rfc1918", "RFC 1918 private space"
    if net.subnet_of(_RFC6598):
        return "rfc6598", "RFC 6598 shared address space: stands out from corporate RFC 1918 space"
    if net.is_global:
        return (
            "public",
            "public IPv4 space used internally: internet hosts in this range are unreachable "
            "from the VPC unless the space is yours (BYOIP)",
        )
    return "reserved", "special-purpose space (documentation, benchmarking…): not meant for hosts"


@check(
    id="aws.vpc.address_plan",
    title="VPC IPv4 address plan (RFC 1918, RFC 6598, public space used internally)",
    family=FAMILY,
    severity="info",
    stage=None,
    mandatory=False,
    permissions=perms("ec2:DescribeVpcs"),
    remediation="""
        Number VPCs from RFC 1918 or RFC 6598 (100.64.0.0/10) space. Public space used
        internally hides the real owners of that space from the VPC; if it is your own
        (BYOIP), document it. The IPv6 plan is simpler: a /56 per VPC, a /64 per subnet.
    """,
    references=[REF_TAXONOMY],
    scope="region",
)
async def vpc_address_plan(
    ctx: CheckContext, inv: Inventory, scope: Scope
) -> AsyncIterator[Finding]:
    """Classifies each VPC's IPv4 CIDRs (RFC 1918, RFC 6598, public, special-purpose) and
    lists its IPv6 blocks and their pools; public or special-purpose space is a warning."""
    for vpc in await inv.list(scope, "ec2", "describe_vpcs"):
        classes = []
        for cidr in ipv4_cidrs(vpc):
            cls, note = classify_ipv4(cidr)
            classes.append({"cidr": cidr, "class": cls, "note": note})
        v6 = [
            {
                "cidr": b.get("Ipv6CidrBlock"),
                "pool": b.get("Ipv6Pool", ""),
                "source": "amazon" if b.get("Ipv6Pool", "Amazon") == "Amazon" else "ipam/byoip",
            }
            for b in ipv6_blocks(vpc)
        ]
        evidence = {"ipv4": classes, "ipv6": v6}
        odd = [c for c in classes if c["class"] in ("public", "reserved", "invalid")]
        res = _vpc_resource(scope, vpc)
        summary = ", ".join(f"{c['cidr']} ({c['class']})" for c in classes)
        if odd:
            yield warned(
                f"VPC {vpc['VpcId']} uses {odd[0]['cidr']}: {odd[0]['note']}",
                resource=res,
                evidence=evidence,
            )
        else:
            yield info(
                f"VPC {vpc['VpcId']} IPv4 plan: {summary}"
                + (f"; IPv6 {', '.join(str(b['cidr']) for b in v6)}" if v6 else "; no IPv6"),
                resource=res,
                evidence=evidence,
            )


# --- subnets -----------------------------------------------------------------------------------


def _free_64(vpc: dict | None, subnets: list[dict]) -> str | None:
    """The first /64 of the VPC's IPv6 block that no subnet uses."""
    if not vpc:
        return None
    used = [n for n in (network(c) for s in subnets for c in ipv6_cidrs(s)) if n is not None]
    for cidr in ipv6_cidrs(vpc):
        net = network(cidr)
        if not isinstance(net, ipaddress.IPv6Network) or net.prefixlen > 64:
            continue
        for candidate in net.subnets(new_prefix=64):
            if not any(u.overlaps(candidate) for u in used):
                return str(candidate)
    return None


@check(
    id="aws.subnet.ipv6_cidr",
    title="Every subnet has an IPv6 CIDR",
    family=FAMILY,
    severity="high",
    stage=1,
    permissions=perms("ec2:DescribeSubnets", "ec2:DescribeVpcs"),
    fix_order=20,
    remediation="""
        Give the subnet a /64 from its VPC's /56: `aws ec2 associate-subnet-cidr-block
        --subnet-id SUBNET --ipv6-cidr-block PREFIX::/64`. The VPC needs an IPv6 block first.
    """,
    references=[REF_VPC_IPV6, REF_SUBNETS],
    scope="region",
)
async def subnet_ipv6_cidr(
    ctx: CheckContext, inv: Inventory, scope: Scope
) -> AsyncIterator[Finding]:
    """Each subnet has an associated IPv6 /64; a failing subnet gets a free /64 of its VPC
    suggested."""
    subnets = await inv.list(scope, "ec2", "describe_subnets")
    vpcs = by_key(await inv.list(scope, "ec2", "describe_vpcs"), "VpcId")
    per_vpc: dict[str, list[dict]] = {}
    for s in subnets:
        per_vpc.setdefault(s.get("VpcId", ""), []).append(s)
    for subnet in subnets:
        v6 = ipv6_cidrs(subnet)
        res = _subnet_resource(scope, subnet)
        evidence: dict[str, Any] = {
            "vpc_id": subnet.get("VpcId"),
            "ipv4_cidr": subnet.get("CidrBlock"),
            "ipv6_cidrs": v6,
        }
        if v6:
            yield passed(
                f"Subnet {subnet['SubnetId']} has IPv6 {', '.join(v6)}",
                resource=res,
                evidence=evidence,
            )
            continue
        vpc = vpcs.get(subnet.get("VpcId", ""))
        vpc_v6 = ipv6_cidrs(vpc) if vpc else []
        evidence["vpc_ipv6_cidrs"] = vpc_v6
        if not vpc_v6:
            evidence["expected"] = "an IPv6 /64, after the VPC gets its IPv6 /56"
            yield failed(
                f"Subnet {_subnet_label(subnet)} has no IPv6 CIDR, and its VPC "
                f"{subnet.get('VpcId')} has none to give: associate a /56 with the VPC, "
                "then a /64 with the subnet",
                resource=res,
                evidence=evidence,
            )
            continue
        suggestion = _free_64(vpc, per_vpc.get(subnet.get("VpcId", ""), []))
        evidence["expected"] = suggestion or "a free /64 of the VPC's IPv6 block"
        yield failed(
            f"Subnet {_subnet_label(subnet)} has no IPv6 CIDR: associate "
            f"{suggestion or 'a free /64'} from VPC {subnet.get('VpcId')}'s "
            f"{', '.join(vpc_v6)}",
            resource=res,
            evidence=evidence,
        )


@check(
    id="aws.subnet.assign_ipv6",
    title="Subnets with IPv6 assign IPv6 addresses on launch",
    family=FAMILY,
    severity="medium",
    stage=2,
    permissions=perms("ec2:DescribeSubnets"),
    fix_order=50,
    remediation="""
        `aws ec2 modify-subnet-attribute --subnet-id SUBNET --assign-ipv6-address-on-creation`,
        so instances and ENIs launched there get an IPv6 address without asking.
    """,
    references=[REF_VPC_IPV6],
    scope="region",
)
async def subnet_assign_ipv6(
    ctx: CheckContext, inv: Inventory, scope: Scope
) -> AsyncIterator[Finding]:
    """Subnets that have an IPv6 CIDR set `AssignIpv6AddressOnCreation`."""
    for subnet in await inv.list(scope, "ec2", "describe_subnets"):
        v6 = ipv6_cidrs(subnet)
        if not v6:
            continue
        res = _subnet_resource(scope, subnet)
        evidence = {
            "ipv6_cidrs": v6,
            "AssignIpv6AddressOnCreation": bool(subnet.get("AssignIpv6AddressOnCreation")),
            "Ipv6Native": bool(subnet.get("Ipv6Native")),
        }
        if subnet.get("AssignIpv6AddressOnCreation"):
            yield passed(
                f"Subnet {subnet['SubnetId']} assigns IPv6 addresses on launch",
                resource=res,
                evidence=evidence,
            )
        else:
            yield failed(
                f"Subnet {_subnet_label(subnet)} has IPv6 {v6[0]} but does not assign IPv6 "
                "addresses on launch: enable AssignIpv6AddressOnCreation",
                resource=res,
                evidence=evidence,
            )


def _nat64_route(table: dict | None) -> tuple[dict | None, dict | None]:
    """(the active 64:ff9b::/96 route to a NAT gateway, any other 64:ff9b::/96 route)."""
    if not table:
        return None, None
    other = None
    for route in table.get("Routes") or []:
        if route.get("DestinationIpv6CidrBlock") != NAT64_WKP:
            continue
        if route.get("NatGatewayId") and active(route):
            return route, None
        other = route
    return None, other


@check(
    id="aws.subnet.dns64",
    title="IPv6-only subnets have DNS64 and a 64:ff9b::/96 route to a NAT gateway",
    family=FAMILY,
    severity="high",
    stage=3,
    permissions=perms("ec2:DescribeSubnets", "ec2:DescribeRouteTables"),
    fix_order=50,
    remediation="""
        Turn on DNS64 (`aws ec2 modify-subnet-attribute --subnet-id SUBNET --enable-dns64`)
        AND route 64:ff9b::/96 to a NAT gateway in the subnet's route table (`aws ec2
        create-route --route-table-id RTB --destination-ipv6-cidr-block 64:ff9b::/96
        --nat-gateway-id NAT`). DNS64 without the route synthesizes addresses nothing
        forwards: connections hang instead of failing.
    """,
    references=[REF_DNS64, REF_PATH],
    scope="region",
)
async def subnet_dns64(ctx: CheckContext, inv: Inventory, scope: Scope) -> AsyncIterator[Finding]:
    """IPv6-only subnets (and any subnet with DNS64 on) have both `EnableDns64` and an active
    `64:ff9b::/96` route to a NAT gateway in the route table the subnet uses."""
    subnets = await inv.list(scope, "ec2", "describe_subnets")
    tables = await inv.list(scope, "ec2", "describe_route_tables")
    explicit, main = subnet_route_tables(tables)
    for subnet in subnets:
        v6_only = bool(subnet.get("Ipv6Native"))
        dns64 = subnet.get("EnableDns64") is True
        if not v6_only and not dns64:
            continue
        table = route_table_of(subnet, explicit, main)
        route, other = _nat64_route(table)
        rtb = table.get("RouteTableId") if table else None
        evidence: dict[str, Any] = {
            "Ipv6Native": v6_only,
            "EnableDns64": dns64,
            "route_table_id": rtb,
            "nat64_route": (
                {"destination": NAT64_WKP, "target": route_target(route)} if route else None
            ),
        }
        if other is not None:
            evidence["other_nat64_route"] = {
                "destination": NAT64_WKP,
                "target": route_target(other),
                "state": other.get("State", "active"),
            }
        res = _subnet_resource(scope, subnet)
        kind = "IPv6-only subnet" if v6_only else "Subnet"
        if dns64 and route:
            yield passed(
                f"{kind} {subnet['SubnetId']} has DNS64 and {NAT64_WKP} → "
                f"{route['NatGatewayId']} in {rtb}",
                resource=res,
                evidence=evidence,
            )
        elif not dns64:
            evidence["expected"] = "EnableDns64 = true"
            yield failed(
                f"{kind} {_subnet_label(subnet)} has DNS64 off: IPv4-only destinations get "
                "no AAAA and are unreachable; enable DNS64"
                + ("" if route else f" and route {NAT64_WKP} to a NAT gateway in {rtb}"),
                resource=res,
                evidence=evidence,
            )
        elif other is not None and other.get("TransitGatewayId") and active(other):
            yield warned(
                f"{kind} {subnet['SubnetId']} sends {NAT64_WKP} to {route_target(other)}: "
                "NAT64 is centralised behind the transit gateway; verify a NAT gateway "
                "translates there",
                resource=res,
                evidence=evidence,
            )
        else:
            evidence["expected"] = f"route {NAT64_WKP} → a NAT gateway (nat-…) in {rtb}"
            why = (
                f"its {NAT64_WKP} route goes to {route_target(other)} "
                f"({other.get('State', 'active')}), not a NAT gateway"
                if other is not None
                else f"route table {rtb} has no {NAT64_WKP} route to a NAT gateway"
            )
            yield failed(
                f"{kind} {_subnet_label(subnet)} has DNS64 on but {why}: connections to "
                f"synthesized addresses hang; add {NAT64_WKP} → a NAT gateway",
                resource=res,
                evidence=evidence,
            )


@check(
    id="aws.subnet.public_ipv4",
    title="Subnets do not auto-assign public IPv4 addresses",
    family=FAMILY,
    severity="low",
    stage=4,
    permissions=perms("ec2:DescribeSubnets"),
    fix_order=80,
    remediation="""
        `aws ec2 modify-subnet-attribute --subnet-id SUBNET --no-map-public-ip-on-launch`.
        Every auto-assigned public IPv4 is billed ($0.005 per hour); reach instances over
        IPv6, through a load balancer, or with an Elastic IP where one is truly needed.
    """,
    references=[REF_PRICING],
    scope="region",
)
async def subnet_public_ipv4(
    ctx: CheckContext, inv: Inventory, scope: Scope
) -> AsyncIterator[Finding]:
    """`MapPublicIpOnLaunch` is off."""
    for subnet in await inv.list(scope, "ec2", "describe_subnets"):
        res = _subnet_resource(scope, subnet)
        evidence = {"MapPublicIpOnLaunch": bool(subnet.get("MapPublicIpOnLaunch"))}
        if subnet.get("MapPublicIpOnLaunch"):
            yield failed(
                f"Subnet {_subnet_label(subnet)} gives every instance a public IPv4 "
                "($3.65 a month each): turn MapPublicIpOnLaunch off",
                resource=res,
                evidence=evidence,
            )
        else:
            yield passed(
                f"Subnet {subnet['SubnetId']} does not auto-assign public IPv4",
                resource=res,
                evidence=evidence,
            )


# --- endpoints ---------------------------------------------------------------------------------


@check(
    id="aws.vpce.dualstack",
    title="Interface VPC endpoints are dual-stack or IPv6",
    family=FAMILY,
    severity="medium",
    stage=3,
    permissions=perms("ec2:DescribeVpcEndpoints"),
    fix_order=60,
    remediation="""
        `aws ec2 modify-vpc-endpoint --vpc-endpoint-id VPCE --ip-address-type dualstack
        --dns-options DnsRecordIpType=dualstack` (its subnets need IPv6 CIDRs, and the service
        must support IPv6). IPv6-only workloads cannot use an IPv4-only endpoint.
    """,
    references=[REF_VPCE],
    scope="region",
)
async def vpce_dualstack(ctx: CheckContext, inv: Inventory, scope: Scope) -> AsyncIterator[Finding]:
    """Interface endpoints have `IpAddressType` `dualstack` or `ipv6`."""
    for endpoint in await inv.list(scope, "ec2", "describe_vpc_endpoints"):
        if endpoint.get("VpcEndpointType") != "Interface":
            continue
        reported = endpoint.get("IpAddressType")
        kind = reported or "ipv4"
        evidence: dict[str, Any] = {
            "service": endpoint.get("ServiceName"),
            "IpAddressType": kind,
            "DnsRecordIpType": (endpoint.get("DnsOptions") or {}).get("DnsRecordIpType"),
            "subnets": endpoint.get("SubnetIds") or [],
        }
        if not reported:
            evidence["note"] = "IpAddressType not reported; AWS's default is ipv4"
        res = resource(scope, endpoint["VpcEndpointId"], "vpc-endpoint", tag(endpoint))
        if kind in ("dualstack", "ipv6"):
            yield passed(
                f"Endpoint {endpoint['VpcEndpointId']} ({endpoint.get('ServiceName')}) is {kind}",
                resource=res,
                evidence=evidence,
            )
        else:
            evidence["expected"] = "IpAddressType dualstack (or ipv6)"
            yield failed(
                f"Interface endpoint {endpoint['VpcEndpointId']} "
                f"({endpoint.get('ServiceName')}) is {kind}: IPv6-only clients cannot reach "
                "it; switch it to dualstack",
                resource=res,
                evidence=evidence,
            )
