"""The runner: isolation, timeouts, selection, bounded fan-out, the preflight gate."""

from __future__ import annotations

import asyncio
import io
from dataclasses import replace

import pytest

from auditor.config import Config
from auditor.context import Limits, RunState
from auditor.errors import UsageError
from auditor.model import Finding, Resource, Status, errored, failed, passed
from auditor.progress import LineProgress
from auditor.registry import Registry, check
from auditor.runner import run_checks, select_checks


def make_registry() -> Registry:
    reg = Registry()
    common = {
        "family": "demo",
        "severity": "high",
        "stage": 1,
        "remediation": "fix",
        "registry": reg,
    }

    @check(id="demo.ok", title="ok", **common)
    async def ok(ctx):
        yield passed("fine", resource=Resource(id="r-1"))

    @check(id="demo.boom", title="boom", **common)
    async def boom(ctx):
        yield failed("first finding survives", resource=Resource(id="r-2"))
        raise RuntimeError("listing exploded")

    @check(id="demo.slow", title="slow", **common)
    async def slow(ctx):
        await asyncio.sleep(30)
        yield passed("never")

    @check(id="demo.empty", title="empty", **common)
    async def empty(ctx):
        return
        yield  # pragma: no cover

    @check(
        id="net.preflight",
        title="pre",
        family="preflight",
        severity="critical",
        stage=None,
        mandatory=False,
        registry=reg,
    )
    async def preflight(ctx):
        yield errored("no IPv6 route")

    @check(
        id="dns.thing",
        title="net",
        family="dns",
        severity="high",
        stage=2,
        remediation="fix",
        network=True,
        registry=reg,
    )
    async def network_check(ctx):
        yield passed("would be a false pass without IPv6")

    return reg


def run(reg: Registry, ids: list[str], **cfg) -> tuple:
    config = replace(Config(), check_timeout=0.5, **cfg)
    checks = [reg.get(i) for i in ids]
    stream = io.StringIO()
    outcome = asyncio.run(run_checks(checks, config, registry=reg, progress=LineProgress(stream)))
    return outcome, stream.getvalue()


def by_check(findings: list[Finding]) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for f in findings:
        out.setdefault(f.check_id, []).append(f)
    return out


def test_exception_becomes_error_finding_and_the_run_goes_on() -> None:
    outcome, _ = run(make_registry(), ["demo.ok", "demo.boom"])
    found = by_check(outcome.findings)
    assert [f.status for f in found["demo.ok"]] == [Status.PASS]
    statuses = [f.status for f in found["demo.boom"]]
    assert statuses == [Status.FAIL, Status.ERROR]
    err = found["demo.boom"][1]
    assert "demo.boom failed: RuntimeError: listing exploded" in err.message
    assert err.evidence["error"] == "RuntimeError"
    assert not outcome.incomplete


def test_timeout_becomes_error_finding() -> None:
    outcome, _ = run(make_registry(), ["demo.slow", "demo.ok"])
    [slow] = by_check(outcome.findings)["demo.slow"]
    assert slow.status is Status.ERROR
    assert "did not finish within 0.5 s" in slow.message
    assert by_check(outcome.findings)["demo.ok"][0].status is Status.PASS


def test_check_with_nothing_to_check_reports_skip() -> None:
    outcome, _ = run(make_registry(), ["demo.empty"])
    [f] = outcome.findings
    assert f.status is Status.SKIP and "nothing to check" in f.message


def test_findings_are_stamped_with_metadata_and_fingerprint() -> None:
    outcome, _ = run(make_registry(), ["demo.ok"])
    [f] = outcome.findings
    assert (f.check_id, f.family, f.severity.value, f.stage) == ("demo.ok", "demo", "high", 1)
    assert len(f.fingerprint) == 24
    again, _ = run(make_registry(), ["demo.ok"])
    assert again.findings[0].fingerprint == f.fingerprint


