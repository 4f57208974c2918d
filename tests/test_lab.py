"""The network lab itself, checked with real tools from inside its namespaces.

If these fail, every lab-based test of the product is suspect: fix the lab first.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.lab import Lab, LabError
from tests.lab.netlab import ADDRESSES

pytest_plugins = ["tests.lab.fixtures"]
pytestmark = pytest.mark.lab

NAT64_V4ONLY = "2001:db8:64::c000:250"


def dig(lab: Lab, ns: str, *args: str, server: str | None = None) -> str:
    argv = ["dig", "+time=2", "+tries=2", *args]
    if server is not None:
        argv.append(f"@{server}")
    got = lab.run(ns, argv, timeout=30)
    assert got.returncode == 0, f"{argv}: {got.stderr}{got.stdout}"
    return got.stdout


def addresses(lab: Lab, rtype: str, name: str, server: str | None = None) -> set[str]:
    """The addresses (not the CNAMEs) that `dig +short` prints for name."""
    out = dig(lab, lab.ws, "+short", rtype, name, server=server)
    return {line for line in out.split() if not line.endswith(".")}


def status(lab: Lab, rtype: str, name: str, server: str | None = None) -> str:
    out = dig(lab, lab.ws, "+noall", "+comments", rtype, name, server=server)
    for line in out.splitlines():
        if "status:" in line:
            return line.split("status:")[1].split(",")[0].strip()
    raise AssertionError(f"no status in dig output: {out}")


def flags(dig_output: str) -> set[str]:
    for line in dig_output.splitlines():
        if line.startswith(";; flags:"):
            return set(line.split(":")[1].split(";")[0].split())
    raise AssertionError(f"no flags in dig output: {dig_output}")


def curl(lab: Lab, ns: str, url: str, *extra: str, timeout: float = 30) -> tuple[int, str, str]:
    """(curl exit code, HTTP status, remote ip) for one request."""
    argv = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{remote_ip}", *extra, url]
    got = lab.run(ns, argv, timeout=timeout)
    code, _, remote = got.stdout.partition(" ")
    return got.returncode, code, remote


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2 :].split()[0] not in ("Z", "X")


def children_of(pids: list[int]) -> list[int]:
    """Live descendants of pids."""
    parent_of: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parent_of[int(entry)] = int(stat[stat.rfind(")") + 2 :].split()[1])
    found: list[int] = []
    frontier = set(pids)
    while frontier:
        new = {p for p, parent in parent_of.items() if parent in frontier}
        found += sorted(new)
        frontier = new
    return found


def netns_list() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    return {line.split()[0] for line in out.stdout.splitlines() if line.strip()}


# ------------------------------------------------------------------------- topology


def test_workload_namespace_is_ipv6_only(lab: Lab) -> None:
    v4 = lab.run(lab.ws, ["ip", "-4", "-o", "addr", "show"]).stdout
    assert [line.split()[3] for line in v4.splitlines()] == ["127.0.0.1/8"]
    assert lab.run(lab.ws, ["ip", "-4", "route", "show"]).stdout.strip() == ""
    v6_default = lab.run(lab.ws, ["ip", "-6", "route", "show", "default"]).stdout
    assert "via 2001:db8:1::1" in v6_default
    resolv = lab.run(lab.ws, ["cat", "/etc/resolv.conf"]).stdout
    assert resolv.split() == ["nameserver", lab.resolver]


def test_namespaces_are_distinct_and_named_per_lab(lab: Lab) -> None:
    assert len({lab.ws, lab.net, lab.nov6}) == 3
    assert {lab.ws, lab.net, lab.nov6} <= netns_list()
    assert all(Path("/etc/netns", ns, "resolv.conf").exists() for ns in (lab.ws, lab.nov6))


# ------------------------------------------------------------------------- DNS


def test_native_name_has_its_real_aaaa(lab: Lab) -> None:
    assert addresses(lab, "AAAA", lab.names["native"]) == {"2001:db8:2::80"}
    assert addresses(lab, "A", lab.names["native"]) == {"192.0.2.80"}


def test_dns64_synthesizes_aaaa_for_ipv4_only_name(lab: Lab) -> None:
    assert addresses(lab, "AAAA", lab.names["v4only"]) == {NAT64_V4ONLY}


def test_dns64_follows_a_cname_chain(lab: Lab) -> None:
    out = dig(lab, lab.ws, "+short", "AAAA", lab.names["alias"])
    assert out.split() == ["alias2.lab.test.", "v4only.lab.test.", NAT64_V4ONLY]


def test_rfc7050_ipv4only_arpa_reveals_the_nat64_prefix(lab: Lab) -> None:
    assert lab.nat64_prefix == "2001:db8:64::/96"
    assert addresses(lab, "AAAA", "ipv4only.arpa") == {
        "2001:db8:64::c000:aa",
        "2001:db8:64::c000:ab",
    }


def test_plain_resolver_does_not_synthesize(lab: Lab) -> None:
    plain = lab.resolver_plain
    assert addresses(lab, "AAAA", lab.names["v4only"], server=plain) == set()
    assert addresses(lab, "A", lab.names["v4only"], server=plain) == {"192.0.2.80"}
    assert addresses(lab, "AAAA", lab.names["native"], server=plain) == {"2001:db8:2::80"}
    assert addresses(lab, "AAAA", "ipv4only.arpa", server=plain) == set()


def test_published_aaaa_of_the_failure_cases(lab: Lab) -> None:
    assert addresses(lab, "AAAA", lab.names["broken"]) == {"2001:db8:2::dead"}
    assert addresses(lab, "AAAA", lab.names["blackhole"]) == {"2001:db8:3::1"}
    assert addresses(lab, "AAAA", lab.names["reset"]) == {"2001:db8:2::444"}
    assert addresses(lab, "AAAA", lab.names["v4dead"]) == {"2001:db8:64::cb00:710a"}
    assert addresses(lab, "AAAA", lab.names["v4dead"], server=lab.resolver_plain) == set()


def test_nodata_nxdomain_servfail(lab: Lab) -> None:
    nodata = lab.names["nodata"]
    assert status(lab, "AAAA", nodata) == "NOERROR"
    assert addresses(lab, "AAAA", nodata) == set()
    assert addresses(lab, "A", nodata) == set()
    assert dig(lab, lab.ws, "+short", "TXT", nodata).strip() != ""
    assert status(lab, "AAAA", lab.names["nxdomain"]) == "NXDOMAIN"
    assert status(lab, "AAAA", lab.names["nxdomain"], server=lab.resolver_plain) == "NXDOMAIN"
    assert status(lab, "AAAA", lab.names["servfail"]) == "SERVFAIL"
    # Names outside the lab never leave it: they do not exist.
    assert status(lab, "AAAA", "nowhere.example") == "NXDOMAIN"


def test_zone_nameservers_and_authoritative_answer(lab: Lab) -> None:
    ns = dig(lab, lab.ws, "+short", "NS", "lab.test").split()
    assert sorted(ns) == ["ns1.lab.test.", "ns2.lab.test."]
    assert addresses(lab, "AAAA", lab.names["ns1"]) == {"2001:db8:2::35"}
    assert addresses(lab, "A", lab.names["ns2"]) == {"192.0.2.53"}
    assert addresses(lab, "AAAA", lab.names["ns2"], server=lab.resolver_plain) == set()
    auth = dig(lab, lab.ws, "+norec", "SOA", "lab.test", server=lab.nameserver)
    assert lab.nameserver == "2001:db8:2::35"
    assert "aa" in flags(auth)
    assert "ns1.lab.test." in auth
    # The resolvers answer from the same zone, but not authoritatively.
    recursive = dig(lab, lab.ws, "SOA", "lab.test")
    assert "aa" not in flags(recursive) and "ra" in flags(recursive)


# ------------------------------------------------------------------------- services


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/", "200"),
        ("/simple/", "200"),
        ("/dists/bookworm/InRelease", "200"),
        ("/repodata/repomd.xml", "200"),
        ("/health", "200"),
        ("/status500", "500"),
        ("/no/such/page", "404"),
    ],
)
def test_native_origin_over_ipv6(lab: Lab, path: str, code: str) -> None:
    rc, got, remote = curl(lab, lab.ws, lab.url("native", path), "-6")
    assert (rc, got, remote) == (0, code, "2001:db8:2::80")


def test_pypi_simple_index_body(lab: Lab) -> None:
    got = lab.run(lab.ws, ["curl", "-sS", "-6", "-i", lab.url("native", "/simple/")])
    assert got.returncode == 0, got.stderr
    assert "content-type: text/html" in got.stdout.lower()
    assert '<a href="/simple/v6audit/">' in got.stdout


@pytest.mark.parametrize("role", ["v4only", "alias"])
def test_ipv4_only_origin_through_nat64(lab: Lab, role: str) -> None:
    assert curl(lab, lab.ws, lab.url(role, "/health")) == (0, "200", NAT64_V4ONLY)


def test_ipv4_only_origin_over_https_through_nat64(lab: Lab) -> None:
    extra = ("--cacert", str(lab.ca_cert))
    assert curl(lab, lab.ws, lab.url("v4only", "/", "https"), *extra) == (0, "200", NAT64_V4ONLY)


def test_https_native_verifies_with_the_lab_ca(lab: Lab) -> None:
    url = lab.url("native", "/health", "https")
    assert curl(lab, lab.ws, url, "--cacert", str(lab.ca_cert))[:2] == (0, "200")
    rc, _, _ = curl(lab, lab.ws, url)  # the system store does not know the lab CA
    assert rc == 60


def test_registry_asks_for_a_bearer_token(lab: Lab) -> None:
    got = lab.run(
        lab.ws,
        ["curl", "-sS", "-D", "-", "-o", "/dev/null", "--cacert", str(lab.ca_cert),
         lab.url("registry", "/v2/", "https")],
    )  # fmt: skip
    assert got.returncode == 0, got.stderr
    head = got.stdout.splitlines()
    assert head[0].split()[1] == "401"
    fields = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:])}
    assert fields["www-authenticate"] == 'Bearer realm="https://registry.lab.test/token"'
    assert fields["docker-distribution-api-version"] == "registry/2.0"


def test_https_log_intake(lab: Lab) -> None:
    url = lab.url("intake", "/", "https")
    ca = ("--cacert", str(lab.ca_cert))
    assert curl(lab, lab.ws, url, *ca, "-X", "POST", "--data", '{"m":1}') == (
        0,
        "202",
        "2001:db8:2::443",
    )
    assert curl(lab, lab.ws, url, *ca)[:2] == (0, "200")


def test_broken_name_refuses_connections(lab: Lab) -> None:
    start = time.monotonic()
    rc, code, _ = curl(lab, lab.ws, lab.url("broken"), "-6", "--connect-timeout", "5")
    assert (rc, code) == (7, "000")  # couldn't connect
    assert time.monotonic() - start < 3


def test_blackholed_address_times_out(lab: Lab) -> None:
    start = time.monotonic()
    rc, code, _ = curl(lab, lab.ws, lab.url("blackhole"), "-6", "--connect-timeout", "1")
    assert (rc, code) == (28, "000")  # timed out, no refusal came back
    assert time.monotonic() - start >= 0.9


def test_reset_server_closes_without_answer(lab: Lab) -> None:
    rc, code, _ = curl(lab, lab.ws, lab.url("reset"), "-6", "--max-time", "5")
    assert (rc, code) == (52, "000")  # empty reply from server


def test_dead_ipv4_address_behind_nat64_does_not_answer(lab: Lab) -> None:
    rc, code, _ = curl(lab, lab.ws, lab.url("v4dead"), "--connect-timeout", "2")
    assert rc in (7, 28) and code == "000"


def test_syslog_tcp_listener_accepts(lab: Lab) -> None:
    message = f"<14>lab syslog tcp {time.time_ns()}\n"
    sent = lab.run(lab.ws, ["socat", "-u", "-", f"TCP6:{lab.names['syslog']}:514"], input=message)
    assert sent.returncode == 0, sent.stderr
    assert _eventually_contains(lab.syslog_received["tcp"], message)


def test_syslog_tls_listener_handshakes_with_the_lab_ca(lab: Lab) -> None:
    host = lab.names["syslog"]
    message = f"<14>lab syslog tls {time.time_ns()}\n"
    got = lab.run(
        lab.ws,
        ["openssl", "s_client", "-connect", f"{host}:6514", "-servername", host,
         "-CAfile", str(lab.ca_cert), "-verify_hostname", host, "-verify_return_error",
         "-brief"],
        input=message,
        timeout=30,
    )  # fmt: skip
    assert got.returncode == 0, got.stderr
    assert "Verification: OK" in got.stderr
    assert _eventually_contains(lab.syslog_received["tls"], message)


def _eventually_contains(path: Path, text: str, wait: float = 3.0) -> bool:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return True
        time.sleep(0.05)
    return False


# ------------------------------------------------------------------------- no IPv6


def test_host_without_ipv6_reaches_nothing(lab: Lab) -> None:
    routes = lab.run(lab.nov6, ["ip", "-6", "route", "show"]).stdout
    assert "default" not in routes and "2001:db8" not in routes
    resolv = lab.run(lab.nov6, ["cat", "/etc/resolv.conf"]).stdout
    assert resolv.split() == ["nameserver", lab.resolver]
    rc, code, _ = curl(lab, lab.nov6, lab.url("native"), "-6", "--max-time", "5")
    assert rc != 0 and code == "000"
    rc, code, _ = curl(lab, lab.nov6, "http://[2001:db8:2::80]/", "-6", "--max-time", "5")
    assert rc == 7 and code == "000"
    no_dns = lab.run(lab.nov6, ["dig", "+time=1", "+tries=1", "AAAA", lab.names["native"]])
    assert no_dns.returncode != 0


# ------------------------------------------------------------------------- life cycle


def test_lab_available_here(lab: Lab) -> None:
    from tests.lab import lab_available

    assert lab_available() is None


def test_second_lab_with_extra_records_then_nothing_remains(lab: Lab, tmp_path: Path) -> None:
    extra = [f"n{i}.lab.test. 300 IN AAAA 2001:db8:2::80" for i in range(2000)]
    extra.append("onlyfour 300 IN A 198.51.100.7")
    second = Lab(tmp_path / "second", extra_records=extra, tag="t")
    try:
        start = time.monotonic()
        second.up()
        assert time.monotonic() - start < 10
        assert not {second.ws, second.net, second.nov6} & {lab.ws, lab.net, lab.nov6}
        assert addresses(second, "AAAA", "n1999.lab.test") == {"2001:db8:2::80"}
        assert addresses(second, "AAAA", "onlyfour.lab.test") == {"2001:db8:64::c633:6407"}
        # A client process and an open syslog connection (socat forks a child for it).
        sleeper = second.popen(second.ws, ["sleep", "300"])
        holder = second.popen(
            second.ws,
            ["socat", "-u", "-", f"TCP6:{second.names['syslog']}:514"],
            stdin=subprocess.PIPE,
        )
        deadline = time.monotonic() + 5
        forked: list[int] = []
        while time.monotonic() < deadline and not forked:
            forked = [p for p in children_of(second.pids) if p not in (sleeper.pid, holder.pid)]
            time.sleep(0.05)
        assert forked, "socat did not fork a child for the open connection"
        started = second.pids + forked
        assert sleeper.pid in started and all(alive(p) for p in second.pids)
        # The first lab is untouched by the second one.
        assert addresses(lab, "AAAA", lab.names["native"]) == {"2001:db8:2::80"}
        assert addresses(lab, "AAAA", "n1.lab.test") == set()
    finally:
        second.down()
    assert holder.stdin is not None
    holder.stdin.close()
    assert not {second.ws, second.net, second.nov6} & netns_list()
    assert not any(Path("/etc/netns", ns).exists() for ns in (second.ws, second.nov6))
    assert [p for p in started if alive(p)] == []
    second.down()  # idempotent
    # The session lab still works.
    assert addresses(lab, "AAAA", lab.names["v4only"]) == {NAT64_V4ONLY}


def test_failed_build_raises_and_leaves_nothing(
    lab: Lab, make_lab: Callable[..., Lab], tmp_path: Path
) -> None:
    broken = Lab(tmp_path / "bad", extra_records=["this is not a zone file line"])
    with pytest.raises(LabError) as info:
        broken.up()
    assert "lab.test" in str(info.value) or "zone" in str(info.value).lower()
    assert not {broken.ws, broken.net, broken.nov6} & netns_list()
    assert [p for p in broken.pids if alive(p)] == []
    # The factory fixture builds a working lab on demand.
    third = make_lab(tag="f")
    assert addresses(third, "AAAA", third.names["native"]) == {ADDRESSES["native"]}


def test_stale_namespaces_of_dead_runs_are_removed(lab: Lab) -> None:
    from tests.lab import remove_stale_labs

    dead_pid = _exited_pid()
    stale = f"v6a{dead_pid}-0net"
    subprocess.run(["ip", "netns", "add", stale], check=True, capture_output=True)
    try:
        removed = remove_stale_labs()
        assert stale in removed
        assert stale not in netns_list()
        assert {lab.ws, lab.net, lab.nov6} <= netns_list()
    finally:
        subprocess.run(["ip", "netns", "del", stale], capture_output=True)


def _exited_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    assert not alive(proc.pid)
    return proc.pid
