"""AWS faults that must never turn into a pass or a skip: credentials rejected in one region,
and a call that never answers (real botocore against a fault proxy in front of moto)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from auditor.model import Status
from tests.aws.estate import make_vpc
from tests.aws.fault_proxy import FaultProxy
from tests.aws.test_cli import ROOT, _env


@pytest.mark.parametrize(
    "code", ["AuthFailure", "InvalidClientTokenId", "UnrecognizedClientException"]
)
def test_credentials_rejected_in_a_region_are_an_error_never_a_skip(lab, code):
    make_vpc(lab.client("ec2"), ipv6=False)

    def reject(req):
        return (401, code) if req.region == "eu-west-1" and req.service == "ec2" else None

    with FaultProxy(lab.url, reject) as proxy:
        scan = lab.scan(
            ["aws.vpc.ipv6_cidr"], endpoint_url=proxy.url, regions=("us-east-1", "eu-west-1")
        )
    (rejected,) = [f for f in scan.of("aws.vpc.ipv6_cidr") if f.resource.region == "eu-west-1"]
    assert rejected.status is Status.ERROR
    assert rejected.evidence["code"] == code
    assert f"AWS rejected the credentials in eu-west-1 ({code})" in rejected.message
    assert {
        str(f.status) for f in scan.of("aws.vpc.ipv6_cidr") if f.resource.region == "us-east-1"
    } == {"fail"}


def test_a_hung_aws_call_ends_with_error_findings_and_a_prompt_exit(lab, tmp_path: Path):
    make_vpc(lab.client("ec2"), ipv6=False)
    release = threading.Event()

    def stall(req):
        if req.action == "DescribeVpcs":
            release.wait(300)  # never answers while the scan runs
        return None

    out = tmp_path / "out"
    with FaultProxy(lab.url, stall) as proxy:
        cfg = tmp_path / "v6audit.yaml"
        cfg.write_text(
            "workload: hang\ncheck_timeout: 3\n"
            f"aws:\n  regions: [us-east-1]\n  endpoint_url: {proxy.url}\n"
        )
        try:
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "auditor",
                    "scan",
                    "-c",
                    str(cfg),
                    "--only",
                    "aws.vpc.ipv6_cidr,aws.subnet.ipv6_cidr",
                    "-o",
                    str(out),
                    "-q",
                ],
                cwd=ROOT,
                env=_env(),
                capture_output=True,
                text=True,
                timeout=120,  # generous: the scan itself is bounded by check_timeout (3 s)
            )
        finally:
            release.set()
    assert "Traceback" not in proc.stderr
    result = json.loads((out / "report.json").read_text())
    findings = {f["check_id"]: f for f in result["findings"]}
    for check_id in ("aws.vpc.ipv6_cidr", "aws.subnet.ipv6_cidr"):
        assert findings[check_id]["status"] == "error"
        assert "did not finish within 3 s" in findings[check_id]["message"]
    assert proxy.seen["ec2:DescribeVpcs@us-east-1"] >= 1
