"""Scores, stage and blockers pinned on hand-computed examples (DESIGN: Scores, Stages)."""

from __future__ import annotations

import pytest

from auditor.model import Finding, Resource, Severity, Status, Suppression
from auditor.registry import CheckMeta
from auditor.scoring import compute_cost, compute_scores, compute_stage


def meta(check_id: str, family: str, severity: str, stage: int | None, **kw) -> CheckMeta:
    return CheckMeta(
        id=check_id, title=check_id, family=family, severity=Severity(severity), stage=stage, **kw
    )


CHECKS = {
    m.id: m
    for m in [
        meta("a.a", "vpc", "high", 1, fix_order=10),
        meta("a.b", "vpc", "low", 2),
        meta("c.c", "filtering", "critical", 1, fix_order=40),
        meta("d.d", "dependencies", "medium", 3),
        meta("e.e", "dns", "high", 2),
        meta("i.i", "info", "info", None, mandatory=False),
    ]
}


def f(
    check_id: str,
    status: str,
    rid: str = "",
    *,
    stage: int | None = None,
    cls: str = "",
    blocking: bool | None = None,
    severity: str | None = None,
) -> Finding:
    m = CHECKS[check_id]
    finding = Finding(
        Status(status),
        f"{check_id} {status} {rid}",
        resource=Resource(id=rid),
        evidence={"class": cls} if cls else {},
        blocking=blocking,
        severity=Severity(severity or m.severity),
        stage=stage or m.stage,
        check_id=check_id,
        family=m.family,
    )
    finding.fingerprint = finding.compute_fingerprint()
    return finding


def example() -> list[Finding]:
    return [
        f("a.a", "pass", "vpc-1"),
        f("a.a", "pass", "vpc-2"),
        f("a.a", "fail", "vpc-3"),
        f("a.b", "pass", "subnet-1"),
        f("c.c", "fail", "sg-1"),
        f("c.c", "pass", "sg-2"),
        f("c.c", "pass", "sg-3"),
        f("c.c", "pass", "sg-4"),
        f("c.c", "info", "sg-5"),
        f("c.c", "warn", "sg-6"),
        f("d.d", "pass", "pypi"),
        f("d.d", "warn", "apt", stage=4, cls="nat64", blocking=True),
        f("d.d", "warn", "npm", stage=4, cls="nat64", blocking=True),
        f("d.d", "fail", "git", cls="unreachable"),
        f("e.e", "error", "names"),
        f("i.i", "info", "plan"),
    ]


def test_scores_match_the_hand_computation() -> None:
    scores = compute_scores(example(), CHECKS)
    # vpc: (5 * 2/3 + 1 * 1) / (5 + 1) = 0.7222; filtering: 3/4; dns: 0 (an error is a failure)
    # dependencies (ipv6_only only; nat64 counts half): (1 + 2 * 0.5) / 4 = 0.5
    assert scores["families"] == {"dependencies": 50.0, "dns": 0.0, "filtering": 75.0, "vpc": 72.2}
    assert scores["dual_stack"] == pytest.approx(round((72.2222 + 75 + 0) / 3, 1))  # 49.1
    assert scores["ipv6_only"] == pytest.approx(round((72.2222 + 75 + 0 + 50) / 4, 1))  # 49.3


def test_an_error_never_raises_a_score() -> None:
    base = compute_scores(example(), CHECKS)
    with_error = compute_scores([*example(), f("a.b", "error", "subnet-2")], CHECKS)
    assert with_error["dual_stack"] < base["dual_stack"]
    # An error weighs exactly like a failure.
    as_fail = compute_scores([*example(), f("a.b", "fail", "subnet-2")], CHECKS)
    assert with_error["families"] == as_fail["families"]


def test_a_check_that_only_errored_counts_zero_not_absent() -> None:
    only_error = compute_scores([f("e.e", "error", "x")], CHECKS)
    assert only_error["families"] == {"dns": 0.0} and only_error["dual_stack"] == 0.0


def test_info_skip_and_plain_warn_do_not_count() -> None:
    scores = compute_scores(
        [
            f("a.a", "pass", "1"),
            f("a.a", "info", "2"),
            f("a.a", "skip", "3"),
            f("a.a", "warn", "4"),
        ],
        CHECKS,
    )
    assert scores["families"] == {"vpc": 100.0}


def test_nothing_scored_gives_no_score() -> None:
    scores = compute_scores([f("i.i", "info", "x")], CHECKS)
    assert scores["dual_stack"] is None and scores["ipv6_only"] is None


