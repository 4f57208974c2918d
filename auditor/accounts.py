"""The `accounts` section: every audited account ranked by readiness, worst first.

An organisation's sponsor asks "which accounts are furthest behind?". Each account's figures
are computed from its own findings (those whose `resource.account` is that account) with the
same functions as the whole result's, so an account's row and a scan of that account alone
agree. Findings without an account (network probes) belong to no row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import groupby
from typing import Any

from auditor.model import Finding, Status
from auditor.registry import CheckMeta
from auditor.scoring import axis_scores, compute_cost, compute_stage


def account_of(finding: Finding) -> str:
    return (finding.resource.account if finding.resource else "") or ""


def account_row(
    account: str, name: str, findings: list[Finding], checks: Mapping[str, CheckMeta]
) -> dict[str, Any]:
    """One account's row, from that account's findings only."""
    scores = axis_scores(findings, checks)
    stage = compute_stage(findings, checks)
    cost = compute_cost(findings)["public_ipv4"]
    return {
        "account": account,
        "name": name,
        "scores": {"dual_stack": scores["dual_stack"], "ipv6_only": scores["ipv6_only"]},
        "stage": stage["current"],
        "blockers": len(stage["blockers"]),
        "public_ipv4": {"count": cost["count"], "monthly_usd": cost["monthly_usd"]},
        "errors": sum(1 for f in findings if f.status is Status.ERROR),
    }


def _worst_first(row: dict[str, Any]) -> tuple:
    score = row["scores"]["ipv6_only"]
    return (
        row["stage"],
        score if score is not None else -1.0,  # nothing scored: nothing proven, rank it first
        -row["blockers"],
        -row["errors"],
        row["account"],
    )


def rank_accounts(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Lowest stage first, then lowest IPv6-only score, most blockers, most errors."""
    return sorted(rows, key=_worst_first)


def compute_accounts(
    findings: Iterable[Finding],
    checks: Mapping[str, CheckMeta],
    names: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Rows for every account that has findings, worst first. `findings` come grouped by
    account (sorted by `account_of`), so only one account's findings are held at a time."""
    names = names or {}
    rows = []
    for account, group in groupby(findings, key=account_of):
        if account:
            rows.append(account_row(account, names.get(account, ""), list(group), checks))
    return rank_accounts(rows)
