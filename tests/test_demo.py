"""`v6audit demo`: the whole audit on the bundled estate, offline, every report written."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from auditor.result import schema


def test_demo_runs_every_check_and_writes_every_format(cli, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    proc = cli("demo", "-o", str(out), timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert "SAMPLE DATA" in proc.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "report.html",
        "report.json",
        "report.junit.xml",
        "report.md",
        "report.pdf",
        "report.sarif",
    ]
    result = json.loads((out / "report.json").read_text())
    jsonschema.validate(result, schema())
    by_check: dict[str, list[dict]] = {}
    for f in result["findings"]:
        by_check.setdefault(f["check_id"], []).append(f)
    listed = json.loads(cli("checks", "list", "--json").stdout)
    assert set(by_check) == {c["id"] for c in listed}  # every registered check ran
    assert not [f for f in result["findings"] if f["status"] == "error"]
    assert by_check["net.preflight"][0]["status"] == "pass"
    classes = {f["evidence"].get("class") for f in by_check["dep.reachable"]}
    assert classes == {"native", "nat64", "broken", "unreachable"}
    nat64 = by_check["dns.nat64"][0]
    assert nat64["status"] == "pass" and nat64["evidence"]["nat64_prefix"] == "64:ff9b::/96"
    critical = [f for f in by_check["aws.route.ingress_parity"] if f["status"] == "fail"]
    assert critical and critical[0]["severity"] == "critical"
    cost = result["cost"]["public_ipv4"]
    assert cost["count"] >= 3 and cost["by_kind"].get("eip-idle") == 1
    assert result["stage"]["blockers"]
    html = (out / "report.html").read_text()
    assert "payments-api (demo estate)" in html
    # Every report says it holds sample data.
    assert result["demo"] is True
    assert "Sample data" in html and "Sample data" in (out / "report.md").read_text()
    from pypdf import PdfReader

    cover = PdfReader(out / "report.pdf").pages[0].extract_text()
    assert "SAMPLE DATA FROM V6AUDIT DEMO" in cover
