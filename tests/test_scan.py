"""Scan assembly: discovered targets join the configured ones with their provenance."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from auditor.config import Config, Dependency
from auditor.scan import ScanOutcome, with_discovered

FIXTURE_ROOT = Path(__file__).parent / "fixtures" / "discovery" / "root"


def test_discovered_targets_are_added_with_provenance_and_deduplicated() -> None:
    configured = Dependency(
        name="apt deb.debian.org bookworm",
        kinds=("apt",),
        url="http://deb.debian.org/debian/dists/bookworm/InRelease",
        source="v6audit.yaml:3",
    )
    config = replace(Config(), dependencies=(configured,))
    merged, problems = with_discovered(config, FIXTURE_ROOT)
    urls = [d.url for d in merged.dependencies]
    assert urls.count(configured.url) == 1  # the configured one is kept, not doubled
    assert merged.dependencies[0].source == "v6audit.yaml:3"
    discovered = merged.dependencies[1:]
    assert discovered and all(d.source.startswith(str(FIXTURE_ROOT)) for d in discovered)
    assert all(
        ":" in d.source.removeprefix(str(FIXTURE_ROOT))
        for d in discovered
        if not d.source.endswith(".json")
    )
    assert merged.log_shippers and all(d.category == "log_shipper" for d in merged.log_shippers)
    names = [d.name for d in merged.targets]
    assert len(names) == len(set(names))
    assert problems and all(
        p["level"] == "warning" and p["message"].startswith("discovery: ") for p in problems
    )


def test_the_outcome_repr_leaves_the_result_out() -> None:
    # asyncio.run formats the main task's result on its way out: a large result must not be
    # copied into a repr there.
    outcome = ScanOutcome({"findings": [{"message": "x" * 1000}]}, incomplete=False)
    assert "xxxx" not in repr(outcome)
