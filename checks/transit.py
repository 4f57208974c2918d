"""Checks of the transit family: IPv6 between VPCs and through their shared network services
(transit gateways, peering, Route 53 Resolver endpoints, Network Firewall)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import asdict

from auditor.aws.findings import next_step, verdict
from auditor.aws.firewall import (
    FirewallVerdict,
    firewall_mappings,
    group_parity,
    policy_variables,
    stateful_group_arns,
)
from auditor.aws.helpers import by_key, capped, perms, resource
from auditor.aws.inventory import Inventory, Scope
from auditor.aws.transit import (
    attachment_verdict,
    peering_verdicts,
    resolver_verdict,
    tgw_table_verdict,
)
from auditor.context import CheckContext
from auditor.model import Finding
from auditor.registry import check

FAMILY = "transit"
REF_TGW = "https://docs.aws.amazon.com/vpc/latest/tgw/tgw-vpc-attachments.html"
REF_PCX = "https://docs.aws.amazon.com/vpc/latest/peering/vpc-peering-routing.html"
REF_RESOLVER = "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resolver-endpoints.html"
REF_NFW = "https://docs.aws.amazon.com/network-firewall/latest/developerguide/firewall-ip-address-types.html"
GONE = ("deleting", "deleted", "failed", "rejected", "failing")
ROUTE_STATES = [{"Name": "state", "Values": ["active", "blackhole"]}]
MAX_ROUTES = 1000  # SearchTransitGatewayRoutes answers at most this many (its default)


@check(
    id="aws.tgw.ipv6",
    title="Transit gateway attachments and route tables carry IPv6",
    family=FAMILY,
    severity="high",
    stage=1,
    permissions=perms(
        "ec2:DescribeTransitGatewayVpcAttachments",
        "ec2:DescribeTransitGatewayRouteTables",
        "ec2:SearchTransitGatewayRoutes",
        "ec2:DescribeVpcs",
    ),
    fix_order=30,
    remediation="""
        `aws ec2 modify-transit-gateway-vpc-attachment --transit-gateway-attachment-id A
        --options Ipv6Support=enable` for every VPC attachment, and in every TGW route table
        that routes a VPC's IPv4 CIDR, a route for its IPv6 CIDR too (propagation adds it once
        the attachment supports IPv6; static routes need `create-transit-gateway-route`).
    """,
    references=[REF_TGW],
    scope="region",
)
async def tgw_ipv6(ctx: CheckContext, inv: Inventory, scope: Scope) -> AsyncIterator[Finding]:
    """VPC attachments have `Ipv6Support: enable`; every TGW route table routing a VPC's IPv4
    CIDR routes its IPv6 CIDR too."""
    attachments = [
        a
        for a in await inv.list(scope, "ec2", "describe_transit_gateway_vpc_attachments")
        if a.get("State") not in GONE
    ]
    tables = [
        t
        for t in await inv.list(scope, "ec2", "describe_transit_gateway_route_tables")
        if t.get("State") not in GONE
    ]
    if not attachments and not tables:
        return
    vpcs = by_key(await inv.list(scope, "ec2", "describe_vpcs"), "VpcId")
    for att in attachments:
        v = attachment_verdict(att, vpcs)
        res = resource(scope, v.id, "tgw-attachment")
        ev = {"transit_gateway": v.tgw, "vpc_id": v.vpc, "vpc_ipv6_cidrs": v.vpc_ipv6}
        if v.ok:
            yield verdict(
                "pass",
                f"Transit gateway attachment {v.id} ({v.vpc}) supports IPv6",
                res,
                attribute="Options.Ipv6Support",
                value=v.ipv6_support,
                expected="enable",
                **ev,
            )
        else:
            yield verdict(
                "fail",
                f"Transit gateway attachment {v.id} ({v.vpc}) has Ipv6Support {v.ipv6_support}: "
                f"no IPv6 crosses {v.tgw} to or from that VPC; {next_step(v.fix)}",
                res,
                attribute="Options.Ipv6Support",
                value=v.ipv6_support,
                expected="enable",
                fix=v.fix,
                **ev,
            )
    answers = await asyncio.gather(
        *(
            inv.get(
                scope,
                "ec2",
                "search_transit_gateway_routes",
                TransitGatewayRouteTableId=t["TransitGatewayRouteTableId"],
                Filters=ROUTE_STATES,
            )
            for t in tables
        )
    )
    for table, answer in zip(tables, answers, strict=True):
        answer = answer or {}
        tgw = table.get("TransitGatewayId")
        v = tgw_table_verdict(
            table,
            answer.get("Routes") or [],
            [a for a in attachments if a.get("TransitGatewayId") == tgw],
            vpcs,
            truncated=bool(answer.get("AdditionalRoutesAvailable")),
        )
        if not v.checked_vpcs:
            continue
        res = resource(scope, v.id, "tgw-route-table")
        ev = {
            "transit_gateway": v.tgw,
            "vpcs_checked": v.checked_vpcs,
            "gaps": [asdict(g) for g in v.gaps],
            "routes_to_no_visible_vpc": v.unmatched_ipv4 or None,
            "routes_truncated_at": MAX_ROUTES if v.truncated else None,
        }
        if v.ok:
            yield verdict(
                "pass",
                f"TGW route table {v.id} routes the IPv6 CIDRs of the {len(v.checked_vpcs)} "
                "VPC(s) whose IPv4 CIDRs it routes",
                res,
                attribute="routes",
                value="IPv6 route for every routed VPC",
                expected="an IPv6 route wherever an IPv4 one",
                **ev,
            )
        else:
            missing = ", ".join(f"{c} ({g.vpc})" for g in v.gaps for c in g.missing_ipv6)
            yield verdict(
                "fail",
                f"TGW route table {v.id} routes IPv4 to {len(v.gaps)} VPC(s) but not their IPv6 "
                f"CIDRs {missing}; first: {v.gaps[0].fix}",
                res,
                attribute="routes",
                value="IPv4 only for " + ", ".join(g.vpc for g in v.gaps),
                expected="an IPv6 route wherever an IPv4 one",
                fix=[g.fix for g in v.gaps],
                **ev,
            )


@check(
    id="aws.peering.ipv6",
    title="Route tables that route IPv4 over a VPC peering route the peer's IPv6 too",
    family=FAMILY,
    severity="high",
    stage=1,
    permissions=perms(
        "ec2:DescribeRouteTables", "ec2:DescribeVpcPeeringConnections", "ec2:DescribeVpcs"
    ),
    fix_order=30,
    remediation="""
        `aws ec2 create-route --route-table-id RTB --destination-ipv6-cidr-block PEER_V6
        --vpc-peering-connection-id PCX` in every route table that routes the peer's IPv4 CIDR
        over the connection (the peer VPC needs an IPv6 CIDR first, and its own tables the
        route back).
    """,
    references=[REF_PCX],
    scope="region",
)
async def peering_ipv6(ctx: CheckContext, inv: Inventory, scope: Scope) -> AsyncIterator[Finding]:
    """Each route table with an IPv4 route over a peering connection also routes the peer
    VPC's IPv6 CIDR over it."""
    tables = await inv.list(scope, "ec2", "describe_route_tables")
    if not any(r.get("VpcPeeringConnectionId") for t in tables for r in t.get("Routes") or []):
        return
    peerings = by_key(
        await inv.list(scope, "ec2", "describe_vpc_peering_connections"), "VpcPeeringConnectionId"
    )
    vpcs = by_key(await inv.list(scope, "ec2", "describe_vpcs"), "VpcId")
    for v in peering_verdicts(tables, peerings, vpcs):
        res = resource(scope, f"{v.route_table}/{v.pcx}", "route-table-peering", v.route_table)
        ev = {
            "route_table": v.route_table,
            "vpc_id": v.vpc,
            "peering_connection": v.pcx,
            "peer_vpc": v.peer_vpc,
            "ipv4_routes": v.ipv4_routes,
            "ipv6_routes": v.ipv6_routes,
            "peer_ipv6_cidrs": v.peer_ipv6,
        }
        status = v.status
        yield verdict(
            status,
            f"Route table {v.route_table} {v.reason}"
            + (f"; {next_step(v.fix)}" if status == "fail" else ""),
            res,
            attribute="Routes (over " + v.pcx + ")",
            value=v.ipv4_routes + v.ipv6_routes,
            expected="the peer's IPv6 CIDR routed over the same connection",
            fix=v.fix,
            **ev,
        )


