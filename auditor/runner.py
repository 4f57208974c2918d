"""The async runner: selects checks, runs them isolated and bounded, stamps their findings."""

from __future__ import annotations

import asyncio
import fnmatch
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from auditor.config import Config
from auditor.context import CheckContext, Limits, RunState
from auditor.errors import UsageError
from auditor.model import Finding, Status, errored, skipped
from auditor.progress import Progress, SilentProgress
from auditor.registry import Check, Registry

PREFLIGHT_ID = "net.preflight"


@dataclass
class RunOutcome:
    findings: list[Finding]
    checks: list[Check]
    started_at: datetime
    finished_at: datetime
    errors: list[dict] = field(default_factory=list)
    incomplete: bool = False  # the scan could not complete (exit 3)


def _patterns(values: Sequence[str] | None, flag: str) -> list[str]:
    """The globs of repeated, comma-separated `flag` values; a value naming none (`--only ''`)
    is a usage error, never "no filter"."""
    out: list[str] = []
    for value in values or ():
        globs = [p.strip() for p in value.split(",") if p.strip()]
        if not globs:
            raise UsageError(f"{flag} {value!r} names no check id (see `v6audit checks list`)")
        out.extend(globs)
    return out


def select_checks(
    registry: Iterable[Check], only: Sequence[str] | None = None, skip: Sequence[str] | None = None
) -> list[Check]:
    """Checks whose id matches any --only glob (all when none) and no --skip glob."""
    checks = list(registry)
    only_p, skip_p = _patterns(only, "--only"), _patterns(skip, "--skip")
    for pattern in only_p + skip_p:
        if not any(fnmatch.fnmatchcase(c.id, pattern) for c in checks):
            raise UsageError(f"no check id matches {pattern!r} (see `v6audit checks list`)")
    selected = [
        c
        for c in checks
        if (not only_p or any(fnmatch.fnmatchcase(c.id, p) for p in only_p))
        and not any(fnmatch.fnmatchcase(c.id, p) for p in skip_p)
    ]
    if not selected:
        raise UsageError("--only/--skip leave no check to run")
    return selected


def stamp(finding: Finding, check: Check, elapsed_ms: float) -> Finding:
    """Fill in what the check's metadata says, unless the check said otherwise."""
    meta = check.meta
    finding.check_id = meta.id
    finding.family = meta.family
    if finding.severity is None:
        finding.severity = meta.severity
    if finding.stage is None:
        finding.stage = meta.stage
    if not finding.remediation and finding.status not in (Status.PASS, Status.SKIP):
        finding.remediation = meta.remediation
    if not finding.duration_ms:
        finding.duration_ms = elapsed_ms
    finding.fingerprint = finding.compute_fingerprint()
    return finding


async def run_check(check: Check, state: RunState, timeout: float) -> list[Finding]:
    """Run one check to completion; an exception or timeout becomes an `error` finding."""
    ctx = CheckContext(state=state, check_id=check.id, family=check.meta.family)
    findings: list[Finding] = []
    start = time.perf_counter()

    def elapsed() -> float:
        return (time.perf_counter() - start) * 1000

    async def consume() -> None:
        async for finding in check.func(ctx):
            if not isinstance(finding, Finding):
                raise TypeError(f"yielded {type(finding).__name__}, not a Finding")
            findings.append(stamp(finding, check, elapsed()))

    try:
        async with asyncio.timeout(timeout):
            await consume()
    except TimeoutError:
        findings.append(
            stamp(
                errored(
                    f"{check.id} did not finish within {timeout:g} s; its results are incomplete",
                    evidence={
                        "error": "timeout",
                        "timeout_s": timeout,
                        "findings_before": len(findings),
                    },
                ),
                check,
                elapsed(),
            )
        )
    except Exception as exc:  # noqa: BLE001 - isolation: one broken check never spoils a run
        findings.append(
            stamp(
                errored(
                    f"{check.id} failed: {type(exc).__name__}: {exc}",
                    evidence={"error": type(exc).__name__, "detail": str(exc)[:2000]},
                ),
                check,
                elapsed(),
            )
        )
    if not findings:
        findings.append(
            stamp(
                skipped(f"{check.id}: nothing to check (no resources or targets in scope)"),
                check,
                elapsed(),
            )
        )
    return findings


async def run_checks(
    checks: Sequence[Check],
    config: Config,
    *,
    registry: Registry | None = None,
    progress: Progress | None = None,
    clock: Callable[[], datetime] | None = None,
    state: RunState | None = None,
) -> RunOutcome:
    """Run the selected checks. Network checks wait for `net.preflight`; when it does not
    pass they report `error` (a tester without IPv6 must not blame the dependencies)."""
    progress = progress or SilentProgress()
    state = state or RunState(config=config, limits=Limits(config.concurrency))
    if clock is not None:
        state.clock = clock
    started = state.clock()
    checks = list(checks)
    network = [c for c in checks if c.meta.network]
    preflight = next((c for c in checks if c.id == PREFLIGHT_ID), None)
    if network and preflight is None and registry is not None:
        preflight = registry.get(PREFLIGHT_ID)
        if preflight is not None:
            checks.insert(0, preflight)
    others = [c for c in checks if c.id != PREFLIGHT_ID]
    outcome = RunOutcome([], checks, started, started)
    progress.start(len(checks))

    if preflight is not None:
        found = await run_check(preflight, state, config.check_timeout)
        outcome.findings.extend(found)
        progress.advance(preflight.id, found)
        state.preflight = found[0]
        if found[0].status is not Status.PASS:
            state.report_problem(
                PREFLIGHT_ID,
                "no IPv6 where the auditor runs, network checks not run: " + found[0].message,
                fatal=True,
            )

    async def run_one(check: Check) -> list[Finding]:
        if check.meta.network and (
            state.preflight is None or state.preflight.status is not Status.PASS
        ):
            why = state.preflight.message if state.preflight else "no preflight check is loaded"
            return [
                stamp(
                    errored(
                        f"not tested: the auditor itself has no working IPv6 ({why})",
                        evidence={"error": "preflight", "preflight": PREFLIGHT_ID},
                    ),
                    check,
                    0.0,
                )
            ]
        return await run_check(check, state, config.check_timeout)

    tasks = {asyncio.create_task(run_one(c)): c for c in others}
    try:
        for done in asyncio.as_completed(tasks):
            found = await done
            outcome.findings.extend(found)
            progress.advance(found[0].check_id, found)
    finally:
        for task in tasks:
            task.cancel()
        state.problems.extend(await _close_services(state))
        state.cache.clear()  # every check has finished: release the listings before the result
        progress.finish()
    outcome.errors = state.problems
    outcome.incomplete = any(p["level"] == "error" for p in state.problems)
    order = {c.id: i for i, c in enumerate(sorted(checks, key=lambda c: c.id))}
    outcome.findings.sort(key=lambda f: (order.get(f.check_id, 0),))
    outcome.finished_at = datetime.now(UTC) if clock is None else state.clock()
    return outcome


async def _close_services(state: RunState) -> list[dict]:
    """Close run-wide helpers; a failure to close is reported, never raised over the results."""
    problems = []
    for name, service in state.services.items():
        close = getattr(service, "aclose", None)
        if close is not None:
            try:
                await close()
            except Exception as exc:  # noqa: BLE001 - reported as a run-level warning
                problems.append(
                    {"level": "warning", "source": name, "message": f"closing {name} failed: {exc}"}
                )
    return problems
