"""The demo's network: local servers standing in for the workload's dependencies.

Names resolve from a bundled zone (`demo.example.zone`) through a resolver that also does
DNS64. Probes still open AF_INET6 sockets only; a mapping connector sends each documentation
address to a listener on [::1]. The IPv4-only mirror listens on 127.0.0.1 and is reached the
way an IPv6-only host reaches it in a VPC: through a translator (here a small relay on [::1]
standing in for the NAT64 gateway), at the address DNS64 synthesized for it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import ssl
import tempfile
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

import dns.rdataclass
import dns.rdatatype
import dns.zone
from aiohttp import web

from auditor.config import Config
from auditor.demo.zone import ZoneResolver
from auditor.net.aws import dualstack_endpoint
from auditor.net.connect import MappedConnector
from auditor.net.nat64 import embed
from auditor.net.routes import RouteResult
from auditor.net.service import NetService

DNS64_PREFIX = "64:ff9b::/96"
RESOLVER = "2001:db8:10::53"
WORKLOAD_ADDRESS = "2001:db8:10::100"
IMDS = "2001:db8:10::254"
NATIVE = "2001:db8:10::80"
OWN_API = "2001:db8:10::20"
REGISTRY = "2001:db8:10::443"
SYSLOG = "2001:db8:10::514"
AWS_ENDPOINTS = "2001:db8:10::a5"
IPV4_ONLY_MIRROR = "192.0.2.81"
LEGACY_MIRROR_V4 = "192.0.2.82"  # npm.legacy's A record (its AAAA is broken)
NAME_SERVERS = ("2001:db8:10::35",)


def _pki(names: list[str], folder: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and one server certificate for `names` (cryptography comes with moto)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "v6audit demo CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_path, cert_path, key_path


async def _origin(request: web.Request) -> web.Response:
    """One handler plays every mirror: each kind of dependency gets the answer it proves by."""
    path = request.path
    if path.startswith("/v2/"):
        return web.Response(
            status=401,
            headers={
                "WWW-Authenticate": 'Bearer realm="https://registry.demo.example/token"',
                "Docker-Distribution-API-Version": "registry/2.0",
            },
        )
    if path.endswith("/simple/"):
        return web.Response(
            text="<html><body><a href='/simple/requests/'>requests</a></body></html>",
            content_type="text/html",
        )
    if path.endswith("InRelease"):
        return web.Response(text="Origin: Debian\nSuite: bookworm\n")
    return web.Response(text="ok\n")


async def _imds_token(request: web.Request) -> web.Response:
    if "X-aws-ec2-metadata-token-ttl-seconds" not in request.headers:
        return web.Response(status=400)
    return web.Response(text="demo-token")


async def _imds_get(request: web.Request) -> web.Response:
    if request.headers.get("X-aws-ec2-metadata-token") != "demo-token":
        return web.Response(status=401)
    return web.Response(text="i-0demo0000000000\n")


async def _syslog(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        await reader.read(65536)
    finally:
        writer.close()


async def _relay_to(
    target: tuple[str, int], reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """The stand-in NAT64 gateway: IPv6 in, IPv4 out to the embedded address's server."""
    try:
        up_reader, up_writer = await asyncio.open_connection(*target)
    except OSError:
        writer.close()
        return

    async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
        except (ConnectionError, OSError):
            pass  # the other side went away: the relay simply ends that direction
        finally:
            dst.close()

    await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