def test_network_checks_report_error_not_verdicts_when_preflight_fails() -> None:
    outcome, _ = run(make_registry(), ["dns.thing"])
    found = by_check(outcome.findings)
    assert found["net.preflight"][0].status is Status.ERROR  # run implicitly
    [net] = found["dns.thing"]
    assert net.status is Status.ERROR
    assert "not tested" in net.message and "no IPv6 route" in net.message
    assert outcome.incomplete
    assert outcome.errors[0]["source"] == "net.preflight"


def test_plain_progress_lines_when_not_a_terminal() -> None:
    _, progress = run(make_registry(), ["demo.ok", "demo.boom"])
    lines = progress.splitlines()
    assert lines[0] == "v6audit: running 2 checks"
    assert sorted(lines[1:]) == [
        "[1/2] demo.ok: 1 pass",
        "[2/2] demo.boom: 1 fail, 1 error",
    ] or sorted(lines[1:]) == ["[1/2] demo.boom: 1 fail, 1 error", "[2/2] demo.ok: 1 pass"]


def test_only_and_skip_globs() -> None:
    reg = make_registry()
    ids = [c.id for c in select_checks(reg, only=["demo.*"], skip=["demo.slow,demo.boom"])]
    assert ids == ["demo.empty", "demo.ok"]
    with pytest.raises(UsageError, match=r"no check id matches 'nope\.\*'"):
        select_checks(reg, only=["nope.*"])
    with pytest.raises(UsageError, match="leave no check"):
        select_checks(reg, only=["demo.ok"], skip=["demo.*"])


def test_fan_out_honours_global_and_family_bounds() -> None:
    reg = Registry()
    seen = {"now": 0, "max": 0}

    async def io_task(_: int) -> int:
        seen["now"] += 1
        seen["max"] = max(seen["max"], seen["now"])
        await asyncio.sleep(0.002)
        seen["now"] -= 1
        return 1

    @check(
        id="fan.out",
        title="f",
        family="fan",
        severity="low",
        stage=1,
        remediation="x",
        registry=reg,
    )
    async def fan(ctx):
        total = 0
        async for _, result in ctx.map(io_task, range(400)):
            total += result
        yield passed(f"{total} done")

    outcome, _ = run(reg, ["fan.out"], concurrency=40)
    assert outcome.findings[0].message == "400 done"
    assert seen["max"] == 30  # the family bound: three quarters of the global 40


def test_map_hands_back_exceptions_as_results() -> None:
    reg = Registry()

    async def maybe(i: int) -> int:
        if i == 3:
            raise ValueError("bad item")
        return i

    @check(
        id="fan.errors",
        title="f",
        family="fan",
        severity="low",
        stage=1,
        remediation="x",
        registry=reg,
    )
    async def fan(ctx):
        bad = [str(r) async for _, r in ctx.map(maybe, range(6)) if isinstance(r, Exception)]
        yield passed(";".join(bad))

    outcome, _ = run(reg, ["fan.errors"])
    assert outcome.findings[0].message == "bad item"


def test_shared_listings_are_released_when_the_checks_are_done() -> None:
    # Two checks share one cached listing during the run; the run's cache does not outlive it,
    # so a large estate's listings are not held while the result is built and written.
    reg = Registry()
    calls = []

    async def listing() -> list[str]:
        calls.append(1)
        return ["sg-1", "sg-2"]

    for name in ("a", "b"):

        @check(id=f"demo.{name}", title=name, family="demo", severity="low", stage=1,
               remediation="fix", registry=reg)  # fmt: skip
        async def uses_listing(ctx):
            for item in await ctx.cache.get(("demo", "listing"), listing):
                yield passed(item, resource=Resource(id=item))

    state = RunState(config=Config(), limits=Limits(4))
    outcome = asyncio.run(run_checks(list(reg), Config(), registry=reg, state=state))
    assert len(outcome.findings) == 4 and calls == [1]
    assert state.cache.peek(("demo", "listing")) is None
