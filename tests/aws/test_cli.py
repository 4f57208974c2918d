"""The real CLI against moto: `python -m auditor scan --only 'aws.*'` with dummy credentials."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from auditor.registry import load_checks
from auditor.result import validate_result
from tests.aws.conftest import DUMMY_ENV
from tests.aws.estate import make_subnet, make_vpc

ROOT = Path(__file__).resolve().parents[2]


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    # network checks under aws.* (aws.endpoint) probe the internet: not part of this test
    skips = [f"--skip={c.id}" for c in load_checks() if c.id.startswith("aws.") and c.meta.network]
    return subprocess.run(
        [sys.executable, "-m", "auditor", "scan", "--only", "aws.*", *skips, "-q", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(DUMMY_ENV)
    env.update(extra)
    return env


def test_cli_scan_writes_a_valid_report(lab, tmp_path):
    ec2 = lab.client("ec2", "eu-west-1")
    legacy = make_vpc(ec2, "10.3.0.0/16", ipv6=False)
    vpc = make_vpc(ec2)
    make_subnet(ec2, vpc, "100.64.0.0/24")
    ec2.allocate_address(Domain="vpc")
    cfg = tmp_path / "v6audit.yaml"
    cfg.write_text(f"workload: cli-test\naws:\n  regions: [us-east-1]\n  endpoint_url: {lab.url}\n")
    out = tmp_path / "out"
    proc = _cli(["-c", str(cfg), "-o", str(out), "--region", "eu-west-1"], _env())
    assert proc.returncode == 0, proc.stderr
    result = json.loads((out / "report.json").read_text())
    validate_result(result, "report.json")
    assert result["workload"] == "cli-test"
    assert result["config"]["aws"]["regions"] == ["eu-west-1"]  # --region overrides the file
    assert result["errors"] == []
    ids = {f["check_id"] for f in result["findings"]}
    assert ids and all(i.startswith("aws.") for i in ids)
    legacy_finding = next(
        f
        for f in result["findings"]
        if f["check_id"] == "aws.vpc.ipv6_cidr" and f["resource"]["id"] == legacy.id
    )
    assert legacy_finding["status"] == "fail"
    assert legacy_finding["resource"] == {
        "id": legacy.id,
        "kind": "vpc",
        "name": "",
        "account": "123456789012",
        "region": "eu-west-1",
    }
    assert legacy_finding["remediation"].startswith("Associate an IPv6 block with the VPC")
    assert result["cost"]["public_ipv4"]["by_kind"] == {"eip-idle": 1}
    assert result["cost"]["public_ipv4"]["monthly_usd"] == 3.65
    assert result["stage"]["current"] == 0 and result["stage"]["blockers"]


def test_cli_without_credentials_exits_3(moto_server, tmp_path):
    cfg = tmp_path / "v6audit.yaml"
    cfg.write_text(f"aws:\n  regions: [us-east-1]\n  endpoint_url: {moto_server}\n")
    env = _env()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        env.pop(name)
    out = tmp_path / "out"
    proc = _cli(["-c", str(cfg), "-o", str(out)], env)
    assert proc.returncode == 3, proc.stderr
    assert "no AWS credentials found" in proc.stderr
    result = json.loads((out / "report.json").read_text())
    validate_result(result, "report.json")
    assert [e["source"] for e in result["errors"]] == ["aws"]
    assert {f["status"] for f in result["findings"]} == {"error"}
