"""YAML loading under hostile input: alias bombs, deep nesting and huge files end as a clean
ConfigError naming the file and line, within bounded memory."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

from auditor import yamlfile
from auditor.errors import ConfigError
from auditor.suppressions import load_suppressions
from auditor.yamlfile import MAX_DEPTH, load_yaml
from tests.conftest import ROOT

MEMORY_LIMIT = 768 * 1024 * 1024  # address space for the whole CLI process


def billion_laughs() -> str:
    """The classic document: nine levels of nine aliases, 9**9 strings once expanded."""
    lines = ['lol0: &lol0 "lol"']
    for level in range(1, 10):
        aliases = ", ".join([f"*lol{level - 1}"] * 9)
        lines.append(f"lol{level}: &lol{level} [{aliases}]")
    return "\n".join(lines) + "\n"


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _cli_under_memory_limit(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "auditor", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limited,
    )


def test_billion_laughs_config_is_a_clean_usage_error_in_bounded_memory(tmp_path: Path) -> None:
    bomb = tmp_path / "v6audit.yaml"
    bomb.write_text("workload: bomb\n" + billion_laughs())
    proc = _cli_under_memory_limit(tmp_path, "scan", "-c", str(bomb), "-o", str(tmp_path / "out"))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"v6audit: error: {bomb}:")
    assert "aliases expand to more than" in proc.stderr
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr


def test_billion_laughs_suppressions_file_in_bounded_memory(tmp_path: Path) -> None:
    config = tmp_path / "v6audit.yaml"
    config.write_text("workload: w\n")
    bomb = tmp_path / "suppressions.yaml"
    bomb.write_text(billion_laughs())
    proc = _cli_under_memory_limit(
        tmp_path, "scan", "-c", str(config), "--suppressions", str(bomb), "-o", str(tmp_path / "o")
    )
    assert proc.returncode == 2, proc.stderr
    assert f"{bomb}:" in proc.stderr and "aliases expand to more than" in proc.stderr


def test_deep_nesting_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("workload: w\nnested:\n  x: " + "[" * 20000 + "]" * 20000 + "\n")
    with pytest.raises(ConfigError) as caught:
        load_yaml(path)
    assert caught.value.path == str(path) and caught.value.line == 3
    assert f"nested deeper than {MAX_DEPTH} levels" in str(caught.value)


def test_nesting_reached_through_a_chain_of_aliases_is_bounded(tmp_path: Path) -> None:
    text = "a0: &a0 [1]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 2000))
    with pytest.raises(ConfigError, match=r"chain\.yaml:\d+: YAML too large: .*nesting levels"):
        load_yaml(tmp_path / "chain.yaml", text)


def test_an_alias_inside_its_own_anchor_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"loop\.yaml:2: .*refers to a node that contains it"):
        load_yaml(tmp_path / "loop.yaml", "ok: 1\nitems: &a [1, *a]\n")


def test_file_over_the_size_cap_is_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(yamlfile, "MAX_BYTES", 1024)
    path = tmp_path / "suppressions.yaml"
    path.write_text("suppressions:\n" + "  - {check: dns.aaaa, reason: r}\n" * 100)
    with pytest.raises(ConfigError) as caught:
        load_suppressions(path)
    assert str(caught.value) == f"{path}: larger than 1024 bytes"


def test_ordinary_anchors_and_merge_keys_still_load(tmp_path: Path) -> None:
    text = (
        "base: &base {kind: http, timeout: 5}\n"
        "targets:\n"
        "  - {<<: *base, name: a}\n"
        "  - {<<: *base, name: b}\n"
        "tags: &t [x, y]\n"
        "more: *t\n"
    )
    doc = load_yaml(tmp_path / "ok.yaml", text)
    assert doc.data["targets"][1] == {"kind": "http", "timeout": 5, "name": "b"}
    assert doc.data["more"] == ["x", "y"]
    assert doc.line(("targets", 1, "name")) == 4
