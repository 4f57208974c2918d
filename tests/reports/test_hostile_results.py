"""A result file is input like any other: wrong types, deep nesting and huge fields end as a
clean exit 2 naming the file and the field, or render bounded; never a traceback."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor.errors import AuditorError
from auditor.formats import FORMATS
from auditor.merge import merge_results
from auditor.result import validate_result
from auditor.suppressions import baseline_document
from reports.fmt import MAX_FIELD_CHARS
from reports.view import build_view

WRONG = ([], "x", None)


def _places(value: Any, path: tuple = ()) -> Iterator[tuple]:
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _places(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _places(item, (*path, index))


def _pattern(path: tuple) -> tuple:
    return tuple("*" if isinstance(k, int) else k for k in path)


def _small(sample: dict) -> dict:
    """The sample cut to the findings, checks and history points that bring a field no
    earlier one has: every kind of field once, in a result a few times smaller."""
    small = copy.deepcopy(sample)
    for key in ("findings", "checks"):
        seen: set[tuple] = set()
        kept = []
        for item in small[key]:
            fields = {_pattern(p) for p in _places(item)}
            if fields - seen:
                kept.append(item)
                seen |= fields
        small[key] = kept
    small["history"]["points"] = small["history"]["points"][:1]
    return small


def _one_of_each(result: dict) -> list[tuple]:
    """Every field of the result once (the first finding, check ... that has it)."""
    seen: dict[tuple, tuple] = {}
    for path in _places(result):
        seen.setdefault(_pattern(path), path)
    return [p for p in seen.values() if p]


def test_every_field_of_a_wrong_type_is_refused_or_rendered(sample: dict) -> None:
    small = _small(sample)
    validate_result(small)
    crashes = []
    for path in _one_of_each(small):
        for wrong in WRONG:
            result = copy.deepcopy(small)
            parent = result
            for key in path[:-1]:
                parent = parent[key]
            parent[path[-1]] = copy.deepcopy(wrong)
            try:
                validate_result(result)
            except AuditorError:
                continue  # refused, naming the field
            for name, use in (
                ("view", build_view),
                ("md", FORMATS["md"].render),
                ("junit", FORMATS["junit"].render),
                ("sarif", FORMATS["sarif"].render),
                ("html", FORMATS["html"].render),
                ("merge", lambda r: merge_results([r])),
                ("baseline", baseline_document),
            ):
                try:
                    use(result)
                except AuditorError:
                    pass
                except Exception as exc:  # noqa: BLE001 - what the test looks for
                    crashes.append(f"{'/'.join(map(str, path))}={wrong!r}: {name}: {exc!r}")
    assert crashes == []


def _write(tmp_path: Path, data: Any | str) -> Path:
    path = tmp_path / "result.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def test_a_field_of_the_wrong_type_is_exit_2_naming_it(cli, sample: dict, tmp_path) -> None:
    sample["history"]["points"][1]["time"] = 5
    proc = cli("report", str(_write(tmp_path, sample)), "--format", "md")
    assert proc.returncode == 2, proc.stderr
    assert "history/points/1/time" in proc.stderr and "not a v6audit result" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


@pytest.mark.parametrize("command", ["report", "merge", "baseline"])
def test_deep_nesting_is_exit_2_not_recursion(cli, tmp_path, command: str) -> None:
    path = _write(tmp_path, "[" * 200_000 + "]" * 200_000)
    args = {"report": ["--format", "md"], "merge": ["-o", "-"], "baseline": []}[command]
    proc = cli(command, str(path), *args)
    assert proc.returncode == 2, proc.stderr
    assert "nested deeper than 64 levels" in proc.stderr and "Traceback" not in proc.stderr
    assert "internal error" not in proc.stderr


def test_nesting_that_parses_is_bounded_too(cli, sample: dict, tmp_path) -> None:
    deep: Any = "bottom"
    for _ in range(300):  # parses, but would exhaust the stack of what walks it next
        deep = {"d": deep}
    sample["findings"][0]["evidence"]["nested"] = deep
    proc = cli("report", str(_write(tmp_path, sample)), "--format", "html")
    assert proc.returncode == 2, proc.stderr
    assert "findings/0/evidence/nested/d/d" in proc.stderr
    assert "nested deeper than 64 levels" in proc.stderr


def test_a_huge_field_is_cut_with_a_marker_in_every_renderer(sample: dict) -> None:
    blocker = sample["stage"]["blockers"][0]
    finding = next(f for f in sample["findings"] if f["fingerprint"] == blocker)
    finding["message"] = "m" * 2_000_000
    finding["evidence"]["body"] = "b" * 2_000_000
    view = build_view(sample)
    shown = view.by_fingerprint[blocker]
    assert shown.message.startswith("m" * MAX_FIELD_CHARS)
    assert shown.message.endswith("[… truncated: 1,990,000 more characters]")
    assert len(shown.evidence["body"]) < MAX_FIELD_CHARS + 100
    for name in ("html", "md", "junit", "sarif", "pdf"):
        data = FORMATS[name].render(sample)
        assert len(data) < 1_000_000, name  # nowhere near the 4 MB of input
        if name != "pdf":
            assert "truncated: 1,990,000 more characters" in data.decode(), name
