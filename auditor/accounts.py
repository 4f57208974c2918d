"""The `accounts` section: every audited account ranked by readiness, worst first.

An organisation's sponsor asks "which accounts are furthest behind?". Each account's figures
are computed from its own findings (those whose `resource.account` is that account) by the
same score board as the whole result's, so an account's row and a scan of that account alone
agree. Findings without an account (network probes) belong to no row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from auditor.model import Finding
from auditor.scoring import ScoreBoard


def account_of(finding: Finding) -> str:
    return (finding.resource.account if finding.resource else "") or ""


def account_row(account: str, name: str, board: ScoreBoard) -> dict[str, Any]:
    """One account's row, from the board its findings went through."""
    scores = board.scores()
    stage = board.current_stage()
    cost = board.cost()["public_ipv4"]
    return {
        "account": account,
        "name": name,
        "scores": {"dual_stack": scores["dual_stack"], "ipv6_only": scores["ipv6_only"]},
        "stage": stage,
        "blockers": board.blocker_counts[stage + 1] if stage < 4 else 0,
        "public_ipv4": {"count": cost["count"], "monthly_usd": cost["monthly_usd"]},
        "errors": board.by_status.get("error", 0),
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


def account_rows(
    boards: Mapping[str, ScoreBoard], names: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    names = names or {}
    return rank_accounts(
        account_row(account, names.get(account, ""), board)
        for account, board in boards.items()
        if account
    )
