"""The UDP multiplexer: many DNS questions over a few IPv6 sockets per server.

Transport only, as dnspython's `asyncquery` is; what to ask whom and what an answer means is
the resolver's (`auditor.net.dns`). Questions are asked in batches and told apart by message
id and echoed question on connected, non-blocking sockets (a few channels per server). At
most a window of questions is in flight per server, the rest wait in its queue, and servers
with a known packet limit are paced by a token bucket. A question's budget runs from its
first transmission; a lost datagram is sent again after 4 x the smoothed round-trip time
(0.2 to 1 s), and one sweep timer retransmits and expires for every socket. An answer with
the truncation bit is asked again over TCP by dnspython.

Why this shape: a DNS phase asks thousands of questions and Python's cost per question is
what limits its rate. So a batch has one future, not one per question; each wake-up of a
socket drains every waiting datagram, settles its question in place (the answer's bytes, or
the error) and refills the server's window once; and a question is first transmitted in one
place only (`_Server.pump`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import dns.asyncquery
import dns.flags
import dns.message

from auditor.net.connect import Connector, family_of, server_literal
from auditor.net.dnswire import (
    EDNS_PAYLOAD,
    TYPES,
    encode_query,
    question_name,
    question_tail,
    response_to,
)

CHANNELS_PER_SERVER = 4
MAX_IN_FLIGHT = 128  # questions in flight to one server; more wait their turn in a queue
MIN_RETRY = 0.2  # seconds: a lost datagram is sent again after 4 x the smoothed RTT, at least


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

    def sent(self, count: int = 1) -> None:
        self.queries += count
        if self.first_sent is None:
            self.first_sent = time.perf_counter()

    def answered(self, count: int = 1) -> None:
        if count:
            self.answers += count
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


class Question:
    """One question of a batch: sent at once, or queued until its server has fewer in flight.
    Once settled it holds the answer's wire form or the error, and its time on the wire."""

    __slots__ = (
        "batch",
        "channel",
        "deadline",
        "elapsed",
        "error",
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
        "wire",
    )

    def __init__(
        self,
        batch: Batch,
        timeout: float,
        server: _Server | None = None,
        channel: _UdpChannel | None = None,
        qid: int = 0,
        name: bytes = b"",
        tail: bytes = b"",
        packet: bytes = b"",
        retry_after: float = 1.0,
    ) -> None:
        self.batch: Batch | None = batch
        self.timeout = timeout
        self.server = server  # until it no longer counts against its server's window
        self.channel = channel
        self.qid = qid
        self.name = name  # lowercase wire form, to match the echoed question
        self.tail = tail
        self.packet = packet
        self.deadline = float("inf")  # the budget runs from the first transmission
        self.retry_after = retry_after
        self.sent_at: float | None = None
        self.next_send = 0.0
        self.resent = False
        self.wire: bytes | None = None
        self.error: BaseException | None = None
        self.elapsed: float | None = None  # seconds from first transmission to settling

    def settle(
        self, now: float, wire: bytes | None = None, error: BaseException | None = None
    ) -> None:
        """Record the answer (or error, or timeout), leave the channel and the server's window,
        and count down the batch. The caller pumps the server's queue."""
        if self.batch is None:
            return  # settled already
        self.wire, self.error = wire, error
        if self.sent_at is not None:
            self.elapsed = now - self.sent_at
        channel, self.channel = self.channel, None
        if channel is not None:
            channel.pending.pop(self.qid, None)
        server, self.server = self.server, None
        if server is not None and self.sent_at is not None:
            server.in_flight -= 1
            if wire is not None and not self.resent:  # Karn: only unambiguous samples
                rtt = now - self.sent_at
                srtt = server.srtt
                server.srtt = rtt if srtt is None else 0.875 * srtt + 0.125 * rtt
        batch, self.batch = self.batch, None
        batch.remaining -= 1
        if not batch.remaining and not batch.future.done():
            batch.future.set_result(None)


class Batch:
    """Questions asked together: one future for all of them, done when the last settles."""

    __slots__ = ("future", "questions", "remaining")

    def __init__(self, loop: asyncio.AbstractEventLoop, size: int) -> None:
        self.future: asyncio.Future[None] = loop.create_future()
        self.questions: list[Question] = []
        self.remaining = size


