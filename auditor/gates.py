"""CI gates: --fail-under, --fail-on and --baseline, evaluated on a result."""

from __future__ import annotations

import re
from dataclasses import dataclass

from auditor.errors import UsageError
from auditor.model import Severity

AXES = ("ipv6_only", "dual_stack")


@dataclass(frozen=True)
class ScoreGate:
    axis: str
    minimum: float


def parse_fail_under(values: list[str] | None) -> list[ScoreGate]:
    """`N` gates the ipv6_only score; `dual_stack=N` or `ipv6_only=N` names the axis."""
    gates = []
    for value in values or ():
        match = re.fullmatch(r"(?:(\w+)=)?(\d+(?:\.\d+)?)", value.strip())
        if not match or (match.group(1) and match.group(1) not in AXES):
            raise UsageError(
                f"--fail-under {value!r}: give a number, or AXIS=NUMBER with AXIS one "
                f"of {', '.join(AXES)}"
            )
        gates.append(ScoreGate(match.group(1) or "ipv6_only", float(match.group(2))))
    return gates


def parse_fail_on(value: str | None) -> Severity | None:
    if value is None:
        return None
    try:
        return Severity(value.lower())
    except ValueError:
        raise UsageError(
            f"--fail-on {value!r}: choose one of {', '.join(s.value for s in Severity)}"
        ) from None


def evaluate_gates(
    result: dict,
    score_gates: list[ScoreGate],
    fail_on: Severity | None,
    baseline: set[str] | None,
) -> list[str]:
    """Reasons the gate fails (empty: it passes). Suppressed findings never fail a gate;
    `error` findings count like failures, so a broken check cannot pass a gate silently."""
    reasons = []
    for gate in score_gates:
        score = result["scores"].get(gate.axis)
        if score is None:
            reasons.append(
                f"{gate.axis} score is not available (no scored check ran), "
                f"required >= {gate.minimum:g}"
            )
        elif score < gate.minimum:
            reasons.append(f"{gate.axis} score {score:g} is under {gate.minimum:g}")
    live = [
        f
        for f in result["findings"]
        if f["status"] in ("fail", "error") and not f.get("suppressed")
    ]
    if fail_on is not None:
        hits = [f for f in live if Severity(f["severity"]).rank <= fail_on.rank]
        if hits:
            worst = min(hits, key=lambda f: Severity(f["severity"]).rank)
            reasons.append(
                f"{len(hits)} finding(s) of severity {fail_on.value} or worse, e.g. "
                f"{worst['check_id']}: {worst['message']}"
            )
    if baseline is not None:
        new = [f for f in live if f["fingerprint"] not in baseline]
        if new:
            reasons.append(
                f"{len(new)} new finding(s) not in the baseline, e.g. "
                f"{new[0]['check_id']}: {new[0]['message']}"
            )
    return reasons
