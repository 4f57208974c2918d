"""A hostile HTTP server on [::1] sends a compressed body that inflates far beyond what a probe
reads: the probe keeps to its body cap in memory and its verdict is the kind's proof."""

from __future__ import annotations

import asyncio
import contextlib
import tracemalloc
import zlib
from collections.abc import AsyncIterator

import pytest

from auditor.net.connect import MappedConnector
from auditor.net.probe import Prober
from auditor.net.proofs import MAX_BODY

ADDR = "2001:db8::10"
BOMB_BYTES = 64 * 1024 * 1024  # what the body inflates to
MEMORY_BOUND = 4 * 1024 * 1024  # far below the bomb, well above the probe's own needs


def _compress(data_chunks: list[bytes] | None, encoding: str, total: int = 0) -> bytes:
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    if encoding == "raw-deflate":
        wbits = -zlib.MAX_WBITS
    comp = zlib.compressobj(9, zlib.DEFLATED, wbits)
    out = []
    if data_chunks is None:  # `total` zero bytes, made a megabyte at a time
        block = bytes(1024 * 1024)
        data_chunks = [block] * (total // len(block))
    for chunk in data_chunks:
        out.append(comp.compress(chunk))
    out.append(comp.flush())
    return b"".join(out)


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return _compress(None, "gzip", BOMB_BYTES)


@contextlib.asynccontextmanager
async def serve_body(body: bytes, encoding: str, ctype: str) -> AsyncIterator[tuple[int, list]]:
    """An HTTP/1.1 server on [::1] answering every request with `body` as it is given."""
    requests: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            requests.append(await reader.readuntil(b"\r\n\r\n"))
            head = (
                "HTTP/1.1 200 OK\r\n"
                f"Content-Type: {ctype}\r\n"
                f"Content-Encoding: {encoding}\r\n"
                f"Content-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n"
            )
            writer.write(head.encode() + body)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "::1", 0)
    try:
        yield server.sockets[0].getsockname()[1], requests
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 2)


async def _probe(port: int, kind: str, url: str) -> object:
    prober = Prober(timeout=5, connector=MappedConnector({(ADDR, 80): ("::1", port)}))
    try:
        return await prober.attempt(kind, ADDR, url=url)
    finally:
        await prober.aclose()


@pytest.mark.parametrize(("kind", "layers"), [("pypi", 1), ("npm", 1), ("pypi", 2)])
def test_gzip_bomb_is_read_only_up_to_the_cap(bomb: bytes, kind: str, layers: int) -> None:
    assert len(bomb) < BOMB_BYTES // 500  # a real bomb: tiny on the wire
    body = bomb if layers == 1 else _compress([bomb], "gzip")  # gzip of a gzip bomb

    async def main() -> tuple[object, int, list]:
        encoding = ", ".join(["gzip"] * layers)
        async with serve_body(body, encoding, "application/json") as (port, requests):
            tracemalloc.start()
            try:
                got = await _probe(port, kind, "http://mirror.lab.test/simple/")
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
        return got, peak, requests

    got, peak, requests = asyncio.run(main())
    assert peak < MEMORY_BOUND, f"the probe held {peak} bytes for a {len(body)}-byte body"
    assert b"gzip" in requests[0].lower()  # the probe asked for what it can decode
    # Zeros are no package index: the protocol's proof says no, nothing crashed.
    assert got.status_code == 200 and got.ok is False
    assert got.error_kind == "http"
    assert got.answer.startswith("HTTP 200") and "not" in got.answer


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate"])
def test_compressed_documents_still_prove_their_kind(encoding: str) -> None:
    index = b'<html><body><a href="/simple/pkg/">pkg</a></body></html>'
    body = _compress([index], encoding)
    header = "deflate" if encoding == "raw-deflate" else encoding

    async def main() -> object:
        async with serve_body(body, header, "text/html") as (port, _):
            return await _probe(port, "pypi", "http://mirror.lab.test/simple/")

    got = asyncio.run(main())
    assert got.ok, got.error
    assert got.answer == "HTTP 200 (PyPI simple index)"


def test_the_cap_is_the_documents_start() -> None:
    """A long index is cut at the cap, not refused: its start still proves the kind."""
    index = b"<html><body>" + b'<a href="/simple/p/">p</a>\n' * (MAX_BODY // 8)
    body = _compress([index], "gzip")

    async def main() -> object:
        async with serve_body(body, "gzip", "text/html") as (port, _):
            return await _probe(port, "pypi", "http://mirror.lab.test/simple/")

    assert asyncio.run(main()).ok


def test_a_corrupt_compressed_body_is_a_failed_probe_not_a_crash() -> None:
    async def main() -> object:
        async with serve_body(b"\x1f\x8bthis is not gzip at all", "gzip", "text/html") as (
            port,
            _,
        ):
            return await _probe(port, "pypi", "http://mirror.lab.test/simple/")

    got = asyncio.run(main())
    assert got.ok is False and got.error
