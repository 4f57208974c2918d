"""Suppressions, baselines and the CI gates."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from auditor.errors import ConfigError, UsageError
from auditor.gates import evaluate_gates, parse_fail_on, parse_fail_under
from auditor.model import Finding, Resource, Severity, Status, Target
from auditor.suppressions import (
    apply_suppressions,
    baseline_document,
    load_baseline,
    load_suppressions,
)

TODAY = date(2026, 11, 27)


def finding(
    check_id: str,
    status: str,
    rid: str = "",
    account: str = "111122223333",
    region: str = "us-east-1",
    severity: str = "high",
    host: str = "",
) -> Finding:
    f = Finding(
        Status(status),
        f"{check_id} on {rid or host}",
        resource=Resource(id=rid, account=account, region=region) if rid else None,
        target=Target(host=host) if host else None,
        severity=Severity(severity),
        check_id=check_id,
        stage=1,
    )
    f.fingerprint = f.compute_fingerprint()
    return f


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "suppressions.yaml"
    path.write_text(text)
    return path


def test_rules_match_by_glob_resource_regex_account_and_region(tmp_path: Path) -> None:
    rules = load_suppressions(
        write(
            tmp_path,
            """\
suppressions:
  - check: "aws.sg.*"
    resource: sg-1
    reason: legacy partner allow-list, mapped by hand
    expires: 2027-03-31
    owner: net-team
  - check: aws.nacl.parity
    resource_regex: "acl-0[0-9]+"
    regions: [eu-west-1]
    reason: being replaced
    expires: "2027-01-01"
  - check: dep.reachable
    resource: mirror.example.com
    accounts: ["111122223333"]
    reason: vendor has no IPv6 yet
    expires: 2027-06-30
""",
        )
    )
    findings = [
        finding("aws.sg.parity", "fail", "sg-1"),
        finding("aws.sg.parity", "fail", "sg-2"),
        finding("aws.nacl.parity", "fail", "acl-012", region="eu-west-1"),
        finding("aws.nacl.parity", "fail", "acl-012x", region="eu-west-1"),  # regex is anchored
        finding("aws.nacl.parity", "fail", "acl-012", region="us-east-1"),
        finding("dep.reachable", "warn", host="mirror.example.com"),
        finding("aws.sg.parity", "pass", "sg-1b"),
    ]
    warnings = apply_suppressions(findings, rules, TODAY)
    assert warnings == []
    marked = [bool(f.suppressed) for f in findings]
    assert marked == [True, False, True, False, False, False, False]
    assert findings[0].suppressed.owner == "net-team"
    assert findings[0].suppressed.expires == "2027-03-31"


def test_expired_rule_stops_suppressing_and_warns(tmp_path: Path) -> None:
    rules = load_suppressions(
        write(
            tmp_path,
            """\
- check: aws.sg.parity
  reason: temporary
  expires: 2026-01-01
""",
        )
    )
    findings = [finding("aws.sg.parity", "fail", "sg-1")]
    warnings = apply_suppressions(findings, rules, TODAY)
    assert findings[0].suppressed is None
    assert warnings[0]["level"] == "warning"
    assert "expired on 2026-01-01" in warnings[0]["message"]
    assert warnings[0]["source"].endswith("suppressions.yaml:1")


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("- check: a.b\n  expires: 2027-01-01\n", 1, "missing required key 'reason'"),
        ("- check: a.b\n  reason: x\n", 1, "missing required key 'expires'"),
        ("- check: a.b\n  reason: x\n  expires: soon\n", 3, "must be a date"),
        ("- check: a.b\n  reason: x\n  expires: 2027-01-01\n  resouce: y\n", 4, "unknown key"),
        (
            "- check: a.b\n  reason: x\n  expires: 2027-01-01\n  resource_regex: '('\n",
            4,
            "invalid regular expression",
        ),
    ],
)
def test_bad_suppressions_name_the_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_suppressions(path)
    assert info.value.line == line and words in str(info.value)


def _result(
    findings: list[Finding], ipv6_only: float | None = 60.0, dual: float | None = 90.0
) -> dict:
    return {
        "scores": {"ipv6_only": ipv6_only, "dual_stack": dual},
        "findings": [f.to_dict() for f in findings],
        "workload": "w",
        "finished_at": "2026-11-27T00:00:00Z",
    }


def test_baseline_round_trip_and_only_new_findings_fail(tmp_path: Path) -> None:
    old = finding("aws.sg.parity", "fail", "sg-1")
    doc = baseline_document(_result([old, finding("aws.sg.parity", "pass", "sg-9")]))
    assert list(doc["fingerprints"]) == [old.fingerprint]
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(doc))
    baseline = load_baseline(path)
    assert evaluate_gates(_result([old]), [], None, baseline) == []
    new = finding("aws.sg.parity", "fail", "sg-2")
    reasons = evaluate_gates(_result([old, new]), [], None, baseline)
    assert reasons == [f"1 new finding(s) not in the baseline, e.g. aws.sg.parity: {new.message}"]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{not json", "invalid JSON"),
        ('{"format": "x"}', "not a v6audit baseline"),
        ('{"format": "v6audit-baseline/1", "fingerprints": {"zz": {}}}', "not a fingerprint"),
    ],
)
def test_bad_baseline_is_a_clear_error(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "b.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match=words):
        load_baseline(path)


def test_score_gates() -> None:
    gates = parse_fail_under(["70", "dual_stack=95"])
    reasons = evaluate_gates(_result([]), gates, None, None)
    assert reasons == ["ipv6_only score 60 is under 70", "dual_stack score 90 is under 95"]
    assert evaluate_gates(_result([]), parse_fail_under(["60"]), None, None) == []
    missing = evaluate_gates(_result([], ipv6_only=None), parse_fail_under(["1"]), None, None)
    assert "not available" in missing[0]
    with pytest.raises(UsageError):
        parse_fail_under(["speed=3"])


def test_fail_on_counts_errors_and_ignores_suppressed() -> None:
    low = finding("a.b", "fail", "r1", severity="low")
    err = finding("a.c", "error", "r2", severity="high")
    assert evaluate_gates(_result([low]), [], parse_fail_on("medium"), None) == []
    reasons = evaluate_gates(_result([low, err]), [], parse_fail_on("HIGH"), None)
    assert reasons and "a.c" in reasons[0]
    err_dict = err.to_dict()
    err_dict["suppressed"] = {"reason": "x", "expires": "2099-01-01", "owner": ""}
    result = _result([low])
    result["findings"].append(err_dict)
    assert evaluate_gates(result, [], parse_fail_on("high"), None) == []
    with pytest.raises(UsageError):
        parse_fail_on("urgent")
