"""One scan, start to finish: config, checks, run, suppressions, result (`auditor.output` writes
the reports)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from auditor.config import Config, Dependency, address_ok, redact_url, url_problem
from auditor.context import Limits, RunState
from auditor.progress import Progress
from auditor.registry import Registry, load_checks
from auditor.result import build_result
from auditor.runner import run_checks, select_checks
from auditor.suppressions import SuppressionRule, apply_suppressions


@dataclass
class ScanRequest:
    config: Config
    only: Sequence[str] = ()
    skip: Sequence[str] = ()
    suppressions: list[SuppressionRule] = field(default_factory=list)
    registry: Registry | None = None
    state: RunState | None = None  # preset run-wide services (the demo's in-process estate)
    discovery_root: Path = Path("/")


@dataclass
class ScanOutcome:
    # Not in the repr: on its way out, asyncio.run (3.11) formats the main task, and with it
    # the task's result, which for a large estate meant a transient copy of the whole result.
    result: dict = field(repr=False)
    incomplete: bool


def with_discovered(config: Config, root: Path) -> tuple[Config, list[dict]]:
    """Add what `discover` finds on this host to the configured targets, each with its
    provenance; files that cannot be read are reported, never fatal."""
    from auditor.discovery import discover
    from auditor.discovery.dependency import as_dependency

    found = discover(root=root, search_paths=[Path(p) for p in config.discover_paths])
    known_names = {d.name for d in config.targets}
    known = {(d.kind, d.url or d.address) for d in config.targets}  # URLs redacted
    added: dict[str, list[Dependency]] = {"dependency": [], "log_shipper": []}
    problems = [
        {"level": "warning", "source": p.source, "message": f"discovery: {p.message}"}
        for p in found.problems
    ]
    for target in found.targets:
        source = f"{target.source}:{target.line}" if target.line else target.source
        why = url_problem(target.url) if target.url else None
        if why is None and target.address and not address_ok(target.address):
            why = "is not host:port"
        if why is not None:  # the same checks as a configured target's
            shown = redact_url(target.url) if target.url else target.address
            message = f"discovery: {shown!r} {why}; not probed"
            problems.append({"level": "warning", "source": source, "message": message})
            continue
        key = (target.kind, redact_url(target.url) if target.url else target.address)
        if key in known:
            continue
        name = target.name
        while name in known_names:
            name += "'"
        known_names.add(name)
        known.add(key)
        added[target.category].append(as_dependency(target, name))
    config = replace(
        config,
        dependencies=config.dependencies + tuple(added["dependency"]),
        log_shippers=config.log_shippers + tuple(added["log_shipper"]),
    )
    return config, problems


async def run_scan(request: ScanRequest, progress: Progress) -> ScanOutcome:
    """The scan inside a running event loop (the demo serves its estate from the same loop)."""
    registry = request.registry or load_checks()
    checks = select_checks(registry, request.only, request.skip)
    config = request.config
    discovery_problems: list[dict] = []
    if config.discover and any(c.meta.network for c in checks):
        config, discovery_problems = with_discovered(config, request.discovery_root)
    state = request.state or RunState(config=config, limits=Limits(config.concurrency))
    state.config = config
    outcome = await run_checks(checks, config, registry=registry, progress=progress, state=state)
    warnings = apply_suppressions(outcome.findings, request.suppressions, datetime.now(UTC).date())
    result = build_result(
        workload=config.workload,
        findings=outcome.findings,
        checks=[c.meta for c in outcome.checks],
        started_at=outcome.started_at,
        finished_at=outcome.finished_at,
        errors=discovery_problems + outcome.errors + warnings,
        config=config,
        account_names=_account_names(state),
    )
    return ScanOutcome(result, outcome.incomplete)


def _account_names(state: RunState) -> dict[str, str]:
    """Account labels (organisation names, `aws.accounts[].name`) the AWS inventory learnt."""
    from auditor.aws.inventory import Inventory

    inventory = state.services.get("aws")
    return inventory.account_names() if isinstance(inventory, Inventory) else {}


def scan(request: ScanRequest, progress: Progress) -> ScanOutcome:
    return asyncio.run(run_scan(request, progress))
