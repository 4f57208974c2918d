"""The analysis, pure: which addresses are the workload's own, which destinations are IPv4
dependencies, the name each was reached by, and the figures per destination.

Everything here works on values already read (no I/O); `auditor.traffic.collect` feeds it.
"""

from __future__ import annotations

import bisect
import ipaddress
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from auditor.traffic.sources import iso

# Address kinds.
DEPENDENCY = "dependency"  # IPv4 outside the own space: what this subsystem is after
INTERNAL = "internal"  # inside the workload's own address space
LINK_LOCAL = "link-local"  # 169.254/16: IMDS .254, the Route 53 Resolver .253, Time Sync .123
SPECIAL = "special"  # loopback, multicast, broadcast, this-network
IPV6 = "ipv6"
INVALID = "invalid"

LINK_LOCAL_NET = ipaddress.IPv4Network("169.254.0.0/16")
SPECIAL_NETS = tuple(
    ipaddress.IPv4Network(n) for n in ("0.0.0.0/8", "127.0.0.0/8", "224.0.0.0/4", "240.0.0.0/4")
)
# Without scope.cidrs or VPC CIDRs the private ranges stand in for the workload's own space.
PRIVATE_NETS = tuple(
    ipaddress.IPv4Network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
)
# A flow log record's start can precede the DNS answer by up to one aggregation interval.
NAME_SLACK_SECONDS = 600
CACHE_LIMIT = 500_000
MAX_PORTS = 256
MAX_SOURCES = 256
MAX_ADDRESSES = 64
MAX_NAMES_ASKED = 10_000  # per source
EPHEMERAL_LOW = 32768
INF = float("inf")
# Flow logs record the TCP flags SYN, SYN-ACK, FIN and RST of a flow: only a SYN-ACK has ACK.
SYN_ACK_BIT = 16


class AddressSpace:
    """The workload's own IPv4 space and the kind of every address (cached per address)."""

    def __init__(self, own: Iterable[str] = ()) -> None:
        nets = [ipaddress.ip_network(c, strict=False) for c in own]
        self.own = tuple(n for n in nets if n.version == 4)
        self.assumed = not self.own
        self._nets = self.own or PRIVATE_NETS
        # The VPC resolver answers on the VPC CIDR's base address plus two.
        self.resolvers = frozenset(str(n.network_address + 2) for n in self.own if n.prefixlen < 31)
        self.cache: dict[str, str] = {}  # address -> kind; read directly by hot loops

    def describe(self) -> dict[str, Any]:
        return {
            "own_cidrs": [str(n) for n in self._nets],
            "assumed": self.assumed,
        }

    def kind(self, address: str) -> str:
        found = self.cache.get(address)
        if found is None:
            found = self._kind(address)
            if len(self.cache) >= CACHE_LIMIT:
                self.cache.clear()
            self.cache[address] = found
        return found

    def _kind(self, address: str) -> str:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return INVALID
        if ip.version == 6:
            mapped = ip.ipv4_mapped  # type: ignore[union-attr]
            if mapped is None:
                return IPV6
            ip = mapped
        if ip in LINK_LOCAL_NET:
            return LINK_LOCAL
        if str(ip) in self.resolvers:
            return LINK_LOCAL
        if ip.is_multicast or any(ip in n for n in SPECIAL_NETS) or str(ip) == "255.255.255.255":
            return SPECIAL
        if any(ip in n for n in self._nets):
            return INTERNAL
        return DEPENDENCY


def is_reply(srcport: int, dstport: int, tcp_flags: int | None) -> bool:
    """A record of an answer the workload sends to a client, not a connection it makes:
    SYN-ACK among the TCP flags when the log has them, else a service port answering an
    ephemeral one."""
    if tcp_flags is not None:
        return bool(tcp_flags & SYN_ACK_BIT)
    return srcport < EPHEMERAL_LOW <= dstport


