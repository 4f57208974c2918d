"""The organisation view: every account of the `accounts` section, ranked worst first, the
count of accounts at each stage, and a stage-by-account heat map. Read-only over the result,
like the rest of the view model; shown when the result covers more than one account."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auditor.model import STAGE_NAMES
from reports.fmt import clip

FURTHEST_BEHIND = 10


@dataclass(frozen=True)
class AccountRow:
    rank: int
    account: str
    name: str
    dual_stack: float | None
    ipv6_only: float | None
    stage: int
    blockers: int
    public_ipv4: int
    monthly_usd: float
    errors: int

    def cell(self, stage: int) -> str:
        """The heat map's cell for `stage`: reached, next (blocked or untested), or ahead."""
        if stage <= self.stage:
            return "reached"
        return "next" if stage == self.stage + 1 else "ahead"


@dataclass(frozen=True)
class OrgView:
    accounts: list[AccountRow]
    by_stage: list[tuple[int, str, int]]  # (stage, name, accounts at it), stage 0 to 4
    furthest_behind: list[AccountRow]
    monthly_usd: float

    @property
    def count(self) -> int:
        return len(self.accounts)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def build_org_view(result: dict[str, Any]) -> OrgView | None:
    rows = result.get("accounts") or []
    if len(rows) < 2:
        return None
    accounts = []
    for rank, row in enumerate(rows, start=1):
        scores = row.get("scores") or {}
        ipv4 = row.get("public_ipv4") or {}
        accounts.append(
            AccountRow(
                rank=rank,
                account=clip(str(row.get("account", "")), 64),
                name=clip(str(row.get("name") or ""), 128),
                dual_stack=_number(scores.get("dual_stack")),
                ipv6_only=_number(scores.get("ipv6_only")),
                stage=int(row.get("stage") or 0),
                blockers=int(row.get("blockers") or 0),
                public_ipv4=int(ipv4.get("count") or 0),
                monthly_usd=float(ipv4.get("monthly_usd") or 0.0),
                errors=int(row.get("errors") or 0),
            )
        )
    counts = {stage: 0 for stage in STAGE_NAMES}
    for account in accounts:
        counts[account.stage] = counts.get(account.stage, 0) + 1
    return OrgView(
        accounts=accounts,
        by_stage=[(stage, STAGE_NAMES[stage], counts[stage]) for stage in sorted(STAGE_NAMES)],
        furthest_behind=accounts[:FURTHEST_BEHIND],
        monthly_usd=round(sum(a.monthly_usd for a in accounts), 2),
    )
