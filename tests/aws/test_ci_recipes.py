"""The CI recipes of docs/ci.md, run as written against the moto server (all but the steps that
install v6audit or talk to the hosted CI services)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from tests.aws.conftest import DUMMY_ENV
from tests.aws.estate import make_vpc

DOC = Path(__file__).resolve().parents[2] / "docs" / "ci.md"


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(), flags=re.S)


def shell(script: str, cwd: Path, **extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(DUMMY_ENV, **extra)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def workspace(tmp_path: Path, url: str) -> Path:
    (tmp_path / "v6audit.yaml").write_text(
        f"workload: ci-recipe\naws:\n  regions: [us-east-1]\n  endpoint_url: {url}\n"
    )
    return tmp_path


def test_github_actions_job_gates_writes_sarif_and_a_summary(lab, field, tmp_path) -> None:
    job = yaml.safe_load(blocks("yaml")[0])["jobs"]["v6audit"]
    steps = {s.get("name"): s for s in job["steps"]}
    cwd = workspace(tmp_path, lab.url)
    audit = shell(steps["Audit the AWS configuration"]["run"], cwd)
    assert audit.returncode == 1, audit.stderr  # the field estate is under 70
    assert "gate failed: ipv6_only score" in audit.stderr
    out = cwd / "v6audit-out"
    assert (out / "report.sarif").exists() and (out / "report.json").exists()
    summary = cwd / "summary.txt"
    done = shell(steps["Job summary"]["run"], cwd, GITHUB_STEP_SUMMARY=str(summary))
    assert done.returncode == 0 and summary.read_text().startswith("#")
    # The SARIF upload names a file the job wrote.
    upload = next(s for s in job["steps"] if s.get("uses", "").startswith("github/codeql"))
    assert (cwd / upload["with"]["sarif_file"]).exists()


def test_gitlab_job_fails_on_high_and_leaves_its_junit_report(lab, field, tmp_path) -> None:
    job = yaml.safe_load(blocks("yaml")[1])["v6audit"]
    cwd = workspace(tmp_path, lab.url)
    script = "\n".join(line for line in job["script"] if "pip install" not in line)
    proc = shell(script, cwd)
    assert proc.returncode == 1, proc.stderr
    assert (cwd / job["artifacts"]["reports"]["junit"]).exists()


def test_baseline_workflow_accepts_today_and_fails_on_new(lab, field, tmp_path) -> None:
    accept, pipeline = [b for b in blocks("sh") if "v6audit" in b][:2]
    cwd = workspace(tmp_path, lab.url)
    git = {
        "GIT_AUTHOR_NAME": "ci",
        "GIT_AUTHOR_EMAIL": "ci@example.com",
        "GIT_COMMITTER_NAME": "ci",
        "GIT_COMMITTER_EMAIL": "ci@example.com",
    }
    subprocess.run(["git", "init", "-q"], cwd=cwd, check=True)
    first = shell(accept, cwd, **git)
    assert first.returncode == 0, first.stderr
    assert (cwd / "v6audit-baseline.json").exists()
    same = shell(pipeline, cwd)
    assert same.returncode == 0, same.stderr
    make_vpc(lab.client("ec2"), "10.9.0.0/16", ipv6=False)  # something new: a VPC without IPv6
    new = shell(pipeline, cwd)
    assert new.returncode == 1
    assert "new finding(s) not in the baseline" in new.stderr
