"""DNS over IPv6: the AAAA answer decides, the A answer is evidence only.

This module is resolution policy, as dnspython's `resolver` is: which server to ask, when to
move on to the next, following CNAME chains a server left unfinished, and the batch API that
asks for many names at once without a task per name. The transport (sockets, pending
questions, pacing) is `auditor.net.dnsmux`, the wire codec `auditor.net.dnswire`.

:class:`DnsPythonResolver` asks real name servers over IPv6 (UDP, retransmitting; a truncated
answer is asked again over TCP) and bounds every question by the probe-phase timeout, counted
from when it is sent. The offline demo's resolver, answering from zone files, is
`auditor.demo.zone.ZoneResolver`; both implement :class:`Resolver`.

Names in answers are lowercase without the trailing dot.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import dns.exception
import dns.rdatatype

from auditor.net.connect import Connector, NotIPv6Error, ipv6_literal
from auditor.net.dnsmux import CHANNELS_PER_SERVER, MAX_IN_FLIGHT, DnsStats, Pending, UdpMux
from auditor.net.dnswire import (
    MAX_CNAME_HOPS,
    NOERROR,
    NXDOMAIN,
    SERVFAIL,
    TYPES,
    MalformedResponse,
    Parsed,
    decode,
    normalize,
    parse_message,
    rcode_text,
)

__all__ = [
    "MAX_CNAME_HOPS",
    "NOERROR",
    "NXDOMAIN",
    "SERVFAIL",
    "DnsAnswer",
    "DnsPythonResolver",
    "DnsStats",
    "HostLookup",
    "Resolver",
    "lookup_host",
    "lookup_hosts",
    "normalize",
]

MAX_CHAIN_FOLLOW_UPS = 8


@dataclass(slots=True)
class DnsAnswer:
    """One question's outcome. `rcode` is None when no response came (`error` says why)."""

    name: str
    rdtype: str
    rcode: str | None
    records: tuple[str, ...] = ()
    cname_chain: tuple[str, ...] = ()
    server: str | None = None
    transport: str = "udp"
    rtt_ms: float = 0.0
    error: str | None = None
    authoritative: bool = False
    zone: str | None = None  # the zone named by an SOA in the authority section

    @property
    def ok(self) -> bool:
        return self.rcode == NOERROR

    @property
    def final_name(self) -> str:
        return self.cname_chain[-1] if self.cname_chain else self.name

    @property
    def failure(self) -> str:
        """The rcode, or why there was none ("timeout", ...): for messages."""
        return self.rcode or (self.error or "no answer").split(":")[0]

    def evidence(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.rdtype,
            "rcode": self.rcode,
            "records": list(self.records),
            "cname_chain": list(self.cname_chain),
            "server": self.server,
            "transport": self.transport,
            "rtt_ms": round(self.rtt_ms, 2),
            "error": self.error,
        }


@runtime_checkable
class Resolver(Protocol):
    """What the network checks need from DNS."""

    nameservers: tuple[str, ...]
    stats: DnsStats

    async def query(self, name: str, rdtype: str) -> DnsAnswer:
        """Ask the configured resolvers (recursion desired); CNAME chains followed."""
        ...

    async def ask(
        self,
        server: str,
        name: str,
        rdtype: str,
        *,
        recursion: bool = True,
        timeout: float | None = None,
    ) -> DnsAnswer:
        """Ask one server, as given (e.g. an authoritative server with recursion off)."""
        ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class HostLookup:
    """AAAA (decides) and A (evidence) for one host name."""

    name: str
    aaaa: DnsAnswer
    a: DnsAnswer | None
    elapsed_ms: float

    def evidence(self) -> dict[str, Any]:
        return {
            "aaaa": list(self.aaaa.records),
            "a": list(self.a.records) if self.a else [],
            "cname_chain": list(self.aaaa.cname_chain),
            "rcode": self.aaaa.rcode,
            "a_rcode": self.a.rcode if self.a else None,
            "resolver": self.aaaa.server,
            "dns_transport": self.aaaa.transport,
            "dns_error": self.aaaa.error,
        }


