"""Where the auditor stands on the network: its IPv6 route and its resolvers."""

from __future__ import annotations

import errno
import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path

from auditor.net.addresses import is_real_ipv6

# Any global unicast destination works: a UDP connect() asks the kernel for a route and sends
# nothing. A documentation address is used so no real host is ever named.
ROUTE_PROBE_DESTINATION = "2001:db8::1"
RESOLV_CONF = Path("/etc/resolv.conf")


@dataclass(frozen=True)
class RouteResult:
    destination: str
    ok: bool
    source: str | None = None
    error: str | None = None


def ipv6_route(destination: str = ROUTE_PROBE_DESTINATION) -> RouteResult:
    """Does the kernel have an IPv6 route to `destination`, from a global source address?"""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
            sock.connect((destination, 53))
            source = sock.getsockname()[0]
    except OSError as exc:
        reason = errno.errorcode.get(exc.errno or 0, "") or str(exc)
        return RouteResult(destination, False, error=f"{reason}: {exc.strerror or exc}")
    addr = ipaddress.IPv6Address(source.split("%")[0])
    if addr.is_loopback or addr.is_link_local or addr.is_unspecified:
        return RouteResult(
            destination,
            False,
            source,
            error=f"only a {('loopback' if addr.is_loopback else 'link-local')} "
            "source address is available",
        )
    return RouteResult(destination, True, source)


def system_nameservers(path: Path = RESOLV_CONF) -> list[str]:
    """Nameserver addresses of resolv.conf, in order (IPv4 ones included, for the evidence)."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        parts = line.split("#", 1)[0].split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            out.append(parts[1].split("%")[0])
    return out


def is_ipv6(address: str) -> bool:
    """IPv6 on the wire (an IPv4-mapped ::ffff:a.b.c.d is not)."""
    return is_real_ipv6(address)


PROC_IPV4_ROUTES = Path("/proc/net/route")


def ipv4_default_route(path: Path = PROC_IPV4_ROUTES) -> bool:
    """Does this host have an IPv4 default route? Read from /proc: no IPv4 socket is opened."""
    try:
        lines = path.read_text(encoding="ascii", errors="replace").splitlines()[1:]
    except OSError:
        return False
    for line in lines:
        cols = line.split()
        # Iface Destination Gateway Flags RefCnt Use Metric Mask ...; RTF_UP is 0x1.
        if (
            len(cols) >= 8
            and cols[1] == "00000000"
            and cols[7] == "00000000"
            and int(cols[3], 16) & 0x1
        ):
            return True
    return False
