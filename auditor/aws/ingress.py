"""Ingress routing parity: does a gateway route table steer a subnet's inbound IPv6 through the
same appliance as its IPv4? Pure functions over EC2 route tables and subnets.

A gateway route table (edge-associated with an internet or virtual private gateway) that sends
a subnet's IPv4 CIDR to an appliance (a firewall ENI or instance, a Gateway Load Balancer or
Network Firewall endpoint) inspects inbound IPv4. Unless the same table sends the subnet's IPv6
/64 to an appliance too, inbound IPv6 follows the local route and reaches the subnet directly.
An IPv6 route to a different appliance than the IPv4 one is reported apart: traffic is inspected,
but by something else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from auditor.aws.helpers import active, ipv6_cidrs, network, route_destination
from auditor.aws.routes import Target, appliance_of

SAME = "same"
DIFFERENT = "different"
MISSING = "missing"


@dataclass
class SubnetSteering:
    """One IPv6 CIDR of a subnet whose IPv4 CIDR a gateway route table sends to an appliance."""

    subnet_id: str
    subnet_ipv4: str
    subnet_ipv6: str
    ipv4_destination: str
    ipv4_appliance: Target
    ipv6_destination: str = ""
    ipv6_appliance: Target | None = None

    @property
    def verdict(self) -> str:
        if self.ipv6_appliance is None:
            return MISSING
        return SAME if self.ipv6_appliance.id == self.ipv4_appliance.id else DIFFERENT

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "subnet_id": self.subnet_id,
            "subnet_ipv4": self.subnet_ipv4,
            "subnet_ipv6": self.subnet_ipv6,
            "ipv4_route": {"destination": self.ipv4_destination, "target": self.ipv4_appliance.id},
        }
        if self.ipv6_appliance is None:
            out["missing_ipv6_route"] = {
                "destination": self.subnet_ipv6,
                "target": self.ipv4_appliance.id,
            }
        else:
            out["ipv6_route"] = {
                "destination": self.ipv6_destination,
                "target": self.ipv6_appliance.id,
            }
            if self.verdict == DIFFERENT:
                out["note"] = "IPv6 goes to a different appliance than IPv4"
        return out


@dataclass
class IngressParity:
    route_table_id: str
    edge_associations: list[str]
    vpc_id: str
    steered: list[SubnetSteering] = field(default_factory=list)

    def of(self, verdict: str) -> list[SubnetSteering]:
        return [s for s in self.steered if s.verdict == verdict]


def gateway_tables(tables: Iterable[dict]) -> list[dict]:
    """Route tables edge-associated with an internet or virtual private gateway."""
    return [t for t in tables if any(a.get("GatewayId") for a in t.get("Associations") or [])]


def ingress_parity(table: dict, subnets: Iterable[dict]) -> IngressParity:
    """Every (subnet, IPv6 CIDR) whose IPv4 CIDR `table` steers to an appliance, with where
    the table sends that IPv6 CIDR (the most specific active appliance route covering it)."""
    routes = table.get("Routes") or []
    result = IngressParity(
        table.get("RouteTableId", ""),
        [a["GatewayId"] for a in table.get("Associations") or [] if a.get("GatewayId")],
        table.get("VpcId", ""),
    )
    vpc_subnets = [s for s in subnets if s.get("VpcId") == result.vpc_id]
    v6_routes = []
    for r in routes:
        net = network(r.get("DestinationIpv6CidrBlock") or "")
        appliance = appliance_of(r)
        if net is not None and appliance is not None and active(r):
            v6_routes.append((net, r, appliance))
    v6_routes.sort(key=lambda item: -item[0].prefixlen)  # longest prefix wins, as in the VPC
    for route in routes:
        dest4 = route.get("DestinationCidrBlock") or ""
        appliance = appliance_of(route)
        net4 = network(dest4)
        if appliance is None or net4 is None or net4.version != 4 or not active(route):
            continue
        for subnet in vpc_subnets:
            sub4 = network(subnet.get("CidrBlock") or "")
            if sub4 is None or sub4.version != 4 or not sub4.subnet_of(net4):
                continue
            for cidr6 in ipv6_cidrs(subnet):
                sub6 = network(cidr6)
                item = SubnetSteering(
                    subnet["SubnetId"], subnet.get("CidrBlock", ""), cidr6, dest4, appliance
                )
                match = next(
                    (
                        (r, a)
                        for n, r, a in v6_routes
                        if sub6 is not None and n.version == 6 and sub6.subnet_of(n)
                    ),
                    None,
                )
                if match is not None:
                    item.ipv6_destination = route_destination(match[0])
                    item.ipv6_appliance = match[1]
                result.steered.append(item)
    return result
