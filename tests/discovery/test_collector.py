"""What every source shares: the collector, the search-path walk, odd shapes."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
import yaml

from auditor.discovery import DiscoveryProblem, DiscoveryResult, discover
from tests.discovery.helpers import messages, problem, run, target, urls, write


def test_search_paths_skip_vendored_and_virtualenv_folders(tmp_path: Path) -> None:
    app = tmp_path / "app"
    write(app, "Dockerfile", "FROM one.example.com/a\n")
    write(app, "node_modules/pkg/Dockerfile", "FROM skipped.example.com/a\n")
    write(app, ".git/Dockerfile", "FROM skipped.example.com/b\n")
    write(app, ".venv/requirements.txt", "-i https://skipped.example.com/simple\n")
    write(app, "env3/pyvenv.cfg", "home = /usr/bin\n")
    write(app, "env3/requirements.txt", "-i https://skipped.example.com/simple\n")
    write(app, "a/b/c/d/e/f/g/Dockerfile", "FROM too-deep.example.com/a\n")
    write(app, "svc/Containerfile", "FROM two.example.com/a\n")
    write(app, "svc/pip.conf", "[global]\nindex-url = https://three.example.com/simple\n")
    write(app, "svc/requirements-prod.txt", "--index-url https://four.example.com/simple\n")
    result = run(tmp_path, search=[app, tmp_path / "missing"])
    hosts = sorted((t.url or "").split("/")[2] for t in result.targets)
    assert hosts == ["four.example.com", "one.example.com", "three.example.com", "two.example.com"]
    assert result.problems == [
        DiscoveryProblem(str(tmp_path / "missing"), "search path is not a directory")
    ]


def test_unexpected_shapes_do_not_raise(tmp_path: Path) -> None:
    write(tmp_path, "/etc/vector/vector.yaml", "sinks: [1, 2]\n")
    write(tmp_path, "/etc/fluent-bit/fluent-bit.yaml", "pipeline:\n  outputs: {a: 1}\n")
    write(tmp_path, "/etc/vector/vector.toml", 'sinks = "nope"\n')
    write(tmp_path, "/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json", "[]")
    result = run(tmp_path)
    assert result.targets == []
    assert messages(result) == ["malformed at line 1: expected a JSON object"]


def test_empty_root_finds_nothing(tmp_path: Path) -> None:
    assert run(tmp_path) == DiscoveryResult([], [])


def test_env_defaults_to_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIP_INDEX_URL", "https://pypi.process.example.com/simple/")
    result = discover(root=tmp_path)
    assert ("pypi", "https://pypi.process.example.com/simple/", None) in urls(result)


def test_duplicates_keep_first_provenance(tmp_path: Path) -> None:
    write(tmp_path, "/etc/pip.conf", "[global]\nindex-url = https://pypi.org/simple/\n")
    result = run(tmp_path, {"PIP_INDEX_URL": "https://pypi.org/simple/"})
    assert result.targets == [
        target(
            "pip index pypi.org",
            "pypi",
            "/etc/pip.conf",
            2,
            url="https://pypi.org/simple/",
            root=tmp_path,
        )
    ]


def test_file_found_twice_is_read_once(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    (tmp_path / "root/.npmrc").symlink_to(tmp_path / "nowhere")
    result = run(tmp_path, search=[tmp_path / "root"])
    assert result == DiscoveryResult(
        [], [problem("/root/.npmrc", "unreadable: broken symbolic link", root=tmp_path)]
    )


def _live_yaml_nodes() -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if isinstance(obj, yaml.Node))


def test_repeated_runs_retain_no_yaml_objects(tmp_path: Path) -> None:
    """One YAML loader per document: nothing a run parsed outlives it."""
    write(
        tmp_path,
        "/etc/vector/vector.yaml",
        """
        sinks:
          a: {type: http, uri: "https://a.example.com/"}
          b: {type: loki, endpoints: ["https://b.example.com/", "https://c.example.com/"]}
        """,
    )
    write(
        tmp_path,
        "/etc/fluent-bit/fluent-bit.yaml",
        "pipeline:\n  outputs:\n    - {name: http, host: d.example.com, tls: on}\n",
    )
    first = run(tmp_path)
    assert len(first.targets) == 4
    before = _live_yaml_nodes()
    for _ in range(5):
        assert run(tmp_path) == first
    assert _live_yaml_nodes() == before