class _UdpChannel:
    """One connected, non-blocking UDP socket (the server's family) carrying many questions.

    Answers are matched to questions by message id and echoed question; each wake-up drains
    every datagram waiting on the socket, settles their questions, and refills the server's
    window once.
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, server: _Server, host: str, port: int
    ) -> None:
        family = family_of(host)
        sock = socket.socket(family, socket.SOCK_DGRAM)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            sock.setblocking(False)
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            sock.connect((host, port))
            loop.add_reader(sock.fileno(), self._readable)
        except BaseException:
            sock.close()
            raise
        self.loop = loop
        self.server = server
        self.sock = sock
        self.pending: dict[int, Question] = {}
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
        now = self.loop.time()
        try:
            for _ in range(256):
                try:
                    data = recv(65535)
                except (BlockingIOError, InterruptedError):
                    return
                except OSError as exc:
                    # ICMP errors (port unreachable...) on a connected socket: every question
                    # to this server fails now instead of at its timeout.
                    self._fail_all(exc, now)
                    return
                if len(data) < 12:
                    continue
                entry = pending.get((data[0] << 8) | data[1])
                # Else a stray, late or spoofed datagram.
                if entry is not None and response_to(data, entry.name, entry.tail):
                    entry.settle(now, data)
        finally:
            self.server.pump(now)

    def sweep(self, now: float) -> int:
        """Retransmit what is due, expire what is late; return how many are still waiting."""
        waiting = 0
        for entry in list(self.pending.values()):
            if now >= entry.deadline:
                entry.settle(now, error=TimeoutError())
                continue
            waiting += 1
            if entry.sent_at is not None and now >= entry.next_send and self.failed is None:
                self.send(entry.packet)
                entry.next_send = now + entry.retry_after
                entry.resent = True
                self.retransmits += 1
        return waiting

    def _fail_all(self, exc: BaseException, now: float) -> None:
        for entry in list(self.pending.values()):
            entry.settle(now, error=exc)

    def close(self) -> None:
        if self.failed is None:
            self.failed = ConnectionAbortedError("resolver closed")
        with contextlib.suppress(OSError, ValueError):
            self.loop.remove_reader(self.sock.fileno())
        self.sock.close()
        self._fail_all(self.failed, self.loop.time())


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
    backlog: deque[Question] = field(default_factory=deque)
    srtt: float | None = None  # smoothed round-trip time (s) of answers not retransmitted
    tokens: float = 0.0
    refilled: float | None = None

    def retry_after(self, timeout: float) -> float:
        base = 1.0 if self.srtt is None else max(MIN_RETRY, 4 * self.srtt)
        return min(base, 1.0, timeout / 2)

    def _take_token(self, now: float) -> bool:
        """The rate limit's token bucket: whether one more question may go now."""
        if self.refilled is None or now > self.refilled:
            burst = max(1.0, self.max_qps / 20)  # type: ignore[operator]
            elapsed = now - (self.refilled if self.refilled is not None else now - 1)
            self.tokens = min(burst, self.tokens + elapsed * self.max_qps)  # type: ignore[operator]
            self.refilled = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    def pump(self, now: float) -> int:
        """Send queued questions while the window and the rate allow; return the queue size.
        The only place a question is first transmitted: its budget starts here."""
        backlog = self.backlog
        limited = self.max_qps is not None
        while backlog and self.in_flight < self.window:
            entry = backlog[0]
            if entry.batch is None:
                backlog.popleft()  # settled while queued (abandoned, or its socket failed)
                continue
            if limited and not self._take_token(now):
                break
            backlog.popleft()
            self.in_flight += 1
            entry.sent_at = now
            entry.deadline = now + entry.timeout
            entry.next_send = now + entry.retry_after
            entry.channel.send(entry.packet)  # type: ignore[union-attr]
        return len(backlog)


