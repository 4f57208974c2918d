"""The registry: metadata validation, duplicate ids, discovery through entry points."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.errors import CheckLoadError
from auditor.registry import Registry, check, load_checks
from tests.conftest import fake_install


def declare(registry: Registry, **kw):
    meta = {
        "id": "t.one",
        "title": "t",
        "family": "t",
        "severity": "low",
        "stage": 1,
        "remediation": "fix it",
        "registry": registry,
        **kw,
    }

    def deco(func):
        return check(**meta)(func)

    return deco


def test_duplicate_id_is_refused_naming_both_modules() -> None:
    reg = Registry()

    @declare(reg)
    async def first(ctx):
        yield None

    with pytest.raises(CheckLoadError, match=r"duplicate check id 't\.one'"):

        @declare(reg)
        async def second(ctx):
            yield None


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"id": "NoDots"}, "id must look like"),
        ({"severity": "urgent"}, "unknown severity"),
        ({"stage": 7}, "stage must be 1-4"),
        ({"permissions": ["DescribeVpcs"]}, "service:Action"),
        ({"remediation": ""}, "needs a remediation"),
    ],
)
def test_bad_metadata_is_refused_at_load(kw: dict, words: str) -> None:
    with pytest.raises(CheckLoadError, match=words):

        @declare(Registry(), **kw)
        async def bad(ctx):
            yield None


def test_a_check_must_be_an_async_generator() -> None:
    with pytest.raises(CheckLoadError, match="async generator"):

        @declare(Registry())
        async def not_a_generator(ctx):
            return None


def test_builtin_checks_load_from_entry_points_and_carry_metadata() -> None:
    registry = load_checks()
    preflight = registry.get("net.preflight")
    assert preflight is not None
    assert preflight.meta.module == "checks.preflight"
    assert preflight.meta.description  # the docstring
    for c in registry:
        assert c.meta.title and c.meta.family and c.meta.severity


def test_third_party_plugin_is_found_through_its_entry_point(tmp_path: Path) -> None:
    env = fake_install(tmp_path, "v6audit_example_plugin", "v6audit_example_plugin")
    out = subprocess.run(
        [sys.executable, "-m", "auditor", "checks", "list", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    checks = {c["id"]: c for c in json.loads(out.stdout)}
    assert checks["example.hello"]["module"] == "v6audit_example_plugin"
    assert checks["example.hello"]["permissions"] == ["ec2:DescribeVpcs"]
    assert "net.preflight" in checks
    policy = subprocess.run(
        [sys.executable, "-m", "auditor", "iam-policy"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "ec2:DescribeVpcs" in json.loads(policy.stdout)["Statement"][0]["Action"]


def test_plugin_check_runs_in_a_scan(tmp_path: Path) -> None:
    env = fake_install(tmp_path, "v6audit_example_plugin", "v6audit_example_plugin")
    out_dir = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "auditor", "scan", "--only", "example.*", "-o", str(out_dir), "-q"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads((out_dir / "report.json").read_text())
    [finding] = result["findings"]
    assert finding["check_id"] == "example.hello" and finding["status"] == "pass"
    assert finding["message"] == "hello from a plugin to workload"


def test_plugin_reusing_a_builtin_id_fails_load_with_exit_2(tmp_path: Path) -> None:
    env = fake_install(tmp_path, "v6audit_dup_plugin", "v6audit_dup_plugin")
    proc = subprocess.run(
        [sys.executable, "-m", "auditor", "checks", "list"], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "duplicate check id 'net.preflight'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_scoped_check_takes_ctx_inv_scope_and_records_its_scope() -> None:
    from auditor.registry import CheckMeta

    reg = Registry()

    @declare(reg, id="t.scoped", scope="region")
    async def scoped(ctx, inv, scope):
        yield None

    entry = reg.get("t.scoped")
    assert entry is not None and entry.meta.scope == "region"
    assert entry.declared is scoped and entry.func is not scoped  # the runner calls an adapter
    assert CheckMeta.from_dict(entry.meta.to_dict()) == entry.meta
    # declaring the same function twice is not a duplicate
    declare(reg, id="t.scoped", scope="region")(scoped)


@pytest.mark.parametrize(
    ("kw", "params", "words"),
    [
        ({"scope": "planet"}, 3, "scope must be one of region, account"),
        ({"scope": "account"}, 1, r"must take \(ctx, inv, scope\), not 1"),
        ({}, 3, r"must take \(ctx\), not 3"),
    ],
)
def test_a_scope_and_a_signature_that_disagree_are_refused(kw: dict, params: int, words: str):
    if params == 1:

        async def func(ctx):
            yield None
    else:

        async def func(ctx, inv, scope):
            yield None

    with pytest.raises(CheckLoadError, match=words):
        declare(Registry(), **kw)(func)


def test_loading_the_registry_loads_no_aws_code() -> None:
    code = (
        "import sys, auditor.registry, auditor.runner\n"
        "print(sorted(m for m in sys.modules if m.startswith(('auditor.aws', 'boto'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