class NameIndex:
    """Which name each IPv4 address was answered for, and when (first and last answer).

    An address answered for several names (a CDN) is named, at a flow's time, by the name
    answered most recently before it (`NAME_SLACK_SECONDS` of slack). Answers are added while
    the query logs are read; the first lookup of an address turns its answers into a timeline
    (the winning name between each two answer times), so a lookup is one bisection, and
    `span` tells for how long its answer holds, so a reader can keep it for the next flows."""

    def __init__(self) -> None:
        self._by_address: dict[str, dict[str, list[float]]] = {}  # address -> name -> [first, last]
        self._timelines: dict[str, tuple[list[float], list[str | None], list[str | None]]] = {}

    def add(self, address: str, name: str, when: float) -> None:
        entries = self._by_address.get(address)
        if entries is None:
            self._by_address[address] = {name: [when, when]}
            self._timelines.pop(address, None)
            return
        times = entries.get(name)
        if times is None:
            entries[name] = [when, when]
        elif when < times[0]:
            times[0] = when
        elif when > times[1]:
            times[1] = when
        else:
            return
        self._timelines.pop(address, None)

    def merge(self, other: NameIndex) -> None:
        """Add the answers another index holds (read from other objects)."""
        for address, entries in other._by_address.items():
            for name, (first, last) in entries.items():
                self.add(address, name, first)
                self.add(address, name, last)

    def name_at(self, address: str, when: float) -> str | None:
        return self.span(address, when + NAME_SLACK_SECONDS)[2]

    def span(self, address: str, limit: float) -> tuple[float, float, str | None]:
        """(low, high, name) for a moment whose `limit` is the moment plus NAME_SLACK_SECONDS:
        its name, which is also the name of every moment whose limit is in [low, high)."""
        entries = self._by_address.get(address)
        if entries is None:
            return -INF, INF, None
        if len(entries) == 1:
            ((name, (first, _last)),) = entries.items()
            return (first, INF, name) if first <= limit else (-INF, first, None)
        timeline = self._timelines.get(address)
        if timeline is None:
            timeline = self._timelines[address] = _timeline(entries)
        points, at, between = timeline
        j = bisect.bisect_right(points, limit) - 1
        if j < 0:
            return -INF, points[0], None
        if points[j] == limit:
            return limit, math.nextafter(limit, INF), at[j]  # this limit alone
        high = points[j + 1] if j + 1 < len(points) else INF
        return math.nextafter(points[j], INF), high, between[j]

    def __len__(self) -> int:
        return len(self._by_address)


def _winner(entries: dict[str, list[float]], limit: float, strictly_after: bool) -> str | None:
    """The name answered most recently up to `limit` (ties: the smallest name). An answer
    still current at `limit` (last answer at or after it) scores `limit`; with
    `strictly_after`, `limit` stands for a moment just after the point, so only answers
    later than it count as current."""
    best, best_score = None, float("-inf")
    for name, (first, last) in entries.items():
        if first > limit:
            continue
        current = last > limit if strictly_after else last >= limit
        score = float("inf") if current else last
        if score > best_score or (score == best_score and best is not None and name < best):
            best, best_score = name, score
    return best


def _timeline(
    entries: dict[str, list[float]],
) -> tuple[list[float], list[str | None], list[str | None]]:
    """Answer times, the name at each, and the name after each up to the next; a time where
    the name does not change is left out, so a lookup's span is as long as its name holds."""
    points = sorted({t for first, last in entries.values() for t in (first, last)})
    at = [_winner(entries, p, False) for p in points]
    between = [_winner(entries, p, True) for p in points]
    kept = [0] + [j for j in range(1, len(points)) if not (at[j] == between[j - 1] == between[j])]
    return [points[j] for j in kept], [at[j] for j in kept], [between[j] for j in kept]


class Destination:
    """The figures of one destination (a name, or an address no answer names)."""

    __slots__ = (
        "addresses",
        "bytes",
        "first",
        "flows",
        "key",
        "last",
        "named",
        "packets",
        "ports",
        "protocols",
        "provenance",
        "sources",
    )

    def __init__(self, key: str, named: bool, provenance: dict[str, Any]) -> None:
        self.key = key
        self.named = named
        self.flows = 0
        self.bytes = 0
        self.packets = 0
        self.first = float("inf")
        self.last = float("-inf")
        self.ports: set[int] = set()
        self.protocols: set[int] = set()
        self.sources: set[str] = set()
        self.addresses: set[str] = set()
        self.provenance = provenance

    def observed(self) -> dict[str, Any]:
        return {
            "flows": self.flows,
            "bytes": self.bytes,
            "packets": self.packets,
            "ports": sorted(self.ports),
            "first_seen": iso(self.first) if self.first != float("inf") else None,
            "last_seen": iso(self.last) if self.last != float("-inf") else None,
            "sources": sorted(self.sources),
        }


