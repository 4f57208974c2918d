"""Probes of one address: TCP connect, TLS handshake, HTTP request.

Every probe connects to an address that DNS gave (never to a name, so nothing can fall back
from one family to the other), over the family it names: IPv6 unless the dual-stack vantage
asks for the IPv4 comparison. It keeps the original name for TLS (SNI and certificate
check) and HTTP (`Host`).
HTTP goes through one shared httpx client: the URL names the bracketed address, the `Host`
header and the `sni_hostname` extension carry the name, and httpcore's `trace` extension gives
the phase timings. Connections are never reused: each probe proves its own name end to end.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import itertools
import os
import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from auditor import __version__
from auditor.net.addresses import is_real_ipv6
from auditor.net.body import ACCEPT_ENCODING, read_bounded
from auditor.net.compare import body_fingerprint
from auditor.net.connect import Connector, NotIPv4Error, NotIPv6Error, ip_literal
from auditor.net.proofs import (
    CONTENT_KINDS,
    HTTP_KINDS,
    MAX_BODY,
    TCP_KINDS,
    TLS_KINDS,
    accept_header,
    http_proof,
    request_url,
)
from auditor.redact import redact_url

USER_AGENT = f"v6audit/{__version__} (IPv6 readiness probe)"
MAX_REDIRECTS = 3
POOL_SHARDS = 16  # HTTP clients the probes are spread over (see Prober.client)
_KEEP_HEADERS = (
    "server",
    "content-type",
    "location",
    "content-length",
    "www-authenticate",
    "docker-distribution-api-version",
)


@dataclass
class Attempt:
    """One probe of one address: what was proven, or where and why it failed."""

    kind: str
    address: str
    port: int
    ok: bool = False
    answer: str = ""
    status_code: int | None = None
    error: str | None = None
    error_kind: str | None = None  # refused, timeout, unreachable, reset, no-answer, tls, ...
    phase: str | None = None  # where it failed: connect, tls, first_byte, body
    timings_ms: dict[str, float] = field(default_factory=dict)
    tls: dict[str, Any] | None = None
    peer: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    url: str | None = None
    family: int = socket.AF_INET6
    body: dict[str, Any] | None = None  # fingerprint of the body, when it was read

    @property
    def family_name(self) -> str:
        return "ipv4" if self.family == socket.AF_INET else "ipv6"

    def evidence(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "family": self.family_name,
            "kind": self.kind,
            "address": self.address,
            "port": self.port,
            "ok": self.ok,
            "answer": self.answer,
            "status_code": self.status_code,
            "error": self.error,
            "error_kind": self.error_kind,
            "phase": self.phase,
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }
        if self.tls:
            out["tls"] = self.tls
        if self.headers:
            out["headers"] = self.headers
        if self.url:
            out["url"] = redact_url(self.url)  # the probe requests the real URL
        if self.body:
            out["body"] = self.body
        return out


def make_ssl_context(ca_bundle: str | None = None) -> ssl.SSLContext:
    """Verification on, hostnames checked. CAs: the system store (which honours
    SSL_CERT_FILE/SSL_CERT_DIR), else certifi's bundle when the system has none, plus
    `ca_bundle` (`tls.ca_bundle`: a private PKI's CAs) when given."""
    ctx = ssl.create_default_context()
    if (
        not ctx.cert_store_stats().get("x509_ca")
        and not os.environ.get("SSL_CERT_DIR")
        and not os.path.isdir(ssl.get_default_verify_paths().capath or "")
    ):
        import certifi

        ctx.load_verify_locations(cafile=certifi.where())
    if ca_bundle:
        ctx.load_verify_locations(cafile=ca_bundle)
    return ctx


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        chain.append(current)
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return chain


def describe_error(exc: BaseException, phase: str) -> tuple[str, str]:
    """(error_kind, text) for an exception raised while probing."""
    chain = _causes(exc)
    for cause in chain:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return "tls", f"certificate not trusted: {cause.verify_message or cause.reason}"
        if isinstance(cause, ssl.SSLError) and not isinstance(
            cause,
            (ssl.SSLWantReadError, ssl.SSLWantWriteError),  # "wait for more": a stall
        ):
            return "tls", f"TLS failed: {cause.reason or cause}"
        if isinstance(cause, (NotIPv6Error, NotIPv4Error)):
            return "not-ipv6", str(cause)
    for cause in chain:
        if isinstance(cause, (TimeoutError, httpx.TimeoutException)):
            return "timeout", f"no answer within the timeout ({phase})"
        if isinstance(cause, ConnectionRefusedError):
            return "refused", "connection refused"
        if isinstance(cause, ConnectionResetError):
            return "reset", f"connection reset ({phase})"
        if isinstance(cause, OSError) and cause.errno in (
            errno.ENETUNREACH,
            errno.EHOSTUNREACH,
            errno.EADDRNOTAVAIL,
        ):
            return "unreachable", cause.strerror or str(cause)
    for cause in chain:
        if isinstance(cause, httpx.RemoteProtocolError):
            text = str(cause)
            if "without sending" in text or "disconnected" in text.lower():
                return "no-answer", "accepted the connection, then closed it without an HTTP answer"
            return "protocol", f"not an HTTP answer: {text}"
        if isinstance(cause, (httpx.ReadError, ConnectionError)):
            return "reset", f"connection closed ({phase}): {cause}"
        if isinstance(cause, OSError):
            return "network", cause.strerror or str(cause)
    return "error", f"{type(exc).__name__}: {exc}"


def _phase_of(exc: BaseException) -> str:
    """Where an exception happened, when no trace events tell (e.g. a mocked transport)."""
    for cause in _causes(exc):
        if isinstance(cause, (httpx.ConnectError, httpx.ConnectTimeout)):
            return "connect"
        if isinstance(cause, (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError)):
            return "first_byte"
    return "connect"


class _Trace:
    """Collects httpcore trace events into phase timings and connection facts."""

    def __init__(self) -> None:
        self.marks: dict[str, float] = {}
        self.peer: str | None = None
        self.family: int | None = None
        self.tls: dict[str, Any] | None = None
        self.failed: tuple[str, float] | None = None  # (phase, ms until it failed)

    async def __call__(self, name: str, info: dict[str, Any]) -> None:
        self.marks[name] = time.perf_counter()
        if name == "connection.connect_tcp.complete":
            stream = info.get("return_value")
            sock = stream.get_extra_info("socket") if stream is not None else None
            if sock is not None:
                self.family = sock.family
                with contextlib.suppress(OSError):
                    self.peer = sock.getpeername()[0]
        elif name == "connection.start_tls.complete":
            stream = info.get("return_value")
            ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
            if ssl_object is not None:
                self.tls = _tls_facts(ssl_object)

    _STARTS = {
        "connect": "connection.connect_tcp.started",
        "tls": "connection.start_tls.started",
        "first_byte": "http11.send_request_headers.started",
    }

    def failed_at(self, phase: str) -> None:
        """Time the failed phase up to now (how long a refusal or a timeout took)."""
        start = self._STARTS.get(phase)
        if start in self.marks:
            self.marks[f"{phase}.failed"] = time.perf_counter()
            self.failed = (phase, (self.marks[f"{phase}.failed"] - self.marks[start]) * 1000)

    def _span(self, start: str, end: str) -> float | None:
        if start in self.marks and end in self.marks:
            return (self.marks[end] - self.marks[start]) * 1000
        return None

    def timings(self) -> dict[str, float]:
        out = {}
        for key, start, end in (
            ("connect", "connection.connect_tcp.started", "connection.connect_tcp.complete"),
            ("tls", "connection.start_tls.started", "connection.start_tls.complete"),
            (
                "first_byte",
                "http11.send_request_headers.started",
                "http11.receive_response_headers.complete",
            ),
        ):
            span = self._span(start, end)
            if span is not None:
                out[key] = span
        if self.failed is not None:
            out[self.failed[0]] = self.failed[1]
        return out

    def phase(self) -> str:
        m = self.marks
        if "connection.connect_tcp.complete" not in m:
            return "connect"
        if "connection.start_tls.started" in m and "connection.start_tls.complete" not in m:
            return "tls"
        if "http11.receive_response_headers.complete" not in m:
            return "first_byte"
        return "body"


def _tls_facts(ssl_object: Any) -> dict[str, Any]:
    cipher = ssl_object.cipher()
    cert = ssl_object.getpeercert() or {}
    issuer = {k: v for rdn in cert.get("issuer", ()) for k, v in rdn}
    return {
        "version": ssl_object.version(),
        "cipher": cipher[0] if cipher else None,
        "verified": True,  # the context verifies; an unverified handshake raises instead
        "san": sorted(v for k, v in cert.get("subjectAltName", ()) if k in ("DNS", "IP Address")),
        "issuer": ", ".join(
            f"{k}={issuer[k]}" for k in ("commonName", "organizationName") if k in issuer
        )
        or None,
    }


class Prober:
    """TCP, TLS and HTTP probes over IPv6, bounded per phase by `timeout` seconds."""

    def __init__(
        self,
        *,
        timeout: float,
        connector: Connector | None = None,
        ssl_context: ssl.SSLContext | None = None,
        max_connections: int | None = None,
        read_bodies: bool = False,
    ) -> None:
        self.timeout = timeout
        # Read (and fingerprint) every HTTP body, not only the content kinds': the dual-stack
        # comparison needs them, and a stall on a full-size body segment shows there.
        self.read_bodies = read_bodies
        self.connector = connector or Connector()
        self.ssl_context = ssl_context or make_ssl_context()
        self._max_connections = max_connections
        self._clients: list[httpx.AsyncClient] = []
        self._turn = itertools.count()

    @property
    def client(self) -> httpx.AsyncClient:
        """One of :data:`POOL_SHARDS` clients, in turn. httpcore's pool scans all of its
        connections and queued requests whenever a request starts or ends, so with hundreds
        of probes in flight one pool costs more CPU than the probes themselves; several small
        pools keep every scan short."""
        if not self._clients:
            per_shard = (
                None
                if self._max_connections is None
                else max(1, -(-self._max_connections // POOL_SHARDS))
            )
            self._clients = [
                httpx.AsyncClient(
                    verify=self.ssl_context,
                    timeout=httpx.Timeout(self.timeout),
                    # No keep-alive: a reused connection would skip the connect and TLS of the
                    # next name on the same address (and its certificate check).
                    limits=httpx.Limits(max_connections=per_shard, max_keepalive_connections=0),
                    follow_redirects=False,
                    trust_env=False,  # never through a proxy: the proof is the direct IPv6 path
                    http2=False,
                )
                for _ in range(POOL_SHARDS)
            ]
        return self._clients[next(self._turn) % POOL_SHARDS]

    async def aclose(self) -> None:
        clients, self._clients = self._clients, []
        for client in clients:
            await client.aclose()

    # -- dispatch

    async def attempt(
        self,
        kind: str,
        address: str,
        *,
        url: str | None = None,
        host: str = "",
        port: int = 0,
        family: int = socket.AF_INET6,
    ) -> Attempt:
        """Prove `kind` on `address` over `family` (URL kinds use `url`; address kinds `host`
        and `port`)."""
        if kind in HTTP_KINDS:
            assert url is not None
            return await self.http(kind, url, address, family=family)
        if kind in TLS_KINDS:
            return await self.tls(kind, address, port, server_name=host, family=family)
        if kind in TCP_KINDS:
            return await self.tcp(kind, address, port, family=family)
        raise ValueError(f"unknown probe kind {kind!r}")

    # -- TCP and TLS

    async def tcp(
        self, kind: str, address: str, port: int, *, family: int = socket.AF_INET6
    ) -> Attempt:
        attempt = Attempt(kind, address, port, family=family)
        sock = await self._connect(attempt, family)
        if sock is None:
            return attempt
        sock.close()
        attempt.ok = True
        attempt.answer = "TCP connection accepted"
        return attempt

    async def _connect(self, attempt: Attempt, family: int) -> socket.socket | None:
        """The connect phase every TCP-based proof starts with: the socket, its timing and its
        peer on `attempt`; None (with the failure on `attempt`) when it does not connect."""
        start = time.perf_counter()
        try:
            sock = await self.connector.open_socket(
                attempt.address, attempt.port, self.timeout, family
            )
        except Exception as exc:  # noqa: BLE001 - every failure is a probe result
            attempt.timings_ms["connect"] = (time.perf_counter() - start) * 1000
            attempt.error_kind, attempt.error = describe_error(exc, "connect")
            attempt.phase = "connect"
            return None
        attempt.timings_ms["connect"] = (time.perf_counter() - start) * 1000
        with contextlib.suppress(OSError):
            attempt.peer = sock.getpeername()[0]
        return sock

    async def tls(
        self,
        kind: str,
        address: str,
        port: int,
        *,
        server_name: str,
        family: int = socket.AF_INET6,
    ) -> Attempt:
        attempt = Attempt(kind, address, port, family=family)
        sock = await self._connect(attempt, family)
        if sock is None:
            return attempt
        connected = time.perf_counter()
        sni = server_name if server_name and not _is_ip(server_name) else None
        writer = None
        try:
            async with asyncio.timeout(self.timeout):
                _reader, writer = await asyncio.open_connection(
                    sock=sock,
                    ssl=self.ssl_context,
                    server_hostname=sni or server_name or address,
                    ssl_handshake_timeout=self.timeout,
                )
        except Exception as exc:  # noqa: BLE001 - every failure is a probe result
            sock.close()
            attempt.timings_ms["tls"] = (time.perf_counter() - connected) * 1000
            attempt.error_kind, attempt.error = describe_error(exc, "tls")
            if attempt.error_kind in ("reset", "network", "error"):
                attempt.error_kind = "tls"
                attempt.error = f"closed during the TLS handshake ({attempt.error})"
            attempt.phase = "tls"
            return attempt
        attempt.timings_ms["tls"] = (time.perf_counter() - connected) * 1000
        ssl_object = writer.get_extra_info("ssl_object")
        attempt.tls = _tls_facts(ssl_object) if ssl_object is not None else None
        writer.close()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1):
                await writer.wait_closed()
        attempt.ok = True
        version = attempt.tls["version"] if attempt.tls else "TLS"
        attempt.answer = f"{version} handshake, certificate verified for {server_name or address}"
        return attempt

    # -- HTTP

    async def http(
        self, kind: str, url: str, address: str, *, family: int = socket.AF_INET6
    ) -> Attempt:
        target = request_url(kind, url)
        parts = urlsplit(target)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        attempt = Attempt(kind, address, port, url=target, family=family)
        trace = _Trace()
        try:
            async with asyncio.timeout(self.timeout * 4 + 1):
                await self._http_exchange(kind, target, address, attempt, trace)
        except Exception as exc:  # noqa: BLE001 - every failure is a probe result
            phase = trace.phase() if trace.marks else _phase_of(exc)
            attempt.error_kind, attempt.error = describe_error(exc, phase)
            attempt.phase = phase
            attempt.ok = False
            trace.failed_at(phase)
        attempt.timings_ms.update(trace.timings())
        attempt.peer = trace.peer
        attempt.tls = trace.tls
        if (trace.family is not None and trace.family != family) or (
            family == socket.AF_INET6 and trace.peer is not None and not is_real_ipv6(trace.peer)
        ):
            attempt.ok = False
            attempt.error_kind = "not-ipv6"
            attempt.error = (
                f"the connection was not {'IPv6' if family != socket.AF_INET else 'IPv4'}"
            )
        return attempt

    async def _http_exchange(
        self, kind: str, url: str, address: str, attempt: Attempt, trace: _Trace
    ) -> None:
        for _ in range(MAX_REDIRECTS + 1):
            status, headers, body = await self._request(
                kind, url, address, trace, family=attempt.family
            )
            attempt.status_code = status
            if self.read_bodies or kind in CONTENT_KINDS:
                attempt.body = body_fingerprint(body)
            attempt.headers = {k: v for k, v in headers.items() if k in _KEEP_HEADERS}
            location = headers.get("location")
            if kind in CONTENT_KINDS and 300 <= status < 400 and location:
                nxt = urljoin(url, location)
                a, b = urlsplit(url), urlsplit(nxt)
                if (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port):
                    url = nxt
                    attempt.url = url
                    trace.marks.clear()
                    continue
            proof = http_proof(kind, status, headers, body)
            attempt.ok = proof.ok
            attempt.answer = proof.answer
            if not proof.ok:
                attempt.error_kind, attempt.error = "http", proof.answer
            return
        attempt.ok = False
        attempt.error_kind, attempt.error = "http", f"more than {MAX_REDIRECTS} redirects"

    async def exchange(
        self,
        method: str,
        url: str,
        address: str,
        *,
        headers: dict[str, str] | None = None,
        read_body: bool = True,
        family: int = socket.AF_INET6,
    ) -> Attempt:
        """One raw HTTP exchange with `address` (e.g. the IMDSv2 token PUT): status, headers
        and the start of the body (in `answer`), or where and why it failed."""
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        attempt = Attempt("http", address, port, url=url, family=family)
        trace = _Trace()
        try:
            async with asyncio.timeout(self.timeout * 4 + 1):
                status, got, body = await self._request(
                    "http",
                    url,
                    address,
                    trace,
                    method=method,
                    extra=headers,
                    read_body=read_body,
                    family=family,
                )
        except Exception as exc:  # noqa: BLE001 - every failure is a probe result
            attempt.phase = trace.phase() if trace.marks else _phase_of(exc)
            attempt.error_kind, attempt.error = describe_error(exc, attempt.phase)
        else:
            attempt.ok = True
            attempt.status_code = status
            attempt.headers = {k: v for k, v in got.items() if k in _KEEP_HEADERS}
            attempt.answer = body.decode("utf-8", "replace")
        attempt.timings_ms.update(trace.timings())
        attempt.peer = trace.peer
        return attempt

    async def _request(
        self,
        kind: str,
        url: str,
        address: str,
        trace: _Trace,
        *,
        method: str = "GET",
        extra: dict[str, str] | None = None,
        read_body: bool | None = None,
        family: int = socket.AF_INET6,
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        mapped, mapped_port = self.connector.map(ip_literal(address, family), port, family)
        mapped = ip_literal(mapped, family)
        netloc = (
            f"[{mapped}]:{mapped_port}" if family != socket.AF_INET else f"{mapped}:{mapped_port}"
        )
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        default_port = (parts.scheme == "https" and port == 443) or (
            parts.scheme == "http" and port == 80
        )
        host_text = f"[{host}]" if ":" in host else host
        headers = {
            "Host": host_text if default_port else f"{host_text}:{port}",
            "User-Agent": USER_AGENT,
            "Accept": accept_header(kind),
            "Accept-Encoding": ACCEPT_ENCODING,
            "Connection": "close",
            **(extra or {}),
        }
        extensions: dict[str, Any] = {"trace": trace}
        if parts.scheme == "https" and host and not _is_ip(host):
            extensions["sni_hostname"] = host
        client = self.client
        request = client.build_request(
            method,
            f"{parts.scheme}://{netloc}{path}",
            headers=headers,
            extensions=extensions,
        )
        response = await client.send(request, stream=True)
        try:
            body = b""
            wanted = (kind in CONTENT_KINDS or self.read_bodies) if read_body is None else read_body
            if wanted and method != "HEAD":
                body = await read_bounded(response, MAX_BODY)
            return response.status_code, {k.lower(): v for k, v in response.headers.items()}, body
        finally:
            await response.aclose()
