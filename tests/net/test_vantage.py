"""The dual-stack vantage in-process: real listeners on loopback, IPv6 on [::1] and IPv4 on
127.0.0.1, behind the connector's address mapping; each target probed over both families."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from pathlib import Path

import pytest

from auditor.config import Config, Dependency
from auditor.model import Status
from auditor.net.connect import MappedConnector
from auditor.result import build_result, validate_result
from auditor.scoring import axis_scores

from .helpers import DnsServer, StubResolver, answer, by_check, offline_service, run_net


async def _http(status: int, body: bytes, reader, writer) -> None:
    with contextlib.suppress(Exception):
        await reader.readuntil(b"\r\n\r\n")
        head = f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        writer.write(head.encode() + body)
        await writer.drain()
    writer.close()


def _closed_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


PAGE = b"<html>" + b"the package index " * 50 + b"</html>"
DENIED = b"<html>403 Forbidden</html>"


def _dep(name: str) -> Dependency:
    return Dependency(name=name, kinds=("https",), url=f"http://{name}.lab.test/", source="t:1")


RECORDS = {
    # name: (AAAA, A)
    "same": ("2001:db8:2::80", "192.0.2.80"),
    "differs": ("2001:db8:2::403", "192.0.2.80"),
    "masked": ("2001:db8:2::dead", "192.0.2.80"),
    "down": ("2001:db8:2::dead", "192.0.2.99"),
    "v4only": (None, "192.0.2.80"),
}


def test_dual_stack_vantage_classifies_by_comparing_both_families(tmp_path: Path) -> None:
    async def main() -> list:
        servers = []
        ports = {}
        for key, host, status, body in (
            ("ok6", "::1", 200, PAGE),
            ("ok4", "127.0.0.1", 200, PAGE),
            ("denied6", "::1", 403, DENIED),
        ):
            server = await asyncio.start_server(
                lambda r, w, s=status, b=body: _http(s, b, r, w), host, 0
            )
            servers.append(server)
            ports[key] = server.sockets[0].getsockname()[1]
        connector = MappedConnector(
            {
                ("2001:db8:2::80", 80): ("::1", ports["ok6"]),
                ("2001:db8:2::403", 80): ("::1", ports["denied6"]),
                ("2001:db8:2::dead", 80): ("::1", _closed_port("::1")),
                ("192.0.2.80", 80): ("127.0.0.1", ports["ok4"]),
                ("192.0.2.99", 80): ("127.0.0.1", _closed_port("127.0.0.1")),
            }
        )
        table = {}
        for name, (aaaa, a) in RECORDS.items():
            table[(f"{name}.lab.test", "AAAA")] = ("NOERROR", [aaaa] if aaaa else [])
            table[(f"{name}.lab.test", "A")] = ("NOERROR", [a] if a else [])
        config = Config(dependencies=tuple(_dep(n) for n in RECORDS), timeout=1)
        service = offline_service(
            config, StubResolver(table), connector=connector, ipv4_route=lambda: True
        )
        try:
            return await run_net(config, service, ["dep.reachable"])
        finally:
            for server in servers:
                server.close()

    findings = asyncio.run(main())
    pre = by_check(findings, "net.preflight")[0]
    assert pre.status is Status.PASS and pre.evidence["vantage"] == "dual-stack"
    got = {f.evidence["dependency"]: f for f in by_check(findings, "dep.reachable")}
    classes = {name: (str(f.status), f.evidence["class"]) for name, f in got.items()}
    assert classes == {
        "same": ("pass", "native"),
        "differs": ("fail", "differs"),
        "masked": ("fail", "broken"),
        "down": ("error", "down"),
        "v4only": ("warn", "ipv4-only"),
    }
    assert got["masked"].evidence["masked"] is True
    assert got["differs"].evidence["differences"][0] == {
        "aspect": "status",
        "ipv6": 403,
        "ipv4": 200,
    }
    assert got["differs"].stage == 2
    for f in got.values():
        four = f.evidence["ipv4"]
        assert four is not None and four["via"] == "ipv4"
        if four["address"]:
            assert all(a["family"] == "ipv4" for a in four["attempts"])
    assert got["same"].evidence["ipv4"]["outcome"] == "ok"
    assert got["down"].evidence["ipv4"]["error_kind"] == "refused"
    assert "not an IPv6 finding" in got["down"].message
    # down never counts against readiness; ipv4-only counts like nat64 (half)
    result = build_result(
        workload="t", findings=findings, checks=[], started_at="x", finished_at="y"
    )
    assert result["vantage"] == "dual-stack"
    from auditor.registry import load_checks

    metas = {c.meta.id: c.meta for c in load_checks()}
    scores = axis_scores(list(got.values()), metas)
    # pass, fail, fail, (down: not counted), ipv4-only: (1 + 0.5) / 4
    assert scores["families"]["dependencies"] == round(100 * 1.5 / 4, 1)


def test_ipv6_only_vantage_keeps_its_classes_and_gives_no_ipv4_side() -> None:
    table = {("v4only.lab.test", "A"): ("NOERROR", ["192.0.2.80"])}
    config = Config(dependencies=(_dep("v4only"),), timeout=1)
    service = offline_service(config, StubResolver(table), ipv4_route=lambda: False)
    findings = asyncio.run(run_net(config, service, ["dep.reachable"]))
    assert by_check(findings, "net.preflight")[0].evidence["vantage"] == "ipv6-only"
    got = by_check(findings, "dep.reachable")[0]
    assert (got.evidence["class"], got.evidence["ipv4"]) == ("unreachable", None)


def test_dual_stack_preflight_uses_an_ipv4_system_resolver_as_it_is(tmp_path: Path) -> None:
    async def main() -> list:
        server = await DnsServer(
            lambda q, _t: answer(q, "ipv4only.arpa. 60 IN A 192.0.0.170"), host="127.0.0.1"
        ).start()
        conf = tmp_path / "resolv.conf"
        conf.write_text("nameserver 127.0.0.1\n")
        connector = MappedConnector({("127.0.0.1", 53): ("127.0.0.1", server.port)})
        config = Config(timeout=1)
        service = offline_service(
            config, None, resolv_conf=conf, connector=connector, ipv4_route=lambda: True
        )
        try:
            return await run_net(config, service, ["net.preflight", "dns.resolver_ipv6"])
        finally:
            await server.stop()

    findings = asyncio.run(main())
    pre = by_check(findings, "net.preflight")[0]
    assert pre.status is Status.PASS, pre.message
    assert pre.evidence["vantage"] == "dual-stack"
    assert pre.evidence["resolver_family"] == "ipv4"
    assert pre.evidence["resolvers"][0]["family"] == "ipv4"
    assert "answers over IPv4" in pre.message
    v6 = by_check(findings, "dns.resolver_ipv6")[0]
    assert v6.status is Status.WARN and "No IPv6 resolver" in v6.message
    validate_result(
        build_result(workload="t", findings=findings, checks=[], started_at="x", finished_at="y")
        | {"started_at": "2026-01-01T00:00:00Z", "finished_at": "2026-01-01T00:00:01Z"}
    )


def test_resolver_ipv6_asks_the_vpc_resolver_on_ec2() -> None:
    stub = StubResolver({("ipv4only.arpa", "AAAA"): ("NOERROR", [])})
    stub.nameservers = ("192.0.2.2",)  # the VPC's IPv4 resolver, as resolv.conf lists it
    asked: list[str] = []

    async def ask(server, name, rdtype, **kw):
        asked.append(server)
        return await StubResolver.query(stub, name, rdtype)

    stub.ask = ask  # type: ignore[method-assign]
    config = Config(timeout=1)
    service = offline_service(config, stub, ec2=lambda: (True, "sys_vendor is Amazon EC2"))
    findings = asyncio.run(run_net(config, service, ["dns.resolver_ipv6"]))
    got = by_check(findings, "dns.resolver_ipv6")[0]
    assert got.status is Status.PASS, got.message
    assert "fd00:ec2::253" in asked and got.evidence["candidates"] == ["fd00:ec2::253"]


async def _imds(reader, writer) -> None:
    """A minimal IMDSv2: a token for the PUT, the instance id for a GET that carries it."""
    with contextlib.suppress(Exception):
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        if head.startswith("PUT /latest/api/token"):
            body = b"tok-123"
        elif "x-aws-ec2-metadata-token: tok-123" in head.lower():
            body = b"i-0abc"
        else:
            body = b""
        status = "200 OK" if body else "401 Unauthorized"
        writer.write(f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
        await writer.drain()
    writer.close()


@pytest.mark.parametrize(
    ("v6", "v4", "status", "klass"),
    [
        (True, True, Status.PASS, "native"),
        (False, True, Status.FAIL, "unreachable"),  # IPv6 endpoint off, IPv4 IMDS answers
        (False, False, Status.ERROR, "down"),  # IMDS off altogether: not an IPv6 finding
    ],
)
def test_imds_compared_with_ipv4_imds_on_a_dual_stack_vantage(
    v6: bool, v4: bool, status: Status, klass: str
) -> None:
    async def main() -> list:
        six = await asyncio.start_server(_imds, "::1", 0)
        four = await asyncio.start_server(_imds, "127.0.0.1", 0)
        ports = {
            "::1": six.sockets[0].getsockname()[1] if v6 else _closed_port("::1"),
            "127.0.0.1": four.sockets[0].getsockname()[1] if v4 else _closed_port("127.0.0.1"),
        }
        connector = MappedConnector(
            {
                ("fd00:ec2::254", 80): ("::1", ports["::1"]),
                ("169.254.169.254", 80): ("127.0.0.1", ports["127.0.0.1"]),
            }
        )
        config = Config(imds=True, timeout=1)
        service = offline_service(
            config, StubResolver({}), connector=connector, ipv4_route=lambda: True
        )
        try:
            return await run_net(config, service, ["imds.ipv6"])
        finally:
            six.close()
            four.close()

    got = by_check(asyncio.run(main()), "imds.ipv6")[0]
    assert (got.status, got.evidence["class"]) == (status, klass)
    side = got.evidence["ipv4"]
    assert side["via"] == "ipv4" and side["address"] == "169.254.169.254"
    assert side["outcome"] == ("ok" if v4 else "failed")
    assert all(a["family"] == "ipv4" for a in side["attempts"])
    assert "tok-123" not in str(got.evidence)  # the IPv4 token never reaches a report either
    if klass == "unreachable":
        assert "answers over IPv4 at 169.254.169.254: its IPv6 endpoint is off" in got.message
    if klass == "down":
        assert got.blocking is False and "not an IPv6 finding" in got.message


def test_own_names_are_compared_with_ipv4_on_a_dual_stack_vantage() -> None:
    """dns.reachable probes each own name's A records over IPv4 too, and classifies with the
    comparison every network check uses (an own name without AAAA stays `unreachable`)."""

    async def main() -> list:
        ok6 = await asyncio.start_server(lambda r, w: _http(200, PAGE, r, w), "::1", 0)
        ok4 = await asyncio.start_server(lambda r, w: _http(200, PAGE, r, w), "127.0.0.1", 0)
        denied6 = await asyncio.start_server(lambda r, w: _http(403, DENIED, r, w), "::1", 0)
        port = {s: s.sockets[0].getsockname()[1] for s in (ok6, ok4, denied6)}
        connector = MappedConnector(
            {
                ("2001:db8:2::80", 80): ("::1", port[ok6]),
                ("2001:db8:2::403", 80): ("::1", port[denied6]),
                ("2001:db8:2::dead", 80): ("::1", _closed_port("::1")),
                ("192.0.2.80", 80): ("127.0.0.1", port[ok4]),
                ("192.0.2.99", 80): ("127.0.0.1", _closed_port("127.0.0.1")),
            }
        )
        table = {}
        for name, (aaaa, a) in RECORDS.items():
            table[(f"{name}.lab.test", "AAAA")] = ("NOERROR", [aaaa] if aaaa else [])
            table[(f"{name}.lab.test", "A")] = ("NOERROR", [a] if a else [])
        config = Config(
            dns_names=tuple(f"{n}.lab.test" for n in RECORDS), dns_ports=(80,), timeout=1
        )
        service = offline_service(
            config, StubResolver(table), connector=connector, ipv4_route=lambda: True
        )
        try:
            return await run_net(config, service, ["dns.reachable"])
        finally:
            for server in (ok6, ok4, denied6):
                server.close()

    got = {f.target.host: f for f in by_check(asyncio.run(main()), "dns.reachable")}
    classes = {host: (str(f.status), f.evidence["class"]) for host, f in got.items()}
    assert classes == {
        "same.lab.test": ("pass", "native"),
        "differs.lab.test": ("fail", "differs"),
        "masked.lab.test": ("fail", "broken"),
        "down.lab.test": ("error", "down"),
        "v4only.lab.test": ("fail", "unreachable"),  # the owner must publish an AAAA
    }
    assert got["masked.lab.test"].evidence["masked"] is True
    assert "over IPv4 192.0.2.80 answers" in got["masked.lab.test"].message
    assert got["down.lab.test"].blocking is False
    assert "not an IPv6 finding" in got["down.lab.test"].message
    assert got["differs.lab.test"].stage == 2
    for f in got.values():
        side = f.evidence["ipv4"]
        assert side["via"] == "ipv4"
        assert all(a["family"] == "ipv4" for a in side["attempts"])
    assert got["v4only.lab.test"].evidence["ipv4"]["outcome"] == "ok"
    assert got["same.lab.test"].evidence["ipv4"]["address"] == "192.0.2.80"
