"""The IPv6 stub resolver against real DNS servers on [::1]: the multiplexer (retransmission,
pacing, TCP after truncation) and the resolution policy (failover, CNAME follow-ups)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import pytest

from auditor.net.connect import MappedConnector
from auditor.net.dns import MAX_CHAIN_FOLLOW_UPS, DnsPythonResolver, lookup_host

from .helpers import DnsServer, Handler, answer


def _lab_handler(query: dns.message.Message, transport: str) -> dns.message.Message:
    q = query.question[0]
    name = q.name.to_text().rstrip(".").lower()
    qtype = dns.rdatatype.to_text(q.rdtype)
    if name == "native.lab.test" and qtype == "AAAA":
        return answer(query, "native.lab.test. 60 IN AAAA 2001:db8:2::80")
    if name == "native.lab.test" and qtype == "A":
        return answer(query, "native.lab.test. 60 IN A 192.0.2.80")
    if name == "missing.lab.test":
        return answer(query, rcode=dns.rcode.NXDOMAIN)
    return answer(query)


def run(coro):
    return asyncio.run(coro)


@asynccontextmanager
async def resolver_for(handler, **kw) -> AsyncIterator[DnsPythonResolver]:
    """A resolver asking a local DNS server that answers with `handler`; both closed after."""
    server = await DnsServer(handler).start()
    resolver = DnsPythonResolver(["::1"], port=server.port, **kw)
    try:
        yield resolver
    finally:
        await resolver.aclose()
        await server.stop()


def test_resolver_asks_over_ipv6_and_returns_records() -> None:
    async def main() -> None:
        async with resolver_for(_lab_handler, timeout=2) as resolver:
            lookup = await lookup_host(resolver, "Native.Lab.Test.")
            missing = await resolver.query("missing.lab.test", "AAAA")
        assert lookup.name == "native.lab.test"
        assert lookup.aaaa.records == ("2001:db8:2::80",)
        assert lookup.a is not None and lookup.a.records == ("192.0.2.80",)
        assert (lookup.aaaa.rcode, lookup.aaaa.server, lookup.aaaa.transport) == (
            "NOERROR",
            "::1",
            "udp",
        )
        assert missing.rcode == "NXDOMAIN" and not missing.records
        assert resolver.stats.queries == 3 and resolver.stats.answers == 3

    run(main())


def test_truncated_answer_is_asked_again_over_tcp() -> None:
    many = [f"big.lab.test. 60 IN AAAA 2001:db8::{i:x}" for i in range(1, 120)]
    transports: list[str] = []

    def handler(query: dns.message.Message, transport: str) -> bytes | dns.message.Message:
        transports.append(transport)
        full = answer(query, *many)
        if transport == "udp":
            cut = answer(query)
            cut.flags |= dns.flags.TC
            return cut
        return full

    async def main() -> None:
        async with resolver_for(handler, timeout=2) as resolver:
            got = await resolver.query("big.lab.test", "AAAA")
        assert got.transport == "tcp"
        assert len(got.records) == 119 and "2001:db8::77" in got.records
        assert transports == ["udp", "tcp"]
        assert resolver.stats.tcp == 1

    run(main())


def test_servfail_moves_to_the_next_server_and_is_reported_when_all_fail() -> None:
    def failing(query: dns.message.Message, transport: str) -> dns.message.Message:
        return answer(query, rcode=dns.rcode.SERVFAIL)

    async def main() -> None:
        bad = await DnsServer(failing).start()
        good = await DnsServer(_lab_handler).start()
        # Two servers on different ports of ::1: a connector maps documentation addresses.
        from auditor.net.connect import MappedConnector

        connector = MappedConnector(
            {("2001:db8::53", 53): ("::1", bad.port), ("2001:db8::54", 53): ("::1", good.port)}
        )
        resolver = DnsPythonResolver(
            ["2001:db8::53", "2001:db8::54"], timeout=2, connector=connector
        )
        only_bad = DnsPythonResolver(["2001:db8::53"], timeout=2, connector=connector)
        try:
            got = await resolver.query("native.lab.test", "AAAA")
            failed = await only_bad.query("native.lab.test", "AAAA")
        finally:
            await resolver.aclose()
            await only_bad.aclose()
            await bad.stop()
            await good.stop()
        assert (got.rcode, got.server, got.records) == (
            "NOERROR",
            "2001:db8::54",
            ("2001:db8:2::80",),
        )
        assert failed.rcode == "SERVFAIL" and not failed.ok and failed.failure == "SERVFAIL"

    run(main())


def test_a_silent_server_costs_the_timeout_and_no_more() -> None:
    async def main() -> None:
        async with resolver_for(lambda q, t: None, timeout=0.6) as resolver:
            start = time.monotonic()
            got = await asyncio.gather(*(resolver.query(f"n{i}.test", "AAAA") for i in range(50)))
        elapsed = time.monotonic() - start
        assert all(g.rcode is None and g.error.startswith("timeout") for g in got)
        assert 0.55 <= elapsed < 1.5
        assert resolver.stats.timeouts == 50
        assert resolver.stats.retransmits >= 50  # each was sent again before giving up

    run(main())


def test_a_lost_datagram_is_retransmitted() -> None:
    seen: set[int] = set()

    def drop_first(query: dns.message.Message, transport: str) -> dns.message.Message | None:
        if query.id not in seen:
            seen.add(query.id)
            return None
        return _lab_handler(query, transport)

    async def main() -> None:
        async with resolver_for(drop_first, timeout=1.0) as resolver:
            got = await resolver.query("native.lab.test", "AAAA")
        assert got.records == ("2001:db8:2::80",)
        assert resolver.stats.retransmits == 1
        assert 400 <= got.rtt_ms < 900

    run(main())


def test_an_answer_to_another_question_is_ignored() -> None:
    def spoof(query: dns.message.Message, transport: str) -> bytes:
        other = dns.message.make_query("evil.test", "AAAA")
        other.id = query.id
        return answer(other, "evil.test. 60 IN AAAA 2001:db8::bad").to_wire()

    async def main() -> None:
        async with resolver_for(spoof, timeout=0.4) as resolver:
            got = await resolver.query("native.lab.test", "AAAA")
        assert got.rcode is None and "timeout" in (got.error or "")

    run(main())


def test_port_unreachable_fails_fast() -> None:
    async def main() -> None:
        server = await DnsServer(lambda q, t: None).start()
        port = server.port
        await server.stop()  # nothing listens there any more: ICMP port unreachable
        resolver = DnsPythonResolver(["::1"], port=port, timeout=3)
        start = time.monotonic()
        try:
            got = await resolver.query("native.lab.test", "AAAA")
        finally:
            await resolver.aclose()
        assert got.rcode is None and got.error and got.error.startswith("network")
        assert time.monotonic() - start < 1.5

    run(main())


def test_an_unfinished_cname_chain_is_followed_up() -> None:
    def handler(query: dns.message.Message, transport: str) -> dns.message.Message:
        name = query.question[0].name.to_text().rstrip(".")
        if name == "partial.lab.test":
            return answer(query, "partial.lab.test. 60 IN CNAME far.other.test.")
        if name == "far.other.test":
            return answer(query, "far.other.test. 60 IN AAAA 2001:db8::f")
        return answer(query)

    async def main() -> None:
        async with resolver_for(handler, timeout=2) as resolver:
            got = await resolver.query("partial.lab.test", "AAAA")
        assert got.name == "partial.lab.test"
        assert got.cname_chain == ("far.other.test",)
        assert got.records == ("2001:db8::f",)

    run(main())


def test_ipv4_mapped_nameservers_are_refused() -> None:
    from auditor.net.connect import NotIPv6Error

    with pytest.raises(NotIPv6Error, match="IPv4-mapped"):
        DnsPythonResolver(["::ffff:192.0.2.53"])


def test_an_ipv4_nameserver_is_asked_over_ipv4() -> None:
    """The dual-stack vantage's system resolver may be IPv4: asked over AF_INET, as it is."""

    async def main() -> None:
        server = await DnsServer(
            lambda q, _t: answer(q, "v4.test. 60 IN AAAA 2001:db8::4"), host="127.0.0.1"
        ).start()
        resolver = DnsPythonResolver(["127.0.0.1"], port=server.port, timeout=2)
        try:
            got = await resolver.query("v4.test", "AAAA")
        finally:
            await resolver.aclose()
            await server.stop()
        assert (got.rcode, got.records, got.server) == ("NOERROR", ("2001:db8::4",), "127.0.0.1")

    run(main())


