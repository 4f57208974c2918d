"""Helpers for the network unit tests: loopback DNS servers, a stub resolver, certificates,
and running network checks in-process with a preset toolkit."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import dns.message
import dns.rcode
import dns.rrset
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from auditor.config import Config
from auditor.context import Limits, RunState
from auditor.model import Finding
from auditor.net.dns import DnsAnswer, DnsStats
from auditor.net.routes import RouteResult
from auditor.net.service import NET_SERVICE, NetService
from auditor.registry import load_checks
from auditor.runner import run_checks, select_checks

# --------------------------------------------------------------------------- DNS on [::1]

Handler = Callable[[dns.message.Message, str], bytes | dns.message.Message | None]


def answer(query: dns.message.Message, *records: str, rcode: int = 0) -> dns.message.Message:
    """A response to `query` carrying `records` ("name ttl IN TYPE data")."""
    response = dns.message.make_response(query)
    response.set_rcode(rcode)
    for text in records:
        name, ttl, rdclass, rdtype, *data = text.split()
        response.answer.append(dns.rrset.from_text(name, int(ttl), rdclass, rdtype, " ".join(data)))
    return response


@dataclass
class DnsServer:
    """A DNS server on [::1] (or `host`; UDP and TCP on one port) answering through `handler`.

    The handler gets the query and the transport ("udp"/"tcp") and returns a message, raw wire,
    or None (no answer: the query is dropped). UDP answers leave after `delay` seconds.
    """

    handler: Handler
    delay: float = 0.0
    port: int = 0
    host: str = "::1"
    queries: list[tuple[str, str, str]] = field(default_factory=list)  # (transport, name, type)
    _udp: asyncio.DatagramTransport | None = None
    _tcp: asyncio.AbstractServer | None = None

    async def start(self) -> DnsServer:
        loop = asyncio.get_running_loop()
        server = self

        class Udp(asyncio.DatagramProtocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport = transport

            def datagram_received(self, data: bytes, addr: tuple) -> None:
                out = server._handle(data, "udp")
                if out is None:
                    return
                send = self.transport.sendto  # type: ignore[attr-defined]
                if server.delay:
                    loop.call_later(server.delay, send, out, addr)
                else:
                    send(out, addr)

        async def tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                size = struct.unpack("!H", await reader.readexactly(2))[0]
                out = self._handle(await reader.readexactly(size), "tcp")
                if out is not None:
                    writer.write(struct.pack("!H", len(out)) + out)
                    await writer.drain()
            except asyncio.IncompleteReadError:
                pass
            finally:
                writer.close()

        for attempt in range(20):  # the UDP port may be taken for TCP by someone else
            self._udp, _ = await loop.create_datagram_endpoint(Udp, local_addr=(self.host, 0))
            self.port = self._udp.get_extra_info("sockname")[1]
            try:
                self._tcp = await asyncio.start_server(tcp, self.host, self.port)
            except OSError:
                self._udp.close()
                if attempt == 19:
                    raise
                continue
            return self
        return self

    def _handle(self, data: bytes, transport: str) -> bytes | None:
        query = dns.message.from_wire(data)
        q = query.question[0]
        self.queries.append(
            (transport, q.name.to_text().rstrip(".").lower(), dns.rdatatype.to_text(q.rdtype))
        )
        out = self.handler(query, transport)
        if out is None:
            return None
        if isinstance(out, bytes):
            return out
        return out.to_wire(max_size=65535 if transport == "tcp" else 0)

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
            await self._tcp.wait_closed()


class StubResolver:
    """A Resolver answering from a table {(name, type): DnsAnswer or (rcode, records)}."""

    def __init__(
        self,
        table: dict[tuple[str, str], DnsAnswer | tuple[str | None, Sequence[str]]],
        *,
        chains: dict[str, Sequence[str]] | None = None,
        delay: float = 0.0,
    ) -> None:
        self.table = table
        self.chains = chains or {}
        self.delay = delay
        self.nameservers = ("2001:db8::53",)
        self.stats = DnsStats()
        self.asked: list[tuple[str, str]] = []

    async def query(self, name: str, rdtype: str) -> DnsAnswer:
        name = name.rstrip(".").lower()
        self.asked.append((name, rdtype))
        self.stats.sent()
        if self.delay:
            await asyncio.sleep(self.delay)
        entry = self.table.get((name, rdtype))
        if isinstance(entry, DnsAnswer):
            return entry
        if entry is None:
            entry = ("NOERROR", ())
        rcode, records = entry
        error = None if rcode else "timeout: no answer within 5 s"
        self.stats.answered()
        return DnsAnswer(
            name,
            rdtype,
            rcode,
            tuple(records),
            tuple(self.chains.get(name, ())),
            server="2001:db8::53",
            error=error,
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
        return await self.query(name, rdtype)

    async def aclose(self) -> None:
        return None


# --------------------------------------------------------------------------- certificates


@dataclass
class Pki:
    ca_pem: Path
    cert_pem: Path
    key_pem: Path


def make_pki(directory: Path, names: Iterable[str], *, ca_name: str = "v6audit test CA") -> Pki:
    """A CA and a server certificate for `names` (DNS names or IP addresses), as PEM files."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ca_name)])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_subject)
        .issuer_name(ca_subject)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for n in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            sans.append(x509.DNSName(n))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "server")]))
        .issuer_name(ca_subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    pki = Pki(directory / "ca.pem", directory / "cert.pem", directory / "key.pem")
    pki.ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    pki.cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pki.key_pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return pki


# --------------------------------------------------------------------------- running checks

ROUTE_OK = RouteResult("2001:db8::1", True, source="2001:db8:1::2")


def offline_service(config: Config, resolver, **kw) -> NetService:
    """A toolkit that needs no network: the given resolver, a route that is there."""
    kw.setdefault("route", lambda: ROUTE_OK)
    kw.setdefault("ipv4_route", lambda: False)
    kw.setdefault("ec2", lambda: (False, "test host"))
    return NetService(config, resolver=resolver, **kw)


async def run_net(config: Config, service: NetService, only: Sequence[str]) -> list[Finding]:
    """Run the selected checks (plus net.preflight) with `service` as the run's toolkit."""
    registry = load_checks()
    checks = select_checks(registry, only)
    state = RunState(config=config, limits=Limits(config.concurrency))
    state.services[NET_SERVICE] = service
    outcome = await run_checks(checks, config, registry=registry, state=state)
    return outcome.findings


def by_check(findings: Iterable[Finding], check_id: str) -> list[Finding]:
    return [f for f in findings if f.check_id == check_id]


def rcode_of(text: str) -> int:
    return dns.rcode.from_text(text)