@check(
    id="aws.resolver.endpoint_ipv6",
    title="Route 53 Resolver endpoints answer over IPv6",
    family=FAMILY,
    severity="medium",
    stage=3,
    permissions=perms("route53resolver:ListResolverEndpoints"),
    fix_order=80,
    remediation="""
        Give the endpoint's subnets IPv6 CIDRs, then `aws route53resolver
        update-resolver-endpoint --resolver-endpoint-id ID --resolver-endpoint-type DUALSTACK
        --update-ip-addresses IpId=RNI,Ipv6=ADDR ...`. An IPV4 inbound endpoint cannot be asked
        by IPv6-only clients; an IPV4 outbound endpoint cannot forward to IPv6 name servers.
    """,
    references=[REF_RESOLVER],
    scope="region",
)
async def resolver_endpoint_ipv6(
    ctx: CheckContext, inv: Inventory, scope: Scope
) -> AsyncIterator[Finding]:
    """Every Resolver endpoint (inbound and outbound) has `ResolverEndpointType` `DUALSTACK`
    or `IPV6`."""
    for endpoint in await inv.list(scope, "route53resolver", "list_resolver_endpoints"):
        v = resolver_verdict(endpoint)
        res = resource(scope, v.arn, "resolver-endpoint", v.name or v.id)
        ev = {"direction": v.direction, "vpc_id": v.vpc, "reported": v.reported}
        if v.ok:
            yield verdict(
                "pass",
                f"Resolver endpoint {v.id} ({v.direction.lower()}) is {v.endpoint_type}",
                res,
                attribute="ResolverEndpointType",
                value=v.endpoint_type,
                expected="DUALSTACK or IPV6",
                **ev,
            )
        else:
            unset = "" if v.reported else " (not reported: AWS's default)"
            yield verdict(
                "fail",
                f"Resolver endpoint {v.id} ({v.direction.lower()}) is {v.endpoint_type}{unset}: "
                "it neither listens nor forwards over IPv6; switch it to DUALSTACK after giving "
                "its subnets IPv6",
                res,
                attribute="ResolverEndpointType",
                value=v.endpoint_type,
                expected="DUALSTACK or IPV6",
                fix=v.fix,
                **ev,
            )