def test_suppressed_findings_stay_and_both_scores_are_shown() -> None:
    findings = example()
    findings[4].suppressed = Suppression("accepted", "2099-01-01", "net-team")  # the sg-1 fail
    scores = compute_scores(findings, CHECKS)
    assert scores["families"]["filtering"] == 100.0
    assert scores["dual_stack"] == round((72.2222 + 100 + 0) / 3, 1)
    assert scores["ignoring_suppressions"]["families"]["filtering"] == 75.0
    assert scores["ignoring_suppressions"]["dual_stack"] == 49.1


def test_stage_is_the_highest_with_no_blocker_at_or_below_it() -> None:
    findings = [
        f("a.a", "pass", "1"),
        f("c.c", "pass", "2"),
        f("a.b", "pass", "3"),
        f("e.e", "fail", "4"),
        f("c.c", "fail", "5"),
    ]
    stage = compute_stage(findings, CHECKS)
    assert stage["current"] == 0 and stage["next"] == 1
    assert stage["blockers"] == [findings[4].fingerprint]


def test_nat64_dependencies_block_stage_4_only() -> None:
    findings = [
        f("a.a", "pass", "1"),
        f("a.b", "pass", "2"),
        f("d.d", "pass", "pypi"),
        f("d.d", "warn", "apt", stage=4, cls="nat64", blocking=True),
    ]
    stage = compute_stage(findings, CHECKS)
    assert (stage["current"], stage["name"], stage["next"]) == (3, "IPv6-only with translation", 4)
    assert stage["blockers"] == [findings[3].fingerprint]


def test_nat64_only_dependencies_still_prove_stage_3() -> None:
    findings = [
        f("a.a", "pass", "1"),
        f("a.b", "pass", "2"),
        f("d.d", "warn", "apt", stage=4, cls="nat64", blocking=True),
    ]
    stage = compute_stage(findings, CHECKS)
    assert (stage["current"], stage["next"]) == (3, 4) and stage["untested"] == []


def test_an_untested_stage_is_not_reached() -> None:
    stage = compute_stage([f("a.a", "pass", "1")], CHECKS)
    assert stage["current"] == 1 and stage["untested"] == [2, 3, 4] and stage["blockers"] == []


def test_errors_block_and_suppressed_blockers_do_not() -> None:
    err = f("a.a", "error", "vpc-x")
    stage = compute_stage([err, f("a.b", "pass", "s")], CHECKS)
    assert stage["current"] == 0 and stage["blockers"] == [err.fingerprint]
    err.suppressed = Suppression("known", "2099-01-01")
    assert (
        compute_stage([err, f("a.a", "pass", "v"), f("a.b", "pass", "s")], CHECKS)["current"] == 2
    )


def test_blockers_come_in_fix_order_then_severity() -> None:
    sg = f("c.c", "fail", "sg-1")
    vpc_low = f("a.a", "fail", "vpc-2", severity="low")
    vpc_high = f("a.a", "fail", "vpc-1")
    stage = compute_stage([sg, vpc_low, vpc_high], CHECKS)
    # a.a (fix_order 10) before c.c (40); within a.a, high before low.
    assert stage["blockers"] == [vpc_high.fingerprint, vpc_low.fingerprint, sg.fingerprint]


def test_public_ipv4_cost() -> None:
    one = Finding(Status.INFO, "x", evidence={"public_ipv4": {"eip-idle": 2, "nat-gateway": 1}})
    two = Finding(Status.INFO, "y", evidence={"public_ipv4": {"eip-idle": 1}})
    cost = compute_cost([one, two])["public_ipv4"]
    assert cost["count"] == 4
    assert cost["by_kind"] == {"eip-idle": 3, "nat-gateway": 1}
    assert cost["monthly_usd"] == 14.6  # 4 * $0.005 * 730 h


def test_every_stage_carries_its_blockers_in_fix_order() -> None:
    vpc_low = f("a.a", "fail", "vpc-2", severity="low")
    vpc_high = f("a.a", "fail", "vpc-1")
    aaaa = f("e.e", "fail", "www")
    dep = f("d.d", "fail", "pypi")
    quiet = f("d.d", "fail", "npm")
    quiet.suppressed = Suppression("known", "2099-01-01")
    stage = compute_stage([dep, aaaa, vpc_low, quiet, vpc_high], CHECKS)
    assert stage["blockers_by_stage"] == {
        "1": [vpc_high.fingerprint, vpc_low.fingerprint],
        "2": [aaaa.fingerprint],
        "3": [dep.fingerprint],
        "4": [],
    }
    assert stage["blockers"] == stage["blockers_by_stage"]["1"]
