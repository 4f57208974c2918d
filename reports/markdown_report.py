"""report.md: a summary page for a CI job (GitHub's job summary, GitLab/other Markdown views).

Stable by construction: the same result gives the same bytes (no clock, fixed order), so the
page diffs cleanly between runs. Every field taken from the result goes through `md` (or
`code`), so no Markdown or HTML in a resource name, a message or a check id can change the page:
no link, no image, no HTML tag, no broken table row.
"""

from __future__ import annotations

import re

from reports.fmt import fmt_score, fmt_usd
from reports.view import STATUS_LABELS, STATUSES, FindingView, View, build_view

AREA_LIMIT = 15  # areas of "the path" listed
ITEMS_PER_AREA = 5
FINDING_LIMIT = 50  # rows of the "needs attention" table

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~#!])")
_CODE_SAFE = re.compile(r"[A-Za-z0-9._:/@+= -]+")


def md(text: object) -> str:
    """Plain text made inert in Markdown (and in the HTML GitHub allows in it)."""
    s = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = _MD_SPECIAL.sub(r"\\\1", s)
    return " ".join(s.split())


def code(text: object) -> str:
    """An identifier (a check id) in a code span when it is plainly one, else escaped text: a
    backslash escapes nothing inside a code span, so nothing else may go there."""
    s = str(text)
    return f"`{s}`" if _CODE_SAFE.fullmatch(s) else md(s)


def _delta(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"+{value:g}" if value > 0 else f"{value:g}"


def _scores(view: View) -> list[str]:
    head = ["Score", "Now"]
    if view.previous:
        head.append(f"vs previous run ({view.previous.date})")
    if view.quarter_ago:
        head.append(f"vs a quarter ago ({view.quarter_ago.date})")
    if view.scores_differ:
        head.append("Ignoring suppressions")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for axis, label, all_value in (
        ("ipv6_only", "IPv6-only readiness", view.ipv6_only_all),
        ("dual_stack", "Dual-stack health", view.dual_stack_all),
    ):
        row = [label, f"**{fmt_score(getattr(view, axis))}** / 100"]
        for d in (view.previous, view.quarter_ago):
            if d:
                row.append(_delta(getattr(d, axis)))
        if view.scores_differ:
            row.append(fmt_score(all_value))
        lines.append("| " + " | ".join(row) + " |")
    return lines


def _finding_line(f: FindingView) -> str:
    where = f" ({md(f.where)})" if f.where else ""
    return f"   - {md(f.subject)}{where}: {md(f.message)}"


def render_view(view: View) -> str:
    out = [f"# IPv6 readiness: {md(view.workload)}", ""]
    if view.sample:
        out += ["> Sample data from `v6audit demo`: a bundled estate, nothing in it is real.", ""]
    stage = f"**Stage {view.stage} of 4: {md(view.stage_name)}**"
    if view.next_stage is not None:
        stage += (
            f" · {len(view.blockers)} blocker{'s' if len(view.blockers) != 1 else ''} "
            f"to stage {view.next_stage} ({md(view.next_stage_name)})"
        )
    out += [stage, "", f"Vantage: **{view.vantage or 'unknown'}**. {md(view.vantage_text)}", ""]
    out += _scores(view)
    out.append("")
    ladder = " → ".join(
        (f"**{s.number} {s.name}**" if s.state == "current" else f"{s.number} {s.name}")
        + (" ✓" if s.state == "reached" else "")
        for s in view.stages
    )
    out += [ladder, ""]

    if view.next_stage is not None:
        out += [f"## The path to stage {view.next_stage}: {md(view.next_stage_name)}", ""]
        if not view.path:
            out.append(f"No blocker, but no check gave a verdict at stage {view.next_stage}.")
        for n, step in enumerate(view.path[:AREA_LIMIT], 1):
            count = len(step.findings)
            out.append(
                f"{n}. **{md(step.check.title)}** ({code(step.check.id)}, {md(step.severity)}): "
                f"{count} finding{'s' if count != 1 else ''}"
            )
            out += [_finding_line(f) for f in step.findings[:ITEMS_PER_AREA]]
            if count > ITEMS_PER_AREA:
                out.append(f"   - and {count - ITEMS_PER_AREA} more")
            if step.check.remediation:
                out.append(f"   - *How to fix:* {md(step.check.remediation)}")
        if len(view.path) > AREA_LIMIT:
            out.append(f"\nand {len(view.path) - AREA_LIMIT} more areas (see the HTML report).")
        out.append("")

    if view.classes:
        out += ["## What the network classes mean", "", "| Class | Meaning |", "|---|---|"]
        out += [f"| `{name}` | {md(sentence)} |" for name, sentence in view.classes]
        out.append("")

    out += ["## Findings", ""]
    out += [
        "| " + " | ".join(STATUS_LABELS[s] for s in STATUSES) + " | Suppressed | Total |",
        "|" + "---:|" * (len(STATUSES) + 2),
        "| "
        + " | ".join(str(view.counts[s]) for s in STATUSES)
        + f" | {view.suppressed} | {view.total} |",
        "",
    ]
    attention = [f for f in view.findings if f.is_action]
    if attention:
        out += [
            f"<details><summary>Findings that need attention ({len(attention)})</summary>",
            "",
            "| Status | Severity | Check | Resource / target | Message |",
            "|---|---|---|---|---|",
        ]
        out += [
            f"| {md(f.status_label)} | {md(f.severity)} | {code(f.check_id)} | {md(f.subject)} | "
            f"{md(f.message)} |"
            for f in attention[:FINDING_LIMIT]
        ]
        if len(attention) > FINDING_LIMIT:
            out.append(f"\n{len(attention) - FINDING_LIMIT} more in the HTML and JSON reports.")
        out += ["", "</details>", ""]

    out += [
        "## Scores by family",
        "",
        "| Family | Score | Fail | Warn | Pass |",
        "|---|---:|---:|---:|---:|",
    ]
    out += [
        f"| {md(f.name)} | {fmt_score(f.score)} | {f.counts['fail'] + f.counts['error']} | "
        f"{f.counts['warn']} | {f.counts['pass']} |"
        for f in view.families
    ]
    out.append("")

    out += ["## Public IPv4", ""]
    if view.public_ipv4:
        kinds = ", ".join(f"{n} {md(k)}" for k, n in view.cost_by_kind)
        out.append(
            f"{view.public_ipv4} public IPv4 address{'es' if view.public_ipv4 != 1 else ''}"
            f" ({kinds}): **{fmt_usd(view.monthly_usd)} a month**, {fmt_usd(view.yearly_usd)} a"
            " year, saved by running IPv6-only."
        )
    else:
        out.append("No public IPv4 address: nothing to pay for IPv4.")
    out.append("")

    if view.errors:
        out += ["## Problems during the run", ""]
        out += [
            f"- **{md(e['level'])}**"
            + (f" {code(e['source'])}" if e["source"] else "")
            + f": {md(e['message'])}"
            for e in view.errors
        ]
        out.append("")
    if view.sources:
        out.append(
            "Merged from: " + ", ".join(f"{md(s.get('name', ''))}" for s in view.sources) + "."
        )
        out.append("")
    out.append(
        f"<sub>{md(view.tool)} {md(view.tool_version)} · scan finished {md(view.finished_at)}"
        f" · {view.total} finding{'s' if view.total != 1 else ''}</sub>"
    )
    return "\n".join(out) + "\n"


def render(result: dict) -> str:
    return render_view(build_view(result))
