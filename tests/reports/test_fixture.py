"""The committed fixture result is what a scan would produce, and covers what the reports show."""

from __future__ import annotations

import json

from auditor.result import dumps, validate_result
from tests.reports.sample_results import SAMPLE_PATH, XSS_NAME, sample_result


def test_committed_sample_matches_its_builder() -> None:
    # Rebuild with `python -m tests.reports.sample_results` after changing the builder.
    assert SAMPLE_PATH.read_text(encoding="utf-8") == dumps(sample_result())


def test_sample_is_a_valid_result_covering_every_case(sample: dict) -> None:
    validate_result(sample)
    statuses = {f["status"] for f in sample["findings"]}
    assert statuses == {"pass", "fail", "warn", "info", "skip", "error"}
    assert any(f["suppressed"] for f in sample["findings"])
    classes = {f["evidence"].get("class") for f in sample["findings"]}
    assert {"nat64", "broken", "native", "unreachable"} <= classes
    assert any(f["resource"] and f["resource"]["name"] == XSS_NAME for f in sample["findings"])
    assert sample["cost"]["public_ipv4"]["by_kind"]
    assert sample["errors"]
    assert sample["history"]["points"] and sample["history"]["previous"]
    assert sample["stage"]["blockers"]
    json.dumps(sample)  # plain JSON all the way down
