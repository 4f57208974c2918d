"""The MTU test's small exchanges on loopback: after a TLS handshake stalls, a connect and a few
plain bytes tell whether the server's small packets still arrive."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import pytest

from auditor.config import Config
from auditor.net.connect import MappedConnector
from auditor.net.dual import PLAIN_NUDGE, mtu_probe, mtu_testable, small_tcp_exchange
from auditor.net.probe import Attempt
from auditor.net.service import NetService, ProbeSpec

ADDRESS = "2001:db8:2::1280"
REPLY = b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\nplain HTTP to TLS\n"


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        got = await reader.readexactly(len(PLAIN_NUDGE))
        assert got == PLAIN_NUDGE
        writer.write(REPLY)
        await writer.drain()
    writer.close()


async def _close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        await reader.read(1)
    writer.close()


async def _silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        await reader.read()  # never answers: a stalled server, not a lost packet
    writer.close()


async def _exchange(handler) -> Attempt:
    server = await asyncio.start_server(handler, "::1", 0)
    port = server.sockets[0].getsockname()[1]
    net = NetService(
        Config(timeout=0.5), connector=MappedConnector({(ADDRESS, 443): ("::1", port)})
    )
    try:
        return await small_tcp_exchange(net, ADDRESS, 443, socket.AF_INET6)
    finally:
        await net.aclose()
        server.close()


@pytest.mark.parametrize(
    ("handler", "ok", "answer"),
    [
        (_answer, True, f"answered {len(REPLY)} bytes"),
        (_close, True, "closed the connection"),
        (_silent, False, ""),
    ],
)
def test_small_tcp_exchange_counts_any_reaction(handler, ok: bool, answer: str) -> None:
    got = asyncio.run(_exchange(handler))
    assert (got.ok, got.answer) == (ok, answer)
    if not ok:
        assert (got.error_kind, got.phase) == ("timeout", "first_byte")


def _stall(kind: str, phase: str, url: str | None = "https://pmtu.lab.test/") -> Attempt:
    return Attempt(
        kind, ADDRESS, 443, error_kind="timeout", phase=phase, url=url, error="no answer"
    )


def test_which_stalls_the_mtu_test_looks_into() -> None:
    assert mtu_testable("https", _stall("https", "tls"))
    assert mtu_testable("https", _stall("https", "body"))
    assert mtu_testable("syslog-tls", _stall("syslog-tls", "tls", url=None))
    assert not mtu_testable("https", _stall("https", "connect"))  # nothing connected
    assert not mtu_testable("tcp", _stall("tcp", "tls", url=None))
    refused = Attempt("https", ADDRESS, 443, error_kind="refused", phase="tls", url="x")
    assert not mtu_testable("https", refused)


def test_a_stalled_handshake_is_tested_with_plain_bytes_not_another_handshake() -> None:
    async def main() -> dict | None:
        server = await asyncio.start_server(_answer, "::1", 0)
        port = server.sockets[0].getsockname()[1]
        net = NetService(
            Config(timeout=0.5), connector=MappedConnector({(ADDRESS, 443): ("::1", port)})
        )
        try:
            spec = ProbeSpec("syslog-tls", "syslog.lab.test", 443)
            return await mtu_probe(net, spec, _stall("syslog-tls", "tls", url=None))
        finally:
            await net.aclose()
            server.close()

    mtu = asyncio.run(main())
    assert mtu is not None and mtu["blackhole"] is True
    assert mtu["small"]["method"] == "TCP connect + plain request on the TLS port"
    assert mtu["large"]["method"] == "TLS handshake" and mtu["large"]["stalled_in"] == "tls"
