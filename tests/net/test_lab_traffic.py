"""Traffic end to end in the IPv6-only lab: query and flow logs that name the lab's hosts, one
per class; `v6audit scan` run in the workload namespace discovers each destination from the
logs, probes it over IPv6 (real DNS64, NAT64 and servers) and classifies it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.lab import Lab
from tests.traffic import fixtures as fx

from .test_lab_e2e import TIMEOUT, findings, scan

pytestmark = pytest.mark.lab

LITERAL = "203.0.113.77"  # reached by address: no name, no AAAA
EXPECTED = {
    "native": ("pass", "native"),
    "v4only": ("warn", "nat64"),
    "alias": ("warn", "nat64"),  # CNAME chain alias -> alias2 -> v4only
    "broken": ("fail", "broken"),
    "v4dead": ("fail", "unreachable"),
    "gone": ("fail", "dns-error"),
}


def logs(lab: Lab, now: int) -> tuple[list[str], list[str]]:
    """Query-log answers an hour apart (names sharing 192.0.2.80 are told apart by time), each
    followed a minute later by a flow to the answered address."""
    zone = lab.names["native"].split(".", 1)[1]
    answers = {
        "native": [("A", "192.0.2.80")],
        "v4only": [("A", "192.0.2.80")],
        "alias": [("CNAME", f"alias2.{zone}."), ("CNAME", f"v4only.{zone}."), ("A", "192.0.2.80")],
        "broken": [("A", "192.0.2.80")],
        "v4dead": [("A", "203.0.113.10")],
        "gone": [("A", "192.0.2.99")],
    }
    queries, flows = [], [fx.FLOW_HEADER_V2]
    for hour, (label, records) in enumerate(answers.items()):
        when = now - (len(answers) - hour) * 3600
        name = f"{label}.{zone}"
        queries.append(fx.query(name, "A", when, records))
        queries.append(fx.query(name, "AAAA", when, []))
        address = records[-1][1]
        flows.append(
            fx.v2(fx.ENI_A, fx.HOST_A, address, 40000 + hour, 80, 6, 4, 400, when + 60, when + 120)
        )
    flows.append(fx.v2(fx.ENI_A, fx.HOST_A, LITERAL, 41000, 80, 6, 1, 60, now - 300, now - 240))
    return queries, flows


def test_discovered_destinations_are_classified(lab: Lab, tmp_path: Path) -> None:
    now = int(time.time())
    queries, flows = logs(lab, now)
    (tmp_path / "q").mkdir()
    (tmp_path / "f").mkdir()
    (tmp_path / "q" / "queries.log").write_text("\n".join(queries) + "\n")
    (tmp_path / "f" / "flows.log.gz").write_bytes(fx.gz(flows))
    config = {
        "workload": "lab-traffic",
        "timeout": TIMEOUT,
        "discover": False,
        "imds": False,
        "aws": {"services": []},
        "traffic": {
            "since": "1d",
            "resolver_query_logs": [{"path": str(tmp_path / "q")}],
            "flow_logs": [{"path": str(tmp_path / "f")}],
            "scope": {"cidrs": [fx.OWN_CIDR]},
            "probe": True,
        },
    }
    code, report, _ = scan(lab, lab.ws, config, tmp_path, "traffic.*", lab.ca_cert)
    assert code == 0, report["errors"]
    zone = lab.names["native"].split(".", 1)[1]
    got = {
        f["target"]["host"]: (f["status"], f["evidence"]["class"])
        for f in findings(report, "traffic.ipv4_dependency")
    }
    want = {f"{label}.{zone}": verdict for label, verdict in EXPECTED.items()}
    want[LITERAL] = ("fail", "unreachable")
    assert got == want
    native = next(
        f
        for f in findings(report, "traffic.ipv4_dependency")
        if f["target"]["host"].startswith("native.")
    )
    assert native["evidence"]["observed"]["flows"] == 1
    assert native["evidence"]["observed"]["ports"] == [80]
    assert native["evidence"]["addresses"] == ["192.0.2.80"]
    assert native["evidence"]["provenance"]["object"].endswith("flows.log.gz")
    assert native["evidence"]["provenance"]["line"] == 2
    (coverage,) = findings(report, "traffic.coverage")
    assert coverage["status"] == "pass"
    (a_only,) = findings(report, "traffic.a_only_clients")
    assert a_only["status"] == "pass"  # every source asked AAAA too
