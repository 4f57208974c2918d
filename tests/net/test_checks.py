"""The network checks end to end in-process, without root: a zone resolver (with DNS64), respx
for HTTP and loopback sockets behind the connector's address mapping."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import dns.zone
import httpx
import pytest
import respx

from auditor.config import AwsConfig, Config, Dependency
from auditor.demo.zone import ZoneResolver
from auditor.model import Severity, Status
from auditor.net.connect import MappedConnector
from auditor.net.routes import RouteResult

from .helpers import StubResolver, by_check, offline_service, run_net

ZONE = """
$ORIGIN lab.test.
$TTL 60
@ SOA ns1 hostmaster 1 3600 600 86400 60
@ NS ns1
@ NS ns2
@ NS ns3
ns1 AAAA 2001:db8:2::35
ns2 A 192.0.2.53
ns3 AAAA 2001:db8:2::36
native AAAA 2001:db8:2::80
native A 192.0.2.80
v4only A 192.0.2.80
alias CNAME alias2
alias2 CNAME v4only
broken AAAA 2001:db8:2::dead
reset AAAA 2001:db8:2::444
registry AAAA 2001:db8:2::5000
syslog AAAA 2001:db8:2::514
nodata TXT "no addresses"
"""
AWS_ZONE = """
$ORIGIN api.aws.
$TTL 60
@ SOA ns hostmaster 1 3600 600 86400 60
@ NS ns
ns AAAA 2001:db8:2::35
sqs.us-east-1 AAAA 2001:db8:2::a5
"""
PREFIX = "2001:db8:64::/96"


def zone_resolver(dns64: bool = True) -> ZoneResolver:
    zones = [
        dns.zone.from_text(ZONE, relativize=False),
        dns.zone.from_text(AWS_ZONE, relativize=False),
    ]
    return ZoneResolver(zones, dns64_prefix=PREFIX if dns64 else None, servers=["2001:db8:2::35"])


def dep(
    name: str,
    kind: str,
    url: str | None = None,
    address: str | None = None,
    category: str = "dependency",
) -> Dependency:
    return Dependency(
        name=name, kinds=(kind,), url=url, address=address, category=category, source="test.yaml:1"
    )


DEPS = (
    dep("PyPI", "pypi", "https://native.lab.test/simple/"),
    dep("yum", "yum", "http://v4only.lab.test/repodata/repomd.xml"),
    dep("alias", "https", "https://alias.lab.test/health"),
    dep("broken", "http", "http://broken.lab.test/"),
    dep("reset", "http", "http://reset.lab.test/"),
    dep("registry", "oci-registry", "https://registry.lab.test/"),
    dep("nodata", "https", "https://nodata.lab.test/"),
    dep("nx", "https", "https://missing.lab.test/"),
)


def mock_lab_http(mock: respx.MockRouter) -> None:
    mock.get("https://[2001:db8:2::80]/simple/").respond(200, html='<a href="/simple/x/">x</a>')
    mock.get("http://[2001:db8:64::c000:250]/repodata/repomd.xml").respond(
        200, text="<repomd></repomd>"
    )
    mock.get("https://[2001:db8:64::c000:250]/health").respond(200, text="ok")
    mock.get("http://[2001:db8:2::dead]/").mock(side_effect=httpx.ConnectError("refused"))
    mock.get("http://[2001:db8:2::444]/").mock(
        side_effect=httpx.RemoteProtocolError("Server disconnected without sending a response.")
    )
    mock.get("https://[2001:db8:2::5000]/v2/").respond(
        401, headers={"www-authenticate": 'Bearer realm="x"'}
    )


def scan(config: Config, only: list[str], resolver=None, **kw):
    service = offline_service(config, resolver or zone_resolver(), **kw)
    return asyncio.run(run_net(config, service, only))


def by_host(findings) -> dict:
    return {f.target.host or f.target.address: f for f in findings}


def test_dependencies_get_one_class_each_with_evidence() -> None:
    config = Config(dependencies=DEPS, timeout=1)
    with respx.mock(assert_all_called=True) as mock:
        mock_lab_http(mock)
        findings = scan(config, ["dep.reachable"])
    assert by_check(findings, "net.preflight")[0].status is Status.PASS
    got = {f.evidence["dependency"]: f for f in by_check(findings, "dep.reachable")}
    classes = {name: (f.status, f.evidence["class"]) for name, f in got.items()}
    assert classes == {
        "PyPI": (Status.PASS, "native"),
        "yum": (Status.WARN, "nat64"),
        "alias": (Status.WARN, "nat64"),
        "broken": (Status.FAIL, "broken"),
        "reset": (Status.FAIL, "broken"),
        "registry": (Status.PASS, "native"),
        "nodata": (Status.FAIL, "unreachable"),
        "nx": (Status.FAIL, "dns-error"),
    }
    pypi = got["PyPI"]
    assert (pypi.target.host, pypi.target.port, pypi.target.url) == (
        "native.lab.test",
        443,
        "https://native.lab.test/simple/",
    )
    assert pypi.target.address == ""  # the resolved address is evidence, not identity
    ev = pypi.evidence
    assert ev["nat64_prefix"] == PREFIX
    assert (ev["aaaa"], ev["a"], ev["address"]) == (
        ["2001:db8:2::80"],
        ["192.0.2.80"],
        "2001:db8:2::80",
    )
    assert ev["status_code"] == 200 and ev["answer"] == "HTTP 200 (PyPI simple index)"
    assert "dns" in ev["timings_ms"] and ev["kinds"] == ["pypi"]
    assert pypi.stage == 3 and pypi.severity is Severity.HIGH
    yum = got["yum"]
    assert (yum.stage, yum.is_blocking) == (4, True)
    assert yum.evidence["synthesized"] == ["2001:db8:64::c000:250"]
    assert "192.0.2.80" in yum.message
    alias = got["alias"]
    assert alias.evidence["cname_chain"] == ["alias2.lab.test", "v4only.lab.test"]
    broken = got["broken"]
    assert broken.severity is Severity.HIGH and broken.stage == 3
    assert "2001:db8:2::dead" in broken.message and broken.remediation
    assert "without an HTTP answer" in got["reset"].evidence["error"]
    assert got["registry"].evidence["status_code"] == 401
    assert got["nx"].evidence["rcode"] == "NXDOMAIN"
    # fingerprints are stable across runs
    with respx.mock() as mock:
        mock_lab_http(mock)
        again = {
            f.evidence["dependency"]: f.fingerprint
            for f in by_check(scan(config, ["dep.reachable"]), "dep.reachable")
        }
    assert again == {name: f.fingerprint for name, f in got.items()}


def test_servfail_and_timeout_are_errors_nxdomain_a_fail() -> None:
    stub = StubResolver(
        {
            ("ipv4only.arpa", "AAAA"): ("NOERROR", ["64:ff9b::c000:aa"]),
            ("lame.lab.test", "AAAA"): ("SERVFAIL", []),
            ("slow.lab.test", "AAAA"): (None, []),
            ("gone.lab.test", "AAAA"): ("NXDOMAIN", []),
        }
    )
    deps = (
        dep("lame", "https", "https://lame.lab.test/"),
        dep("slow", "https", "https://slow.lab.test/"),
        dep("gone", "https", "https://gone.lab.test/"),
    )
    findings = by_check(scan(Config(dependencies=deps), ["dep.reachable"], stub), "dep.reachable")
    got = {f.evidence["dependency"]: f for f in findings}
    assert {n: (f.status, f.evidence["class"], f.evidence["rcode"]) for n, f in got.items()} == {
        "lame": (Status.ERROR, "dns-error", "SERVFAIL"),
        "slow": (Status.ERROR, "dns-error", None),
        "gone": (Status.FAIL, "dns-error", "NXDOMAIN"),
    }
    assert got["slow"].evidence["error"].startswith("timeout")
    assert got["lame"].evidence["nat64_prefix"] == "64:ff9b::/96"  # well-known prefix found


@contextlib.asynccontextmanager
async def listener(handler):
    server = await asyncio.start_server(handler, "::1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


async def _ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
        await writer.drain()
    writer.close()


async def _silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        await asyncio.sleep(20)
    writer.close()


class _Served:
    """Counts answered exchanges, and how many were answered when the silent one gave up."""

    def __init__(self) -> None:
        self.count = 0
        self.when_hole_closed: int | None = None

    async def ok(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _ok(reader, writer)
        self.count += 1

    async def silent(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            await reader.read()  # until the prober gives up and closes
        self.when_hole_closed = self.count
        writer.close()


def test_a_black_holed_endpoint_costs_the_timeout_and_stalls_nothing() -> None:
    names = [f"n{i}" for i in range(40)]
    zone = "\n".join(
        [
            "$ORIGIN many.test.",
            "$TTL 60",
            "@ SOA ns h 1 2 3 4 5",
            "@ NS ns",
            "hole AAAA 2001:db8:3::1",
            "syslog AAAA 2001:db8:2::514",
        ]
        + [f"{n} AAAA 2001:db8:2::80" for n in names]
    )
    resolver = ZoneResolver([dns.zone.from_text(zone, relativize=False)])
    deps = tuple(dep(n, "http", f"http://{n}.many.test/") for n in names)
    deps += (
        dep("hole", "http", "http://hole.many.test/"),
        dep("syslog", "syslog-tcp", address="syslog.many.test:514", category="log_shipper"),
    )

    served = _Served()

    async def main() -> list:
        async with listener(served.ok) as ok_port, listener(served.silent) as silent_port:
            connector = MappedConnector(
                {
                    ("2001:db8:2::80", 80): ("::1", ok_port),
                    ("2001:db8:2::514", 514): ("::1", ok_port),
                    ("2001:db8:3::1", 80): ("::1", silent_port),
                }
            )
            config = Config(
                dependencies=deps[:-1], log_shippers=deps[-1:], timeout=1.5, concurrency=8
            )
            service = offline_service(config, resolver, connector=connector)
            from .helpers import run_net

            return await run_net(config, service, ["dep.reachable", "log.reachable"])

    findings = asyncio.run(main())
    deps_found = by_check(findings, "dep.reachable")
    assert len(deps_found) == 41
    hole = next(f for f in deps_found if f.evidence["dependency"] == "hole")
    assert (hole.status, hole.evidence["class"]) == (Status.FAIL, "broken")
    assert hole.evidence["attempts"][0]["error_kind"] == "timeout"
    assert all(f.status is Status.PASS for f in deps_found if f is not hole)
    assert by_check(findings, "log.reachable")[0].evidence["answer"] == "TCP connection accepted"
    # The hole costs its timeout, in parallel with the rest: every other exchange was answered
    # before the prober gave up on it.
    assert hole.evidence["attempts"][0]["timings_ms"]["first_byte"] >= 1500 * 0.9
    assert served.when_hole_closed == 41


def test_own_names_aaaa_reachable_and_nameservers() -> None:
    config = Config(
        dns_names=(
            "native.lab.test",
            "v4only.lab.test",
            "broken.lab.test",
            "nodata.lab.test",
            "missing.lab.test",
        ),
        dns_ports=(443,),
    )
    with respx.mock() as mock:
        mock.get("https://[2001:db8:2::80]/").respond(200)
        mock.get("https://[2001:db8:64::c000:250]/").respond(200)
        mock.get("https://[2001:db8:2::dead]/").mock(side_effect=httpx.ConnectError("refused"))
        findings = scan(config, ["dns.*"])
    aaaa = {f.target.host: (f.status, f.evidence["class"]) for f in by_check(findings, "dns.aaaa")}
    assert aaaa == {
        "native.lab.test": (Status.PASS, "native"),
        "v4only.lab.test": (Status.FAIL, "nat64"),  # a synthesized AAAA is not the name's own
        "broken.lab.test": (Status.PASS, "native"),  # it has one: reachability is another check
        "nodata.lab.test": (Status.FAIL, "unreachable"),
        "missing.lab.test": (Status.FAIL, "dns-error"),
    }
    reach = {f.target.host: f for f in by_check(findings, "dns.reachable")}
    assert {h: (f.status, f.evidence["class"]) for h, f in reach.items()} == {
        "native.lab.test": (Status.PASS, "native"),
        "v4only.lab.test": (Status.WARN, "nat64"),
        "broken.lab.test": (Status.FAIL, "broken"),
        "nodata.lab.test": (Status.FAIL, "unreachable"),
        "missing.lab.test": (Status.FAIL, "dns-error"),
    }
    assert reach["broken.lab.test"].target.port == 443
    assert reach["broken.lab.test"].severity is Severity.HIGH
    assert reach["v4only.lab.test"].stage == 4
    ns = {f.target.host: f for f in by_check(findings, "dns.nameservers")}
    assert {h: (f.status, f.evidence["class"]) for h, f in ns.items()} == {
        "ns1.lab.test": (Status.PASS, "native"),
        "ns2.lab.test": (Status.FAIL, "unreachable"),
        "ns3.lab.test": (Status.FAIL, "broken"),
    }
    assert ns["ns1.lab.test"].target.path == "lab.test"
    assert "synthesized by DNS64" in ns["ns2.lab.test"].message
    nat64 = by_check(findings, "dns.nat64")[0]
    assert nat64.status is Status.PASS and nat64.evidence["nat64_prefix"] == PREFIX
    assert nat64.evidence["source"] == "rfc7050"


@pytest.mark.parametrize(
    ("dns64", "ipv4", "configured", "status"),
    [
        (False, False, "auto", Status.FAIL),  # IPv6-only host without DNS64
        (False, True, "auto", Status.INFO),  # dual-stack host: fine for now
        (True, True, "64:ff9b::/96", Status.WARN),  # configured prefix disagrees
        (True, True, PREFIX, Status.PASS),
    ],
)
def test_dns_nat64_statuses(dns64: bool, ipv4: bool, configured: str, status: Status) -> None:
    config = Config(nat64_prefix=configured)
    findings = scan(config, ["dns.nat64"], zone_resolver(dns64), ipv4_route=lambda: ipv4)
    got = by_check(findings, "dns.nat64")[0]
    assert got.status is status, got.message
    assert got.evidence["ipv4_default_route"] is ipv4


def test_without_ipv6_every_network_check_is_an_error() -> None:
    config = Config(dependencies=DEPS[:2], dns_names=("native.lab.test",))
    down = RouteResult("2001:db8::1", False, error="ENETUNREACH: Network is unreachable")
    findings = scan(
        config, ["dns.*", "dep.*", "log.*", "aws.endpoint", "imds.ipv6"], route=lambda: down
    )
    assert by_check(findings, "net.preflight")[0].status is Status.ERROR
    assert {f.status for f in findings} == {Status.ERROR}
    assert len(findings) == 10


def test_preflight_ignores_ipv4_resolvers(tmp_path: Path) -> None:
    conf = tmp_path / "resolv.conf"
    conf.write_text("nameserver 192.0.2.53\nnameserver 198.51.100.53\n")
    service = offline_service(Config(), None, resolv_conf=conf)
    findings = asyncio.run(run_net(Config(), service, ["net.preflight"]))
    got = findings[0]
    assert got.status is Status.ERROR
    assert "192.0.2.53, 198.51.100.53" in got.message
    assert got.evidence["ignored_ipv4_nameservers"] == ["192.0.2.53", "198.51.100.53"]
    assert got.evidence["nameservers"] == []


def test_aws_endpoint_and_imds() -> None:
    config = Config(
        aws=AwsConfig(regions=("us-east-1",), services=("sqs", "sts", "monitoring")), imds=True
    )
    with respx.mock() as mock:
        mock.get("https://[2001:db8:2::a5]/").respond(404, text="<UnknownOperationException/>")
        mock.put("http://[fd00:ec2::254]/latest/api/token").respond(200, text="tok")
        mock.get("http://[fd00:ec2::254]/latest/meta-data/instance-id").respond(200, text="i-1")
        findings = scan(config, ["aws.endpoint", "imds.ipv6"])
    got = {f.resource.id: f for f in by_check(findings, "aws.endpoint")}
    sqs = got["sqs"]
    assert (sqs.status, sqs.evidence["class"], sqs.target.url) == (
        Status.PASS,
        "native",
        "https://sqs.us-east-1.api.aws",
    )
    assert sqs.resource.region == "us-east-1" and sqs.evidence["status_code"] == 404
    assert (got["sts"].status, got["sts"].evidence["class"]) == (Status.FAIL, "dns-error")
    assert got["monitoring"].status is Status.ERROR and "monitoring" in got["monitoring"].message
    imds = by_check(findings, "imds.ipv6")[0]
    assert (imds.status, imds.evidence["class"]) == (Status.PASS, "native")
    assert imds.target.address == "fd00:ec2::254"


def test_imds_auto_skips_off_ec2_with_the_reason() -> None:
    findings = scan(Config(imds="auto"), ["imds.ipv6"], ec2=lambda: (False, "sys_vendor is 'QEMU'"))
    got = by_check(findings, "imds.ipv6")[0]
    assert got.status is Status.SKIP and "sys_vendor is 'QEMU'" in got.message


def test_address_literals_need_no_dns_and_ipv4_ones_are_unreachable() -> None:
    deps = (
        dep("v6 literal", "https", "https://[2001:db8:2::80]:8443/health"),
        dep("v4 literal", "http", "http://192.0.2.80/health"),
        dep("v4 syslog", "syslog-tcp", address="192.0.2.80:514"),
    )
    with respx.mock(assert_all_called=True) as mock:
        route = mock.get("https://[2001:db8:2::80]:8443/health").respond(200)
        findings = by_check(scan(Config(dependencies=deps), ["dep.reachable"]), "dep.reachable")
    got = {f.evidence["dependency"]: f for f in findings}
    v6 = got["v6 literal"]
    assert (v6.status, v6.evidence["class"], v6.evidence["literal"]) == (
        Status.PASS,
        "native",
        "ipv6",
    )
    assert route.calls.last.request.headers["host"] == "[2001:db8:2::80]:8443"
    assert "sni_hostname" not in route.calls.last.request.extensions
    for name in ("v4 literal", "v4 syslog"):
        f = got[name]
        assert (f.status, f.evidence["class"], f.evidence["literal"]) == (
            Status.FAIL,
            "unreachable",
            "ipv4",
        )
        assert "CLAT" in f.message and f.evidence["attempts"] == []
    assert got["v4 syslog"].target.address == "192.0.2.80"
