"""Scores on two axes, the current stage and the ordered blockers of the next stage.

The formulas are the design page's:

- per check: r = pass / (pass + fail + error); on the `ipv6_only` axis a finding classed
  `nat64` (or `ipv4-only`, its dual-stack twin) counts as half a pass
  (r = (pass + nat64/2) / (pass + nat64 + fail + error)); a finding classed `down` (fails over
  IPv4 too) never counts;
- per family: 100 * sum(w * r) / sum(w) with w the check's severity weight;
- an axis score is the mean of the families that have an applicable check.

`info`, `skip` and other `warn` findings do not count; `error` counts as a failure, so a broken
check can never raise a score. Only mandatory checks with a stage are scored.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from auditor.model import STAGE_NAMES, Finding, Status
from auditor.registry import CheckMeta

STATUS_ORDER = ("pass", "fail", "warn", "info", "skip", "error")
DUAL_STACK_STAGES = frozenset({1, 2})
IPV6_ONLY_STAGES = frozenset({1, 2, 3, 4})


@dataclass
class Tally:
    passed: int = 0
    failed: int = 0
    nat64: int = 0

    def ratio(self, nat64_half: bool) -> float | None:
        if nat64_half:
            total = self.passed + self.failed + self.nat64
            return (self.passed + self.nat64 / 2) / total if total else None
        total = self.passed + self.failed
        return self.passed / total if total else None


# Classes that work IPv6-only only through translation: half a pass on the ipv6_only axis.
TRANSLATED_CLASSES = frozenset({"nat64", "ipv4-only"})
# Classes that say nothing about IPv6 (the target fails over IPv4 too): never counted.
NOT_COUNTED_CLASSES = frozenset({"down"})


def is_nat64(finding: Finding) -> bool:
    """Reachable IPv6-only through NAT64 only (`nat64`, or `ipv4-only` from a dual-stack host)."""
    return finding.status is Status.WARN and finding.net_class in TRANSLATED_CLASSES


def _count(tally: Tally, f: Finding) -> None:
    if f.status is Status.PASS:
        tally.passed += 1
    elif f.status in (Status.FAIL, Status.ERROR):
        tally.failed += 1
    elif is_nat64(f):
        tally.nat64 += 1


def _tallies(findings: Iterable[Finding], use_suppressions: bool) -> dict[str, Tally]:
    tallies: dict[str, Tally] = defaultdict(Tally)
    for f in findings:
        if (use_suppressions and f.suppressed) or f.net_class in NOT_COUNTED_CLASSES:
            continue
        _count(tallies[f.check_id], f)
    return tallies


def _family_scores(
    tallies: Mapping[str, Tally],
    checks: Mapping[str, CheckMeta],
    stages: frozenset[int],
    nat64_half: bool,
) -> dict[str, float]:
    weighted: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for check_id, tally in tallies.items():
        meta = checks.get(check_id)
        if meta is None or not meta.mandatory or meta.stage not in stages:
            continue
        weight = meta.severity.weight
        ratio = tally.ratio(nat64_half)
        if ratio is None or weight == 0:
            continue
        acc = weighted[meta.family]
        acc[0] += weight * ratio
        acc[1] += weight
    return {family: round(100 * num / den, 1) for family, (num, den) in sorted(weighted.items())}


def _mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return round(sum(values) / len(values), 1) if values else None


def axis_scores(
    findings: Iterable[Finding], checks: Mapping[str, CheckMeta], use_suppressions: bool = True
) -> dict:
    return _axes(_tallies(findings, use_suppressions), checks)


def _axes(tallies: Mapping[str, Tally], checks: Mapping[str, CheckMeta]) -> dict:
    dual = _family_scores(tallies, checks, DUAL_STACK_STAGES, nat64_half=False)
    v6only = _family_scores(tallies, checks, IPV6_ONLY_STAGES, nat64_half=True)
    return {
        "dual_stack": _mean(dual.values()),
        "ipv6_only": _mean(v6only.values()),
        "families": v6only,
    }


def compute_scores(findings: Iterable[Finding], checks: Mapping[str, CheckMeta]) -> dict:
    """Scores honouring suppressions, and the same scores as if nothing were suppressed."""
    return ScoreBoard.of(findings, checks).scores()


def blocker_order(finding: Finding, checks: Mapping[str, CheckMeta]) -> tuple:
    """Structure first (a VPC CIDR before its subnets' routes), then severity, then name."""
    meta = checks.get(finding.check_id)
    severity = finding.severity.rank if finding.severity else 9
    resource = (
        finding.resource.id
        if finding.resource
        else (finding.target.key() if finding.target else "")
    )
    return (meta.fix_order if meta else 100, severity, finding.check_id, resource)


def blockers_by_stage(
    findings: Iterable[Finding], checks: Mapping[str, CheckMeta]
) -> dict[int, list[Finding]]:
    """Every stage's unsuppressed blockers, in the order to fix them (`blocker_order`), for a
    result written before it carried `stage.blockers_by_stage`."""
    by_stage: dict[int, list[Finding]] = {stage: [] for stage in range(1, 5)}
    for f in findings:
        if f.stage in by_stage and f.is_blocking and not f.suppressed:
            by_stage[f.stage].append(f)
    for blockers in by_stage.values():
        blockers.sort(key=lambda f: (blocker_order(f, checks), f.fingerprint))
    return by_stage


def compute_stage(findings: Iterable[Finding], checks: Mapping[str, CheckMeta]) -> dict:
    """The highest stage proven (verdicts at it, no unsuppressed blocker at it or below).

    A verdict tests the stage its check gates as well as its own: a dependency reachable only
    through NAT64 (a warn at stage 4) is proof for stage 3, whose check it comes from.
    `blockers` are the next stage's blockers; `blockers_by_stage` those of every stage
    ({"1": [...], ..., "4": [...]}), each list in fix order.
    """
    return ScoreBoard.of(findings, checks).stage()


PUBLIC_IPV4_HOURLY_USD = 0.005
HOURS_PER_MONTH = 730


def compute_cost(findings: Iterable[Finding]) -> dict:
    """Public IPv4 addresses counted from findings that carry `evidence.public_ipv4`
    ({kind: count}); each is billed hourly."""
    return ScoreBoard.of(findings, {}).cost()


class ScoreBoard:
    """Every figure the result derives from its findings (scores, stage and blockers, cost,
    counts), gathered in one pass: `add` each finding once, then read the figures. A merge of
    an organisation's results streams hundreds of thousands of findings through one board
    without holding them; a scan feeds its list through the same code. With `ordered=False`
    (an account's row) blockers are only counted, not kept in order."""

    def __init__(self, checks: Mapping[str, CheckMeta], *, ordered: bool = True) -> None:
        self.checks = checks
        self.ordered = ordered
        self.blocker_counts: Counter[int] = Counter()
        self.tallies: dict[str, Tally] = defaultdict(Tally)  # honouring suppressions
        self.tallies_all: dict[str, Tally] = defaultdict(Tally)  # ignoring them
        self.evaluated: set[int] = set()
        self.blocked: set[int] = set()
        self.candidates: dict[int, list[tuple[tuple, str]]] = defaultdict(list)
        self.by_kind: dict[str, int] = defaultdict(int)
        self.by_status: Counter[str] = Counter()
        self.suppressed = 0

    @classmethod
    def of(cls, findings: Iterable[Finding], checks: Mapping[str, CheckMeta]) -> ScoreBoard:
        board = cls(checks)
        for f in findings:
            board.add(f)
        return board

    def add(self, f: Finding) -> None:
        self.by_status[str(f.status)] += 1
        _count(self.tallies_all[f.check_id], f)
        if f.suppressed:
            self.suppressed += 1
        else:
            _count(self.tallies[f.check_id], f)
        if f.stage is not None:
            if f.status in (Status.PASS, Status.FAIL, Status.WARN):
                self.evaluated.add(f.stage)
                meta = self.checks.get(f.check_id)
                if meta is not None and meta.stage is not None:
                    self.evaluated.add(meta.stage)
            if f.is_blocking and not f.suppressed:
                self.blocked.add(f.stage)
                self.blocker_counts[f.stage] += 1
                if self.ordered:
                    key = blocker_order(f, self.checks)
                    self.candidates[f.stage].append((key, f.fingerprint))
        for kind, count in (f.evidence.get("public_ipv4") or {}).items():
            self.by_kind[kind] += int(count)

    def scores(self) -> dict:
        scores = _axes(self.tallies, self.checks)
        scores["ignoring_suppressions"] = _axes(self.tallies_all, self.checks)
        return scores

    def current_stage(self) -> int:
        current = 0
        for stage in range(1, 5):
            if stage in self.blocked or stage not in self.evaluated:
                break
            current = stage
        return current

    def stage(self) -> dict:
        current = self.current_stage()
        nxt = current + 1 if current < 4 else None
        ordered = {
            stage: [fingerprint for _, fingerprint in sorted(self.candidates.get(stage, ()))]
            for stage in range(1, 5)
        }
        return {
            "current": current,
            "name": STAGE_NAMES[current],
            "next": nxt,
            "next_name": STAGE_NAMES[nxt] if nxt is not None else None,
            "blockers": ordered[nxt] if nxt is not None else [],
            "blockers_by_stage": {str(stage): ordered[stage] for stage in ordered},
            "untested": sorted({1, 2, 3, 4} - self.evaluated),
        }

    def cost(self) -> dict:
        count = sum(self.by_kind.values())
        return {
            "public_ipv4": {
                "count": count,
                "hourly_usd_each": PUBLIC_IPV4_HOURLY_USD,
                "monthly_usd": round(count * PUBLIC_IPV4_HOURLY_USD * HOURS_PER_MONTH, 2),
                "by_kind": dict(sorted(self.by_kind.items())),
            }
        }

    def counts(self) -> dict:
        return {
            "by_status": {
                s: self.by_status.get(s, 0)
                for s in ("pass", "fail", "warn", "info", "skip", "error")
            },
            "suppressed": self.suppressed,
            "total": sum(self.by_status.values()),
        }