async def lookup_host(resolver: Resolver, name: str) -> HostLookup:
    """AAAA and A asked together; the A answer never decides anything."""
    start = time.perf_counter()
    many = getattr(resolver, "query_many", None)
    if many is not None:
        aaaa, a = await many(name, ("AAAA", "A"))
    else:
        aaaa, a = await asyncio.gather(resolver.query(name, "AAAA"), resolver.query(name, "A"))
    return HostLookup(normalize(name), aaaa, a, (time.perf_counter() - start) * 1000)


async def lookup_hosts(resolver: Resolver, names: Sequence[str]) -> list[HostLookup]:
    """AAAA and A for many hosts at once: one batch when the resolver can (no task per host),
    else one lookup per host, concurrently."""
    batch = getattr(resolver, "query_batch", None)
    if batch is None:
        return list(await asyncio.gather(*(lookup_host(resolver, n) for n in names)))
    answers = await batch(names, ("AAAA", "A"))
    return [
        HostLookup(normalize(n), aaaa, a, max(aaaa.rtt_ms, a.rtt_ms))
        for n, (aaaa, a) in zip(names, answers, strict=True)
    ]


class DnsPythonResolver:
    """Stub resolver over IPv6 to `nameservers` (IPv6 literals, port 53 unless `port`).

    A question's budget is the probe-phase `timeout`; with several servers each gets a fair
    share of what is left, in order. A datagram without an answer is sent again every second
    (or half the budget, when shorter) until the budget is spent.
    """

    def __init__(
        self,
        nameservers: Sequence[str],
        *,
        timeout: float = 5.0,
        port: int = 53,
        connector: Connector | None = None,
        channels_per_server: int = CHANNELS_PER_SERVER,
        max_in_flight: int = MAX_IN_FLIGHT,
        max_qps: dict[str, float] | None = None,
    ) -> None:
        self.nameservers = tuple(ipv6_literal(s) for s in nameservers)
        self.timeout = timeout
        self.stats = DnsStats()
        self.mux = UdpMux(
            self.stats,
            port=port,
            connector=connector,
            channels_per_server=channels_per_server,
            max_in_flight=max_in_flight,
            max_qps=max_qps,
            sweep_every=max(0.005, min(0.05, timeout / 10)),
        )
        self._known = set(self.nameservers)

    # -- one question to one server

    async def _finish(
        self,
        entry: Pending | BaseException,
        server: str,
        qname: str,
        rdtype: str,
        recursion: bool,
        budget: float,
        start: float,
    ) -> DnsAnswer:
        transport = "udp"
        error: str | None = None
        parsed: Parsed | None = None
        try:
            if isinstance(entry, BaseException):
                raise entry
            wire, since_sent = await self.mux.wait(entry, server)
            if entry.sent_at is not None:
                start = time.perf_counter() - since_sent  # time spent queued is not DNS
            udp = decode(wire, qname, TYPES[rdtype])
            if udp.truncated:
                transport = "tcp"
                remaining = max(0.05, entry.deadline - entry.channel.loop.time())
                response = await self.mux.tcp(server, qname, rdtype, recursion, remaining)
                parsed = parse_message(response, qname, dns.rdatatype.from_text(rdtype))
            else:
                parsed = udp
        except (TimeoutError, dns.exception.Timeout):
            self.stats.timeouts += 1
            error = f"timeout: no answer within {budget:g} s"
        except NotIPv6Error as exc:
            error = f"not IPv6: {exc}"
        except OSError as exc:
            error = f"network: {exc.strerror or exc}"
        except EOFError:
            error = "network: the server closed the TCP connection without an answer"
        except (MalformedResponse, dns.exception.DNSException) as exc:
            error = f"malformed: {exc}"
        rtt = (time.perf_counter() - start) * 1000
        if parsed is None:
            return DnsAnswer(
                qname, rdtype, None, server=server, transport=transport, rtt_ms=rtt, error=error
            )
        self.stats.answered()
        return DnsAnswer(
            name=qname,
            rdtype=rdtype,
            rcode=rcode_text(parsed.rcode),
            records=tuple(parsed.records),
            cname_chain=tuple(parsed.chain),
            server=server,
            transport=transport,
            rtt_ms=rtt,
            authoritative=parsed.authoritative,
            zone=parsed.zone,
        )

    def _begin(
        self, server: str, qname: str, rdtype: str, recursion: bool, timeout: float
    ) -> tuple[str, Pending | BaseException]:
        try:
            if server not in self._known:
                server = ipv6_literal(server)
            return server, self.mux.start(server, qname, TYPES[rdtype], recursion, timeout)
        except (OSError, ValueError) as exc:
            return server, exc

    async def ask(
        self,
        server: str,
        name: str,
        rdtype: str,
        *,
        recursion: bool = True,
        timeout: float | None = None,
    ) -> DnsAnswer:
        qname = normalize(name)
        budget = self.timeout if timeout is None else timeout
        start = time.perf_counter()
        server, entry = self._begin(server, qname, rdtype, recursion, budget)
        return await self._finish(entry, server, qname, rdtype, recursion, budget, start)

    # -- resolution

    async def query(self, name: str, rdtype: str) -> DnsAnswer:
        return (await self.query_many(name, (rdtype,)))[0]

    async def query_many(self, name: str, rdtypes: Sequence[str]) -> list[DnsAnswer]:
        """Several types for one name, asked at once (AAAA and A of a host)."""
        return (await self.query_batch([name], rdtypes))[0]

    async def query_batch(
        self, names: Sequence[str], rdtypes: Sequence[str]
    ) -> list[list[DnsAnswer]]:
        """Every type for every name, all asked at once (beyond the server's window they wait
        in its queue), answers in order."""
        if not self.nameservers:
            return [
                [
                    DnsAnswer(normalize(n), t, None, error="no IPv6 resolver configured")
                    for t in rdtypes
                ]
                for n in names
            ]
        first = self.nameservers[0]
        share = self.timeout / len(self.nameservers)
        started = []
        for name in names:
            qname = normalize(name)
            start = time.perf_counter()
            entries = [self._begin(first, qname, t, True, share)[1] for t in rdtypes]
            started.append((qname, start, entries))
        out = []
        for qname, start, entries in started:
            answers = []
            for rdtype, entry in zip(rdtypes, entries, strict=True):
                answer = await self._finish(entry, first, qname, rdtype, True, share, start)
                if answer.rcode not in (NOERROR, NXDOMAIN) and len(self.nameservers) > 1:
                    left = self.timeout - answer.rtt_ms / 1000
                    answer = await self._next_servers(qname, rdtype, left, answer)
                answers.append(await self._complete_chain(qname, rdtype, answer))
            out.append(answers)
        return out

    async def _next_servers(
        self, qname: str, rdtype: str, budget: float, last: DnsAnswer
    ) -> DnsAnswer:
        """The servers after the first, in order, each with a fair share of what is left;
        NOERROR and NXDOMAIN are final, SERVFAIL/REFUSED/timeouts move on."""
        deadline = time.perf_counter() + budget
        rest = self.nameservers[1:]
        for index, server in enumerate(rest):
            remaining = deadline - time.perf_counter()
            if remaining <= 0.01:
                break
            answer = await self.ask(server, qname, rdtype, timeout=remaining / (len(rest) - index))
            if answer.rcode in (NOERROR, NXDOMAIN):
                return answer
            last = answer
        return last

    async def _complete_chain(self, qname: str, rdtype: str, answer: DnsAnswer) -> DnsAnswer:
        """A server may stop at a CNAME whose target it did not resolve: follow up, as a stub."""
        if not (answer.ok and answer.cname_chain and not answer.records and answer.zone is None):
            return answer
        start = time.perf_counter() - answer.rtt_ms / 1000
        chain = list(answer.cname_chain)
        for _ in range(MAX_CHAIN_FOLLOW_UPS):
            remaining = self.timeout - (time.perf_counter() - start)
            if remaining <= 0.01:
                break
            nxt = (await self.query_many(answer.final_name, (rdtype,)))[0]
            answer = nxt
            chain += list(nxt.cname_chain)
            if not (nxt.ok and nxt.cname_chain and not nxt.records and nxt.zone is None):
                break
        return DnsAnswer(
            name=qname,
            rdtype=rdtype,
            rcode=answer.rcode,
            records=answer.records,
            cname_chain=tuple(chain),
            server=answer.server,
            transport=answer.transport,
            rtt_ms=(time.perf_counter() - start) * 1000,
            error=answer.error,
            zone=answer.zone,
        )

    async def aclose(self) -> None:
        self.mux.close()