class DestinationTable:
    """Per-destination aggregation; bounded by the number of distinct destinations."""

    def __init__(self) -> None:
        self.items: dict[str, Destination] = {}

    def add(
        self,
        key: str,
        named: bool,
        address: str,
        port: int,
        protocol: int,
        nbytes: int,
        packets: int,
        start: float,
        end: float,
        source: str,
        provenance: dict[str, Any],
    ) -> None:
        dest = self.items.get(key)
        if dest is None:
            dest = self.items[key] = Destination(key, named, provenance)
        dest.flows += 1
        dest.bytes += nbytes
        dest.packets += packets
        if start < dest.first:
            dest.first = start
        if end > dest.last:
            dest.last = end
        if len(dest.ports) < MAX_PORTS:
            dest.ports.add(port)
        dest.protocols.add(protocol)
        if len(dest.sources) < MAX_SOURCES:
            dest.sources.add(source)
        if len(dest.addresses) < MAX_ADDRESSES:
            dest.addresses.add(address)

    def merge(self, other: DestinationTable) -> None:
        """Add another reader's destinations (read from later objects): those already known
        keep their provenance; figures add up, sets within their bounds."""
        items = self.items
        for key, dest in other.items.items():
            mine = items.get(key)
            if mine is None:
                items[key] = dest
                continue
            mine.flows += dest.flows
            mine.bytes += dest.bytes
            mine.packets += dest.packets
            mine.first = min(mine.first, dest.first)
            mine.last = max(mine.last, dest.last)
            bounded_union(mine.ports, dest.ports, MAX_PORTS)
            bounded_union(mine.sources, dest.sources, MAX_SOURCES)
            bounded_union(mine.addresses, dest.addresses, MAX_ADDRESSES)
            mine.protocols |= dest.protocols

    def ranked(self) -> list[Destination]:
        """Most flows first; ties by bytes, then by name."""
        return sorted(self.items.values(), key=lambda d: (-d.flows, -d.bytes, d.key))


def bounded_union(mine: set, theirs: Iterable, limit: int) -> None:
    """Add `theirs` to `mine` (in sorted order, so merges are repeatable) up to `limit`."""
    for value in sorted(theirs):
        if len(mine) >= limit:
            return
        mine.add(value)


@dataclass
class QueryStats:
    """What the query logs say about names and about the sources that asked (filled by the
    query log reader's loop: at most MAX_NAMES_ASKED names per source)."""

    names_a: set[str] = field(default_factory=set)  # names answered with A records
    names_aaaa: set[str] = field(default_factory=set)  # names answered with AAAA records
    asked_a: dict[str, set[str]] = field(default_factory=dict)  # source -> names asked (A)
    asked_aaaa: dict[str, int] = field(default_factory=dict)  # source -> AAAA questions
    rcodes: dict[str, int] = field(default_factory=dict)

    def merge(self, other: QueryStats) -> None:
        """Add the questions another reader counted (read from other objects)."""
        self.names_a |= other.names_a
        self.names_aaaa |= other.names_aaaa
        for source, names in other.asked_a.items():
            bounded_union(self.asked_a.setdefault(source, set()), names, MAX_NAMES_ASKED)
        for source, count in other.asked_aaaa.items():
            self.asked_aaaa[source] = self.asked_aaaa.get(source, 0) + count
        for rcode, count in other.rcodes.items():
            self.rcodes[rcode] = self.rcodes.get(rcode, 0) + count

    def a_only_names(self) -> list[str]:
        """Names seen answered with A and never with AAAA."""
        return sorted(self.names_a - self.names_aaaa)

    def a_only_sources(self) -> dict[str, list[str]]:
        """Sources that asked A and never AAAA, with the names they asked."""
        return {
            source: sorted(names)
            for source, names in sorted(self.asked_a.items())
            if not self.asked_aaaa.get(source)
        }


def a_only_verdicts(
    stats: QueryStats, has_aaaa: dict[str, bool] | None = None
) -> list[dict[str, Any]]:
    """One entry per source that asked only A: the names it asked and which of them have
    AAAA (from the query logs, or from `has_aaaa`: lookups made since)."""
    known = dict.fromkeys(stats.names_aaaa, True)
    if has_aaaa:
        known.update({k: v for k, v in has_aaaa.items() if v})
    out = []
    for source, names in stats.a_only_sources().items():
        with_aaaa = [n for n in names if known.get(n)]
        out.append({"source": source, "names": names, "names_with_aaaa": with_aaaa})
    return out