def test_tcp_retry_that_gets_no_answer_is_a_network_error() -> None:
    def handler(query: dns.message.Message, transport: str) -> dns.message.Message | None:
        if transport == "tcp":
            return None  # accept, then close without an answer
        cut = answer(query)
        cut.flags |= dns.flags.TC
        return cut

    async def main() -> None:
        async with resolver_for(handler, timeout=2) as resolver:
            got = await resolver.query("big.lab.test", "AAAA")
        assert got.rcode is None and got.transport == "tcp"
        assert got.error == "network: the server closed the TCP connection without an answer"

    run(main())


def test_in_flight_limit_paces_questions_without_deadlock() -> None:
    async def main() -> None:
        async with resolver_for(_lab_handler, timeout=2, max_in_flight=1) as resolver:
            got = await asyncio.wait_for(
                asyncio.gather(*(lookup_host(resolver, "native.lab.test") for _ in range(20))), 5
            )
        assert all(g.aaaa.records == ("2001:db8:2::80",) for g in got)
        assert all(g.a is not None and g.a.records == ("192.0.2.80",) for g in got)

    run(main())


def test_a_rate_limited_server_gets_its_questions_paced() -> None:
    async def main() -> tuple[float, list]:
        async with resolver_for(_lab_handler, timeout=2, max_qps={"::1": 40}) as resolver:
            start = time.monotonic()
            got = await resolver.query_batch(["native.lab.test"] * 10, ("AAAA", "A"))
        return time.monotonic() - start, got

    elapsed, got = run(main())
    assert all(a.records == ("2001:db8:2::80",) and b.records == ("192.0.2.80",) for a, b in got)
    assert 0.35 < elapsed < 1.5  # 20 questions at 40 per second, not all at once
    # time spent waiting in the queue is not counted as DNS time
    assert max(a.rtt_ms for pair in got for a in pair) < 300


