"""Where a probe's socket really goes: one family per probe, with a mapping hook for the demo.

Every probe (DNS, TCP, TLS, HTTP) asks a :class:`Connector` for the socket address of a
destination before it connects. The real connector is the identity; the demo maps documentation
addresses to listeners on ``[::1]``. A probe names its family (``AF_INET6`` by default) and the
destination must be an address of that family, before and after mapping: an IPv6 probe never
opens anything but an ``AF_INET6`` socket (``IPV6_V6ONLY``, never an IPv4-mapped address), and an
IPv4 probe (the dual-stack vantage's comparison) never anything but ``AF_INET``. Nothing falls
back from one family to the other.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable, Mapping

from auditor.net.addresses import real_ipv6


class NotIPv6Error(ValueError):
    """A destination that is not an IPv6 address: the audit never falls back to IPv4."""


def ipv6_literal(host: str) -> str:
    """The canonical text of an IPv6 address (a zone index like %eth0 kept); else NotIPv6Error."""
    text = host.strip("[]")
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        raise NotIPv6Error(f"{host!r} is not an IPv6 address") from None
    if addr.version != 6:
        raise NotIPv6Error(f"{host} is IPv4: probes use IPv6 only")
    if real_ipv6(text) is None:
        raise NotIPv6Error(f"{host} is IPv4-mapped: it is IPv4 on the wire, not IPv6")
    return str(addr)


def ipv4_literal(host: str) -> str:
    """The canonical text of a plain IPv4 address; else NotIPv4Error."""
    try:
        return str(ipaddress.IPv4Address(host.strip()))
    except ValueError:
        raise NotIPv4Error(f"{host!r} is not an IPv4 address") from None


def ip_literal(host: str, family: int = socket.AF_INET6) -> str:
    """The canonical text of `host` as an address of `family` (AF_INET6 or AF_INET)."""
    return ipv4_literal(host) if family == socket.AF_INET else ipv6_literal(host)


def family_of(host: str) -> int:
    """AF_INET for an IPv4 address, AF_INET6 for a real IPv6 one; else NotIPv6Error."""
    try:
        ipv4_literal(host)
    except NotIPv4Error:
        ipv6_literal(host)
        return socket.AF_INET6
    return socket.AF_INET


def server_literal(host: str) -> str:
    """The canonical text of a resolver's address: IPv4 or real IPv6 (never IPv4-mapped). The
    IPv6-only policy for resolvers is the caller's (the dual-stack vantage may use IPv4)."""
    return ip_literal(host, family_of(host))


class NotIPv4Error(ValueError):
    """An IPv4 probe given something that is not an IPv4 address."""


class Connector:
    """Identity mapping: connect to the destination itself."""

    def map(self, address: str, port: int, family: int = socket.AF_INET6) -> tuple[str, int]:
        return ip_literal(address, family), port

    async def open_socket(
        self, address: str, port: int, timeout: float, family: int = socket.AF_INET6
    ) -> socket.socket:
        """A connected, non-blocking TCP socket of `family` to (address, port) after mapping."""
        host, real_port = self.map(address, port, family)
        host = ip_literal(host, family)
        sock = socket.socket(family, socket.SOCK_STREAM)
        if family == socket.AF_INET6:
            # IPv6 only, whatever the host's default: never IPv4 through a mapped address.
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.setblocking(False)
        try:
            info = socket.getaddrinfo(
                host, real_port, family, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST
            )
            loop = asyncio.get_running_loop()
            async with asyncio.timeout(timeout):
                await loop.sock_connect(sock, info[0][4])
        except BaseException:
            sock.close()
            raise
        return sock


class MappedConnector(Connector):
    """Maps chosen (address, port) destinations elsewhere (e.g. to listeners on [::1]).

    `mapping` is a dict {(address, port): (address, port)} or a function returning the target
    or None. Unmapped destinations are refused unless `passthrough` is set, so a demo never
    reaches out to an address it did not plan for. A target keeps the family of its source.
    """

    def __init__(
        self,
        mapping: Mapping[tuple[str, int], tuple[str, int]]
        | Callable[[str, int], tuple[str, int] | None],
        *,
        passthrough: bool = False,
    ) -> None:
        if callable(mapping):
            self._lookup = mapping
        else:
            table = {
                (server_literal(a), p): (server_literal(h), q) for (a, p), (h, q) in mapping.items()
            }
            self._lookup = lambda a, p: table.get((a, p))
        self.passthrough = passthrough

    def map(self, address: str, port: int, family: int = socket.AF_INET6) -> tuple[str, int]:
        address = ip_literal(address, family)
        target = self._lookup(address, port)
        if target is None:
            if self.passthrough:
                return address, port
            shown = f"[{address}]" if family == socket.AF_INET6 else address
            raise ConnectionRefusedError(f"{shown}:{port} is not mapped by this connector")
        return ip_literal(target[0], family), target[1]
