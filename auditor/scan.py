"""One scan, start to finish: config, checks, run, suppressions, result, outputs."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from auditor.config import Config
from auditor.context import Limits, RunState
from auditor.progress import Progress
from auditor.registry import Registry, load_checks
from auditor.result import atomic_write, build_result
from auditor.runner import run_checks, select_checks
from auditor.suppressions import SuppressionRule, apply_suppressions
from reports import Format


@dataclass
class ScanRequest:
    config: Config
    only: Sequence[str] = ()
    skip: Sequence[str] = ()
    suppressions: list[SuppressionRule] = field(default_factory=list)
    registry: Registry | None = None
    state: RunState | None = None  # preset run-wide services (the demo's in-process estate)


@dataclass
class ScanOutcome:
    result: dict
    incomplete: bool


def scan(request: ScanRequest, progress: Progress) -> ScanOutcome:
    registry = request.registry or load_checks()
    checks = select_checks(registry, request.only, request.skip)
    config = request.config
    state = request.state or RunState(config=config, limits=Limits(config.concurrency))
    outcome = asyncio.run(
        run_checks(checks, config, registry=registry, progress=progress, state=state)
    )
    warnings = apply_suppressions(outcome.findings, request.suppressions, datetime.now(UTC).date())
    result = build_result(
        workload=config.workload,
        findings=outcome.findings,
        checks=[c.meta for c in outcome.checks],
        started_at=outcome.started_at,
        finished_at=outcome.finished_at,
        errors=outcome.errors + warnings,
        config=config,
    )
    return ScanOutcome(result, outcome.incomplete)


def write_outputs(result: dict, formats: Sequence[Format], outdir: str) -> list[str]:
    """Render every format; `-` as the folder writes the single format to stdout."""
    if outdir == "-":
        data = formats[0].render(result)
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return ["-"]
    written = []
    for fmt in formats:
        path = Path(outdir) / fmt.filename
        atomic_write(path, fmt.render(result))
        written.append(str(path))
    return written