def test_vpc_resolver_is_paced_below_its_packet_limit() -> None:
    from auditor.config import Config
    from auditor.net.service import NetService

    service = NetService(Config(nameservers=("fd00:ec2::253", "2001:db8::53")))
    resolver = service.resolver
    assert isinstance(resolver, DnsPythonResolver)
    assert resolver.mux.max_qps == {"fd00:ec2::253": 1000.0}


# --------------------------------------------------------------------------- failover, chains, IDN


@asynccontextmanager
async def two_servers(first: Handler, second: Handler, *, delay: float = 0.0, **kw):
    """A resolver whose first server answers with `first` and second (after `delay`) with
    `second`: two servers on [::1] behind documentation addresses."""
    one = await DnsServer(first).start()
    two = await DnsServer(second, delay=delay).start()
    connector = MappedConnector(
        {("2001:db8::53", 53): ("::1", one.port), ("2001:db8::54", 53): ("::1", two.port)}
    )
    resolver = DnsPythonResolver(["2001:db8::53", "2001:db8::54"], connector=connector, **kw)
    try:
        yield resolver, one, two
    finally:
        await resolver.aclose()
        await one.stop()
        await two.stop()


def _numbered(query: dns.message.Message, transport: str) -> dns.message.Message:
    name = query.question[0].name.to_text()
    index = int(name.split(".")[0].removeprefix("n"))
    return answer(query, f"{name} 60 IN AAAA 2001:db8:5::{index + 1:x}")


def test_a_silent_first_server_moves_every_name_to_the_next_together() -> None:
    """20 names, a first server that never answers and a second that answers in 250 ms: all
    20 get their answer from the second within the budget (one at a time, 4 did)."""

    async def main() -> None:
        async with two_servers(lambda q, t: None, _numbered, delay=0.25, timeout=2) as (
            resolver,
            silent,
            slow,
        ):
            names = [f"n{i}.lab.test" for i in range(20)]
            got = await resolver.query_batch(names, ("AAAA",))
        assert [g[0].records for g in got] == [(f"2001:db8:5::{i + 1:x}",) for i in range(20)]
        assert {g[0].server for g in got} == {"2001:db8::54"}
        assert len(silent.queries) >= 20 and len(slow.queries) == 20

    run(main())


def _looping(query: dns.message.Message, transport: str) -> dns.message.Message:
    """loop-a -> loop-b -> loop-a ..., one CNAME per answer, never finished; anything else
    answers."""
    name = query.question[0].name.to_text()
    if name.startswith("loop-a."):
        return answer(query, f"{name} 60 IN CNAME loop-b.lab.test.")
    if name.startswith("loop-b."):
        return answer(query, f"{name} 60 IN CNAME loop-a.lab.test.")
    if name.startswith("long"):
        index = int(name.split(".")[0].removeprefix("long"))
        return answer(query, f"{name} 60 IN CNAME long{index + 1}.lab.test.")
    return _numbered(query, transport)


