"""The view model: everything a renderer shows, derived once from the JSON result.

HTML, PDF, Markdown, JUnit and SARIF all read a `View`, so no two formats can sort, count or
word the same fact differently. Building a view reads only the result: no clock, no network,
no database (the trend comes from `result["history"]`, which the scan attaches). The order of
the blockers is the scan's (`stage.blockers_by_stage`), never re-derived here. Every string of
the result is clipped (`reports.fmt.clip`) before any renderer sees it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from auditor.model import CLASS_EXPLAINED, NET_CLASSES, STAGE_NAMES, Severity
from reports.fmt import clip_tree, duration_words, quarter_of
from reports.org_view import OrgView, build_org_view
from reports.trend import Delta, TrendPoint, build_trend

STATUSES = ("fail", "error", "warn", "info", "skip", "pass")
STATUS_RANK = {s: i for i, s in enumerate(STATUSES)}
SEVERITIES = tuple(str(s) for s in Severity)
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}
STATUS_LABELS = {
    "pass": "Pass",
    "fail": "Fail",
    "warn": "Warning",
    "info": "Info",
    "skip": "Skipped",
    "error": "Error",
}
STAGE_SUMMARIES = {
    0: "where everyone starts",
    1: "VPC and subnet IPv6 CIDRs, IPv6 routes, security group and NACL parity",
    2: "AAAA records, dual-stack load balancers, CloudFront and AWS endpoints, IMDS over IPv6",
    3: "IPv6-only subnets with DNS64 and NAT64; every dependency reachable over IPv6",
    4: "every dependency native over IPv6; no NAT64 and no public IPv4 left",
}
MONTHS_PER_YEAR = 12

VANTAGE_TEXT: dict[str | None, str] = {
    "ipv6-only": "Probed from an IPv6-only host (no IPv4 route): what an IPv6-only subnet sees.",
    "dual-stack": "Probed from a dual-stack host: every target over IPv6 and over IPv4, "
    "separately, and the two compared.",
    None: "No network checks ran (or the auditor had no IPv6 route): the vantage is unknown.",
}


@dataclass(slots=True)
class CheckView:
    id: str
    title: str
    family: str
    severity: str
    stage: int | None
    mandatory: bool
    remediation: str
    references: list[str]
    description: str
    permissions: list[str]
    fix_order: int
    counts: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckView:
        return cls(
            id=data["id"],
            title=data.get("title") or data["id"],
            family=data.get("family", ""),
            severity=data.get("severity", "info"),
            stage=data.get("stage"),
            mandatory=bool(data.get("mandatory", True)),
            remediation=data.get("remediation", ""),
            references=list(data.get("references") or ()),
            description=data.get("description", ""),
            permissions=list(data.get("permissions") or ()),
            fix_order=int(data.get("fix_order", 100)),
            counts={s: 0 for s in STATUSES},
        )

    @classmethod
    def unknown(cls, check_id: str, family: str) -> CheckView:
        """A finding whose check metadata the result lacks (an old or foreign result)."""
        return cls(
            check_id,
            check_id,
            family,
            "info",
            None,
            False,
            "",
            [],
            "",
            [],
            100,
            dict.fromkeys(STATUSES, 0),
        )


@dataclass(slots=True)
class FindingView:
    index: int  # position in the sorted list: stable row id for every renderer
    fingerprint: str
    check_id: str
    title: str
    status: str
    status_label: str
    severity: str
    family: str
    stage: int | None
    blocking: bool
    next_blocker: bool  # blocks the next stage (and is not suppressed)
    subject: str  # what the finding is about, in one short string
    subject_id: str  # the resource id / ARN, or the probed URL / host
    subject_kind: str
    where: str  # account / region, when known
    account: str
    region: str
    message: str
    remediation: str
    evidence: dict[str, Any]
    net_class: str | None
    nat64_prefix: str | None
    suppressed: dict[str, Any] | None
    duration_ms: float
    location: tuple[str, int]  # the config file and line that declared it, or (file, 1)

    @property
    def is_action(self) -> bool:
        return self.status in ("fail", "error", "warn") and not self.suppressed


@dataclass(slots=True)
class PathStep:
    """One check's blockers of a stage, in fix order: what to do and where."""

    check: CheckView
    findings: list[FindingView]

    @property
    def severity(self) -> str:
        return min((f.severity for f in self.findings), key=SEVERITY_RANK.__getitem__)


