"""Probes: HTTP decision logic with respx, and real sockets on [::1] (through the connector's
address mapping) for TLS failures, resets, refusals and timeouts."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
import respx

from auditor.net.connect import Connector, MappedConnector, NotIPv6Error
from auditor.net.probe import Prober, make_ssl_context

from .helpers import make_pki

ADDR = "2001:db8::10"


def run(coro):
    return asyncio.run(coro)


# --------------------------------------------------------------------------- respx


@pytest.fixture
def prober() -> Prober:
    return Prober(timeout=2, ssl_context=make_ssl_context())


def test_http_connects_to_the_address_and_keeps_host_and_sni(prober: Prober) -> None:
    async def main() -> None:
        with respx.mock(assert_all_called=True) as mock:
            route = mock.get(f"https://[{ADDR}]/simple/").respond(
                200, html='<html><a href="/simple/x/">x</a></html>'
            )
            got = await prober.attempt("pypi", ADDR, url="https://pypi.lab.test/simple/")
        request = route.calls.last.request
        assert request.url.host == ADDR
        assert request.headers["host"] == "pypi.lab.test"
        assert request.extensions["sni_hostname"] == "pypi.lab.test"
        assert "v6audit/" in request.headers["user-agent"]
        assert (got.ok, got.status_code, got.answer) == (True, 200, "HTTP 200 (PyPI simple index)")
        await prober.aclose()

    run(main())


def test_non_default_port_goes_into_host_header(prober: Prober) -> None:
    async def main() -> None:
        with respx.mock(assert_all_called=True) as mock:
            route = mock.get(f"http://[{ADDR}]:8080/health").respond(204)
            got = await prober.attempt("http", ADDR, url="http://svc.lab.test:8080/health")
        assert route.calls.last.request.headers["host"] == "svc.lab.test:8080"
        assert "sni_hostname" not in route.calls.last.request.extensions
        assert got.ok and got.port == 8080
        await prober.aclose()

    run(main())


@pytest.mark.parametrize(
    ("kind", "url", "path", "status", "ok"),
    [
        ("pypi", "https://p.lab.test/simple/", "/simple/", 503, False),
        ("https", "https://p.lab.test/health", "/health", 503, True),
        ("https-intake", "https://i.lab.test/", "/", 500, True),
        ("oci-registry", "https://r.lab.test/", "/v2/", 401, True),
        ("oci-registry", "https://r.lab.test/", "/v2/", 404, False),
        ("apt", "http://a.lab.test/dists/x/InRelease", "/dists/x/InRelease", 500, False),
    ],
)
def test_status_decides_per_kind(
    prober: Prober, kind: str, url: str, path: str, status: int, ok: bool
) -> None:
    scheme = url.split(":")[0]

    async def main() -> None:
        with respx.mock(assert_all_called=True) as mock:
            mock.get(f"{scheme}://[{ADDR}]{path}").respond(status, text="")
            got = await prober.attempt(kind, ADDR, url=url)
        assert (got.ok, got.status_code) == (ok, status)
        if not ok:
            assert got.error_kind == "http" and got.error.startswith(f"HTTP {status}")
        await prober.aclose()

    run(main())


@pytest.mark.parametrize(
    ("exc", "kind", "phase"),
    [
        (
            httpx.RemoteProtocolError("Server disconnected without sending a response."),
            "no-answer",
            "first_byte",
        ),
        (httpx.ReadTimeout("timed out"), "timeout", "first_byte"),
        (httpx.ConnectTimeout("timed out"), "timeout", "connect"),
        (httpx.ReadError("Connection reset by peer"), "reset", "first_byte"),
    ],
)
def test_transport_failures_are_not_a_pass(
    prober: Prober, exc: Exception, kind: str, phase: str
) -> None:
    async def main() -> None:
        with respx.mock(assert_all_called=True) as mock:
            mock.get(f"https://[{ADDR}]/").mock(side_effect=exc)
            got = await prober.attempt("https", ADDR, url="https://x.lab.test/")
        assert not got.ok and got.error_kind == kind and got.phase == phase
        await prober.aclose()

    run(main())


def test_same_origin_redirect_is_followed_for_content_kinds(prober: Prober) -> None:
    async def main() -> None:
        with respx.mock(assert_all_called=True) as mock:
            mock.get(f"http://[{ADDR}]/debian/InRelease").respond(
                301, headers={"location": "/debian/dists/stable/InRelease"}
            )
            mock.get(f"http://[{ADDR}]/debian/dists/stable/InRelease").respond(
                200, text="Suite: stable\n"
            )
            mock.get(f"http://[{ADDR}]/elsewhere").respond(
                302, headers={"location": "http://mirror.other.test/pypi/"}
            )
            apt = await prober.attempt("apt", ADDR, url="http://deb.lab.test/debian/InRelease")
            pypi = await prober.attempt("pypi", ADDR, url="http://p.lab.test/elsewhere")
        assert apt.ok and apt.url == "http://deb.lab.test/debian/dists/stable/InRelease"
        assert not pypi.ok and pypi.status_code == 302  # other origin: not followed
        await prober.aclose()

    run(main())


def test_ipv4_is_never_a_destination(prober: Prober) -> None:
    with pytest.raises(NotIPv6Error):
        Connector().map("192.0.2.80", 80)

    async def main() -> None:
        got = await prober.attempt("http", "192.0.2.80", url="http://x.lab.test/")
        tcp = await prober.attempt("tcp", "192.0.2.80", host="x.lab.test", port=514)
        assert (got.ok, got.error_kind) == (False, "not-ipv6")
        assert (tcp.ok, tcp.error_kind) == (False, "not-ipv6")
        await prober.aclose()

    run(main())


# --------------------------------------------------------------------------- real sockets

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def serve(handler: Handler, tls: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    server = await asyncio.start_server(handler, "::1", 0, ssl=tls)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 2)


async def http_ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
        await writer.drain()
    writer.close()


async def close_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        await reader.readuntil(b"\r\n\r\n")
    writer.close()


async def stay_silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        await asyncio.sleep(30)
    writer.close()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> object:
    return make_pki(tmp_path_factory.mktemp("pki"), ["native.lab.test"])


def server_tls(pki) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(pki.cert_pem, pki.key_pem)
    return ctx


def mapped(port: int, address: str = ADDR, wanted: int = 443) -> MappedConnector:
    return MappedConnector({(address, wanted): ("::1", port)})


def test_https_over_a_real_tls_connection(pki) -> None:
    async def main() -> None:
        async with serve(http_ok, server_tls(pki)) as port:
            prober = Prober(
                timeout=2, connector=mapped(port), ssl_context=make_ssl_context(str(pki.ca_pem))
            )
            got = await prober.attempt("https", ADDR, url="https://native.lab.test/")
            await prober.aclose()
        assert got.ok, got.error
        assert got.peer == "::1" and got.status_code == 200
        assert got.tls and got.tls["version"] in ("TLSv1.2", "TLSv1.3")
        assert set(got.timings_ms) == {"connect", "tls", "first_byte"}

    run(main())


@pytest.mark.parametrize(
    ("ca", "url", "expect"),
    [
        ("other", "https://native.lab.test/", "certificate not trusted"),
        ("own", "https://wrong.lab.test/", "certificate not trusted: Hostname mismatch"),
    ],
)
def test_tls_verification_failures(pki, tmp_path: Path, ca: str, url: str, expect: str) -> None:
    other = make_pki(tmp_path, ["native.lab.test"], ca_name="another CA")
    cafile = other.ca_pem if ca == "other" else pki.ca_pem

    async def main() -> None:
        async with serve(http_ok, server_tls(pki)) as port:
            prober = Prober(
                timeout=2, connector=mapped(port), ssl_context=make_ssl_context(str(cafile))
            )
            got = await prober.attempt("https", ADDR, url=url)
            tls = await prober.attempt("syslog-tls", ADDR, host=url.split("/")[2], port=443)
            await prober.aclose()
        for attempt in (got, tls):
            assert not attempt.ok
            assert attempt.error_kind == "tls" and attempt.phase == "tls"
            assert attempt.error.startswith(expect), attempt.error

    run(main())


def test_accepted_then_closed_is_no_http_answer_but_a_tcp_connect(pki) -> None:
    async def main() -> None:
        async with serve(close_at_once) as port:
            prober = Prober(timeout=2, connector=mapped(port, wanted=80))
            http = await prober.attempt("http", ADDR, url="http://reset.lab.test/")
            tcp = await prober.attempt("syslog-tcp", ADDR, host="reset.lab.test", port=80)
            await prober.aclose()
        assert not http.ok and http.error_kind == "no-answer" and http.phase == "first_byte"
        assert "without an HTTP answer" in http.error
        assert tcp.ok and tcp.answer == "TCP connection accepted"

    run(main())


def test_refused_connection(pki) -> None:
    async def main() -> None:
        async with serve(http_ok) as port:
            pass  # closed again: nothing listens on the port now
        prober = Prober(timeout=2, connector=mapped(port, wanted=80))
        http = await prober.attempt("http", ADDR, url="http://broken.lab.test/")
        tcp = await prober.attempt("tcp", ADDR, host="broken.lab.test", port=80)
        await prober.aclose()
        assert (http.ok, http.error_kind, http.phase) == (False, "refused", "connect")
        assert (tcp.ok, tcp.error_kind) == (False, "refused")

    run(main())


def test_silent_servers_cost_the_timeout_per_phase(pki) -> None:
    async def main() -> None:
        async with serve(stay_silent) as port:
            prober = Prober(timeout=0.5, connector=mapped(port))
            start = time.monotonic()
            http, tls = await asyncio.gather(
                prober.attempt("http", ADDR, url="http://slow.lab.test:443/"),
                prober.attempt("syslog-tls", ADDR, host="slow.lab.test", port=443),
            )
            elapsed = time.monotonic() - start
            await prober.aclose()
        assert (http.ok, http.error_kind, http.phase) == (False, "timeout", "first_byte")
        assert (tls.ok, tls.error_kind, tls.phase) == (False, "timeout", "tls")
        assert 0.45 < elapsed < 1.5

    run(main())


def test_unmapped_destinations_are_refused_by_a_mapped_connector() -> None:
    connector = MappedConnector({(ADDR, 443): ("::1", 1)})
    assert connector.map("2001:db8:0::10", 443) == ("::1", 1)  # same address, other spelling
    with pytest.raises(ConnectionRefusedError):
        connector.map("2001:db8::11", 443)
    assert MappedConnector({}, passthrough=True).map("2001:db8::11", 443) == ("2001:db8::11", 443)
