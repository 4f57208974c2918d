"""`v6audit scan` from a dual-stack workload and from an IPv6-only one, side by side in the lab:
every class of the vantage comparison comes from a real path (nginx origins answering each
family differently, closed ports on both families, a router with a 1280-byte link that drops
ICMPv6 Packet Too Big, and the same path with it allowed)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.lab import Lab, lab_available
from tests.lab.duallab import BIG_PATH, RECORDS, DualLab

pytestmark = pytest.mark.lab

TIMEOUT = 2


@pytest.fixture(scope="module")
def dual(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DualLab]:
    reason = lab_available()
    if reason is not None:
        pytest.skip(f"network lab unavailable: {reason}")
    lab = Lab(tmp_path_factory.mktemp("duallab"), extra_records=RECORDS, tag="dual")
    lab.up()
    extra = DualLab(lab, tmp_path_factory.mktemp("dualorigins"))
    try:
        yield extra.up()
    finally:
        extra.down()
        lab.down()


def _config(lab: Lab) -> dict[str, Any]:
    z = lab.zone

    def dep(name: str, url: str, kind: str = "http") -> dict[str, str]:
        return {"name": name, "kind": kind, "url": url}

    return {
        "workload": "dual",
        "timeout": TIMEOUT,
        "discover": False,
        "imds": False,
        "dependencies": [
            dep("native", f"http://native.{z}/health"),
            dep("v4only", f"http://v4only.{z}/health"),
            dep("broken", f"http://broken.{z}/health"),
            dep("differs", f"http://differs.{z}/"),
            dep("closed", f"http://closed.{z}/"),
            dep("pmtu", f"http://pmtu.{z}{BIG_PATH}", "apt"),
            dep("pmtuok", f"http://pmtuok.{z}{BIG_PATH}", "apt"),
            # The same paths over HTTPS: the certificate chain is what needs full-size packets.
            dep("pmtutls", f"https://pmtu.{z}/", "https"),
            dep("pmtuoktls", f"https://pmtuok.{z}/", "https"),
        ],
        "tls": {"ca_bundle": str(lab.ca_cert)},
    }


def _scan(lab: Lab, ns: str, tmp: Path) -> tuple[int, dict[str, Any]]:
    cfg = tmp / "v6audit.yaml"
    cfg.write_text(yaml.safe_dump(_config(lab)))
    out = tmp / "out"
    argv = [sys.executable, "-m", "auditor", "scan", "-c", str(cfg), "-o", str(out)]
    got = lab.run(ns, [*argv, "--only", "net.preflight,dep.reachable", "--format", "json,md"])
    report = out / "report.json"
    assert report.exists(), f"exit {got.returncode}\n{got.stderr}\n{got.stdout}"
    return got.returncode, json.loads(report.read_text())


def _classes(report: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {
        f["evidence"]["dependency"]: (f["status"], f["evidence"]["class"])
        for f in report["findings"]
        if f["check_id"] == "dep.reachable"
    }


@pytest.fixture(scope="module")
def from_dual(dual: DualLab, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    code, report = _scan(dual.lab, dual.ds, tmp_path_factory.mktemp("ds"))
    assert code == 0, report["errors"]
    return report


@pytest.fixture(scope="module")
def from_v6(dual: DualLab, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    code, report = _scan(dual.lab, dual.v6, tmp_path_factory.mktemp("v6"))
    assert code == 0, report["errors"]
    return report


def test_every_class_from_the_dual_stack_workload(from_dual: dict[str, Any]) -> None:
    assert from_dual["vantage"] == "dual-stack"
    pre = next(f for f in from_dual["findings"] if f["check_id"] == "net.preflight")
    assert pre["evidence"]["ipv4_default_route"] is True
    assert _classes(from_dual) == {
        "native": ("pass", "native"),
        "v4only": ("warn", "ipv4-only"),
        "broken": ("fail", "broken"),
        "differs": ("fail", "differs"),
        "closed": ("error", "down"),
        "pmtu": ("fail", "mtu-blackhole"),
        "pmtuok": ("pass", "native"),
        "pmtutls": ("fail", "mtu-blackhole"),
        "pmtuoktls": ("pass", "native"),
    }


def test_dual_stack_evidence_shows_both_families(from_dual: dict[str, Any]) -> None:
    deps = {
        f["evidence"]["dependency"]: f["evidence"]
        for f in from_dual["findings"]
        if f["check_id"] == "dep.reachable"
    }
    assert deps["broken"]["masked"] is True and deps["broken"]["ipv4"]["outcome"] == "ok"
    assert deps["differs"]["differences"][0] == {"aspect": "status", "ipv6": 403, "ipv4": 200}
    assert deps["closed"]["ipv4"]["error_kind"] == "refused"
    assert deps["native"]["ipv4"]["address"] == "192.0.2.80"
    mtu = deps["pmtu"]["mtu"]
    assert mtu["small"]["ok"] is True and mtu["large"]["ok"] is False
    assert deps["pmtu"]["ipv4"]["outcome"] == "ok"  # the control: IPv4 on the same path works
    assert deps["pmtuok"]["ipv4"]["outcome"] == "ok"


def test_tls_handshake_stall_is_an_mtu_black_hole(from_dual: dict[str, Any]) -> None:
    """The handshake stalls (the certificate chain needs full-size packets) while a connect and
    a few plain bytes on the same port get nginx's small answer; IPv4 on the same path works."""
    tls = next(
        f for f in from_dual["findings"] if f.get("evidence", {}).get("dependency") == "pmtutls"
    )
    mtu = tls["evidence"]["mtu"]
    assert mtu["large"] == {
        "method": "TLS handshake",
        "ok": False,
        "stalled_in": "tls",
        "content_length": None,
        "error": "no answer within the timeout (tls)",
    }
    assert mtu["small"]["method"] == "TCP connect + plain request on the TLS port"
    assert mtu["small"]["ok"] is True and mtu["small"]["answer"].startswith("answered ")
    assert tls["evidence"]["ipv4"]["outcome"] == "ok"
    assert "TLS handshake stalls (tls)" in tls["message"]


def test_every_class_from_the_ipv6_only_workload(from_v6: dict[str, Any]) -> None:
    assert from_v6["vantage"] == "ipv6-only"
    assert _classes(from_v6) == {
        "native": ("pass", "native"),
        "v4only": ("warn", "nat64"),
        "broken": ("fail", "broken"),
        "differs": ("pass", "native"),  # no IPv4 to compare with from here
        "closed": ("error", "down"),  # the NAT64 path to the A record is refused too
        "pmtu": ("fail", "mtu-blackhole"),
        "pmtuok": ("pass", "native"),
        "pmtutls": ("fail", "mtu-blackhole"),
        "pmtuoktls": ("pass", "native"),
    }
    closed = next(
        f for f in from_v6["findings"] if f.get("evidence", {}).get("dependency") == "closed"
    )
    assert closed["evidence"]["ipv4"]["via"] == "nat64"
