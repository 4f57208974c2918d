"""Merge the results of several accounts or shards into one result.

A large organisation runs one container per account (or shards the checks) on its own
scheduler and reports once: `v6audit merge A.json B.json -o ORG.json`. Every figure of the
merged result is recomputed by `build_result` from the union of the findings, exactly as a
single scan would compute it; nothing is averaged.

Duplicates (the same check id and fingerprint in several inputs) arise when shards overlap, or
when two containers probe the same public dependency (network fingerprints carry no account);
findings of two checks are never one, even if a crafted or colliding fingerprint is shared. The
merged result keeps the worst observation (fail before error before warn ...), because the
workload is IPv6-only-ready only where every place that runs it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from auditor.errors import AuditorError
from auditor.model import Finding
from auditor.registry import CheckMeta
from auditor.result import SCHEMA_VERSION, build_result

_WORST_FIRST = {s: i for i, s in enumerate(("fail", "error", "warn", "info", "skip", "pass"))}
_SEVERITY = {s: i for i, s in enumerate(("critical", "high", "medium", "low", "info"))}


class MergeError(AuditorError):
    """The inputs cannot be merged into one result."""


def _major(version: str) -> str:
    return str(version).split(".", 1)[0]


def _time(text: str, name: str) -> datetime:
    try:
        ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise MergeError(f"{name}: timestamp {text!r} is not ISO 8601") from None
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def _rank(finding: dict[str, Any]) -> tuple:
    return (
        _WORST_FIRST.get(finding["status"], 9),
        _SEVERITY.get(finding.get("severity") or "info", 9),
        finding.get("suppressed") is not None,  # an unsuppressed observation wins a tie
    )


def merge_results(
    results: list[dict[str, Any]],
    workload: str | None = None,
    names: Sequence[str] | None = None,
) -> dict[str, Any]:
    """One result from several; `names` label the inputs (file names) in `sources` and errors."""
    if not results:
        raise MergeError("merge needs at least one result")
    names = list(names) if names is not None else [f"input {i + 1}" for i in range(len(results))]
    if len(names) != len(results):
        raise MergeError("merge: one name per result")
    ours = _major(SCHEMA_VERSION)
    for name, result in zip(names, results, strict=True):
        theirs = _major(result.get("schema_version", ""))
        if theirs != ours:
            raise MergeError(
                f"{name}: schema_version {result.get('schema_version')!r} cannot be merged "
                f"with schema {SCHEMA_VERSION} results (different major version); re-run "
                "that scan with this v6audit"
            )

    chosen: dict[tuple[str, str], tuple[tuple, int, dict[str, Any]]] = {}
    checks: dict[str, dict[str, Any]] = {}
    errors: list[dict[str, Any]] = []
    sources: list[dict[str, Any]] = []
    starts, ends = [], []
    for order, (name, result) in enumerate(zip(names, results, strict=True)):
        for finding in result.get("findings") or ():
            key = (finding["check_id"], finding["fingerprint"])
            candidate = (_rank(finding), order, finding)
            if key not in chosen or candidate[:2] < chosen[key][:2]:
                chosen[key] = candidate
        for meta in result.get("checks") or ():
            checks.setdefault(meta["id"], meta)
        for problem in result.get("errors") or ():
            source = problem.get("source")
            errors.append({**problem, "source": f"{name}: {source}" if source else name})
        starts.append((_time(result["started_at"], name), result["started_at"]))
        ends.append((_time(result["finished_at"], name), result["finished_at"]))
        findings = result.get("findings") or []
        sources.append(
            {
                "name": name,
                "workload": result.get("workload", ""),
                "started_at": result["started_at"],
                "finished_at": result["finished_at"],
                "tool_version": (result.get("tool") or {}).get("version", ""),
                "findings": len(findings),
                "accounts": sorted(
                    {(f.get("resource") or {}).get("account", "") for f in findings} - {""}
                ),
                "regions": sorted(
                    {(f.get("resource") or {}).get("region", "") for f in findings} - {""}
                ),
            }
        )

    if workload is None:
        workloads = sorted({r.get("workload", "") for r in results} - {""})
        workload = workloads[0] if len(workloads) == 1 else " + ".join(workloads) or "merged"
    return build_result(
        workload=workload,
        findings=[Finding.from_dict(f) for _, _, f in chosen.values()],
        checks=[CheckMeta.from_dict(m) for m in checks.values()],
        started_at=min(starts)[1],
        finished_at=max(ends)[1],
        errors=errors,
        config={"workload": workload, "merged_from": names},
        extra={"sources": sources},
    )
