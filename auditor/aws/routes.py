"""Route targets and default-route parity: pure functions over EC2 route tables.

A route's target is read by its kind, not just by its presence: the IPv6 twin of a default route
depends on what the IPv4 one goes to. An internet gateway serves both families, so `::/0` goes
to the same one. A NAT gateway translates IPv4 only; its IPv6 twin is an egress-only internet
gateway, which, like the NAT gateway, lets no connection in: `::/0` to the internet gateway
instead would make every IPv6 address of a private subnet reachable from the internet. Every
other target a platform team routes defaults through (transit gateway, virtual private gateway,
appliance ENI or instance, Gateway Load Balancer or Network Firewall endpoint, peering, local or
carrier gateway, Cloud WAN) carries both families, so `::/0` goes to the same target.

EC2 (and moto) report routes to Gateway Load Balancer and Network Firewall endpoints as
`GatewayId: vpce-…`, without `VpcEndpointId`: the prefix of the id decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auditor.aws.helpers import active

ANY_V4 = "0.0.0.0/0"
ANY_V6 = "::/0"

IGW = "internet-gateway"
EIGW = "egress-only-internet-gateway"
NAT = "nat-gateway"
ENDPOINT = "vpc-endpoint"
ENI = "network-interface"
INSTANCE = "instance"

KIND_NAMES = {
    IGW: "internet gateway",
    EIGW: "egress-only internet gateway",
    NAT: "NAT gateway",
    ENDPOINT: "VPC endpoint",
    ENI: "network interface",
    INSTANCE: "instance",
    "transit-gateway": "transit gateway",
    "virtual-private-gateway": "virtual private gateway",
    "peering": "peering connection",
    "local-gateway": "local gateway",
    "carrier-gateway": "carrier gateway",
    "core-network": "core network",
    "local": "local",
    "gateway": "gateway",
}
_GATEWAY_PREFIXES = {
    "igw-": IGW,
    "vgw-": "virtual-private-gateway",
    "vpce-": ENDPOINT,
    "eigw-": EIGW,
    "local": "local",
}
# Route keys in the order EC2's answers are read (an instance route also names its ENI).
_KEYS = (
    ("EgressOnlyInternetGatewayId", EIGW),
    ("NatGatewayId", NAT),
    ("NetworkInterfaceId", ENI),
    ("InstanceId", INSTANCE),
    ("VpcEndpointId", ENDPOINT),
    ("TransitGatewayId", "transit-gateway"),
    ("VpcPeeringConnectionId", "peering"),
    ("LocalGatewayId", "local-gateway"),
    ("CarrierGatewayId", "carrier-gateway"),
    ("CoreNetworkArn", "core-network"),
)
APPLIANCE_KINDS = frozenset({ENI, INSTANCE, ENDPOINT})


@dataclass(frozen=True)
class Target:
    kind: str  # one of KIND_NAMES
    id: str

    @property
    def text(self) -> str:
        """`NAT gateway nat-0abc`."""
        return f"{KIND_NAMES.get(self.kind, self.kind)} {self.id}"


def target_of(route: dict) -> Target | None:
    """The kind and id of a route's target; None for a route without one."""
    gateway = str(route.get("GatewayId") or "")
    if gateway:
        kind = next((k for p, k in _GATEWAY_PREFIXES.items() if gateway.startswith(p)), "gateway")
        return Target(kind, gateway)
    for key, kind in _KEYS:
        if route.get(key):
            return Target(kind, str(route[key]))
    return None


def appliance_of(route: dict) -> Target | None:
    """The appliance a route steers to (ENI, instance, Gateway Load Balancer or Network
    Firewall endpoint), or None."""
    target = target_of(route)
    return target if target is not None and target.kind in APPLIANCE_KINDS else None


# --- default routes --------------------------------------------------------------------------

MISSING = "missing"  # no active ::/0: fail
EXPOSED = "exposed"  # IPv4 leaves through NAT (nothing gets in), IPv6 through the IGW: fail
DIFFERENT = "different"  # ::/0 goes elsewhere than 0.0.0.0/0 would have it go: warn


@dataclass
class DefaultRouteGap:
    """How a route table's `::/0` falls short of its `0.0.0.0/0`."""

    problem: str  # MISSING | EXPOSED | DIFFERENT
    ipv4: Target
    ipv6: Target | None
    expected: str  # "::/0 → igw-…" or "::/0 → an egress-only internet gateway (eigw-…) …"
    inactive_ipv6: dict[str, Any] | None = None  # a ::/0 route that is not active


@dataclass
class DefaultRoutes:
    ipv4: Target | None  # None: no active IPv4 default route, nothing to compare
    ipv6: Target | None
    gap: DefaultRouteGap | None


def expected_twin(v4: Target) -> tuple[set[str], str, str]:
    """(acceptable IPv6 target kinds, required id or "", the route to add in words)."""
    if v4.kind == NAT:
        return {EIGW}, "", f"{ANY_V6} → an egress-only internet gateway (eigw-…) of the VPC"
    return {v4.kind}, v4.id, f"{ANY_V6} → {v4.id}"


def _default(routes: list[dict], key: str, cidr: str) -> dict | None:
    return next((r for r in routes if r.get(key) == cidr and active(r)), None)


def default_routes(table: dict) -> DefaultRoutes:
    """Compare a route table's IPv6 default route with its IPv4 one by kind of target."""
    routes = table.get("Routes") or []
    r4 = _default(routes, "DestinationCidrBlock", ANY_V4)
    t4 = target_of(r4) if r4 else None
    if t4 is None or t4.kind == "local":
        return DefaultRoutes(None, None, None)
    r6 = _default(routes, "DestinationIpv6CidrBlock", ANY_V6)
    t6 = target_of(r6) if r6 else None
    kinds, same_id, expected = expected_twin(t4)
    if t6 is None:
        inactive = next(
            (r for r in routes if r.get("DestinationIpv6CidrBlock") == ANY_V6 and not active(r)),
            None,
        )
        state = (
            {"target": (target_of(inactive) or Target("", "")).id, "state": inactive.get("State")}
            if inactive
            else None
        )
        return DefaultRoutes(t4, None, DefaultRouteGap(MISSING, t4, None, expected, state))
    if t6.kind in kinds and (not same_id or t6.id == same_id):
        return DefaultRoutes(t4, t6, None)
    problem = EXPOSED if t6.kind == IGW and t4.kind != IGW else DIFFERENT
    return DefaultRoutes(t4, t6, DefaultRouteGap(problem, t4, t6, expected))
