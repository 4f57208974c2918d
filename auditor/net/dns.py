"""DNS over IPv6: the AAAA answer decides, the A answer is evidence only.

This module is resolution policy, as dnspython's `resolver` is: which server to ask, when to
move on to the next, following CNAME chains a server left unfinished, and the batch API that
asks for many names at once without a task per name. As in dnspython, a small state object
(`_Resolution`) holds where each question stands and decides its next step from each answer;
the resolver only runs the rounds. The transport (sockets, pending questions, pacing) is
`auditor.net.dnsmux`, the wire codec `auditor.net.dnswire`.

:class:`DnsPythonResolver` asks real name servers over IPv6 (UDP, retransmitting; a truncated
answer is asked again over TCP) and bounds each name by the probe-phase timeout, counting
only the time its questions were on the wire. The offline demo's resolver, answering from
zone files, is `auditor.demo.zone.ZoneResolver`; both implement :class:`Resolver`.

Names in answers are lowercase A-labels (punycode) without the trailing dot; an IDN given as
`bücher.example` is asked and matched as `xn--bcher-kva.example`. Addresses are returned as
the server sent them, IPv4-mapped ones (`::ffff:a.b.c.d`) included: what they prove is the
classifier's call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import dns.exception

from auditor.net.connect import Connector, NotIPv6Error, server_literal
from auditor.net.dnsmux import CHANNELS_PER_SERVER, MAX_IN_FLIGHT, DnsStats, Question, UdpMux
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
    return [HostLookup(aaaa.name, aaaa, a, max(aaaa.rtt_ms, a.rtt_ms)) for aaaa, a in answers]


class DnsPythonResolver:
    """Stub resolver to `nameservers` (IPv6 literals; IPv4 ones only where the dual-stack vantage
    uses the system resolver as it is), port 53 unless `port`.

    A name's budget is the probe-phase `timeout`; with several servers each gets a fair share
    of what is left, in order, and CNAME follow-ups spend from the same budget. A datagram
    without an answer is sent again after 4 x the smoothed round-trip time (at most every
    second, or half the question's share when shorter) until its share is spent.
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
        self.nameservers = tuple(server_literal(s) for s in nameservers)
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

    # -- questions to servers

    async def _ask_all(self, asks: list[tuple[str, str, str, bool, float]]) -> list[DnsAnswer]:
        """Ask (server literal, name, type, recursion desired, budget) questions at once and
        read the answers, in order; every failure becomes an answer with no rcode and the
        reason. A truncated answer is asked again over TCP."""
        batch = self.mux.send(asks)
        answers: list[DnsAnswer] = []
        truncated = []
        for (server, qname, rdtype, recursion, budget), question in zip(
            asks, await self.mux.wait(batch), strict=True
        ):
            answer = self._read(question, server, qname, rdtype, budget)
            if answer is None:
                truncated.append((len(answers), question, server, qname, rdtype, recursion, budget))
            answers.append(answer)  # type: ignore[arg-type]
        if truncated:
            over_tcp = await asyncio.gather(*(self._over_tcp(*ask[1:]) for ask in truncated))
            for ask, answer in zip(truncated, over_tcp, strict=True):
                answers[ask[0]] = answer
        self.stats.answered(sum(1 for a in answers if a.rcode is not None))
        return answers

    def _read(
        self, question: Question, server: str, qname: str, rdtype: str, budget: float
    ) -> DnsAnswer | None:
        """The answer a settled question got (None when it was truncated)."""
        rtt = (question.elapsed or 0.0) * 1000
        if question.error is not None:
            return self._failed(question.error, server, qname, rdtype, budget, "udp", rtt)
        try:
            parsed = decode(question.wire, qname, TYPES[rdtype])  # type: ignore[arg-type]
        except MalformedResponse as exc:
            return self._failed(exc, server, qname, rdtype, budget, "udp", rtt)
        if parsed.truncated:
            return None
        return self._parsed(parsed, server, qname, rdtype, "udp", rtt)

    async def _over_tcp(
        self,
        question: Question,
        server: str,
        qname: str,
        rdtype: str,
        recursion: bool,
        budget: float,
    ) -> DnsAnswer:
        """A truncated answer's question asked again over TCP, within what is left of its
        budget; its time counts from the first UDP transmission."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        remaining = max(0.05, question.deadline - start)
        try:
            response = await self.mux.tcp(server, qname, rdtype, recursion, remaining)
            parsed = parse_message(response, qname, TYPES[rdtype])
        except Exception as exc:  # noqa: BLE001 - sorted by _failed, which re-raises the rest
            rtt = ((question.elapsed or 0.0) + loop.time() - start) * 1000
            return self._failed(exc, server, qname, rdtype, budget, "tcp", rtt)
        rtt = ((question.elapsed or 0.0) + loop.time() - start) * 1000
        return self._parsed(parsed, server, qname, rdtype, "tcp", rtt)

    @staticmethod
    def _parsed(
        parsed: Parsed, server: str, qname: str, rdtype: str, transport: str, rtt: float
    ) -> DnsAnswer:
        return DnsAnswer(
            qname,
            rdtype,
            rcode_text(parsed.rcode),
            tuple(parsed.records),
            tuple(parsed.chain),
            server,
            transport,
            rtt,
            None,
            parsed.authoritative,
            parsed.zone,
        )

    def _failed(
        self,
        exc: BaseException,
        server: str,
        qname: str,
        rdtype: str,
        budget: float,
        transport: str,
        rtt: float,
    ) -> DnsAnswer:
        """An answer without rcode that says why; anything unforeseen is raised."""
        if isinstance(exc, (TimeoutError, dns.exception.Timeout)):
            self.stats.timeouts += 1
            error = f"timeout: no answer within {budget:g} s"
        elif isinstance(exc, NotIPv6Error):
            error = f"not IPv6: {exc}"
        elif isinstance(exc, OSError):
            error = f"network: {exc.strerror or exc}"
        elif isinstance(exc, EOFError):
            error = "network: the server closed the TCP connection without an answer"
        elif isinstance(exc, (MalformedResponse, dns.exception.DNSException)):
            error = f"malformed: {exc}"
        elif isinstance(exc, ValueError):  # BadName, a server that is no address
            error = str(exc)
        else:
            raise exc
        return DnsAnswer(
            qname, rdtype, None, server=server, transport=transport, rtt_ms=rtt, error=error
        )

    async def ask(
        self,
        server: str,
        name: str,
        rdtype: str,
        *,
        recursion: bool = True,
        timeout: float | None = None,
    ) -> DnsAnswer:
        budget = self.timeout if timeout is None else timeout
        qname = normalize(name)
        try:
            literal = server if server in self._known else server_literal(server)
        except (OSError, ValueError) as exc:
            return self._failed(exc, server, qname, rdtype, budget, "udp", 0.0)
        return (await self._ask_all([(literal, qname, rdtype, recursion, budget)]))[0]

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
        in its queue), answers in order.

        Resolution goes in rounds: each round asks every unfinished question once, and the
        questions move on together, to the next server (after a timeout, SERVFAIL, REFUSED)
        or to the target of a CNAME chain the server left unfinished. A name's budget is the
        timeout, counting only time its questions were on the wire; each server gets a fair
        share of what is left."""
        if not self.nameservers:
            return [
                [
                    DnsAnswer(normalize(n), t, None, error="no IPv6 resolver configured")
                    for t in rdtypes
                ]
                for n in names
            ]
        states = [_Resolution(name, t) for name in map(normalize, names) for t in rdtypes]
        todo = states
        while todo:
            await self._round(todo)
            todo = [s for s in todo if s.result is None]
        answers = [s.result for s in states if s.result is not None]
        width = len(rdtypes)
        return [answers[i : i + width] for i in range(0, len(answers), width)]

    async def _round(self, todo: list[_Resolution]) -> None:
        """Ask each question once, at once; then let each decide its next step."""
        servers = self.nameservers
        count = len(servers)
        timeout = self.timeout
        asks = [
            (servers[s.server], s.asking, s.rdtype, True, s.share(timeout, count)) for s in todo
        ]
        for state, answer in zip(todo, await self._ask_all(asks), strict=True):
            state.step(answer, timeout, count)

    async def aclose(self) -> None:
        self.mux.close()


class _Resolution:
    """Where one (name, type) stands between rounds: the name asked now (the end of the CNAME
    chain so far), which server, the DNS time spent, and, once decided, the answer."""

    __slots__ = ("asking", "chain", "follow_ups", "name", "rdtype", "result", "server", "spent")

    def __init__(self, name: str, rdtype: str) -> None:
        self.name = self.asking = name
        self.rdtype = rdtype
        self.server = 0
        self.chain: tuple[str, ...] = ()
        self.spent = 0.0
        self.follow_ups = 0
        self.result: DnsAnswer | None = None

    def share(self, timeout: float, servers: int) -> float:
        """This question's budget: what is left, shared fairly by the servers still to ask."""
        return max(0.0, timeout - self.spent) / (servers - self.server)

    def step(self, answer: DnsAnswer, timeout: float, servers: int) -> None:
        """Take one answer: finish, move on to the next server, or follow the chain."""
        self.spent += answer.rtt_ms / 1000
        if (
            not self.chain
            and answer.rcode in (NOERROR, NXDOMAIN)
            and (answer.records or not answer.cname_chain or answer.zone is not None)
        ):
            # The usual case, first: an answer that decides the name first asked.
            self._finish(answer, answer.cname_chain)
            return
        left = timeout - self.spent
        if answer.rcode not in (NOERROR, NXDOMAIN):
            if self.server + 1 < servers and left > 0.01:
                self.server += 1
            else:
                self._finish(answer)
            return
        chain = self.chain + answer.cname_chain
        if not (answer.ok and answer.cname_chain and not answer.records and answer.zone is None):
            self._finish(answer, chain)
            return
        # The server stopped at a CNAME whose target it did not resolve: ask for the target.
        target = answer.final_name
        if target == self.name or target in chain[:-1]:
            self._fail(answer, chain, f"CNAME loop: {' -> '.join([self.name, *chain])}")
        elif len(chain) >= MAX_CNAME_HOPS or self.follow_ups >= MAX_CHAIN_FOLLOW_UPS:
            self._fail(answer, chain, f"CNAME chain longer than {len(chain)} names")
        elif left <= 0.01:
            self._fail(
                answer, chain, f"timeout: the CNAME chain ends at {target} when the budget does"
            )
        else:
            self.asking, self.chain, self.server = target, chain, 0
            self.follow_ups += 1

    def _finish(self, answer: DnsAnswer, chain: tuple[str, ...] | None = None) -> None:
        answer.rtt_ms = self.spent * 1000
        if chain is None:
            chain = self.chain
        if answer.name != self.name or len(chain) != len(answer.cname_chain):
            # Asked for a chain's target (or given up on a chain): the name asked first, and
            # the whole chain so far.
            answer.name, answer.cname_chain = self.name, chain
        self.result = answer

    def _fail(self, answer: DnsAnswer, chain: tuple[str, ...], error: str) -> None:
        self.result = DnsAnswer(
            self.name,
            self.rdtype,
            None,
            cname_chain=chain,
            server=answer.server,
            transport=answer.transport,
            rtt_ms=self.spent * 1000,
            error=error,
        )
