"""NAT64 prefixes: RFC 6052 address embedding and RFC 7050 prefix discovery.

An IPv4 address embedded in an IPv6 prefix of length 32, 40, 48, 56, 64 or 96 sits at the
positions RFC 6052 (section 2.2) fixes; bits 64-71 (the "u" octet) are zero. Discovery asks the
resolver for the AAAA records of `ipv4only.arpa` (RFC 7050, RFC 8880): the name has only the A
records 192.0.0.170 and 192.0.0.171, so any AAAA answer is synthesized by DNS64 and reveals the
prefix around them.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from auditor.net.addresses import real_ipv6
from auditor.net.dns import DnsAnswer, Resolver

IPv6Network = ipaddress.IPv6Network
IPv6Address = ipaddress.IPv6Address
IPv4Address = ipaddress.IPv4Address

WELL_KNOWN_PREFIX = IPv6Network("64:ff9b::/96")  # RFC 6052
LOCAL_USE_PREFIX = IPv6Network("64:ff9b:1::/48")  # RFC 8215
PREFIX_LENGTHS = (32, 40, 48, 56, 64, 96)
IPV4ONLY_ARPA = "ipv4only.arpa"
WELL_KNOWN_IPV4 = (IPv4Address("192.0.0.170"), IPv4Address("192.0.0.171"))

# Byte positions (0-15) of the four IPv4 octets for each prefix length; byte 8 is "u".
_POSITIONS: dict[int, tuple[int, int, int, int]] = {
    32: (4, 5, 6, 7),
    40: (5, 6, 7, 9),
    48: (6, 7, 9, 10),
    56: (7, 9, 10, 11),
    64: (9, 10, 11, 12),
    96: (12, 13, 14, 15),
}


def _network(prefix: str | IPv6Network) -> IPv6Network:
    net = prefix if isinstance(prefix, IPv6Network) else IPv6Network(prefix, strict=True)
    if net.prefixlen not in _POSITIONS:
        raise ValueError(f"{net} is not an RFC 6052 prefix (/32, /40, /48, /56, /64 or /96)")
    return net


def embed(prefix: str | IPv6Network, ipv4: str | IPv4Address) -> IPv6Address:
    """The IPv6 address that represents `ipv4` under `prefix` (RFC 6052 section 2.2)."""
    net = _network(prefix)
    if net.prefixlen < 96 and net.network_address.packed[8] != 0:
        raise ValueError(f"{net}: bits 64-71 must be zero (RFC 6052 u octet)")
    out = bytearray(net.network_address.packed)
    for pos, octet in zip(_POSITIONS[net.prefixlen], IPv4Address(ipv4).packed, strict=True):
        out[pos] = octet
    return IPv6Address(bytes(out))


def extract(prefix: str | IPv6Network, address: str | IPv6Address) -> IPv4Address | None:
    """The IPv4 address embedded in `address` under `prefix`, or None if it is not inside it."""
    net = _network(prefix)
    addr = IPv6Address(address) if not isinstance(address, IPv6Address) else address
    if addr not in net:
        return None
    packed = addr.packed
    if net.prefixlen < 96 and packed[8] != 0:
        return None
    return IPv4Address(bytes(packed[p] for p in _POSITIONS[net.prefixlen]))


def translation_prefixes(known: Iterable[str | IPv6Network] = ()) -> tuple[IPv6Network, ...]:
    """The prefixes whose addresses are translations: the known ones plus 64:ff9b::/96 and
    64:ff9b:1::/48, which are translation prefixes wherever they appear."""
    out: list[IPv6Network] = []
    for p in (*known, WELL_KNOWN_PREFIX, LOCAL_USE_PREFIX):
        net = p if isinstance(p, IPv6Network) else IPv6Network(p, strict=False)
        if net not in out:
            out.append(net)
    return tuple(out)


@functools.lru_cache(maxsize=64)
def _networks_of(prefixes: tuple[str, ...]) -> tuple[IPv6Network, ...]:
    """`translation_prefixes` of a run's prefixes, parsed once (every classification asks)."""
    return translation_prefixes(prefixes)


