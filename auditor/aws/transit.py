"""IPv6 between VPCs: transit gateway attachments and route tables, VPC peering routes, and
Route 53 Resolver endpoints. Pure functions; checks/transit.py words the findings.

Transit gateway: a VPC attachment carries IPv6 only with `Ipv6Support: enable`, and a TGW
route table that routes a VPC's IPv4 CIDR must route its IPv6 CIDR too (propagation does that
by itself once the attachment supports IPv6). A route's VPC is read from its attachments
(`TransitGatewayAttachments[].ResourceId`) or, where those are missing (moto returns none),
from the attached VPC whose IPv4 CIDRs hold the destination.

Peering: a route table that sends IPv4 over a peering connection must send IPv6 over it too,
to the peer's IPv6 CIDR (read from the connection's `Ipv6CidrBlockSet`, or from the peer VPC
when it is in the same account and region).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from auditor.aws.helpers import active, ipv4_cidrs, ipv6_cidrs, network

Net = ipaddress.IPv4Network | ipaddress.IPv6Network


def _nets(cidrs: Iterable[str]) -> list[Net]:
    return [n for n in (network(c) for c in cidrs) if n is not None]


def _overlap(a: Iterable[Net], b: Iterable[Net]) -> bool:
    bs = list(b)
    return any(x.version == y.version and x.overlaps(y) for x in a for y in bs)


# --- transit gateway ------------------------------------------------------------------------


@dataclass
class AttachmentVerdict:
    id: str
    tgw: str
    vpc: str
    ipv6_support: str
    vpc_ipv6: list[str] | None  # None: the VPC is not visible (another account)

    @property
    def ok(self) -> bool:
        return self.ipv6_support == "enable"

    @property
    def fix(self) -> list[str]:
        if self.ok:
            return []
        steps = []
        if self.vpc_ipv6 == []:
            steps.append(
                f"aws ec2 associate-vpc-cidr-block --vpc-id {self.vpc} "
                "--amazon-provided-ipv6-cidr-block (the VPC has no IPv6 CIDR yet)"
            )
        steps.append(
            f"aws ec2 modify-transit-gateway-vpc-attachment --transit-gateway-attachment-id "
            f"{self.id} --options Ipv6Support=enable"
        )
        return steps


def attachment_verdict(att: Mapping, vpcs: Mapping[str, dict]) -> AttachmentVerdict:
    vpc_id = str(att.get("VpcId", ""))
    vpc = vpcs.get(vpc_id)
    return AttachmentVerdict(
        id=str(att.get("TransitGatewayAttachmentId", "")),
        tgw=str(att.get("TransitGatewayId", "")),
        vpc=vpc_id,
        ipv6_support=str((att.get("Options") or {}).get("Ipv6Support") or "disable"),
        vpc_ipv6=ipv6_cidrs(vpc) if vpc is not None else None,
    )


@dataclass
class TgwRouteGap:
    vpc: str
    attachment: str
    ipv4_routes: list[str]
    missing_ipv6: list[str]
    route_type: str  # static / propagated
    fix: str


@dataclass
class TgwTableVerdict:
    id: str
    tgw: str
    checked_vpcs: list[str] = field(default_factory=list)
    gaps: list[TgwRouteGap] = field(default_factory=list)
    unmatched_ipv4: list[str] = field(default_factory=list)  # routes to no visible VPC
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return not self.gaps


def tgw_table_verdict(
    table: Mapping,
    routes: Iterable[dict],
    attachments: Iterable[dict],
    vpcs: Mapping[str, dict],
    truncated: bool = False,
) -> TgwTableVerdict:
    """`attachments`: the VPC attachments of this table's transit gateway."""
    table_id = str(table.get("TransitGatewayRouteTableId", ""))
    tgw = str(table.get("TransitGatewayId", ""))
    v = TgwTableVerdict(table_id, tgw, truncated=truncated)
    att_by_vpc = {str(a.get("VpcId")): a for a in attachments if a.get("VpcId")}
    routes = [r for r in routes if r.get("State", "active") in ("active", "blackhole")]
    v6_nets = _nets(r.get("DestinationCidrBlock", "") for r in routes)
    v6_nets = [n for n in v6_nets if n.version == 6]
    per_vpc: dict[str, list[dict]] = {}
    for route in routes:
        dest = network(route.get("DestinationCidrBlock", ""))
        if dest is None or dest.version != 4:
            continue
        vpc_id = _route_vpc(route, dest, att_by_vpc, vpcs)
        if vpc_id is None:
            v.unmatched_ipv4.append(str(dest))
            continue
        per_vpc.setdefault(vpc_id, []).append(route)
    for vpc_id, v4_routes in sorted(per_vpc.items()):
        vpc = vpcs.get(vpc_id)
        if vpc is None:
            v.unmatched_ipv4 += [r["DestinationCidrBlock"] for r in v4_routes]
            continue
        v.checked_vpcs.append(vpc_id)
        want = ipv6_cidrs(vpc)
        missing = [c for c in want if not _overlap(_nets([c]), v6_nets)]
        if not missing:
            continue
        att = att_by_vpc.get(vpc_id) or {}
        att_id = str(att.get("TransitGatewayAttachmentId", "")) or _route_attachment(v4_routes[0])
        propagated = all(r.get("Type") == "propagated" for r in v4_routes)
        if propagated:
            fix = (
                f"aws ec2 modify-transit-gateway-vpc-attachment --transit-gateway-attachment-id "
                f"{att_id} --options Ipv6Support=enable (propagation then adds the IPv6 CIDR)"
            )
        else:
            fix = "; ".join(
                f"aws ec2 create-transit-gateway-route --transit-gateway-route-table-id "
                f"{table_id} --destination-cidr-block {c} --transit-gateway-attachment-id "
                f"{att_id or '<the attachment of ' + vpc_id + '>'}"
                for c in missing
            )
        v.gaps.append(
            TgwRouteGap(
                vpc=vpc_id,
                attachment=att_id,
                ipv4_routes=[r["DestinationCidrBlock"] for r in v4_routes],
                missing_ipv6=missing,
                route_type="propagated" if propagated else "static",
                fix=fix,
            )
        )
    return v


