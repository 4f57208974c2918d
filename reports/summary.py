"""The executive summary in plain words, shared by the PDF and the Markdown page."""

from __future__ import annotations

from reports.fmt import fmt_score, fmt_usd
from reports.view import View


def plain_summary(view: View) -> list[str]:
    lines = []
    if view.next_stage is None:
        lines.append(
            f"{view.workload} runs IPv6-only natively (stage 4 of 4): nothing stands in the way."
        )
    elif not view.blockers:
        why = (
            "no check gave a verdict there yet"
            if view.next_stage in view.untested
            else "no check failed there"
        )
        lines.append(
            f"{view.workload} is at stage {view.stage} of 4 ({view.stage_name}). Nothing is known "
            f"to block stage {view.next_stage} ({view.next_stage_name}): {why}."
        )
    else:
        n = len(view.blockers)
        steps = len(view.path)
        lines.append(
            f"{view.workload} is at stage {view.stage} of 4 ({view.stage_name}). "
            f"{n} finding{'s' if n != 1 else ''} in {steps} area{'s' if steps != 1 else ''} "
            f"stand{'s' if n == 1 else ''} between it and stage {view.next_stage} "
            f"({view.next_stage_name})."
        )
    readiness = f"IPv6-only readiness is {fmt_score(view.ipv6_only)} out of 100"
    changes = [d.words("ipv6_only") for d in (view.previous, view.quarter_ago) if d]
    if changes:
        readiness += " (" + "; ".join(changes) + ")"
    lines.append(readiness + f"; dual-stack health is {fmt_score(view.dual_stack)} out of 100.")
    if view.public_ipv4:
        lines.append(
            f"The workload holds {view.public_ipv4} public IPv4 address"
            f"{'es' if view.public_ipv4 != 1 else ''}, billed {fmt_usd(view.monthly_usd)} a month "
            f"({fmt_usd(view.yearly_usd)} a year); running IPv6-only removes that cost."
        )
    else:
        lines.append("The workload holds no public IPv4 address, so it pays nothing for IPv4.")
    if view.suppressed:
        lines.append(
            f"{view.suppressed} accepted finding{'s are' if view.suppressed != 1 else ' is'} "
            f"suppressed; without suppressions readiness would be "
            f"{fmt_score(view.ipv6_only_all)}."
        )
    if view.untested:
        lines.append(
            "Not tested in this run: stage "
            + ", ".join(str(s) for s in view.untested)
            + " (no check gave a verdict there)."
        )
    return lines
