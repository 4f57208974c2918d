"""Benchmark: a network scan of 2,000 generated names in the IPv6-only lab, side by side with
dnsperf against the same resolver and with a sequential `dig AAAA` + `curl -6` loop.

Needs root and the lab's packages (see tests/lab), plus dnsperf. Usage::

    sudo .venv/bin/python bench/net_scan.py [--names 2000] [--timeout 2] [--loop-sample 400]

The names are a fixed mix of every class (native, nat64 incl. CNAME chains, broken: refused /
reset / black-holed, unreachable: no address / dead IPv4 behind NAT64, dns-error: NXDOMAIN),
served by the lab's unbound as extra records. Each name is an `http` dependency
(`http://NAME/health`). Measured:

- the scan's DNS phase (dep.reachable resolves every host first: AAAA and A per name) in
  queries per second, against `dnsperf -l 10` over the same questions (AAAA and A per name) on
  the same warm resolver; target: at least 30 %;
- the whole scan (`python -m auditor scan --only dep.reachable`, process start to report
  written) against the loop `dig +short AAAA NAME; curl -6 http://NAME/health` run one name
  after the other, with the same timeout; target: at least 20 times faster. The loop runs over
  a stratified sample (every k-th name, so the class mix is kept) and is extrapolated to all
  names unless --loop-sample 0 asks for the full list.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.lab import Lab, lab_available  # noqa: E402

HOLE = "broken (black hole)"
# class -> (share of the names, zone record for the name, or None for NXDOMAIN)
MIX: list[tuple[str, str, float, str | None]] = [
    ("native", "n", 0.30, "AAAA 2001:db8:2::80"),
    ("nat64", "v", 0.15, "A 192.0.2.80"),
    ("nat64 (CNAME chain)", "c", 0.05, "CNAME alias.lab.test."),
    ("broken (refused)", "b", 0.10, "AAAA 2001:db8:2::dead"),
    ("broken (reset)", "r", 0.05, "AAAA 2001:db8:2::444"),
    ("broken (black hole)", "h", 0.05, "AAAA 2001:db8:3::1"),
    ("unreachable (no address)", "u", 0.10, 'TXT "no address records"'),
    ("unreachable (dead IPv4)", "d", 0.05, "A 203.0.113.10"),
    ("dns-error (NXDOMAIN)", "x", 0.15, None),
]


def generate(count: int, skip: tuple[str, ...] = ()) -> tuple[list[str], list[tuple[str, str]]]:
    """(zone records, [(name, label of its class)]) in an interleaved order; the classes in
    `skip` are left out and the others scaled up to `count` names."""
    mix = [m for m in MIX if m[0] not in skip]
    scale = 1 / sum(m[2] for m in mix)
    records: list[str] = []
    groups: list[list[tuple[str, str]]] = []
    for label, prefix, share, record in mix:
        share *= scale
        group = []
        for i in range(round(count * share)):
            name = f"b{prefix}{i}.lab.test"
            group.append((name, label))
            if record is not None:
                records.append(f"b{prefix}{i} 300 IN {record}")
        groups.append(group)
    names: list[tuple[str, str]] = []
    while any(groups):
        for group in groups:
            if group:
                names.append(group.pop(0))
    return records, names[:count]


def loop_line(name: str, resolver: str, timeout: float) -> str:
    """One step of the sequential loop: dig for the AAAA, then curl over IPv6."""
    return (
        f"dig +short +time={max(1, round(timeout))} +tries=1 AAAA {name} @{resolver} >/dev/null; "
        f"curl -6 -sS -o /dev/null --connect-timeout {timeout} --max-time {2 * timeout} "
        f"http://{name}/health 2>/dev/null\n"
    )


def run(lab: Lab, argv: list[str], timeout: float = 3600, **kw) -> tuple[float, str, str, int]:
    start = time.perf_counter()
    got = lab.run(lab.ws, argv, timeout=timeout, **kw)
    return time.perf_counter() - start, got.stdout, got.stderr, got.returncode


def dnsperf_qps(text: str) -> float:
    match = re.search(r"Queries per second:\s+([\d.]+)", text)
    if not match:
        raise RuntimeError(f"no qps in dnsperf output:\n{text}")
    return float(match.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--names", type=int, default=2000)
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds per probe phase")
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3, help="in-process scans (median taken)")
    parser.add_argument("--loop-sample", type=int, default=400, help="0: loop over every name")
    parser.add_argument(
        "--without-black-holes",
        action="store_true",
        help="leave the black-holed names out (their timeouts dominate the loop)",
    )
    args = parser.parse_args()
    reason = lab_available()
    if reason is not None:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    if shutil.which("dnsperf") is None or shutil.which("curl") is None:
        print("cannot run: dnsperf and curl are needed", file=sys.stderr)
        return 2
    records, names = generate(args.names, (HOLE,) if args.without_black_holes else ())
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="v6audit-bench-") as tmp:
        work = Path(tmp)
        with Lab(work / "lab", extra_records=records, tag="bench") as lab:
            config = {
                "workload": "bench",
                "timeout": args.timeout,
                "concurrency": args.concurrency,
                "discover": False,
                "imds": False,
                "dependencies": [
                    {"name": name, "kind": "http", "url": f"http://{name}/health"}
                    for name, _ in names
                ],
            }
            cfg = work / "bench.yaml"
            cfg.write_text(yaml.safe_dump(config))
            queries = work / "queries.txt"
            queries.write_text("".join(f"{n} AAAA\n{n} A\n" for n, _ in names))
            dnsperf = ["dnsperf", "-s", lab.resolver, "-d", str(queries)]
            # Warm the resolver's cache once, so every measurement below sees the same state.
            run(lab, [*dnsperf, "-n", "1"])
            inner = []
            for _ in range(args.runs):
                _, out, err, code = run(
                    lab, [python, str(ROOT / "bench/net_scan_inner.py"), str(cfg)]
                )
                if code != 0:
                    raise RuntimeError(f"in-process scan failed:\n{err}")
                inner.append(json.loads(out))
            phase_qps = statistics.median(r["dns_phase"]["qps"] for r in inner)
            _, perf_out, perf_err, _ = run(lab, [*dnsperf, "-l", "10"])
            perf_qps = dnsperf_qps(perf_out + perf_err)
            cli_times = []
            for i in range(args.runs):
                elapsed, _, err, code = run(
                    lab,
                    [
                        python,
                        "-m",
                        "auditor",
                        "scan",
                        "-c",
                        str(cfg),
                        "-o",
                        str(work / f"out{i}"),
                        "--only",
                        "dep.reachable",
                    ],
                )
                if code != 0:
                    raise RuntimeError(f"scan exited {code}:\n{err}")
                cli_times.append(elapsed)
            scan_s = statistics.median(cli_times)
            sample = names
            if args.loop_sample and args.loop_sample < len(names):
                step = len(names) / args.loop_sample
                sample = [names[int(i * step)] for i in range(args.loop_sample)]
            # The loop, timed separately for the black-holed names (each costs the timeout)
            # and the rest, each part extrapolated to its share of all names.
            loop_parts = {}
            for part, members in (
                ("black hole", [x for x in sample if x[1] == HOLE]),
                ("others", [x for x in sample if x[1] != HOLE]),
            ):
                script = work / "loop.sh"
                script.write_text(
                    "".join(loop_line(n, lab.resolver, args.timeout) for n, _ in members)
                )
                seconds, _, _, _ = run(lab, ["sh", str(script)])
                total = sum(1 for x in names if (x[1] == HOLE) == (part == "black hole"))
                loop_parts[part] = {
                    "sample": len(members),
                    "sample_s": round(seconds, 2),
                    "all": total,
                    "extrapolated_s": round(seconds * total / max(1, len(members)), 1),
                }
            loop_s = sum(p["sample_s"] for p in loop_parts.values())
            loop_all_s = sum(p["extrapolated_s"] for p in loop_parts.values())
    classes = inner[0]["classes"]
    result = {
        "names": len(names),
        "black_holes": not args.without_black_holes,
        "timeout_s": args.timeout,
        "concurrency": args.concurrency,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "dns_phase": {
            "queries": inner[0]["dns_phase"]["queries"],
            "qps_runs": [r["dns_phase"]["qps"] for r in inner],
            "qps": phase_qps,
            "dnsperf_qps": perf_qps,
            "ratio": round(phase_qps / perf_qps, 3),
        },
        "scan": {
            "cli_s_runs": [round(x, 3) for x in cli_times],
            "cli_s": round(scan_s, 3),
            "in_process_s_runs": [r["wall_s"] for r in inner],
            "classes": classes,
        },
        "loop": {
            "sample": len(sample),
            "sample_s": round(loop_s, 2),
            "extrapolated_s": round(loop_all_s, 1),
            "extrapolated": len(sample) < len(names),
            "parts": loop_parts,
        },
        "speedup": round(loop_all_s / scan_s, 1),
        "targets": {
            "dns_phase_at_least_30pct_of_dnsperf": phase_qps >= 0.3 * perf_qps,
            "scan_at_least_20x_faster_than_loop": loop_all_s >= 20 * scan_s,
        },
    }
    print(json.dumps(result, indent=2))
    return 0 if all(result["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
