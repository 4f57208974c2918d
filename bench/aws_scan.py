"""Benchmark: a full `aws.*` configuration scan against a large moto estate, side by side
with a minimal boto3 script that only pages through the same Describe/List calls.

    .venv/bin/python bench/aws_scan.py [--rounds 5] [--regions us-east-1,eu-west-1,ap-southeast-2]

Starts moto_server on a free loopback port, seeds every region with 2,000 security groups of
5 rules, 500 subnets, 200 network ACLs, 300 VPC Lambda functions, 200 RDS DB instances, 200
ElastiCache clusters, 50 EKS clusters, 100 transit gateway attachments, 500 launch templates
and 1,000 ECS task definitions (bench/aws_seed.py, bench/aws_seed_catalog.py), then
runs the scan and the raw listing (bench/aws_raw_list.py) in separate processes, alternating
which goes first, and reports wall times, their ratio and each process's peak RSS. Targets: the
scan takes at most 1.3x the raw listing time and stays under 400 MB peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.aws.motoserver import running_moto_server  # noqa: E402

TARGET_RATIO = 1.3
TARGET_RSS_MB = 400
DUMMY = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


def aws_check_ids() -> list[str]:
    from auditor.registry import load_checks

    return [c.id for c in load_checks() if c.id.startswith("aws.") and not c.meta.network]


# --- children --------------------------------------------------------------------------------


def child_scan(endpoint: str, regions: list[str]) -> dict:
    """The full scan in this process: inventory, every aws.* check, scores, report.json."""
    from auditor.aws.actions import iam_action
    from auditor.aws.inventory import Inventory
    from auditor.config import AwsConfig, Config
    from auditor.context import Limits, RunState
    from auditor.formats import FORMATS
    from auditor.output import write_outputs
    from auditor.progress import SilentProgress
    from auditor.scan import ScanRequest, scan

    actions: set[str] = set()

    def record(session) -> None:
        def on_call(model=None, **_):
            actions.add(iam_action(model.service_model, model.name))

        session.events.register("before-call", on_call)

    config = Config(workload="bench", aws=AwsConfig(regions=tuple(regions), endpoint_url=endpoint))
    start = time.perf_counter()
    state = RunState(config=config, limits=Limits(config.concurrency))
    state.services["aws"] = Inventory(state, on_session=record)
    outcome = scan(ScanRequest(config=config, only=aws_check_ids(), state=state), SilentProgress())
    with tempfile.TemporaryDirectory() as tmp:  # written as the CLI writes report.json
        (path,) = write_outputs(outcome.result, [FORMATS["json"]], tmp)
        seconds = time.perf_counter() - start
        size = Path(path).stat().st_size
    counts = outcome.result["counts"]["by_status"]
    return {
        "seconds": seconds,
        "findings": outcome.result["counts"]["total"],
        "by_status": counts,
        "json_bytes": size,
        "actions": sorted(actions),
        "errors": outcome.result["errors"],
    }


def child_seed(endpoint: str, regions: list[str], scale: float) -> dict:
    from bench.aws_seed import seed_region

    def one(region: str) -> dict:
        return seed_region(
            endpoint, region, log=lambda m: print(f"  seed {m}", file=sys.stderr), scale=scale
        )

    start = time.perf_counter()
    with ThreadPoolExecutor(len(regions)) as pool:  # the regions side by side
        counts = dict(zip(regions, pool.map(one, regions), strict=True))
    return {"seconds": time.perf_counter() - start, "counts": counts}


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM), which exec resets, unlike ru_maxrss."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_raw(endpoint: str, regions: list[str]) -> dict:
    from bench.aws_raw_list import raw_listing

    start = time.perf_counter()
    out = raw_listing(endpoint, regions)
    out["seconds"] = time.perf_counter() - start
    return out


# --- parent ----------------------------------------------------------------------------------


def run_child(kind: str, endpoint: str, regions: list[str], *extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | DUMMY
    cmd = [
        sys.executable,
        __file__,
        "--child",
        kind,
        "--endpoint",
        endpoint,
        "--regions",
        ",".join(regions),
        *extra,
    ]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, cwd=ROOT)
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{kind} child failed with {proc.returncode}")
    data = json.loads(output.decode().strip().splitlines()[-1])
    data["wall"] = wall
    data["ru_maxrss_mb"] = usage.ru_maxrss / 1024  # Linux reports KiB
    return data


def run_cli(endpoint: str, regions: list[str]) -> dict:
    """The same scan end to end through the CLI, for the record."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | DUMMY
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "v6audit.yaml"
        cfg.write_text(
            "workload: bench\naws:\n"
            f"  regions: [{', '.join(regions)}]\n  endpoint_url: {endpoint}\n"
        )
        cmd = [
            sys.executable,
            "-m",
            "auditor",
            "scan",
            "-c",
            str(cfg),
            "-o",
            tmp,
            "-q",
            "--only",
            ",".join(aws_check_ids()),
        ]
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        return {
            "wall": time.perf_counter() - start,
            "exit": proc.returncode,
            "peak_rss_mb": usage.ru_maxrss / 1024,
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--regions", default="us-east-1,eu-west-1,ap-southeast-2")
    parser.add_argument("--endpoint", help="an already seeded moto server (skips seeding)")
    parser.add_argument("--scale", type=float, default=1.0, help="shrink the estate (trials)")
    parser.add_argument("--child", choices=["scan", "raw", "seed"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    regions = args.regions.split(",")
    if args.child == "seed":
        print(json.dumps(child_seed(args.endpoint, regions, args.scale)))
        return 0
    if args.child:
        fn = child_scan if args.child == "scan" else child_raw
        data = fn(args.endpoint, regions)
        data["peak_rss_mb"] = peak_rss_mb()
        print(json.dumps(data))
        return 0

    server = running_moto_server() if args.endpoint is None else nullcontext(args.endpoint)
    with server as endpoint:
        seeded = None
        if args.endpoint is None:
            seeded = run_child("seed", endpoint, regions, "--scale", str(args.scale))
            print(f"seeded {len(regions)} regions in {seeded['seconds']:.0f} s", file=sys.stderr)
        scans, raws = [], []
        load_before = os.getloadavg()
        for n in range(args.rounds):
            order = ("raw", "scan") if n % 2 == 0 else ("scan", "raw")
            for kind in order:
                result = run_child(kind, endpoint, regions)
                (scans if kind == "scan" else raws).append(result)
                print(
                    f"  round {n + 1} {kind}: {result['seconds']:.2f} s in process, "
                    f"{result['wall']:.2f} s wall, {result['peak_rss_mb']:.0f} MB",
                    file=sys.stderr,
                )
        cli = run_cli(endpoint, regions)
        load_after = os.getloadavg()

    same_calls = set(scans[0]["actions"]) == set(raws[0]["actions"])
    scan_s = statistics.median(r["seconds"] for r in scans)
    raw_s = statistics.median(r["seconds"] for r in raws)
    scan_wall = statistics.median(r["wall"] for r in scans)
    raw_wall = statistics.median(r["wall"] for r in raws)
    ratio = scan_s / raw_s
    rss = max(r["peak_rss_mb"] for r in scans)
    report = {
        "regions": regions,
        "rounds": args.rounds,
        "findings": scans[0]["findings"],
        "by_status": scans[0]["by_status"],
        "scan_seconds_median": round(scan_s, 2),
        "raw_seconds_median": round(raw_s, 2),
        "ratio": round(ratio, 2),
        "scan_wall_median": round(scan_wall, 2),
        "raw_wall_median": round(raw_wall, 2),
        "wall_ratio": round(scan_wall / raw_wall, 2),
        "scan_peak_rss_mb": round(rss, 1),
        "raw_peak_rss_mb": round(max(r["peak_rss_mb"] for r in raws), 1),
        "cli": {k: round(v, 2) if isinstance(v, float) else v for k, v in cli.items()},
        "same_calls": same_calls,
        "scan_only_calls": sorted(set(scans[0]["actions"]) - set(raws[0]["actions"])),
        "raw_only_calls": sorted(set(raws[0]["actions"]) - set(scans[0]["actions"])),
        "errors": scans[0]["errors"],
        "seed_seconds": round(seeded["seconds"], 1) if seeded else None,
        "load_average_1_5_15": {
            "before": [round(x, 2) for x in load_before],
            "after": [round(x, 2) for x in load_after],
        },
    }
    print(json.dumps(report, indent=2))
    ok = same_calls and ratio <= TARGET_RATIO and rss < TARGET_RSS_MB and not report["errors"]
    print(
        f"scan {scan_s:.2f} s vs raw listing {raw_s:.2f} s: {ratio:.2f}x "
        f"(target <= {TARGET_RATIO}x); peak RSS {rss:.0f} MB (target < {TARGET_RSS_MB} MB): "
        + ("PASS" if ok else "FAIL"),
        file=sys.stderr,
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