@dataclass(slots=True)
class StageView:
    number: int
    name: str
    summary: str
    state: str  # reached | current | next | future
    steps: list[PathStep]
    untested: bool

    @property
    def blocker_count(self) -> int:
        return sum(len(s.findings) for s in self.steps)


@dataclass(slots=True)
class FamilyView:
    name: str
    score: float | None
    score_all: float | None  # ignoring suppressions
    counts: dict[str, int]


@dataclass(slots=True)
class View:
    workload: str
    vantage: str | None  # ipv6-only, dual-stack, or None (no network check ran)
    vantage_text: str  # the vantage in one sentence
    classes: list[tuple[str, str]]  # the network classes found, each with its sentence
    sample: bool  # the result of `v6audit demo`: every figure is sample data
    tool: str
    tool_version: str
    schema_version: str
    started_at: str
    finished_at: str
    date: str
    quarter: str
    duration: str
    dual_stack: float | None
    ipv6_only: float | None
    dual_stack_all: float | None
    ipv6_only_all: float | None
    stage: int
    stage_name: str
    next_stage: int | None
    next_stage_name: str | None
    untested: list[int]
    stages: list[StageView]
    path: list[PathStep]
    blockers: list[FindingView]
    families: list[FamilyView]
    findings: list[FindingView]
    checks: list[CheckView]
    counts: dict[str, int]
    total: int
    suppressed: int
    public_ipv4: int
    monthly_usd: float
    yearly_usd: float
    hourly_usd_each: float
    cost_by_kind: list[tuple[str, int]]
    errors: list[dict[str, str]]
    trend: list[TrendPoint]
    previous: Delta | None
    quarter_ago: Delta | None
    history_runs: int
    sources: list[dict[str, Any]]
    config_source: str
    regions: list[str]
    accounts: list[str]
    family_names: list[str] = field(default_factory=list)
    org: OrgView | None = None  # more than one account: the organisation view
    by_fingerprint: dict[str, FindingView] = field(default_factory=dict, repr=False)

    @property
    def scores_differ(self) -> bool:
        return (self.dual_stack, self.ipv6_only) != (self.dual_stack_all, self.ipv6_only_all)

    @property
    def action_count(self) -> int:
        return sum(1 for f in self.findings if f.is_action)


def _subject(data: dict[str, Any]) -> tuple[str, str, str, str, str]:
    """(subject, subject_id, kind, account, region) of a finding dict."""
    res = data.get("resource")
    if res:
        rid, name = res.get("id", ""), res.get("name", "")
        subject = f"{name} ({rid})" if name and name != rid else (rid or name)
        return subject, rid, res.get("kind", ""), res.get("account", ""), res.get("region", "")
    tgt = data.get("target")
    if tgt:
        host, port, addr = tgt.get("host", ""), tgt.get("port"), tgt.get("address", "")
        if tgt.get("url"):
            ident = tgt["url"]
        elif host:
            ident = f"{host}:{port}" if port else host
        else:
            ident = addr
        subject = ident + (f" via {addr}" if addr and addr != ident and addr != host else "")
        return subject, ident, "target", "", ""
    return "", "", "", "", ""


def _config_locations(config: dict[str, Any]) -> tuple[str, dict[str, tuple[str, int]]]:
    """The config file and, per dependency URL/address/name, the line that declared it."""
    source = config.get("source") or "v6audit.yaml"
    places: dict[str, tuple[str, int]] = {}
    for group in ("dependencies", "log_shippers"):
        for dep in config.get(group) or ():
            where = str(dep.get("source") or "")
            path, _, line = where.rpartition(":")
            if not path or not line.isdigit():
                continue
            for key in (dep.get("url"), dep.get("address"), dep.get("name")):
                if key:
                    places.setdefault(str(key), (path, int(line)))
    return str(source), places


def _location(data: dict, config_file: str, places: dict[str, tuple[str, int]]) -> tuple[str, int]:
    tgt = data.get("target") or {}
    for key in (tgt.get("url"), tgt.get("address"), tgt.get("host")):
        if key and key in places:
            return places[key]
    return config_file, 1


