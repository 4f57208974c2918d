"""Turning a verdict into a finding, the same way for every catalog check: the resource, the
attribute, the value it has, the value it needs and the CLI calls that fix it, in `evidence`;
the fix also becomes the finding's own remediation."""

from __future__ import annotations

from typing import Any

from auditor.model import Finding, Resource, Status


def verdict(
    status: str | Status,
    message: str,
    res: Resource,
    *,
    attribute: str,
    value: Any,
    expected: Any,
    fix: list[str] | None = None,
    **evidence: Any,
) -> Finding:
    """A finding whose evidence names what was read and what it should be. `fix` (CLI calls,
    in order) is kept in evidence and, for a failure, is the remediation."""
    ev: dict[str, Any] = {"attribute": attribute, "value": value, "expected": expected}
    ev.update({k: v for k, v in evidence.items() if v is not None})
    status = Status(status)
    finding = Finding(status, message, resource=res, evidence=ev)
    if fix and status is not Status.PASS:
        ev["fix"] = list(fix)
        finding.remediation = "\n".join(f"{n}. {step}" for n, step in enumerate(fix, 1))
    return finding


def next_step(fix: list[str]) -> str:
    """The first step of a fix, for a message; the rest are in the remediation."""
    if not fix:
        return ""
    more = len(fix) - 1
    return f"first: {fix[0]}" + (f" ({more} more step(s) in the remediation)" if more else "")