async def _firewall_verdict(inv: Inventory, scope: Scope, arn: str) -> FirewallVerdict:
    answer = await inv.get(scope, "network-firewall", "describe_firewall", FirewallArn=arn) or {}
    fw = answer.get("Firewall") or {}
    not_dual, types = firewall_mappings(fw)
    v = FirewallVerdict(
        name=str(fw.get("FirewallName", arn.rsplit("/", 1)[-1])),
        arn=arn,
        vpc=str(fw.get("VpcId", "")),
        ipv4_only_subnets=not_dual,
        mapping_types=types,
    )
    policy_arn = fw.get("FirewallPolicyArn")
    if not policy_arn:
        return v
    policy = (
        await inv.get(
            scope, "network-firewall", "describe_firewall_policy", FirewallPolicyArn=policy_arn
        )
        or {}
    ).get("FirewallPolicy") or {}
    pvars = policy_variables(policy)
    for group_arn in stateful_group_arns(policy):
        if ":aws-managed:" in group_arn:  # AWS's own lists name no addresses of this estate
            continue
        answer = await inv.get(
            scope, "network-firewall", "describe_rule_group", RuleGroupArn=group_arn
        )
        rule_group = (answer or {}).get("RuleGroup") or {}
        v.groups.append(group_parity(group_arn, rule_group, pvars))
    return v


@check(
    id="aws.nfw.ipv6",
    title="Network Firewalls are dual-stack and their stateful rules name IPv6 too",
    family=FAMILY,
    severity="high",
    stage=1,
    permissions=perms(
        "network-firewall:ListFirewalls",
        "network-firewall:DescribeFirewall",
        "network-firewall:DescribeFirewallPolicy",
        "network-firewall:DescribeRuleGroup",
    ),
    fix_order=20,
    remediation="""
        Associate every firewall subnet as `IPAddressType=DUALSTACK` (its subnet needs an IPv6
        CIDR), and give every stateful rule that names IPv4 ranges an IPv6 counterpart (best:
        add the IPv6 ranges of the same hosts to the IP set variables the rules use). Otherwise
        IPv6 traffic meets rules written for IPv4 only: allowed traffic is dropped, or denied
        traffic passes.
    """,
    references=[REF_NFW],
    scope="region",
)
async def nfw_ipv6(ctx: CheckContext, inv: Inventory, scope: Scope) -> AsyncIterator[Finding]:
    """Every firewall endpoint subnet mapping is `DUALSTACK` (or `IPV6`), and every stateful
    rule of the firewall's policy that names IPv4 addresses has an IPv6 counterpart."""
    listed = await inv.list(scope, "network-firewall", "list_firewalls")
    arns = [f["FirewallArn"] for f in listed if f.get("FirewallArn")]
    for v in await asyncio.gather(*(_firewall_verdict(inv, scope, a) for a in arns)):
        res = resource(scope, v.arn, "network-firewall", v.name)
        gaps = [asdict(g) for g in v.gaps]
        ev = {
            "vpc_id": v.vpc,
            "subnet_mappings": v.mapping_types,
            "rule_groups": {g.group: g.rules for g in v.groups},
            "rule_gaps": capped(gaps),
            "unparsed_rule_lines": sum(g.unparsed for g in v.groups) or None,
        }
        value = {"ipv4_only_subnets": v.ipv4_only_subnets, "ipv4_only_rules": len(gaps)}
        expected = "every subnet mapping DUALSTACK; an IPv6 counterpart for every IPv4 rule"
        if v.ok:
            yield verdict(
                "pass",
                f"Network Firewall {v.name} is dual-stack and its "
                f"{sum(g.rules for g in v.groups)} stateful rule(s) cover IPv6 where they "
                "cover IPv4",
                res,
                attribute="SubnetMappings[].IPAddressType, stateful rules",
                value=value,
                expected=expected,
                **ev,
            )
            continue
        problems = []
        if v.ipv4_only_subnets:
            problems.append(f"subnet mapping(s) {', '.join(v.ipv4_only_subnets)} are IPv4 only")
        if gaps:
            first = v.gaps[0]
            problems.append(
                f"{len(gaps)} stateful rule(s) name only IPv4 (e.g. {first.rule}: {first.text})"
            )
        yield verdict(
            "fail",
            f"Network Firewall {v.name}: {'; '.join(problems)}: IPv6 traffic is not inspected "
            f"like IPv4; {next_step(v.fix())}",
            res,
            attribute="SubnetMappings[].IPAddressType, stateful rules",
            value=value,
            expected=expected,
            fix=v.fix(),
            **ev,
        )
