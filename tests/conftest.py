"""Shared fixtures. The network lab (root, namespaces) lives in tests/lab; the moto server
fixture in tests/aws/conftest.py."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

pytest_plugins = ["tests.lab.fixtures"]

# botocore must never look for credentials at the EC2 metadata address from a test machine.
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
# Scans record their history per user by default: keep the tests' runs out of the real one.
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="v6audit-test-data-")

ROOT = Path(__file__).parent.parent
PLUGIN_DIR = Path(__file__).parent / "plugin"


def fake_install(where: Path, name: str, value: str) -> dict[str, str]:
    """An environment in which importlib.metadata sees a distribution `name` whose
    `v6audit.checks` entry point is `value` (a module under tests/plugin)."""
    dist = where / f"{name}-1.0.dist-info"
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[v6audit.checks]\n{name} = {value}\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(where), str(PLUGIN_DIR), str(ROOT)])
    return env


@pytest.fixture
def plugin_env(tmp_path: Path) -> dict[str, str]:
    return fake_install(tmp_path / "site", "v6audit_example_plugin", "v6audit_example_plugin")


@pytest.fixture
def cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess]:
    """Run `python -m auditor ARGS` in a subprocess, as a user would."""

    def run(
        *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "auditor", *args],
            env=env,
            cwd=cwd or tmp_path,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run