def _finding_key(data: dict[str, Any], subject: str) -> tuple:
    return (
        bool(data.get("suppressed")),
        STATUS_RANK.get(data["status"], 9),
        SEVERITY_RANK.get(data.get("severity") or "info", 9),
        data.get("stage") if data.get("stage") is not None else 9,
        data["check_id"],
        subject,
        data.get("fingerprint", ""),
    )


def _blocker_order(result: dict[str, Any]) -> dict[int, list[str]]:
    """Fingerprints of every stage's blockers in fix order, as the scan wrote them; for a
    result written before `blockers_by_stage` existed, ordered by the scan's own rule."""
    written = result["stage"].get("blockers_by_stage")
    if written is not None:
        return {int(stage): list(fps) for stage, fps in written.items()}
    from auditor.result import checks_of, findings_of
    from auditor.scoring import blockers_by_stage

    metas = {m.id: m for m in checks_of(result)}
    ordered = blockers_by_stage(findings_of(result), metas)
    return {stage: [f.fingerprint for f in fs] for stage, fs in ordered.items()}


def build_view(result: dict[str, Any]) -> View:
    result = clip_tree(result)  # type: ignore[assignment]
    checks = {c["id"]: CheckView.from_dict(c) for c in result.get("checks") or ()}
    config = result.get("config") or {}
    config_file, places = _config_locations(config)
    blockers_next = set(result["stage"].get("blockers") or ())

    rows = []
    for data in result.get("findings") or ():
        subject, sid, kind, account, region = _subject(data)
        rows.append((_finding_key(data, subject), data, subject, sid, kind, account, region))
    rows.sort(key=lambda r: r[0])

    findings: list[FindingView] = []
    accounts: set[str] = set()
    regions: set[str] = set()
    for index, (_, data, subject, sid, kind, account, region) in enumerate(rows):
        family = data.get("family", "")
        check = checks.get(data["check_id"])
        if check is None:
            check = checks[data["check_id"]] = CheckView.unknown(data["check_id"], family)
        check.counts[data["status"]] = check.counts.get(data["status"], 0) + 1
        evidence = data.get("evidence") or {}
        accounts.add(account)
        regions.add(region)
        findings.append(
            FindingView(
                index=index,
                fingerprint=data.get("fingerprint", ""),
                check_id=data["check_id"],
                title=check.title,
                status=data["status"],
                status_label=STATUS_LABELS.get(data["status"], data["status"]),
                severity=data.get("severity") or "info",
                family=family,
                stage=data.get("stage"),
                blocking=bool(data.get("blocking", data["status"] in ("fail", "error"))),
                next_blocker=data.get("fingerprint") in blockers_next,
                subject=subject or "(run)",
                subject_id=sid,
                subject_kind=kind,
                where=" / ".join(p for p in (account, region) if p),
                account=account,
                region=region,
                message=data.get("message", ""),
                remediation=data.get("remediation", ""),
                evidence=evidence,
                net_class=evidence.get("class"),
                nat64_prefix=evidence.get("nat64_prefix"),
                suppressed=data.get("suppressed"),
                duration_ms=float(data.get("duration_ms") or 0),
                location=_location(data, config_file, places),
            )
        )
    by_fp = {f.fingerprint: f for f in findings}

    stage = result["stage"]
    current = int(stage["current"])
    nxt = stage.get("next")
    blockers = [by_fp[fp] for fp in stage.get("blockers") or () if fp in by_fp]
    by_stage = {
        number: [by_fp[fp] for fp in fps if fp in by_fp]
        for number, fps in _blocker_order(result).items()
    }
    if nxt is not None:
        by_stage[nxt] = blockers  # the contract's list decides the path shown first
    stages = _stages(current, nxt, by_stage, checks, set(stage.get("untested") or ()))
    path = next((s.steps for s in stages if s.number == nxt), [])

    scores = result["scores"]
    ignoring = scores.get("ignoring_suppressions") or scores
    fam_counts: dict[str, Counter] = defaultdict(Counter)
    for f in findings:
        fam_counts[f.family][f.status] += 1
    family_names = sorted(set(fam_counts) | set(scores.get("families") or {}))
    families = [
        FamilyView(
            name=name,
            score=(scores.get("families") or {}).get(name),
            score_all=(ignoring.get("families") or {}).get(name),
            counts={s: fam_counts[name].get(s, 0) for s in STATUSES},
        )
        for name in family_names
    ]

    cost = result["cost"]["public_ipv4"]
    counts = (result.get("counts") or {}).get("by_status") or {}
    status_counts = Counter(f.status for f in findings)
    trend = build_trend(
        result.get("history") or {},
        scores.get("dual_stack"),
        scores.get("ipv6_only"),
        current,
        result["finished_at"],
    )
    monthly = float(cost.get("monthly_usd") or 0)
    return View(
        org=build_org_view(result),
        workload=result["workload"],
        vantage=result.get("vantage"),
        vantage_text=VANTAGE_TEXT.get(result.get("vantage"), VANTAGE_TEXT[None]),
        classes=[
            (c, CLASS_EXPLAINED[c]) for c in NET_CLASSES if any(f.net_class == c for f in findings)
        ],
        sample=bool(result.get("demo")),
        tool=(result.get("tool") or {}).get("name", "v6audit"),
        tool_version=(result.get("tool") or {}).get("version", ""),
        schema_version=result.get("schema_version", ""),
        started_at=result["started_at"],
        finished_at=result["finished_at"],
        date=result["finished_at"][:10],
        quarter=quarter_of(result["finished_at"]),
        duration=duration_words(result["started_at"], result["finished_at"]),
        dual_stack=scores.get("dual_stack"),
        ipv6_only=scores.get("ipv6_only"),
        dual_stack_all=ignoring.get("dual_stack"),
        ipv6_only_all=ignoring.get("ipv6_only"),
        stage=current,
        stage_name=stage.get("name") or STAGE_NAMES[current],
        next_stage=nxt,
        next_stage_name=stage.get("next_name") or (STAGE_NAMES.get(nxt) if nxt else None),
        untested=sorted(stage.get("untested") or ()),
        stages=stages,
        path=path,
        blockers=blockers,
        families=families,
        findings=findings,
        checks=sorted(checks.values(), key=lambda c: c.id),
        counts={s: int(counts.get(s, status_counts.get(s, 0))) for s in STATUSES},
        total=len(findings),
        suppressed=sum(1 for f in findings if f.suppressed),
        public_ipv4=int(cost.get("count") or 0),
        monthly_usd=monthly,
        yearly_usd=round(monthly * MONTHS_PER_YEAR, 2),
        hourly_usd_each=float(cost.get("hourly_usd_each") or 0.005),
        cost_by_kind=sorted((cost.get("by_kind") or {}).items(), key=lambda kv: (-kv[1], kv[0])),
        errors=[
            {
                "level": str(e.get("level", "error")),
                "source": str(e.get("source", "")),
                "message": str(e.get("message", "")),
            }
            for e in result.get("errors") or ()
        ],
        trend=trend.points,
        previous=trend.previous,
        quarter_ago=trend.quarter_ago,
        history_runs=trend.runs,
        sources=list(result.get("sources") or ()),
        config_source=config_file,
        regions=sorted(r for r in regions if r)
        or sorted((config.get("aws") or {}).get("regions") or ()),
        accounts=sorted(a for a in accounts if a),
        family_names=family_names,
        by_fingerprint=by_fp,
    )


def _stages(
    current: int,
    nxt: int | None,
    blockers: dict[int, list[FindingView]],
    checks: dict[str, CheckView],
    untested: set[int],
) -> list[StageView]:
    """The ladder 0-4; each stage above the current one lists its blockers grouped by check."""
    stages = []
    for number in range(5):
        if number < current:
            state = "reached"
        elif number == current:
            state = "current"
        elif number == nxt:
            state = "next"
        else:
            state = "future"
        stages.append(
            StageView(
                number=number,
                name=STAGE_NAMES[number],
                summary=STAGE_SUMMARIES[number],
                state=state,
                steps=_group(blockers.get(number, []) if number > current else [], checks),
                untested=number in untested,
            )
        )
    return stages


def _group(ordered: list[FindingView], checks: dict[str, CheckView]) -> list[PathStep]:
    steps: dict[str, PathStep] = {}
    for f in ordered:
        step = steps.get(f.check_id)
        if step is None:
            step = steps[f.check_id] = PathStep(checks[f.check_id], [])
        step.findings.append(f)
    return list(steps.values())