@dataclass
class DemoNetwork:
    """Local servers and the network service that maps documentation addresses to them."""

    config: Config
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="v6audit-demo-")))
    ports: dict[str, int] = field(default_factory=dict)
    _stack: AsyncExitStack = field(default_factory=AsyncExitStack)

    def endpoint_zones(self) -> list[dns.zone.Zone]:
        """One zone per dual-stack AWS endpoint, with the name botocore's rules derive."""
        zones = []
        for service in self.config.aws.services:
            for region in self.config.aws.regions:
                host = dualstack_endpoint(service, region).host
                if host:
                    zone = dns.zone.Zone(host + ".", relativize=False)
                    rdataset = zone.find_rdataset(host + ".", dns.rdatatype.AAAA, create=True)
                    rdataset.add(
                        dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.AAAA, AWS_ENDPOINTS),
                        300,
                    )
                    zones.append(zone)
        return zones

    async def _listen_http(
        self, name: str, app: web.Application, host: str, ssl_context: ssl.SSLContext | None = None
    ) -> int:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        self._stack.push_async_callback(runner.cleanup)
        site = web.TCPSite(runner, host, 0, ssl_context=ssl_context)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.ports[name] = port
        return port

    async def _listen_tcp(self, name: str, handler, host: str) -> int:
        server = await asyncio.start_server(handler, host, 0)
        self._stack.push_async_callback(server.wait_closed)
        self._stack.callback(server.close)
        port = server.sockets[0].getsockname()[1]
        self.ports[name] = port
        return port

    async def start(self) -> NetService:
        zone_path = Path(str(files("auditor.demo").joinpath("demo.example.zone")))
        endpoint_zones = self.endpoint_zones()
        resolver = ZoneResolver(
            [
                dns.zone.from_file(str(zone_path), origin="demo.example.", relativize=False),
                *endpoint_zones,
            ],
            dns64_prefix=DNS64_PREFIX,
            nameservers=(RESOLVER,),
            servers=NAME_SERVERS,
        )
        tls_names = [
            "pypi.mirror.demo.example",
            "api.payments.demo.example",
            "registry.demo.example",
            "apt.mirror.demo.example",
            *(z.origin.to_text().rstrip(".") for z in endpoint_zones),
        ]
        ca, cert, key = _pki(tls_names, self.workdir)
        server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_tls.load_cert_chain(cert, key)

        origin = web.Application()
        origin.router.add_route("*", "/{tail:.*}", _origin)
        imds = web.Application()
        imds.router.add_put("/latest/api/token", _imds_token)
        imds.router.add_get("/{tail:.*}", _imds_get)

        http6 = await self._listen_http("native-http", origin, "::1")
        https6 = await self._listen_http("native-https", origin, "::1", server_tls)
        http4 = await self._listen_http("ipv4-only-http", origin, "127.0.0.1")
        https4 = await self._listen_http("ipv4-only-https", origin, "127.0.0.1", server_tls)
        imds_port = await self._listen_http("imds", imds, "::1")
        syslog = await self._listen_tcp("syslog", _syslog, "::1")
        relay80 = await self._listen_tcp(
            "nat64-80", lambda r, w: _relay_to(("127.0.0.1", http4), r, w), "::1"
        )
        relay443 = await self._listen_tcp(
            "nat64-443", lambda r, w: _relay_to(("127.0.0.1", https4), r, w), "::1"
        )

        translated = str(
            embed(ipaddress.IPv6Network(DNS64_PREFIX), ipaddress.IPv4Address(IPV4_ONLY_MIRROR))
        )
        # The broken npm mirror still serves over IPv4 (its A record, reached through NAT64):
        # broken over IPv6, masked for dual-stack clients, not down.
        legacy = str(
            embed(ipaddress.IPv6Network(DNS64_PREFIX), ipaddress.IPv4Address(LEGACY_MIRROR_V4))
        )
        mapping = {
            (NATIVE, 80): ("::1", http6),
            (NATIVE, 443): ("::1", https6),
            (REGISTRY, 443): ("::1", https6),
            (OWN_API, 443): ("::1", https6),
            (AWS_ENDPOINTS, 443): ("::1", https6),
            (SYSLOG, 514): ("::1", syslog),
            (IMDS, 80): ("::1", imds_port),
            (translated, 80): ("::1", relay80),
            (translated, 443): ("::1", relay443),
            (legacy, 443): ("::1", relay443),
        }
        client_tls = ssl.create_default_context(cafile=str(ca))
        return NetService(
            self.config,
            resolver=resolver,
            connector=MappedConnector(mapping),
            ssl_context=client_tls,
            route=lambda: RouteResult("2001:db8::1", True, WORKLOAD_ADDRESS),
            ipv4_route=lambda: False,
            ec2=lambda: (True, "demo: the sample workload runs on EC2"),
            imds_address=IMDS,
        )

    async def aclose(self) -> None:
        await self._stack.aclose()
