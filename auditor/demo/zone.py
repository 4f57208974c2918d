"""The offline demo's resolver: answers from dnspython zones, with DNS64 when asked."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.zone

from auditor.net.connect import ipv6_literal
from auditor.net.dns import MAX_CNAME_HOPS, NOERROR, NXDOMAIN, DnsAnswer, DnsStats, normalize
from auditor.net.dnswire import rdata_text
from auditor.net.nat64 import IPV4ONLY_ARPA, WELL_KNOWN_IPV4, embed


class ZoneResolver:
    """Answers from dnspython zones, like a resolver in front of them (the offline demo).

    With `dns64_prefix`, a name with A records and no AAAA gets AAAA records synthesized
    under that prefix (RFC 6147), and `ipv4only.arpa` answers as RFC 8880 says, so RFC 7050
    discovery finds the prefix. `ask()` answers authoritatively for the zones it holds;
    `servers`, when given, lists the addresses that answer `ask()` besides the resolver's own
    `nameservers` (others time out).
    """

    def __init__(
        self,
        zones: Iterable[dns.zone.Zone],
        *,
        dns64_prefix: str | None = None,
        nameservers: Sequence[str] = ("2001:db8::53",),
        servers: Iterable[str] | None = None,
    ) -> None:
        self.zones = sorted(zones, key=lambda z: len(z.origin), reverse=True)
        self.dns64_prefix = ipaddress.IPv6Network(dns64_prefix) if dns64_prefix else None
        self.nameservers = tuple(ipv6_literal(s) for s in nameservers)
        self.servers = (
            None if servers is None else {*(ipv6_literal(s) for s in servers), *self.nameservers}
        )
        self.stats = DnsStats()

    @classmethod
    def from_files(cls, paths: Iterable[str | Path], **kw: Any) -> ZoneResolver:
        """Zone files with an $ORIGIN (or named ORIGIN.zone)."""
        zones = []
        for path in paths:
            p = Path(path)
            origin = None
            text = p.read_text()
            if "$ORIGIN" not in text:
                origin = p.name.removesuffix(".zone") + "."
            zones.append(dns.zone.from_text(text, origin=origin, relativize=False, filename=str(p)))
        return cls(zones, **kw)

    def _zone_for(self, name: dns.name.Name) -> dns.zone.Zone | None:
        for zone in self.zones:
            if name.is_subdomain(zone.origin):
                return zone
        return None

    def _answer(self, qname: str, rdtype: str, server: str) -> DnsAnswer:
        start = time.perf_counter()
        self.stats.sent()
        qtype = dns.rdatatype.from_text(rdtype)
        current = dns.name.from_text(qname + ".")
        chain: list[str] = []
        zone_name: str | None = None
        records: list[str] = []
        rcode = NOERROR
        authoritative = False
        for _ in range(MAX_CNAME_HOPS):
            zone = self._zone_for(current)
            if zone is None:
                if (
                    self.dns64_prefix is not None
                    and normalize(current.to_text()) == IPV4ONLY_ARPA
                    and qtype in (dns.rdatatype.A, dns.rdatatype.AAAA)
                ):
                    records = [str(a) for a in WELL_KNOWN_IPV4]
                    if qtype == dns.rdatatype.AAAA:
                        records = [self._synthesize(a) for a in records]
                else:
                    rcode = NXDOMAIN if not chain else NOERROR
                break
            authoritative = True
            zone_name = normalize(zone.origin.to_text())
            node = zone.get_node(current)
            if node is None:
                below = any(n != current and n.is_subdomain(current) for n in zone.nodes)
                rcode = NOERROR if below else NXDOMAIN
                break
            cname = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.CNAME)
            if cname is not None and qtype != dns.rdatatype.CNAME:
                target = next(iter(cname)).target
                chain.append(normalize(target.to_text()))
                current = target
                continue
            found = node.get_rdataset(dns.rdataclass.IN, qtype)
            if found is not None:
                records = [rdata_text(r) for r in found]
            elif qtype == dns.rdatatype.AAAA and self.dns64_prefix is not None:
                four = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.A)
                if four is not None:
                    records = [self._synthesize(str(r.address)) for r in four]
            break
        self.stats.answered()
        return DnsAnswer(
            name=qname,
            rdtype=rdtype,
            rcode=rcode,
            records=tuple(records),
            cname_chain=tuple(chain),
            server=server,
            transport="zone",
            rtt_ms=(time.perf_counter() - start) * 1000,
            authoritative=authoritative,
            zone=zone_name if not records else None,
        )

    def _synthesize(self, address: str) -> str:
        assert self.dns64_prefix is not None
        return str(embed(self.dns64_prefix, ipaddress.IPv4Address(address)))

    async def query(self, name: str, rdtype: str) -> DnsAnswer:
        server = self.nameservers[0] if self.nameservers else "zone"
        return self._answer(normalize(name), rdtype, server)

    async def ask(
        self,
        server: str,
        name: str,
        rdtype: str,
        *,
        recursion: bool = True,
        timeout: float | None = None,
    ) -> DnsAnswer:
        server = ipv6_literal(server)
        if self.servers is not None and server not in self.servers:
            self.stats.sent()
            self.stats.timeouts += 1
            return DnsAnswer(
                normalize(name),
                rdtype,
                None,
                server=server,
                transport="zone",
                error=f"timeout: no answer within {timeout or 0:g} s",
            )
        answer = self._answer(normalize(name), rdtype, server)
        if not recursion and not answer.authoritative:
            return DnsAnswer(answer.name, rdtype, "REFUSED", server=server, transport="zone")
        return answer

    async def aclose(self) -> None:
        return None
