"""DNS over IPv6: the AAAA answer decides, the A answer is evidence only.

Two resolvers share one interface (:class:`Resolver`):

- :class:`DnsPythonResolver` asks real name servers over IPv6 (UDP, retransmitting; a truncated
  answer is asked again over TCP) and bounds every question by the probe-phase timeout, counted
  from when it is sent. Thousands of questions share a few UDP sockets and are told apart by
  message id and echoed question; at most `MAX_IN_FLIGHT` are in flight per server (and, for
  servers with a known packet limit, no more than `max_qps` a second), the others wait in a
  queue. Questions and the common answers (A, AAAA, CNAME) go through a small wire codec that
  the tests check against dnspython's; anything else (other types, odd layouts, TCP) is parsed
  by dnspython itself. `query_batch` asks for many names at once without a task per name.
- :class:`ZoneResolver` answers from dnspython zones (zone files), optionally synthesizing
  AAAA records under a NAT64 prefix as DNS64 does: the offline demo's resolver.

Names in answers are lowercase without the trailing dot.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import re
import socket
import struct
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.zone

from auditor.net.connect import Connector, NotIPv6Error, ipv6_literal

NOERROR = "NOERROR"
NXDOMAIN = "NXDOMAIN"
SERVFAIL = "SERVFAIL"

TYPE_A = 1
TYPE_CNAME = 5
TYPE_AAAA = 28
_FAST_TYPES = frozenset({TYPE_A, TYPE_AAAA})
EDNS_PAYLOAD = 1232  # DNS flag day 2020: no IP fragmentation
MAX_CNAME_HOPS = 16
MAX_CHAIN_FOLLOW_UPS = 8
CHANNELS_PER_SERVER = 4
MAX_IN_FLIGHT = 128  # questions in flight to one server; more wait their turn in a queue
MIN_RETRY = 0.2  # seconds: a lost datagram is sent again after 4 x the smoothed RTT, at least

_LABEL_OK = re.compile(rb"^[A-Za-z0-9_*-]+$")
_HEADER = struct.Struct("!HHHHHH")
_RR_FIXED = struct.Struct("!HHIH")
_TAIL = struct.Struct("!HH")
_OPT_RR = b"\x00" + struct.pack("!HHIH", 41, EDNS_PAYLOAD, 0, 0)


class MalformedResponse(ValueError):
    """A DNS response that cannot be parsed."""


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


@dataclass
class DnsStats:
    """Counters of one resolver, for evidence and the benchmark's DNS phase."""

    queries: int = 0
    answers: int = 0
    timeouts: int = 0
    retransmits: int = 0
    tcp: int = 0
    first_sent: float | None = None
    last_answered: float | None = None

    def sent(self) -> None:
        self.queries += 1
        if self.first_sent is None:
            self.first_sent = time.perf_counter()

    def answered(self) -> None:
        self.answers += 1
        self.last_answered = time.perf_counter()

    def as_dict(self) -> dict[str, Any]:
        span = (
            self.last_answered - self.first_sent
            if self.first_sent is not None and self.last_answered is not None
            else None
        )
        return {
            "queries": self.queries,
            "answers": self.answers,
            "timeouts": self.timeouts,
            "retransmits": self.retransmits,
            "tcp": self.tcp,
            "span_s": round(span, 4) if span is not None else None,
            "qps": round(self.answers / span, 1) if span else None,
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


def normalize(name: str) -> str:
    return name.strip().rstrip(".").lower()


# --------------------------------------------------------------------------- wire codec


@dataclass
class _Parsed:
    rcode: int
    truncated: bool
    authoritative: bool
    records: list[str]
    chain: list[str]
    authority_count: int
    zone: str | None = None


def encode_query(
    qid: int, qname_wire: bytes, qtype: int, *, recursion: bool = True, edns: bool = True
) -> bytes:
    """A DNS question: header, one question, and an EDNS(0) OPT record (1232-byte payload)."""
    flags = 0x0100 if recursion else 0
    header = _HEADER.pack(qid, flags, 1, 0, 0, 1 if edns else 0)
    return header + qname_wire + _TAIL.pack(qtype, 1) + (_OPT_RR if edns else b"")


_PLAIN_NAME = re.compile(r"^(?=.{1,253}$)[a-z0-9_*-]{1,63}(\.[a-z0-9_*-]{1,63})*$")


def qname_wire(name: str) -> bytes:
    """Wire form of a name; plain ASCII names are encoded directly, others by dnspython."""
    text = normalize(name)
    if _PLAIN_NAME.match(text):
        return b"".join(bytes((len(label),)) + label for label in text.encode().split(b".")) + b"\0"
    return dns.name.from_text(text + ".").to_wire()


def _read_name(wire: bytes, offset: int) -> tuple[str, int]:
    labels: list[bytes] = []
    end = -1
    hops = 0
    while True:
        length = wire[offset]
        if length == 0:
            offset += 1
            break
        if length >= 0xC0:
            if end < 0:
                end = offset + 2
            offset = ((length & 0x3F) << 8) | wire[offset + 1]
            hops += 1
            if hops > 64:
                raise MalformedResponse("compression loop")
            continue
        if length > 63:
            raise MalformedResponse("unknown label type")
        label = wire[offset + 1 : offset + 1 + length]
        if len(label) != length or not _LABEL_OK.match(label):
            raise MalformedResponse("label needs escaping")  # dnspython handles it
        labels.append(label)
        offset += 1 + length
    return b".".join(labels).decode("ascii").lower(), (end if end >= 0 else offset)


def _follow(qname: str, cnames: dict[str, str]) -> list[str]:
    chain: list[str] = []
    current = qname
    while current in cnames and len(chain) < MAX_CNAME_HOPS:
        current = cnames[current]
        if current in chain or current == qname:
            break
        chain.append(current)
    return chain


def decode_fast(wire: bytes, qname: str, qtype: int) -> _Parsed:
    """Parse an A/AAAA answer; raise MalformedResponse for anything it does not handle."""
    try:
        _qid, flags, qdcount, ancount, nscount, _arcount = _HEADER.unpack_from(wire, 0)
        offset = 12
        question = None
        for _ in range(qdcount):
            name, offset = _read_name(wire, offset)
            question = question or name
            offset += 4
        owners: list[tuple[str, int, str]] = []
        for _ in range(ancount):
            if question is not None and wire[offset] == 0xC0 and wire[offset + 1] == 12:
                owner, offset = question, offset + 2  # the usual pointer to the question name
            else:
                owner, offset = _read_name(wire, offset)
            rtype, _rclass, _ttl, rdlen = _RR_FIXED.unpack_from(wire, offset)
            offset += 10
            end = offset + rdlen
            if end > len(wire):
                raise MalformedResponse("record runs past the message")
            if rtype == TYPE_AAAA and rdlen == 16:
                owners.append((owner, rtype, socket.inet_ntop(socket.AF_INET6, wire[offset:end])))
            elif rtype == TYPE_A and rdlen == 4:
                owners.append((owner, rtype, socket.inet_ntop(socket.AF_INET, wire[offset:end])))
            elif rtype == TYPE_CNAME:
                owners.append((owner, rtype, _read_name(wire, offset)[0]))
            elif rtype in (TYPE_A, TYPE_AAAA):
                raise MalformedResponse("bad address length")
            offset = end
    except (IndexError, struct.error, UnicodeDecodeError) as exc:
        raise MalformedResponse(str(exc)) from None
    cnames = {o: d for o, t, d in owners if t == TYPE_CNAME}
    chain = _follow(qname, cnames)
    final = chain[-1] if chain else qname
    return _Parsed(
        rcode=flags & 0x000F,
        truncated=bool(flags & 0x0200),
        authoritative=bool(flags & 0x0400),
        records=[d for o, t, d in owners if t == qtype and o == final],
        chain=chain,
        authority_count=nscount,
    )


def _rdata_text(rdata: Any) -> str:
    if rdata.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
        return str(rdata.address)
    if rdata.rdtype in (dns.rdatatype.CNAME, dns.rdatatype.NS, dns.rdatatype.PTR):
        return normalize(rdata.target.to_text())
    return rdata.to_text()


def parse_message(msg: dns.message.Message, qname: str, qtype: int) -> _Parsed:
    """The same result as decode_fast, from a dnspython message (any type, any layout)."""
    cnames: dict[str, str] = {}
    by_owner: dict[str, list[str]] = {}
    for rrset in msg.answer:
        owner = normalize(rrset.name.to_text())
        if rrset.rdtype == dns.rdatatype.CNAME:
            for rdata in rrset:
                cnames[owner] = normalize(rdata.target.to_text())
        elif rrset.rdtype == qtype:
            by_owner.setdefault(owner, []).extend(_rdata_text(r) for r in rrset)
    chain = _follow(qname, cnames)
    final = chain[-1] if chain else qname
    zone = None
    for rrset in msg.authority:
        if rrset.rdtype == dns.rdatatype.SOA:
            zone = normalize(rrset.name.to_text())
    return _Parsed(
        rcode=msg.rcode(),
        truncated=bool(msg.flags & dns.flags.TC),
        authoritative=bool(msg.flags & dns.flags.AA),
        records=by_owner.get(final, []),
        chain=chain,
        authority_count=len(msg.authority),
        zone=zone,
    )


def decode(wire: bytes, qname: str, qtype: int) -> _Parsed:
    if qtype in _FAST_TYPES:
        with contextlib.suppress(MalformedResponse):
            return decode_fast(wire, qname, qtype)
    try:
        msg = dns.message.from_wire(wire, ignore_trailing=True)
    except dns.exception.DNSException as exc:
        raise MalformedResponse(f"{type(exc).__name__}: {exc}") from None
    return parse_message(msg, qname, qtype)


# --------------------------------------------------------------------------- UDP channels


_RCODES: dict[int, str] = {}


def _rcode_text(value: int) -> str:
    text = _RCODES.get(value)
    if text is None:
        text = _RCODES[value] = dns.rcode.to_text(value)  # type: ignore[arg-type]
    return text


class _Pending:
    """One question: sent at once, or queued until the server has fewer in flight."""

    __slots__ = (
        "channel",
        "deadline",
        "future",
        "name",
        "next_send",
        "packet",
        "qid",
        "resent",
        "retry_after",
        "sent_at",
        "server",
        "tail",
        "timeout",
    )

    def __init__(
        self,
        server: _Server,
        channel: _UdpChannel,
        qid: int,
        name: bytes,
        tail: bytes,
        packet: bytes,
        now: float,
        timeout: float,
    ) -> None:
        self.server: _Server | None = server  # None once it no longer counts as in flight
        self.channel = channel
        self.qid = qid
        self.name = name
        self.tail = tail
        self.packet = packet
        self.future: asyncio.Future[bytes] = channel.loop.create_future()
        self.timeout = timeout
        self.deadline = float("inf")  # the budget runs from the first transmission
        self.retry_after = server.retry_after(timeout)
        self.sent_at: float | None = None
        self.next_send = 0.0
        self.resent = False

    def transmit(self, now: float) -> None:
        self.sent_at = now
        self.deadline = now + self.timeout
        self.next_send = now + self.retry_after
        self.channel.send(self.packet)

    def settle(self, data: bytes | None = None, exc: BaseException | None = None) -> None:
        """Resolve the question (answer, error or timeout) and free its place in flight."""
        if not self.future.done():
            if exc is not None:
                self.future.set_exception(exc)
            else:
                self.future.set_result(data)  # type: ignore[arg-type]
        self.release()

    def release(self) -> None:
        server, self.server = self.server, None
        if server is not None and self.sent_at is not None:
            server.in_flight -= 1
            server.pump(self.channel.loop.time())


class _UdpChannel:
    """One connected, non-blocking IPv6 UDP socket carrying many questions at once.

    Answers are matched to questions by message id and echoed question; each wake-up drains
    every datagram waiting on the socket.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, host: str, port: int) -> None:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            sock.connect((host, port, 0, 0))
            loop.add_reader(sock.fileno(), self._readable)
        except BaseException:
            sock.close()
            raise
        self.loop = loop
        self.sock = sock
        self.pending: dict[int, _Pending] = {}
        self.failed: BaseException | None = None
        self.retransmits = 0

    def send(self, packet: bytes) -> None:
        try:  # noqa: SIM105 - the hot path: cheaper than contextlib.suppress
            self.sock.send(packet)
        except (BlockingIOError, InterruptedError):
            pass  # a full send buffer drops the datagram: the retransmission covers it

    def _readable(self) -> None:
        recv = self.sock.recv
        pending = self.pending
        for _ in range(256):
            try:
                data = recv(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                # ICMP errors (port unreachable...) on a connected socket: every question to
                # this server fails now instead of at its timeout.
                self._fail_all(exc)
                return
            if len(data) < 12:
                continue
            entry = pending.get((data[0] << 8) | data[1])
            if entry is None or entry.future.done():
                continue
            if data[4:6] != b"\x00\x00":  # a question section must echo ours
                end = 12 + len(entry.name)
                if data[12:end].lower() != entry.name or data[end : end + 4] != entry.tail:
                    continue
            entry.settle(data)

    def sweep(self, now: float) -> int:
        """Retransmit what is due, expire what is late; return how many are still waiting."""
        waiting = 0
        for entry in list(self.pending.values()):
            if entry.future.done():
                continue
            if now >= entry.deadline:
                entry.settle(exc=TimeoutError())
                continue
            waiting += 1
            if entry.sent_at is not None and now >= entry.next_send and self.failed is None:
                self.send(entry.packet)
                entry.next_send = now + entry.retry_after
                entry.resent = True
                self.retransmits += 1
        return waiting

    def _fail_all(self, exc: BaseException) -> None:
        for entry in list(self.pending.values()):
            entry.settle(exc=exc)

    def close(self) -> None:
        if self.failed is None:
            self.failed = ConnectionAbortedError("resolver closed")
        with contextlib.suppress(OSError, ValueError):
            self.loop.remove_reader(self.sock.fileno())
        self.sock.close()
        self._fail_all(self.failed)


@dataclass
class _Server:
    """Per server: its sockets, how many questions are in flight, the queue of the others,
    an optional rate limit, and the round-trip time that paces retransmissions."""

    address: str
    window: int  # questions in flight at most: a burst beyond overruns the server's socket
    max_qps: float | None = None
    channels: list[_UdpChannel] = field(default_factory=list)
    next: int = 0
    in_flight: int = 0
    backlog: deque[_Pending] = field(default_factory=deque)
    srtt: float | None = None  # smoothed round-trip time (s) of answers not retransmitted
    tokens: float = 0.0
    refilled: float | None = None

    def retry_after(self, timeout: float) -> float:
        base = 1.0 if self.srtt is None else max(MIN_RETRY, 4 * self.srtt)
        return min(base, 1.0, timeout / 2)

    def sample(self, rtt: float) -> None:
        self.srtt = rtt if self.srtt is None else 0.875 * self.srtt + 0.125 * rtt

    def _may_send(self, now: float) -> bool:
        if self.in_flight >= self.window:
            return False
        if self.max_qps is None:
            return True
        if self.refilled is None or now > self.refilled:
            burst = max(1.0, self.max_qps / 20)
            elapsed = now - (self.refilled if self.refilled is not None else now - 1)
            self.tokens = min(burst, self.tokens + elapsed * self.max_qps)
            self.refilled = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    def submit(self, entry: _Pending, now: float) -> None:
        if not self.backlog and self._may_send(now):
            self.in_flight += 1
            entry.transmit(now)
        else:
            self.backlog.append(entry)

    def pump(self, now: float) -> int:
        """Send queued questions while the window and the rate allow; return the queue size."""
        while self.backlog:
            entry = self.backlog[0]
            if entry.future.done() or entry.server is None:
                self.backlog.popleft()  # abandoned while queued
                continue
            if not self._may_send(now):
                break
            self.backlog.popleft()
            self.in_flight += 1
            entry.transmit(now)
        return len(self.backlog)


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
        self.port = port
        self.connector = connector or Connector()
        self.stats = DnsStats()
        self._channels_per_server = max(1, channels_per_server)
        self._max_in_flight = max(1, max_in_flight)
        self._max_qps = {ipv6_literal(k): v for k, v in (max_qps or {}).items()}
        self._servers: dict[str, _Server] = {}
        self._id_pool = b""
        self._id_pos = 0
        self._names: dict[str, tuple[bytes, bytes]] = {}
        self._known = set(self.nameservers)
        self._sweep_every = max(0.005, min(0.05, timeout / 10))
        self._sweeper: asyncio.TimerHandle | None = None

    # -- sockets

    def _server(self, server: str) -> _Server:
        entry = self._servers.get(server)
        if entry is None:
            entry = self._servers[server] = _Server(
                server, self._max_in_flight, self._max_qps.get(server)
            )
        return entry

    def _channel(self, server: str) -> _UdpChannel:
        entry = self._server(server)
        channels = entry.channels
        for dead in [c for c in channels if c.failed is not None]:
            channels.remove(dead)
        if len(channels) < self._channels_per_server:
            host, port = self.connector.map(server, self.port)
            channel = _UdpChannel(asyncio.get_running_loop(), ipv6_literal(host), port)
            channels.append(channel)
            return channel
        entry.next = (entry.next + 1) % len(channels)
        return channels[entry.next]

    def _new_id(self, pending: dict[int, Any]) -> int:
        """An unpredictable message id not in flight on the channel (RFC 5452)."""
        while True:
            if self._id_pos >= len(self._id_pool):
                self._id_pool = os.urandom(4096)
                self._id_pos = 0
            qid = (self._id_pool[self._id_pos] << 8) | self._id_pool[self._id_pos + 1]
            self._id_pos += 2
            if qid not in pending:
                return qid

    def _wire_name(self, qname: str) -> tuple[bytes, bytes]:
        cached = self._names.get(qname)
        if cached is None:
            wire = qname_wire(qname)
            cached = self._names[qname] = (wire, wire.lower())
            if len(self._names) > 100_000:
                self._names.clear()
        return cached

    def _sweep(self) -> None:
        self._sweeper = None
        now = asyncio.get_running_loop().time()
        waiting = 0
        for server in self._servers.values():
            waiting += server.pump(now)
            for channel in server.channels:
                before = channel.retransmits
                waiting += channel.sweep(now)
                self.stats.retransmits += channel.retransmits - before
        if waiting:
            self._arm()

    def _arm(self) -> None:
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().call_later(self._sweep_every, self._sweep)

    # -- one question to one server

    def _start(
        self, server: str, qname: str, qtype: int, recursion: bool, timeout: float
    ) -> _Pending:
        """Send a question (or queue it behind the server's window); its answer arrives in the
        returned entry's future."""
        entry_server = self._server(server)
        channel = self._channel(server)
        wire_name, lower_name = self._wire_name(qname)
        qid = self._new_id(channel.pending)
        packet = encode_query(qid, wire_name, qtype, recursion=recursion)
        now = channel.loop.time()
        entry = _Pending(
            entry_server, channel, qid, lower_name, _TAIL.pack(qtype, 1), packet, now, timeout
        )
        channel.pending[qid] = entry
        entry_server.submit(entry, now)
        self.stats.sent()
        self._arm()
        return entry

    async def _finish(
        self,
        entry: _Pending | BaseException,
        server: str,
        qname: str,
        rdtype: str,
        recursion: bool,
        budget: float,
        start: float,
    ) -> DnsAnswer:
        transport = "udp"
        error: str | None = None
        parsed: _Parsed | None = None
        try:
            if isinstance(entry, BaseException):
                raise entry
            try:
                wire = await entry.future
            finally:
                entry.channel.pending.pop(entry.qid, None)
                entry.release()  # if the wait was cancelled
            now = entry.channel.loop.time()
            if entry.sent_at is not None:
                start = time.perf_counter() - (now - entry.sent_at)  # time spent queued is not DNS
                if not entry.resent:  # Karn: only unambiguous samples
                    self._server(server).sample(now - entry.sent_at)
            udp = decode(wire, qname, _TYPES[rdtype])
            if udp.truncated:
                transport = "tcp"
                remaining = max(0.05, entry.deadline - now)
                parsed = await self._tcp(server, qname, rdtype, recursion, remaining)
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
            rcode=_rcode_text(parsed.rcode),
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
    ) -> tuple[str, _Pending | BaseException]:
        try:
            if server not in self._known:
                server = ipv6_literal(server)
            return server, self._start(server, qname, _TYPES[rdtype], recursion, timeout)
        except (OSError, ValueError) as exc:
            return server, exc

    async def _tcp(
        self, server: str, qname: str, rdtype: str, recursion: bool, timeout: float
    ) -> _Parsed:
        query = dns.message.make_query(qname + ".", rdtype, use_edns=0, payload=EDNS_PAYLOAD)
        if not recursion:
            query.flags &= ~dns.flags.RD
        host, port = self.connector.map(server, self.port)
        self.stats.tcp += 1
        response = await dns.asyncquery.tcp(query, ipv6_literal(host), timeout=timeout, port=port)
        return parse_message(response, qname, dns.rdatatype.from_text(rdtype))

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
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for server in self._servers.values():
            for channel in server.channels:
                channel.close()
        self._servers.clear()


class _TypeCodes(dict):
    def __missing__(self, key: str) -> int:
        value = self[key] = int(dns.rdatatype.from_text(key))
        return value


_TYPES: dict[str, int] = _TypeCodes()


# --------------------------------------------------------------------------- zone resolver


IPV4ONLY_ARPA = "ipv4only.arpa"
IPV4ONLY_ADDRESSES = ("192.0.0.170", "192.0.0.171")


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
                    records = list(IPV4ONLY_ADDRESSES)
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
                records = [_rdata_text(r) for r in found]
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
        from auditor.net.nat64 import embed

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