def is_synthesized(address: str, prefixes: Sequence[IPv6Network]) -> bool:
    """True when `address` lies in a NAT64 prefix (so reaching it needs a translator)."""
    try:
        addr = IPv6Address(address.split("%")[0])
    except ValueError:
        return False
    return any(addr in net for net in prefixes)


def embedded_ipv4(address: str, prefixes: Sequence[IPv6Network]) -> str | None:
    """The IPv4 address behind a synthesized address, when the prefix is an RFC 6052 one."""
    for net in prefixes:
        if net.prefixlen in _POSITIONS:
            v4 = extract(net, address)
            if v4 is not None:
                return str(v4)
    return None


def prefixes_from_answers(addresses: Iterable[str]) -> list[IPv6Network]:
    """RFC 7050 section 3: find the well-known IPv4 addresses inside the AAAA answers.

    For each answer, a prefix length matches when the octets at that length's positions are
    192.0.0.170 or .171 (and the u octet is zero). When several lengths match (the pattern
    also occurs inside the prefix bits) the longest wins. Distinct prefixes are all returned,
    in answer order: a network may translate under more than one.
    """
    parsed = [a for a in (real_ipv6(t) for t in addresses) if a is not None]
    found: list[IPv6Network] = []
    for addr in parsed:
        matches = []
        for length in PREFIX_LENGTHS:
            packed = addr.packed
            if length < 96 and packed[8] != 0:
                continue
            v4 = IPv4Address(bytes(packed[p] for p in _POSITIONS[length]))
            if v4 in WELL_KNOWN_IPV4:
                net = IPv6Network((int(addr) >> (128 - length) << (128 - length), length))
                matches.append(net)
        if matches:
            best = max(matches, key=lambda n: n.prefixlen)
            if best not in found:
                found.append(best)
    return found


@dataclass
class Nat64Info:
    """The NAT64 prefix(es) this run uses, and how they were learnt."""

    prefixes: tuple[str, ...] = ()
    source: str = "none"  # "config", "rfc7050" or "none"
    discovered: tuple[str, ...] = ()
    answer: DnsAnswer | None = None
    configured: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def prefix(self) -> str | None:
        return self.prefixes[0] if self.prefixes else None

    @property
    def networks(self) -> tuple[IPv6Network, ...]:
        return _networks_of(tuple(self.prefixes))

    @property
    def dns_failed(self) -> bool:
        """Discovery could not be done (the resolver did not answer or failed)."""
        return self.answer is not None and self.answer.rcode not in ("NOERROR", "NXDOMAIN")

    def evidence(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "nat64_prefix": self.prefix,
            "prefixes": list(self.prefixes),
            "source": self.source,
            "discovered": list(self.discovered),
            "configured": self.configured,
            "well_known": self.prefix == str(WELL_KNOWN_PREFIX),
            "notes": self.notes,
        }
        if self.answer is not None:
            out["ipv4only_arpa"] = self.answer.evidence()
        return out


async def discover(resolver: Resolver, configured: str | None = None) -> Nat64Info:
    """RFC 7050 discovery; a configured prefix (not "auto") is used as given, and discovery
    still runs so the evidence shows whether the resolver agrees."""
    answer = await resolver.query(IPV4ONLY_ARPA, "AAAA")
    discovered = tuple(str(n) for n in prefixes_from_answers(answer.records)) if answer.ok else ()
    info = Nat64Info(discovered=discovered, answer=answer)
    if configured and configured != "auto":
        info.configured = str(_network(configured))
        info.prefixes = (info.configured,)
        info.source = "config"
        if discovered and info.configured not in discovered:
            info.notes.append(
                f"the resolver synthesizes under {', '.join(discovered)}, "
                f"not the configured {info.configured}"
            )
    elif discovered:
        info.prefixes = discovered
        info.source = "rfc7050"
    if answer.ok and answer.records and not discovered:
        info.notes.append(
            "ipv4only.arpa has AAAA records without the well-known IPv4 addresses inside: "
            + ", ".join(answer.records)
        )
    return info