class UdpMux:
    """The sockets, windows and queues of every server one resolver asks.

    `send` asks a batch of questions (each sent at once or queued behind its server's
    window); `wait` returns when every one of them is settled, each holding its answer's wire
    form or its error (TimeoutError, OSError, BadName...).
    """

    def __init__(
        self,
        stats: DnsStats,
        *,
        port: int = 53,
        connector: Connector | None = None,
        channels_per_server: int = CHANNELS_PER_SERVER,
        max_in_flight: int = MAX_IN_FLIGHT,
        max_qps: dict[str, float] | None = None,
        sweep_every: float = 0.05,
    ) -> None:
        self.stats = stats
        self.port = port
        self.connector = connector or Connector()
        self.max_qps = {server_literal(k): v for k, v in (max_qps or {}).items()}
        self._channels_per_server = max(1, channels_per_server)
        self._max_in_flight = max(1, max_in_flight)
        self._servers: dict[str, _Server] = {}
        self._id_pool: memoryview | bytes = b""
        self._id_pos = 0
        self._sweep_every = sweep_every
        self._sweeper: asyncio.TimerHandle | None = None

    def _server(self, server: str) -> _Server:
        entry = self._servers.get(server)
        if entry is None:
            entry = self._servers[server] = _Server(
                server, self._max_in_flight, self.max_qps.get(server)
            )
        return entry

    def _channel(self, entry: _Server) -> _UdpChannel:
        channels = entry.channels  # only `close` ends a channel, and it forgets the servers
        if len(channels) < self._channels_per_server:
            server = entry.address
            host, port = self.connector.map(server, self.port, family_of(server))
            channel = _UdpChannel(asyncio.get_running_loop(), entry, server_literal(host), port)
            channels.append(channel)
            return channel
        entry.next = (entry.next + 1) % len(channels)
        return channels[entry.next]

    def _new_id(self, pending: dict[int, Any]) -> int:
        """An unpredictable message id not in flight on the channel (RFC 5452), from a pool
        of random 16-bit numbers drawn 2,048 at a time."""
        while True:
            if self._id_pos >= len(self._id_pool):
                self._id_pool = memoryview(os.urandom(4096)).cast("H")
                self._id_pos = 0
            qid = self._id_pool[self._id_pos]
            self._id_pos += 1
            if qid not in pending:
                return qid

    def _sweep(self) -> None:
        self._sweeper = None
        now = asyncio.get_running_loop().time()
        waiting = 0
        for server in self._servers.values():
            for channel in server.channels:
                before = channel.retransmits
                waiting += channel.sweep(now)
                self.stats.retransmits += channel.retransmits - before
            waiting += server.pump(now)  # into the places the expired ones freed
        if waiting:
            self._arm()

    def _arm(self) -> None:
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().call_later(self._sweep_every, self._sweep)

    def send(self, asks: list[tuple[str, str, str, bool, float]]) -> Batch:
        """Ask (server, name, type, recursion desired, timeout) questions at once: each is sent,
        or queued behind its server's window. A question that cannot be asked (a name that is
        no DNS name, a server that is no address) is settled at once with that error."""
        loop = asyncio.get_running_loop()
        batch = Batch(loop, len(asks))
        questions = batch.questions
        now = loop.time()
        targets: dict[tuple[str, float], tuple[_Server, float]] = {}  # retry per server, budget
        for server, qname, rdtype, recursion, timeout in asks:
            try:
                qtype = TYPES[rdtype]
                known = targets.get((server, timeout))
                if known is None:
                    target = self._server(server)
                    known = targets[server, timeout] = (target, target.retry_after(timeout))
                target, retry = known
                channel = self._channel(target)
                wire_name, lower_name, _ = question_name(qname)
                qid = self._new_id(channel.pending)
                entry = Question(
                    batch,
                    timeout,
                    target,
                    channel,
                    qid,
                    lower_name,
                    question_tail(qtype),
                    encode_query(qid, wire_name, qtype, recursion=recursion),
                    retry,
                )
            except (OSError, ValueError) as exc:
                entry = Question(batch, timeout)
                questions.append(entry)
                entry.settle(now, error=exc)
                continue
            questions.append(entry)
            channel.pending[qid] = entry
            target.backlog.append(entry)
        for target, _ in targets.values():
            target.pump(now)
        self.stats.sent(len(asks))
        if asks:
            self._arm()
        return batch

    async def wait(self, batch: Batch) -> list[Question]:
        """Every question of the batch, settled. Cancelled, it abandons the ones still open:
        no retransmissions, their places in flight freed."""
        try:
            if batch.remaining:
                await batch.future
        finally:
            if batch.remaining:
                now = asyncio.get_running_loop().time()
                for entry in batch.questions:
                    entry.settle(now, error=ConnectionAbortedError("question abandoned"))
                for server in self._servers.values():
                    server.pump(now)
        return batch.questions

    async def tcp(
        self, server: str, qname: str, rdtype: str, recursion: bool, timeout: float
    ) -> dns.message.Message:
        """The question asked again over TCP (after a truncated UDP answer)."""
        query = dns.message.make_query(qname + ".", rdtype, use_edns=0, payload=EDNS_PAYLOAD)
        if not recursion:
            query.flags &= ~dns.flags.RD
        host, port = self.connector.map(server, self.port, family_of(server))
        self.stats.tcp += 1
        return await dns.asyncquery.tcp(query, server_literal(host), timeout=timeout, port=port)

    def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for server in self._servers.values():
            for channel in server.channels:
                channel.close()
        self._servers.clear()
