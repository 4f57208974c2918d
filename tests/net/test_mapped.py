"""IPv4-mapped addresses (::ffff:a.b.c.d) are IPv4 on the wire: they never prove IPv6.

Each test puts a real server on IPv4 loopback (127.0.0.1) and hands the auditor the mapped
form of its address; an AF_INET6 socket would reach it over IPv4, which must not count.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from auditor.config import Config, Dependency, load_config
from auditor.errors import ConfigError
from auditor.model import Status
from auditor.net import classify as cls
from auditor.net.addresses import is_real_ipv6, real_ipv6, wire_ipv4
from auditor.net.connect import Connector, NotIPv6Error, ipv6_literal
from auditor.net.nat64 import prefixes_from_answers, translation_prefixes
from auditor.net.service import literal_lookup

from .helpers import DnsServer, StubResolver, answer, by_check, offline_service, run_net

MAPPED_LOOPBACK = "::ffff:127.0.0.1"


@pytest.mark.parametrize(
    ("text", "real"),
    [
        ("2001:db8::1", True),
        ("[2001:db8::1]", True),
        ("fe80::1%eth0", True),
        ("64:ff9b::c000:250", True),  # NAT64: IPv6 to a translator
        ("::ffff:192.0.2.1", False),
        ("::FFFF:c000:201", False),
        ("[::ffff:127.0.0.1]", False),
        ("192.0.2.1", False),
        ("example.test", False),
    ],
)
def test_real_ipv6(text: str, real: bool) -> None:
    assert is_real_ipv6(text) is real
    assert (real_ipv6(text) is not None) is real


def test_wire_ipv4_of_mapped_and_plain_addresses() -> None:
    assert str(wire_ipv4("::ffff:192.0.2.1")) == "192.0.2.1"
    assert str(wire_ipv4("192.0.2.1")) == "192.0.2.1"
    assert wire_ipv4("2001:db8::1") is None


def test_connector_refuses_mapped_addresses() -> None:
    with pytest.raises(NotIPv6Error, match="IPv4-mapped"):
        ipv6_literal("::ffff:192.0.2.1")
    with pytest.raises(NotIPv6Error):
        asyncio.run(Connector().open_socket(MAPPED_LOOPBACK, 9, 1))


def test_mapped_aaaa_data_is_neither_real_nor_synthesized() -> None:
    prefixes = translation_prefixes(["2001:db8:64::/96"])
    split = cls.split_addresses(["::ffff:192.0.2.80"], prefixes)
    assert (split.real, split.synthesized, split.mapped) == ((), (), ("::ffff:192.0.2.80",))
    got = cls.classify(rcode="NOERROR", aaaa=["::ffff:192.0.2.80"], prefixes=prefixes, proven=True)
    assert got == cls.UNREACHABLE


def test_mapped_ipv4only_arpa_answer_is_no_nat64_prefix() -> None:
    assert prefixes_from_answers(["::ffff:192.0.0.170", "::ffff:192.0.0.171"]) == []


def test_mapped_literal_is_an_ipv4_literal() -> None:
    lookup = literal_lookup("[::ffff:192.0.2.80]")
    assert lookup is not None and lookup.aaaa.records == ()
    assert lookup.a is not None and lookup.a.records == ("192.0.2.80",)


def test_config_rejects_mapped_nameservers_and_prefixes(tmp_path: Path) -> None:
    path = tmp_path / "v6audit.yaml"
    path.write_text("resolver:\n  nameservers: ['::ffff:192.0.2.53']\n")
    with pytest.raises(ConfigError, match="IPv4-mapped") as info:
        load_config(path)
    assert (info.value.line, info.value.key) == (2, "resolver.nameservers[0]")
    path.write_text("nat64_prefix: '::ffff:0:0/96'\n")
    with pytest.raises(ConfigError, match="IPv4-mapped"):
        load_config(path)


@contextlib.asynccontextmanager
async def ipv4_http_server():
    """An HTTP server on 127.0.0.1 only: reachable over IPv4, never over IPv6."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


def _dep(name: str, kind: str, *, url: str | None = None, address: str | None = None) -> Dependency:
    return Dependency(name=name, kinds=(kind,), url=url, address=address, source="test.yaml:1")


def test_ipv4_only_server_behind_mapped_address_or_aaaa_never_passes() -> None:
    async def main() -> list:
        async with ipv4_http_server() as port:
            deps = (
                _dep("literal", "tcp", address=f"[{MAPPED_LOOPBACK}]:{port}"),
                _dep("aaaa", "http", url=f"http://v4.lab.test:{port}/"),
            )
            config = Config(dependencies=deps, timeout=1)
            resolver = StubResolver(
                {
                    ("v4.lab.test", "AAAA"): ("NOERROR", [MAPPED_LOOPBACK]),
                    ("v4.lab.test", "A"): ("NOERROR", ["127.0.0.1"]),
                }
            )
            service = offline_service(config, resolver)
            return await run_net(config, service, ["dep.reachable"])

    got = {f.evidence["dependency"]: f for f in by_check(asyncio.run(main()), "dep.reachable")}
    literal, aaaa = got["literal"], got["aaaa"]
    assert (literal.status, literal.evidence["class"], literal.evidence["literal"]) == (
        Status.FAIL,
        cls.UNREACHABLE,
        "ipv4",
    )
    assert (aaaa.status, aaaa.evidence["class"]) == (Status.FAIL, cls.UNREACHABLE)
    assert aaaa.evidence["ipv4_mapped"] == [MAPPED_LOOPBACK]
    assert aaaa.evidence["attempts"] == []
    assert "IPv4-mapped" in aaaa.message


def test_own_name_with_mapped_aaaa_has_no_aaaa() -> None:
    config = Config(dns_names=("v4.lab.test",))
    resolver = StubResolver({("v4.lab.test", "AAAA"): ("NOERROR", ["::ffff:192.0.2.80"])})
    findings = asyncio.run(run_net(config, offline_service(config, resolver), ["dns.aaaa"]))
    got = by_check(findings, "dns.aaaa")[0]
    assert (got.status, got.evidence["class"]) == (Status.FAIL, cls.UNREACHABLE)
    assert "IPv4-mapped" in got.message


def test_preflight_refuses_a_resolver_reached_through_a_mapped_address(tmp_path: Path) -> None:
    async def main() -> list:
        server = await DnsServer(
            lambda q, _t: answer(q, "ipv4only.arpa. 60 IN AAAA 64:ff9b::c000:aa"), host="127.0.0.1"
        ).start()
        try:
            conf = tmp_path / "resolv.conf"
            conf.write_text(f"nameserver {MAPPED_LOOPBACK}\n")
            config = Config(timeout=1)
            service = offline_service(config, None, resolv_conf=conf)
            service.resolver.port = server.port  # type: ignore[attr-defined]
            return await run_net(config, service, ["net.preflight"])
        finally:
            await server.stop()

    got = asyncio.run(main())[0]
    assert got.status is Status.ERROR, got.message
    assert got.evidence["nameservers"] == []
    assert got.evidence["ignored_ipv4_nameservers"] == [MAPPED_LOOPBACK]
