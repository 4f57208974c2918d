"""Merging shard/account results: de-duplicated by fingerprint, recomputed, never averaged."""

from __future__ import annotations

import copy
import json

import pytest

from auditor.formats import FORMATS
from auditor.merge import MergeError, merge_results
from auditor.model import Finding
from auditor.registry import CheckMeta
from auditor.result import build_result, validate_result


def _shards(sample: dict) -> tuple[dict, dict]:
    """Split the sample into two shards: network findings and AWS findings (other account)."""
    base = copy.deepcopy(sample)
    base.pop("history")
    a, b = copy.deepcopy(base), copy.deepcopy(base)
    a["findings"] = [f for f in base["findings"] if f["resource"] is None]
    b["findings"] = [f for f in base["findings"] if f["resource"] is not None]
    a["finished_at"], b["started_at"] = "2026-11-02T09:40:00Z", "2026-11-02T09:00:00Z"
    a["errors"], b["errors"] = base["errors"][:1], base["errors"][1:]
    return a, b


def test_merge_recomputes_everything_from_the_union(sample: dict) -> None:
    a, b = _shards(sample)
    merged = merge_results([a, b], names=["net.json", "aws.json"])
    validate_result(merged)
    assert len(merged["findings"]) == len(sample["findings"])
    # exactly what one scan of everything gives
    direct = build_result(
        workload="payments-api",
        findings=[Finding.from_dict(f) for f in sample["findings"]],
        checks=[CheckMeta.from_dict(c) for c in sample["checks"]],
        started_at="x",
        finished_at="y",
    )
    for key in ("scores", "stage", "cost", "counts", "findings", "checks"):
        assert merged[key] == direct[key], key
    assert merged["started_at"] == "2026-11-02T09:00:00Z"
    assert merged["finished_at"] == "2026-11-02T09:40:00Z"
    assert [s["name"] for s in merged["sources"]] == ["net.json", "aws.json"]
    assert merged["sources"][1]["accounts"] == ["123456789012"]
    assert [e["source"] for e in merged["errors"]] == [
        "net.json: suppressions.yaml:4",
        "aws.json: aws us-west-2",
    ]
    assert "history" not in merged


def test_duplicates_keep_the_worst_observation(sample: dict) -> None:
    a = copy.deepcopy(sample)
    b = copy.deepcopy(sample)
    docker_fp = next(f["fingerprint"] for f in a["findings"] if "docker" in json.dumps(f["target"]))
    pypi = next(f for f in b["findings"] if f["target"] and "pypi" in f["target"]["host"])
    pypi_fp = pypi["fingerprint"]
    # shard b saw PyPI only through NAT64; shard a saw it natively
    pypi.update(status="warn", blocking=True, stage=4, evidence={"class": "nat64"})
    merged = merge_results([a, b])
    by_fp = {f["fingerprint"]: f for f in merged["findings"]}
    assert len(by_fp) == len(sample["findings"])
    assert by_fp[pypi_fp]["status"] == "warn"
    assert by_fp[docker_fp]["status"] == "warn"
    assert merged["scores"]["ipv6_only"] < sample["scores"]["ipv6_only"]


def test_merging_a_result_with_itself_changes_no_figure(sample: dict) -> None:
    merged = merge_results([sample, copy.deepcopy(sample)], names=["a", "b"])
    for key in ("scores", "stage", "cost", "counts", "findings"):
        assert merged[key] == sample[key], key
    assert merged["workload"] == "payments-api"


def test_workloads_named_or_joined(sample: dict) -> None:
    other = copy.deepcopy(sample)
    other["workload"] = "billing"
    assert merge_results([sample, other])["workload"] == "billing + payments-api"
    assert merge_results([sample, other], workload="org")["workload"] == "org"


def test_different_major_schema_is_refused(sample: dict) -> None:
    future = copy.deepcopy(sample)
    future["schema_version"] = "2.0"
    with pytest.raises(MergeError, match=r"^new\.json: schema_version '2\.0' cannot be merged"):
        merge_results([sample, future], names=["old.json", "new.json"])
    minor = copy.deepcopy(sample)
    minor["schema_version"] = "1.7"
    merge_results([sample, minor])  # same major: fine
    with pytest.raises(MergeError, match="at least one"):
        merge_results([])


def test_merged_result_renders_in_every_format(sample: dict) -> None:
    merged = merge_results(list(_shards(sample)), names=["net.json", "aws.json"])
    for fmt in FORMATS.values():
        if fmt.name != "pdf":
            assert fmt.render(merged)
    md = FORMATS["md"].render(merged).decode()
    assert "Merged from: net.json, aws.json." in md


def test_duplicates_are_one_check_and_one_fingerprint(sample: dict) -> None:
    a, b = copy.deepcopy(sample), copy.deepcopy(sample)
    a["findings"] = [f for f in a["findings"] if f["check_id"] == "dns.aaaa"][:1]
    twin = copy.deepcopy(a["findings"][0])
    twin["check_id"] = "dns.reachable"  # same fingerprint, another check: not a duplicate
    b["findings"] = [twin, copy.deepcopy(a["findings"][0])]
    merged = merge_results([a, b])
    assert sorted(f["check_id"] for f in merged["findings"]) == ["dns.aaaa", "dns.reachable"]
