"""Runner overhead: one check fanning out 10,000 tasks of 1 ms simulated I/O at concurrency 500.

Measured side by side with a baseline that does the same I/O with bare asyncio (a semaphore and
gather, no runner), each in a fresh process, alternating, so machine noise hits both alike.

    .venv/bin/python bench/runner_overhead.py [--rounds 5] [--tasks 10000] [--concurrency 500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import replace

IO_SECONDS = 0.001


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def io(_: int) -> int:
    await asyncio.sleep(IO_SECONDS)
    return 1


def run_baseline(tasks: int, concurrency: int) -> float:
    async def main() -> int:
        sem = asyncio.Semaphore(concurrency)

        async def one(i: int) -> int:
            async with sem:
                return await io(i)

        return sum(await asyncio.gather(*(one(i) for i in range(tasks))))

    start = time.perf_counter()
    assert asyncio.run(main()) == tasks
    return time.perf_counter() - start


def run_v6audit(tasks: int, concurrency: int) -> float:
    from auditor.config import Config
    from auditor.model import Status, passed
    from auditor.registry import Registry, check
    from auditor.runner import run_checks

    registry = Registry()

    @check(
        id="bench.fanout",
        title="fan-out",
        family="bench",
        severity="low",
        stage=1,
        remediation="none",
        registry=registry,
    )
    async def fanout(ctx):
        done = 0
        async for _, result in ctx.map(io, range(tasks)):
            done += result
        yield passed(f"{done} tasks")

    config = replace(Config(), concurrency=concurrency)
    start = time.perf_counter()
    outcome = asyncio.run(run_checks(list(registry), config))
    elapsed = time.perf_counter() - start
    assert outcome.findings[0].status is Status.PASS
    assert outcome.findings[0].message == f"{tasks} tasks"
    return elapsed


def child(kind: str, tasks: int, concurrency: int) -> None:
    fn = run_v6audit if kind == "v6audit" else run_baseline
    wall = fn(tasks, concurrency)
    print(json.dumps({"kind": kind, "wall_s": wall, "peak_rss_mb": peak_rss_mb()}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=500)
    parser.add_argument("--child", choices=["v6audit", "baseline"])
    args = parser.parse_args()
    if args.child:
        child(args.child, args.tasks, args.concurrency)
        return
    runs: dict[str, list[dict]] = {"baseline": [], "v6audit": []}
    for _ in range(args.rounds):
        for kind in ("baseline", "v6audit"):
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    kind,
                    "--tasks",
                    str(args.tasks),
                    "--concurrency",
                    str(args.concurrency),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            runs[kind].append(json.loads(out.stdout))
    summary = {}
    for kind, items in runs.items():
        summary[kind] = {
            "wall_s_median": round(statistics.median(r["wall_s"] for r in items), 3),
            "wall_s_max": round(max(r["wall_s"] for r in items), 3),
            "peak_rss_mb_max": round(max(r["peak_rss_mb"] for r in items), 1),
        }
    summary["ratio_wall_v6audit_to_baseline"] = round(
        summary["v6audit"]["wall_s_median"] / summary["baseline"]["wall_s_median"], 2
    )
    summary["targets"] = {"wall_s_under": 2.0, "peak_rss_mb_under": 150}
    summary["met"] = (
        summary["v6audit"]["wall_s_max"] < 2.0 and summary["v6audit"]["peak_rss_mb_max"] < 150
    )
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
