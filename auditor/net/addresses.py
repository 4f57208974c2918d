"""Which address family an address really uses on the wire.

An IPv4-mapped IPv6 address (``::ffff:a.b.c.d``, RFC 4291 section 2.5.5.2) is written like IPv6
but an ``AF_INET6`` socket sends to it over IPv4. As a dependency address, an AAAA answer, a
name server or a route source it proves nothing about IPv6, so every place that asks "is this
IPv6?" asks :func:`real_ipv6` and nothing else.
"""

from __future__ import annotations

import functools
import ipaddress

IPv4Address = ipaddress.IPv4Address
IPv6Address = ipaddress.IPv6Address
_ADDRESS_CHARS = frozenset("0123456789abcdefABCDEF.:[]")


def may_be_address(text: str) -> bool:
    """Whether `text` can be an address literal at all: before any zone index it holds only
    hex digits, dots, colons and brackets. Host names fail this test without a parse."""
    head = text.strip().split("%", 1)[0]
    return bool(head) and _ADDRESS_CHARS.issuperset(head)


@functools.lru_cache(maxsize=8192)
def parse_ip(text: str) -> IPv4Address | IPv6Address | None:
    """The address in `text` (brackets and an IPv6 zone index allowed), or None."""
    if not may_be_address(text):
        return None
    try:
        return ipaddress.ip_address(text.strip().strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def real_ipv6(text: str) -> IPv6Address | None:
    """The IPv6 address in `text` when it is IPv6 on the wire; None for IPv4, IPv4-mapped
    addresses and anything that is not an address."""
    addr = parse_ip(text)
    if not isinstance(addr, IPv6Address) or addr.ipv4_mapped is not None:
        return None
    return addr


def is_real_ipv6(text: str) -> bool:
    return real_ipv6(text) is not None


def wire_ipv4(text: str) -> IPv4Address | None:
    """The IPv4 address `text` reaches on the wire: an IPv4 address or an IPv4-mapped one."""
    addr = parse_ip(text)
    if isinstance(addr, IPv4Address):
        return addr
    if isinstance(addr, IPv6Address):
        return addr.ipv4_mapped
    return None


def is_ipv4_mapped(text: str) -> bool:
    addr = parse_ip(text)
    return isinstance(addr, IPv6Address) and addr.ipv4_mapped is not None
