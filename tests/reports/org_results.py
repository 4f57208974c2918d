"""Results of several accounts at different stages, for the organisation view's tests."""

from __future__ import annotations

from typing import Any

from auditor.model import Finding, Resource, Status
from auditor.registry import CheckMeta
from auditor.result import build_result

CHECKS = {
    "aws.vpc.ipv6_cidr": CheckMeta.from_dict(
        {"id": "aws.vpc.ipv6_cidr", "family": "vpc", "severity": "high", "stage": 1}
    ),
    "aws.elb.dualstack": CheckMeta.from_dict(
        {"id": "aws.elb.dualstack", "family": "edge", "severity": "high", "stage": 2}
    ),
}


def account_result(account: str, name: str, statuses: dict[str, list[str]]) -> dict[str, Any]:
    """One account's result: for each check, one finding per status given."""
    findings = []
    for check_id, wanted in statuses.items():
        meta = CHECKS[check_id]
        for i, status in enumerate(wanted):
            f = Finding(
                status=Status(status),
                message=f"{check_id} {i} in {account}",
                resource=Resource(id=f"r-{i}", kind="thing", account=account, region="us-east-1"),
                check_id=check_id,
                family=meta.family,
                stage=meta.stage,
                severity=meta.severity,
                evidence={"public_ipv4": {"eip": 2}} if i == 0 else {},
            )
            f.fingerprint = f.compute_fingerprint()
            findings.append(f)
    result = build_result(
        workload=name,
        findings=findings,
        checks=CHECKS.values(),
        started_at="2026-11-30T10:00:00Z",
        finished_at="2026-11-30T10:01:00Z",
        account_names={account: name},
    )
    return result


def organisation() -> list[dict[str, Any]]:
    """Three accounts: one at stage 0, one at stage 1, one at stage 2."""
    return [
        account_result("111111111111", "prod", {"aws.vpc.ipv6_cidr": ["fail", "pass"]}),
        account_result(
            "222222222222",
            "staging",
            {"aws.vpc.ipv6_cidr": ["pass"], "aws.elb.dualstack": ["fail", "fail", "pass"]},
        ),
        account_result(
            "333333333333",
            "sandbox",
            {"aws.vpc.ipv6_cidr": ["pass"], "aws.elb.dualstack": ["pass"]},
        ),
    ]
