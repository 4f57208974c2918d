"""The view model: one place where every renderer's facts are derived."""

from __future__ import annotations

from reports.fmt import quarter_of
from reports.summary import plain_summary
from reports.view import STATUSES, build_view


def test_blockers_come_from_the_result_in_fix_order(sample: dict) -> None:
    view = build_view(sample)
    assert [f.fingerprint for f in view.blockers] == sample["stage"]["blockers"]
    # grouped by check in order of first appearance, every blocker exactly once
    flat = [f.fingerprint for step in view.path for f in step.findings]
    assert flat == sample["stage"]["blockers"]
    assert view.path[0].check.id == "aws.elb.dualstack"  # lowest fix_order first
    assert all(f.next_blocker for f in view.blockers)
    assert sum(f.next_blocker for f in view.findings) == len(view.blockers)


def test_stage_ladder_and_later_stages(sample: dict) -> None:
    view = build_view(sample)
    assert [s.state for s in view.stages] == ["reached", "current", "next", "future", "future"]
    stage3 = view.stages[3]
    assert [s.check.id for s in stage3.steps] == ["aws.subnet.dns64", "dep.reachable"]
    stage4_checks = {s.check.id for s in view.stages[4].steps}
    assert {"dep.reachable", "log.reachable", "aws.eip.public_ipv4"} <= stage4_checks
    # suppressed findings never block
    assert not any(f.suppressed for s in view.stages for st in s.steps for f in st.findings)


def test_counts_scores_cost_and_families(sample: dict) -> None:
    view = build_view(sample)
    assert view.counts == {s: sample["counts"]["by_status"][s] for s in STATUSES}
    assert view.total == len(sample["findings"]) == sum(view.counts.values())
    assert view.suppressed == 1
    assert (view.ipv6_only, view.dual_stack) == (
        sample["scores"]["ipv6_only"],
        sample["scores"]["dual_stack"],
    )
    assert view.ipv6_only_all == sample["scores"]["ignoring_suppressions"]["ipv6_only"]
    assert view.scores_differ
    assert view.public_ipv4 == 7 and view.monthly_usd == 25.55 and view.yearly_usd == 306.6
    assert view.cost_by_kind == [("eip", 3), ("load-balancer", 2), ("nat-gateway", 2)]
    fams = {f.name: f for f in view.families}
    assert fams["filtering"].score == 100.0 and fams["filtering"].score_all == 50.0
    assert fams["preflight"].score is None  # no scored check, still listed with its counts


def test_findings_sorted_actionable_first_suppressed_last(sample: dict) -> None:
    view = build_view(sample)
    order = [f.status for f in view.findings if not f.suppressed]
    assert order == sorted(order, key=STATUSES.index)
    assert view.findings[-1].suppressed
    assert [f.index for f in view.findings] == list(range(view.total))


def test_trend_and_deltas_from_history(sample: dict) -> None:
    view = build_view(sample)
    assert [p.current for p in view.trend] == [False] * 4 + [True]
    assert view.trend[-1].ipv6_only == sample["scores"]["ipv6_only"]
    assert view.previous.ipv6_only == round(sample["scores"]["ipv6_only"] - 44.0, 1)
    assert view.quarter_ago.date == "2026-07-05"
    assert view.previous.words("ipv6_only").startswith("up 6.5 since the previous run")
    sample.pop("history")
    bare = build_view(sample)
    assert bare.trend == [] and bare.previous is None and bare.quarter_ago is None


def test_config_line_is_the_location_of_a_dependency_finding(sample: dict) -> None:
    view = build_view(sample)
    apt = next(f for f in view.findings if "mirror.example.net" in f.subject)
    assert apt.location == ("v6audit.yaml", 14)
    vpc = next(f for f in view.findings if f.subject_id == "vpc-0a1b2c3d")
    assert vpc.location == ("v6audit.yaml", 1)


def test_plain_summary_words(sample: dict) -> None:
    lines = plain_summary(build_view(sample))
    assert lines[0].startswith(
        "payments-api is at stage 1 of 4 (Dual-stack foundation). 4 findings"
    )
    assert "up 6.5 since the previous run (2026-10-03)" in lines[1]
    assert "7 public IPv4 addresses, billed $25.55 a month ($306.60 a year)" in lines[2]
    assert quarter_of("2026-11-02T09:30:41Z") == "Q4 2026"


def test_finding_of_an_unknown_check_still_renders(sample: dict) -> None:
    sample["checks"] = [c for c in sample["checks"] if c["id"] != "dns.aaaa"]
    view = build_view(sample)
    assert any(c.id == "dns.aaaa" and c.title == "dns.aaaa" for c in view.checks)
    from auditor.formats import FORMATS

    for name in ("html", "junit", "sarif", "md"):
        assert "dns.aaaa" in FORMATS[name].render(sample).decode()


def test_later_stages_show_the_order_the_scan_wrote(sample: dict) -> None:
    by_stage = sample["stage"]["blockers_by_stage"]
    assert len(by_stage["4"]) > 2
    by_stage["4"].reverse()  # whatever the scan wrote, the view shows it as it is
    view = build_view(sample)
    shown = [f.fingerprint for step in view.stages[4].steps for f in step.findings]
    grouped = []  # grouped by check in order of first appearance
    for check in dict.fromkeys(view.by_fingerprint[fp].check_id for fp in by_stage["4"]):
        grouped += [fp for fp in by_stage["4"] if view.by_fingerprint[fp].check_id == check]
    assert shown == grouped


def test_a_result_without_per_stage_order_gets_the_scans_order() -> None:
    from auditor.model import Finding, Severity, Status, Target
    from auditor.registry import CheckMeta
    from auditor.result import build_result

    meta = CheckMeta(id="dep.x", title="x", family="deps", severity=Severity.HIGH, stage=4)
    findings = []
    for host in ("a", "aB"):  # "a:443" < "aB:443" but "a|443||" > "aB|443||"
        finding = Finding(
            Status.FAIL, host, target=Target(host=host, port=443), check_id="dep.x", stage=4
        )
        finding.severity = Severity.HIGH
        finding.fingerprint = finding.compute_fingerprint()
        findings.append(finding)
    findings.append(Finding(Status.PASS, "ok", check_id="dep.x", stage=3, fingerprint="ab" * 8))
    result = build_result(
        workload="w",
        findings=findings,
        checks=[meta],
        started_at="2026-11-02T09:00:00Z",
        finished_at="2026-11-02T09:00:01Z",
    )
    written = result["stage"]["blockers_by_stage"]["4"]
    assert len(written) == 2
    del result["stage"]["blockers_by_stage"]  # as a result of an earlier version
    view = build_view(result)
    assert [f.fingerprint for f in view.stages[4].steps[0].findings] == written
    assert [view.by_fingerprint[fp].message for fp in written] == ["aB", "a"]


def test_clipping_copies_only_what_it_cuts(sample: dict) -> None:
    from reports.fmt import clip_tree

    assert clip_tree(sample) is sample  # nothing long: nothing copied
    evidence = sample["findings"][3]["evidence"]
    evidence["long"] = ["x" * 20_000, 7]
    clipped = clip_tree(sample)
    assert clipped["findings"][2] is sample["findings"][2]
    assert list(clipped["findings"][3]["evidence"]) == list(evidence)  # order kept
    assert clipped["findings"][3]["evidence"]["long"][0].endswith(
        "[… truncated: 10,000 more characters]"
    )
    assert evidence["long"][0] == "x" * 20_000  # the result itself is left as it was