def _route_attachment(route: Mapping) -> str:
    for a in route.get("TransitGatewayAttachments") or []:
        if a.get("TransitGatewayAttachmentId"):
            return str(a["TransitGatewayAttachmentId"])
    return ""


def _route_vpc(
    route: Mapping, dest: Net, att_by_vpc: Mapping[str, dict], vpcs: Mapping[str, dict]
) -> str | None:
    for a in route.get("TransitGatewayAttachments") or []:
        if a.get("ResourceType", "vpc") == "vpc" and str(a.get("ResourceId", "")).startswith(
            "vpc-"
        ):
            return str(a["ResourceId"])
    if route.get("TransitGatewayAttachments"):
        return None  # a VPN, Direct Connect or peering attachment: no VPC to compare
    for vpc_id in att_by_vpc:
        vpc = vpcs.get(vpc_id)
        if vpc is None:
            continue
        for cidr in _nets(ipv4_cidrs(vpc)):
            if cidr.version == 4 and (dest == cidr or dest.subnet_of(cidr)):
                return vpc_id
    return None


# --- VPC peering ------------------------------------------------------------------------------


@dataclass
class PeeringVerdict:
    route_table: str
    vpc: str
    pcx: str
    peer_vpc: str
    ipv4_routes: list[str]
    ipv6_routes: list[str]
    peer_ipv6: list[str] | None  # None: not visible from here
    status: str  # pass / fail
    reason: str
    fix: list[str] = field(default_factory=list)


def _peer_info(pcx: Mapping, own_vpc: str) -> tuple[str, list[str] | None]:
    req = pcx.get("RequesterVpcInfo") or {}
    acc = pcx.get("AccepterVpcInfo") or {}
    peer = acc if req.get("VpcId") == own_vpc else req
    block_set = peer.get("Ipv6CidrBlockSet")
    cidrs = [b["Ipv6CidrBlock"] for b in block_set or [] if b.get("Ipv6CidrBlock")]
    return str(peer.get("VpcId", "")), (cidrs or None)


