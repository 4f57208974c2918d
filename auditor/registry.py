"""The check registry: one decorator declares a check and its metadata.

Built-in checks and third-party plugins are found the same way: every module named by the
entry-point group ``v6audit.checks`` is imported, and importing it registers its checks.
Importing a check module does no I/O.

An AWS check declares its scope (``scope="region"``: every account and region;
``scope="account"``: once per account, for account-wide services; ``"region+account"``: both)
and is written as ``async def f(ctx, inv, scope)``: the registry wraps it in an adapter that
fans it out over the scopes (:func:`auditor.aws.scoped.run_scoped`, imported when the check
runs, so that loading the registry loads no AWS code), the way Cloud Custodian's resource
managers own the listing and the policy only filters.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from importlib import import_module
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, TypeVar

from auditor.errors import CheckLoadError
from auditor.model import Finding, Severity

if TYPE_CHECKING:
    from auditor.aws.inventory import Inventory, Scope
    from auditor.context import CheckContext

ENTRY_POINT_GROUP = "v6audit.checks"

CheckFunc = Callable[["CheckContext"], AsyncIterator[Finding]]
ScopedFunc = Callable[["CheckContext", "Inventory", "Scope"], AsyncIterator[Finding]]

SCOPES = ("region", "account", "region+account")
F = TypeVar("F", bound=Callable[..., AsyncIterator[Finding]])

_ID_RE = re.compile(r"^[a-z0-9]+(\.[a-z0-9_]+)+$")
_PERMISSION_RE = re.compile(r"^[a-z0-9-]+:[A-Z][A-Za-z0-9]+$")


@dataclass(frozen=True)
class CheckMeta:
    """Everything a report, the IAM policy and `explain` need to know about a check."""

    id: str
    title: str
    family: str
    severity: Severity
    stage: int | None
    mandatory: bool = True
    permissions: tuple[str, ...] = ()
    remediation: str = ""
    references: tuple[str, ...] = ()
    description: str = ""
    network: bool = False  # probes from where the auditor runs: needs net.preflight to pass
    fix_order: int = 100  # among blockers, lower is fixed first (a VPC CIDR before its subnets)
    module: str = ""
    scope: str | None = None  # AWS checks: "region", "account" or "region+account"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "family": self.family,
            "severity": str(self.severity),
            "stage": self.stage,
            "mandatory": self.mandatory,
            "permissions": list(self.permissions),
            "remediation": self.remediation,
            "references": list(self.references),
            "description": self.description,
            "network": self.network,
            "fix_order": self.fix_order,
            "module": self.module,
            "scope": self.scope,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckMeta:
        return cls(
            id=data["id"],
            title=data.get("title", data["id"]),
            family=data.get("family", ""),
            severity=Severity(data.get("severity", "info")),
            stage=data.get("stage"),
            mandatory=bool(data.get("mandatory", True)),
            permissions=tuple(data.get("permissions", ())),
            remediation=data.get("remediation", ""),
            references=tuple(data.get("references", ())),
            description=data.get("description", ""),
            network=bool(data.get("network", False)),
            fix_order=int(data.get("fix_order", 100)),
            module=data.get("module", ""),
            scope=data.get("scope"),
        )


@dataclass(frozen=True)
class Check:
    meta: CheckMeta
    func: CheckFunc  # what the runner calls: ``func(ctx)``
    declared: Callable[..., AsyncIterator[Finding]] | None = None  # as written, if wrapped

    @property
    def id(self) -> str:
        return self.meta.id


@dataclass
class Registry:
    checks: dict[str, Check] = field(default_factory=dict)

    def add(self, check: Check) -> None:
        existing = self.checks.get(check.id)
        if existing is not None and _source(existing) is not _source(check):
            raise CheckLoadError(
                f"duplicate check id {check.id!r}: declared in {existing.meta.module} "
                f"and in {check.meta.module}"
            )
        self.checks[check.id] = check

    def __iter__(self):
        return iter(sorted(self.checks.values(), key=lambda c: c.id))

    def __len__(self) -> int:
        return len(self.checks)

    def get(self, check_id: str) -> Check | None:
        return self.checks.get(check_id)


REGISTRY = Registry()


def _source(check: Check) -> Callable[..., Any]:
    return check.declared or check.func


def _scoped(func: ScopedFunc, scope: str) -> CheckFunc:
    """The runner's view of a scoped AWS check: ``func(ctx, inv, scope)`` for every scope."""

    async def run(ctx: CheckContext) -> AsyncIterator[Finding]:
        from auditor.aws.scoped import run_scoped  # AWS code loads only when an AWS check runs

        async for finding in run_scoped(ctx, func, scope):
            yield finding

    run.__name__ = run.__qualname__ = getattr(func, "__name__", "scoped")
    run.__module__ = getattr(func, "__module__", "?")
    run.__doc__ = func.__doc__
    return run


