"""`v6audit demo` end to end (moto estate, local servers, every check, all six formats),
side by side with a baseline process that only starts the CLI and loads every check.

    .venv/bin/python bench/demo_time.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cli = [sys.executable, "-m", "auditor"]
    demo, baseline = [], []
    for _ in range(args.rounds):
        baseline.append(timed([*cli, "checks", "list"]))
        with tempfile.TemporaryDirectory() as out:
            demo.append(timed([*cli, "demo", "-q", "-o", out]))
    print(
        json.dumps(
            {
                "baseline_checks_list_s": round(statistics.median(baseline), 2),
                "demo_s_median": round(statistics.median(demo), 2),
                "demo_s_max": round(max(demo), 2),
                "ratio": round(statistics.median(demo) / statistics.median(baseline), 1),
                "target_s": 30,
                "met": max(demo) < 30,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