def peering_verdicts(
    route_tables: Iterable[dict], peerings: Mapping[str, dict], vpcs: Mapping[str, dict]
) -> list[PeeringVerdict]:
    """One verdict per (route table, peering connection) that carries IPv4 routes."""
    out: list[PeeringVerdict] = []
    for table in route_tables:
        own = str(table.get("VpcId", ""))
        by_pcx: dict[str, tuple[list[str], list[str]]] = {}
        for route in table.get("Routes") or []:
            pcx = route.get("VpcPeeringConnectionId")
            if not pcx or not active(route):
                continue
            v4, v6 = by_pcx.setdefault(pcx, ([], []))
            if route.get("DestinationCidrBlock"):
                v4.append(route["DestinationCidrBlock"])
            elif route.get("DestinationIpv6CidrBlock"):
                v6.append(route["DestinationIpv6CidrBlock"])
        for pcx_id, (v4, v6) in sorted(by_pcx.items()):
            if not v4:
                continue
            peer_vpc, peer_v6 = _peer_info(peerings.get(pcx_id) or {}, own)
            if peer_v6 is None and peer_vpc in vpcs:
                peer_v6 = ipv6_cidrs(vpcs[peer_vpc])
            out.append(_peering(table, own, pcx_id, peer_vpc, v4, v6, peer_v6))
    return out


def _peering(
    table: Mapping,
    own: str,
    pcx: str,
    peer_vpc: str,
    v4: list[str],
    v6: list[str],
    peer_v6: list[str] | None,
) -> PeeringVerdict:
    rtb = str(table.get("RouteTableId", ""))
    v = PeeringVerdict(rtb, own, pcx, peer_vpc, v4, v6, peer_v6, "pass", "")
    routed = _nets(v6)
    if peer_v6:
        missing = [c for c in peer_v6 if not _overlap(_nets([c]), routed)]
        if not missing:
            v.reason = f"routes {', '.join(v6)} to the peer over {pcx}"
            return v
        v.status = "fail"
        v.reason = (
            f"routes IPv4 {', '.join(v4)} over {pcx} but not the peer's IPv6 {', '.join(missing)}"
        )
        v.fix = [
            f"aws ec2 create-route --route-table-id {rtb} --destination-ipv6-cidr-block {c} "
            f"--vpc-peering-connection-id {pcx}"
            for c in missing
        ]
        return v
    if v6:
        v.reason = f"routes {', '.join(v6)} over {pcx} (the peer's IPv6 CIDR is not visible here)"
        return v
    v.status = "fail"
    if peer_v6 == []:
        v.reason = (
            f"routes IPv4 {', '.join(v4)} over {pcx}; the peer VPC {peer_vpc} has no IPv6 CIDR, "
            "so nothing routes IPv6 to it"
        )
        v.fix = [
            f"aws ec2 associate-vpc-cidr-block --vpc-id {peer_vpc} "
            "--amazon-provided-ipv6-cidr-block",
            f"aws ec2 create-route --route-table-id {rtb} --destination-ipv6-cidr-block "
            f"<the new CIDR of {peer_vpc}> --vpc-peering-connection-id {pcx}",
        ]
    else:
        v.reason = f"routes IPv4 {', '.join(v4)} over {pcx} and no IPv6 at all"
        v.fix = [
            f"aws ec2 create-route --route-table-id {rtb} --destination-ipv6-cidr-block "
            f"<the IPv6 CIDR of {peer_vpc or 'the peer VPC'}> --vpc-peering-connection-id {pcx}"
        ]
    return v


# --- Route 53 Resolver endpoints ------------------------------------------------------------

RESOLVER_OK = ("DUALSTACK", "IPV6")


@dataclass
class ResolverVerdict:
    id: str
    arn: str
    name: str
    direction: str
    vpc: str
    endpoint_type: str
    reported: bool
    ip_count: int

    @property
    def ok(self) -> bool:
        return self.endpoint_type in RESOLVER_OK

    @property
    def fix(self) -> list[str]:
        if self.ok:
            return []
        return [
            "give the endpoint's subnets IPv6 CIDRs, then aws route53resolver "
            f"update-resolver-endpoint --resolver-endpoint-id {self.id} "
            "--resolver-endpoint-type DUALSTACK --update-ip-addresses "
            "IpId=<rni-…>,Ipv6=<an address of its subnet> (one per IP address, "
            f"{self.ip_count} here)"
        ]


def resolver_verdict(endpoint: Mapping) -> ResolverVerdict:
    kind = endpoint.get("ResolverEndpointType")
    return ResolverVerdict(
        id=str(endpoint.get("Id", "")),
        arn=str(endpoint.get("Arn") or endpoint.get("Id", "")),
        name=str(endpoint.get("Name") or ""),
        direction=str(endpoint.get("Direction", "")),
        vpc=str(endpoint.get("HostVPCId", "")),
        endpoint_type=str(kind or "IPV4"),
        reported=kind is not None,
        ip_count=int(endpoint.get("IpAddressCount") or 0),
    )
