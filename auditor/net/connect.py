"""Where a probe's socket really goes: IPv6 only, with a mapping hook for the offline demo.

Every probe (DNS, TCP, TLS, HTTP) asks a :class:`Connector` for the socket address of a
destination before it connects. The real connector is the identity; the demo maps documentation
addresses to listeners on ``[::1]``. Whatever the mapping, the result must be an IPv6 literal:
a probe never opens anything but an ``AF_INET6`` socket.
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


class Connector:
    """Identity mapping: connect to the destination itself."""

    def map(self, address: str, port: int) -> tuple[str, int]:
        return ipv6_literal(address), port

    async def open_socket(self, address: str, port: int, timeout: float) -> socket.socket:
        """A connected, non-blocking AF_INET6 TCP socket to (address, port) after mapping."""
        host, real_port = self.map(address, port)
        host = ipv6_literal(host)
        sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        # IPv6 only, whatever the host's default: never reach IPv4 through a mapped address.
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.setblocking(False)
        try:
            info = socket.getaddrinfo(
                host, real_port, socket.AF_INET6, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST
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
    reaches out to an address it did not plan for.
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
                (ipv6_literal(a), p): (ipv6_literal(h), q) for (a, p), (h, q) in mapping.items()
            }
            self._lookup = lambda a, p: table.get((a, p))
        self.passthrough = passthrough

    def map(self, address: str, port: int) -> tuple[str, int]:
        address = ipv6_literal(address)
        target = self._lookup(address, port)
        if target is None:
            if self.passthrough:
                return address, port
            raise ConnectionRefusedError(f"[{address}]:{port} is not mapped by this connector")
        return ipv6_literal(target[0]), target[1]