def _validate(meta: CheckMeta) -> None:
    where = f"check {meta.id!r} in {meta.module}"
    if not _ID_RE.match(meta.id):
        raise CheckLoadError(f"{where}: id must look like 'family.name' (lowercase, dotted)")
    if not meta.title or not meta.family:
        raise CheckLoadError(f"{where}: title and family are required")
    if meta.stage is not None and meta.stage not in (1, 2, 3, 4):
        raise CheckLoadError(f"{where}: stage must be 1-4 or None, not {meta.stage!r}")
    for perm in meta.permissions:
        if not _PERMISSION_RE.match(perm):
            raise CheckLoadError(f"{where}: permission {perm!r} is not 'service:Action'")
    if meta.mandatory and meta.stage is not None and not meta.remediation:
        raise CheckLoadError(f"{where}: a scored check needs a remediation")
    if meta.scope is not None and meta.scope not in SCOPES:
        raise CheckLoadError(
            f"{where}: scope must be one of {', '.join(SCOPES)} (or omitted), not {meta.scope!r}"
        )


def _positional_count(func: Callable[..., Any]) -> int | None:
    """How many positional arguments `func` requires (None when it takes *args or is opaque)."""
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):
        return None
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(1 for p in params if p.kind in kinds and p.default is inspect.Parameter.empty)


def check(
    *,
    id: str,
    title: str,
    family: str,
    severity: str | Severity,
    stage: int | None,
    mandatory: bool = True,
    permissions: tuple[str, ...] | list[str] = (),
    remediation: str = "",
    references: tuple[str, ...] | list[str] = (),
    network: bool = False,
    fix_order: int = 100,
    scope: str | None = None,
    registry: Registry | None = None,
) -> Callable[[F], F]:
    """Declare a check: metadata and code in one place.

    The decorated function is an async generator ``async def f(ctx) -> AsyncIterator[Finding]``,
    or, with `scope`, an AWS check ``async def f(ctx, inv, scope)`` run for every scope (see
    the module docstring). Its docstring becomes the check's description. The function is
    returned unchanged.
    """

    def decorate(func: F) -> F:
        module = getattr(func, "__module__", "?")
        if not inspect.isasyncgenfunction(func):
            raise CheckLoadError(f"check {id!r} in {module}: must be an async generator function")
        wanted = 1 if scope is None else 3
        got = _positional_count(func)
        if got is not None and got != wanted:
            shape = "(ctx)" if scope is None else "(ctx, inv, scope)"
            raise CheckLoadError(
                f"check {id!r} in {module}: "
                + (f"with scope={scope!r} " if scope is not None else "")
                + f"the function must take {shape}, not {got} argument(s)"
            )
        try:
            sev = Severity(severity)
        except ValueError:
            raise CheckLoadError(
                f"check {id!r} in {module}: unknown severity {severity!r}"
            ) from None
        meta = CheckMeta(
            id=id,
            title=title,
            family=family,
            severity=sev,
            stage=stage,
            mandatory=mandatory,
            permissions=tuple(sorted(set(permissions))),
            remediation=inspect.cleandoc(remediation),
            references=tuple(references),
            description=inspect.cleandoc(func.__doc__ or ""),
            network=network,
            fix_order=fix_order,
            module=module,
            scope=scope,
        )
        _validate(meta)
        if scope is None:
            entry = Check(meta, func)
        else:
            entry = Check(meta, _scoped(func, scope), declared=func)
        (REGISTRY if registry is None else registry).add(entry)
        return func

    return decorate


def load_checks() -> Registry:
    """Import every module of the entry-point group; a module that fails to import is an error."""
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            if ep.attr:
                ep.load()
            else:
                import_module(ep.module)
        except CheckLoadError:
            raise
        except Exception as exc:
            raise CheckLoadError(
                f"cannot load checks from entry point {ep.name!r} ({ep.value}): "
                f"{type(exc).__name__}: {exc}"
            ) from exc
    return REGISTRY
