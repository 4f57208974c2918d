"""Running a scoped AWS check: the check is written for one scope (one account in one region,
or one account for account-wide services) and this module fans it out over every scope of the
run, concurrently, turning AWS errors into findings. The registry calls :func:`run_scoped` for
every check declared with ``@check(scope=...)``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from auditor.aws.errors import (
    AwsAccessDenied,
    AwsError,
    AwsNoCredentials,
    AwsRegionDisabled,
    AwsServiceUnavailable,
    AwsThrottled,
)
from auditor.aws.inventory import Inventory, Scope
from auditor.model import Finding, Resource, errored, skipped

if TYPE_CHECKING:
    from auditor.context import CheckContext

SERVICE = "aws"

ScopedFunc = Callable[["CheckContext", Inventory, Scope], AsyncIterator[Finding]]


def inventory(ctx: CheckContext) -> Inventory:
    """The run's one inventory (created on first use)."""
    return ctx.service(SERVICE, Inventory)


def scope_error(
    ctx: CheckContext, exc: AwsError, scope: Scope | None, on: Resource | None = None
) -> Finding:
    """The finding for a scope (or, with `on`, one resource) that could not be read."""
    resource = on or (scope.resource() if scope else None)
    where = scope.where if scope else "AWS"
    evidence = exc.evidence()
    if isinstance(exc, AwsRegionDisabled):
        return skipped(
            f"Not checked: region {scope.region if scope else '?'} is not enabled for account "
            f"{scope.account if scope else '?'} ({exc.code}); enable it or remove it from "
            "aws.regions",
            resource=resource,
            evidence=evidence,
        )
    if isinstance(exc, AwsServiceUnavailable):
        return skipped(f"Not checked in {where}: {exc}", resource=resource, evidence=evidence)
    if isinstance(exc, AwsAccessDenied):
        if exc.action == "sts:AssumeRole":
            message = f"Not checked: {exc}"
        else:
            message = (
                f"Not checked in {where}: the audit identity is denied {exc.action}; grant it "
                "(`v6audit iam-policy` prints the read-only policy the checks need)"
            )
        return errored(message, resource=resource, evidence=evidence)
    if isinstance(exc, AwsThrottled):
        return errored(
            f"Not checked in {where}: {exc.action} was still throttled after botocore's "
            "retries; re-run later or with a lower --concurrency",
            resource=resource,
            evidence=evidence,
        )
    if isinstance(exc, AwsNoCredentials):
        ctx.state.report_problem(SERVICE, f"AWS checks not run: {exc}", fatal=True)
        return errored(f"Not checked: {exc}", resource=resource, evidence=evidence)
    return errored(f"Not checked in {where}: {exc}", resource=resource, evidence=evidence)


async def _collect(
    ctx: CheckContext, func: ScopedFunc, inv: Inventory, scope: Scope
) -> list[Finding]:
    out: list[Finding] = []
    try:
        async for finding in func(ctx, inv, scope):
            out.append(finding)
    except AwsError as exc:
        out.append(scope_error(ctx, exc, scope))
    return out


async def run_scoped(ctx: CheckContext, func: ScopedFunc, kind: str) -> AsyncIterator[Finding]:
    """Run `func` for every account and region (`kind` "region"), once per account ("account"),
    or both ("region+account"), all concurrently. An AWS error ends that scope with an `error`
    finding (`skip` for a region that is not enabled) and leaves the others running; without
    credentials the check gets one `error` finding and the run one fatal problem."""
    inv = inventory(ctx)
    try:
        scopes: list[Scope] = []
        if kind in ("region", "region+account"):
            scopes += await inv.scopes()
        if kind in ("account", "region+account"):
            scopes += await inv.global_scopes()
    except AwsError as exc:
        if isinstance(exc, AwsNoCredentials):
            ctx.state.report_problem(SERVICE, f"AWS checks not run: {exc}", fatal=True)
        yield errored(f"Not checked: {exc}", evidence=exc.evidence())
        return
    results = await asyncio.gather(*(_collect(ctx, func, inv, s) for s in scopes))
    for findings in results:
        for finding in findings:
            yield finding
