"""Inside the lab's workload namespace: run dep.reachable in-process and report its figures.

Run by bench/net_scan.py as ``ip netns exec <ws> python bench/net_scan_inner.py CONFIG``.
Prints one JSON object: wall time, the DNS phase (names, queries, seconds, qps), the
resolver's counters and how many targets got each class.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from auditor.config import load_config
from auditor.context import Limits, RunState
from auditor.net.service import NET_SERVICE
from auditor.registry import load_checks
from auditor.runner import run_checks, select_checks


async def main(config_path: str) -> dict:
    config = load_config(config_path)
    registry = load_checks()
    checks = select_checks(registry, ["dep.reachable"])
    state = RunState(config=config, limits=Limits(config.concurrency))
    start = time.perf_counter()
    outcome = await run_checks(checks, config, registry=registry, state=state)
    wall = time.perf_counter() - start
    net = state.services[NET_SERVICE]
    classes = Counter(
        f.evidence.get("class", f.status.value)
        for f in outcome.findings
        if f.check_id == "dep.reachable"
    )
    return {
        "wall_s": round(wall, 3),
        "dns_phase": net.dns_phases[0] if net.dns_phases else None,
        "resolver": net.dns_stats(),
        "classes": dict(sorted(classes.items())),
        "findings": sum(classes.values()),
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1]))))