def test_a_cname_loop_ends_as_an_error_and_spares_the_names_beside_it() -> None:
    problems: list[dict] = []

    async def main() -> list[list]:
        loop = asyncio.get_running_loop()
        loop.set_debug(True)
        loop.set_exception_handler(lambda _loop, context: problems.append(context))
        server = await DnsServer(_looping).start()
        resolver = DnsPythonResolver(["::1"], port=server.port, timeout=2)
        try:
            names = ["n1.lab.test", "loop-a.lab.test", "long0.lab.test", "n2.lab.test"]
            got = await resolver.query_batch(names, ("AAAA", "A"))
        finally:
            await resolver.aclose()
            await server.stop()
        gc.collect()  # a future whose exception nobody read complains when collected
        await asyncio.sleep(0.05)
        return got, server.queries

    (n1, loop_a, long0, n2), queries = run(main())
    assert n1[0].records == ("2001:db8:5::2",) and n2[0].records == ("2001:db8:5::3",)
    for got in (*loop_a, *long0):
        assert got.rcode is None and not got.records  # dns-error: nothing learnt
    assert loop_a[0].error.startswith("CNAME loop: loop-a.lab.test -> loop-b.lab.test")
    assert "CNAME chain" in long0[0].error
    asked_loop = [q for q in queries if q[1].startswith("loop-")]
    asked_long = [q for q in queries if q[1].startswith("long")]
    assert len(asked_loop) == 4  # two per type, then the loop is seen
    assert len(asked_long) <= 2 * (MAX_CHAIN_FOLLOW_UPS + 1)
    assert problems == []


def test_an_idn_name_is_asked_and_matched_as_its_a_label() -> None:
    def handler(query: dns.message.Message, transport: str) -> dns.message.Message:
        name = query.question[0].name.to_text()
        if name == "xn--bcher-kva.example.":
            return answer(query, f"{name} 60 IN AAAA 2001:db8::b")
        return answer(query, rcode=dns.rcode.NXDOMAIN)

    async def main() -> None:
        async with resolver_for(handler, timeout=2) as resolver:
            got = await resolver.query("Bücher.example.", "AAAA")
        assert got.records == ("2001:db8::b",)
        assert got.name == "xn--bcher-kva.example"

    run(main())


def test_an_ipv4_mapped_aaaa_is_returned_as_data() -> None:
    """Mapped addresses are IPv4 on the wire; the resolver hands them on as they are, and the
    classifier decides what they prove."""

    def handler(query: dns.message.Message, transport: str) -> dns.message.Message:
        return answer(query, "mapped.lab.test. 60 IN AAAA ::ffff:192.0.2.7")

    async def main() -> None:
        async with resolver_for(handler, timeout=2) as resolver:
            got = await resolver.query("mapped.lab.test", "AAAA")
        assert got.ok and got.records == ("::ffff:192.0.2.7",)

    run(main())


def test_a_name_that_cannot_be_asked_is_an_error_not_a_crash() -> None:
    async def main() -> None:
        async with resolver_for(_lab_handler, timeout=1) as resolver:
            bad, good = await resolver.query_batch(
                ["x" * 64 + ".test", "native.lab.test"], ("AAAA",)
            )
        assert bad[0].rcode is None and "not a DNS name" in (bad[0].error or "")
        assert good[0].records == ("2001:db8:2::80",)

    run(main())


def test_a_cancelled_batch_leaves_no_question_or_unread_error_behind() -> None:
    problems: list[dict] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _loop, context: problems.append(context))
        async with resolver_for(lambda q, t: None, timeout=0.3) as resolver:
            names = [f"n{i}.lab.test" for i in range(10)]
            task = asyncio.create_task(resolver.query_batch(names, ("AAAA", "A")))
            await asyncio.sleep(0.05)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await asyncio.sleep(0.4)  # past every question's deadline
            channels = [c for s in resolver.mux._servers.values() for c in s.channels]
            assert channels and not any(c.pending for c in channels)
        gc.collect()
        await asyncio.sleep(0.01)

    run(main())
    assert problems == []
