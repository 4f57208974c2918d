"""Benchmark: a network scan of 2,000 generated names in the IPv6-only lab, side by side with
dnsperf against the same resolver and with a sequential `dig AAAA` + `curl -6` loop; or, with
`--vantage dual-stack`, from the lab's dual-stack workload, where every target costs two
probes (IPv6 and IPv4), against a `dig AAAA` + `dig A` + `curl -6` + `curl -4` loop.

Needs root and the lab's packages (see tests/lab), plus dnsperf. Usage::

    sudo .venv/bin/python bench/net_scan.py [--names 2000] [--timeout 2] [--loop-sample 400]
    sudo .venv/bin/python bench/net_scan.py --vantage dual-stack [--loop-sample 400]

The names are a fixed mix of every class (native, nat64 incl. CNAME chains, broken: refused /
reset / black-holed, unreachable: no address / dead IPv4 behind NAT64, dns-error: NXDOMAIN),
served by the lab's unbound as extra records. Each name is an `http` dependency
(`http://NAME/health`). Measured:

- the scan's DNS phase (dep.reachable resolves every host first: AAAA and A per name) in
  queries per second, against dnsperf over the same questions (AAAA and A per name) on the
  same warm resolver, side by side: each scan process runs right after a dnsperf run of a few
  seconds, and the medians are compared; target: at least 30 %;
- the whole scan (`python -m auditor scan --only dep.reachable`, process start to report
  written) against the loop `dig +short AAAA NAME; curl -6 http://NAME/health` run one name
  after the other, with the same timeout; target: at least 20 times faster. The loop runs over
  a stratified sample (every k-th name, so the class mix is kept) and is extrapolated to all
  names unless --loop-sample 0 asks for the full list.

The dual-stack mix (:data:`DUAL_MIX`) is the same generation seen from a dual-stack host: most
names have an A record too, so the classes are native, ipv4-only (incl. CNAME chains),
broken with IPv4 working (refused / reset / black-holed), differs (403 over IPv6, 200 over
IPv4), mtu-blackhole (a 1280-byte hop that drops Packet Too Big), down (refused over both
families, or a dead IPv4-only address), unreachable and dns-error. The scan runs in the
workload namespace of :class:`tests.lab.duallab.DualLab` (IPv4 and IPv6 default routes, the
plain resolver). In both vantages the report's class of every name is checked against the
class it was generated for.
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
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.lab import Lab, lab_available  # noqa: E402
from tests.lab.duallab import (  # noqa: E402
    BIG_PATH,
    CLOSED4,
    CLOSED6,
    DIFFERS4,
    DIFFERS6,
    PMTU4,
    PMTU6,
    DualLab,
)

HOLE = "broken (black hole)"
MTU = "mtu-blackhole (Packet Too Big dropped)"


@dataclass(frozen=True)
class Share:
    """One class of generated names: its label, name prefix, share of all names, zone records
    (none: NXDOMAIN), the class the scan must report and the URL path asked for."""

    label: str
    prefix: str
    share: float
    records: tuple[str, ...]
    expected: str
    path: str = "/health"


MIX: list[Share] = [
    Share("native", "n", 0.30, ("AAAA 2001:db8:2::80",), "native"),
    Share("nat64", "v", 0.15, ("A 192.0.2.80",), "nat64"),
    Share("nat64 (CNAME chain)", "c", 0.05, ("CNAME alias.lab.test.",), "nat64"),
    Share("broken (refused)", "b", 0.10, ("AAAA 2001:db8:2::dead",), "broken"),
    Share("broken (reset)", "r", 0.05, ("AAAA 2001:db8:2::444",), "broken"),
    Share(HOLE, "h", 0.05, ("AAAA 2001:db8:3::1",), "broken"),
    Share("unreachable (no address)", "u", 0.10, ('TXT "no address records"',), "unreachable"),
    Share("unreachable (dead IPv4)", "d", 0.05, ("A 203.0.113.10",), "unreachable"),
    Share("dns-error (NXDOMAIN)", "x", 0.15, (), "dns-error"),
]
V4 = "A 192.0.2.80"
DUAL_MIX: list[Share] = [
    Share("native (both families)", "n", 0.30, ("AAAA 2001:db8:2::80", V4), "native"),
    Share("ipv4-only", "v", 0.12, (V4,), "ipv4-only"),
    Share("ipv4-only (CNAME chain)", "c", 0.03, ("CNAME alias.lab.test.",), "ipv4-only"),
    Share("broken (refused, IPv4 works)", "b", 0.10, ("AAAA 2001:db8:2::dead", V4), "broken"),
    Share("broken (reset, IPv4 works)", "r", 0.05, ("AAAA 2001:db8:2::444", V4), "broken"),
    Share(HOLE, "h", 0.05, ("AAAA 2001:db8:3::1", V4), "broken"),
    Share("differs (403 / 200)", "f", 0.05, (f"AAAA {DIFFERS6}", f"A {DIFFERS4}"), "differs"),
    Share(MTU, "m", 0.02, (f"AAAA {PMTU6}", f"A {PMTU4}"), "mtu-blackhole", BIG_PATH),
    Share("down (refused on both)", "z", 0.05, (f"AAAA {CLOSED6}", f"A {CLOSED4}"), "down"),
    Share("down (dead IPv4, no AAAA)", "d", 0.05, ("A 203.0.113.10",), "down"),
    Share("unreachable (no address)", "u", 0.05, ('TXT "no address records"',), "unreachable"),
    Share("dns-error (NXDOMAIN)", "x", 0.13, (), "dns-error"),
]
# Names whose probe waits for the timeout: the loop is timed (and extrapolated) per such class.
SLOW = (HOLE, MTU)


def generate(
    count: int, skip: tuple[str, ...] = (), mix: list[Share] = MIX
) -> tuple[list[str], list[tuple[str, Share]]]:
    """(zone records, [(name, its class)]) in an interleaved order; the classes labelled in
    `skip` are left out and the others scaled up to `count` names."""
    kept = [m for m in mix if m.label not in skip]
    scale = 1 / sum(m.share for m in kept)
    records: list[str] = []
    groups: list[list[tuple[str, Share]]] = []
    for m in kept:
        group = []
        for i in range(round(count * m.share * scale)):
            name = f"b{m.prefix}{i}.lab.test"
            group.append((name, m))
            records += [f"b{m.prefix}{i} 300 IN {r}" for r in m.records]
        groups.append(group)
    names: list[tuple[str, Share]] = []
    while any(groups):
        for group in groups:
            if group:
                names.append(group.pop(0))
    return records, names[:count]


def loop_line(name: str, path: str, resolver: str, timeout: float, dual: bool) -> str:
    """One step of the sequential loop: dig for the AAAA (and the A), then curl over IPv6
    (then over IPv4, on a dual-stack vantage)."""
    dig = f"dig +short +time={max(1, round(timeout))} +tries=1"
    curl = f"curl -sS -o /dev/null --connect-timeout {timeout} --max-time {2 * timeout}"
    url = f"http://{name}{path}"
    line = f"{dig} AAAA {name} @{resolver} >/dev/null; "
    if dual:
        line += f"{dig} A {name} @{resolver} >/dev/null; "
    line += f"{curl} -6 {url} 2>/dev/null"
    if dual:
        line += f"; {curl} -4 {url} 2>/dev/null"
    return line + "\n"


def run(lab: Lab, ns: str, argv: list[str], timeout: float = 3600) -> tuple[float, str, str, int]:
    start = time.perf_counter()
    got = lab.run(ns, argv, timeout=timeout)
    return time.perf_counter() - start, got.stdout, got.stderr, got.returncode


def dnsperf_qps(text: str) -> float:
    match = re.search(r"Queries per second:\s+([\d.]+)", text)
    if not match:
        raise RuntimeError(f"no qps in dnsperf output:\n{text}")
    return float(match.group(1))


def misclassified(report: dict, names: list[tuple[str, Share]]) -> dict[str, int]:
    """{"expected -> got": count} for every name the report did not classify as generated."""
    got = {
        f["evidence"]["dependency"]: f["evidence"].get("class", f["status"])
        for f in report["findings"]
        if f["check_id"] == "dep.reachable"
    }
    wrong = Counter(
        f"{share.label}: {share.expected} -> {got.get(name, 'missing')}"
        for name, share in names
        if got.get(name) != share.expected
    )
    return dict(sorted(wrong.items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--names", type=int, default=2000)
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds per probe phase")
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument(
        "--runs", type=int, default=5, help="in-process scans, each after a dnsperf run (medians)"
    )
    parser.add_argument(
        "--dnsperf-seconds", type=int, default=4, help="length of each dnsperf run (dnsperf -l)"
    )
    parser.add_argument("--loop-sample", type=int, default=400, help="0: loop over every name")
    parser.add_argument(
        "--vantage",
        choices=("ipv6-only", "dual-stack"),
        default="ipv6-only",
        help="scan from the IPv6-only workload (DNS64) or the dual-stack one (two probes each)",
    )
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
    dual = args.vantage == "dual-stack"
    records, names = generate(
        args.names, (HOLE,) if args.without_black_holes else (), DUAL_MIX if dual else MIX
    )
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="v6audit-bench-") as tmp:
        work = Path(tmp)
        with Lab(work / "lab", extra_records=records, tag="bench") as lab:
            extra = DualLab(lab, work / "dual").up() if dual else None
            try:
                ns = extra.ds if extra is not None else lab.ws
                resolver = lab.resolver_plain if dual else lab.resolver
                figures = measure(lab, ns, resolver, work, names, args, python)
            finally:
                if extra is not None:
                    extra.down()
    figures["vantage"] = args.vantage
    print(json.dumps(figures, indent=2))
    return 0 if all(figures["targets"].values()) else 1


def measure(
    lab: Lab,
    ns: str,
    resolver: str,
    work: Path,
    names: list[tuple[str, Share]],
    args: argparse.Namespace,
    python: str,
) -> dict:
    dual = args.vantage == "dual-stack"
    config = {
        "workload": "bench",
        "timeout": args.timeout,
        "concurrency": args.concurrency,
        "discover": False,
        "imds": False,
        "dependencies": [
            {"name": name, "kind": "http", "url": f"http://{name}{share.path}"}
            for name, share in names
        ],
    }
    cfg = work / "bench.yaml"
    cfg.write_text(yaml.safe_dump(config))
    queries = work / "queries.txt"
    queries.write_text("".join(f"{n} AAAA\n{n} A\n" for n, _ in names))
    dnsperf = ["dnsperf", "-s", resolver, "-d", str(queries)]
    # Warm the resolver's cache once, so every measurement below sees the same state.
    run(lab, ns, [*dnsperf, "-n", "1"])
    # Side by side: each run is dnsperf for a few seconds, then one scan process, so that both
    # see the machine in the same state (a shared machine's speed drifts by 2x in minutes).
    inner, perf = [], []
    for _ in range(args.runs):
        _, perf_out, perf_err, _ = run(lab, ns, [*dnsperf, "-l", str(args.dnsperf_seconds)])
        perf.append(dnsperf_qps(perf_out + perf_err))
        _, out, err, code = run(lab, ns, [python, str(ROOT / "bench/net_scan_inner.py"), str(cfg)])
        if code != 0:
            raise RuntimeError(f"in-process scan failed:\n{err}")
        inner.append(json.loads(out))
    phase_qps = statistics.median(r["dns_phase"]["qps"] for r in inner)
    perf_qps = statistics.median(perf)
    cli_times, wrong = [], []
    for i in range(args.runs):
        out = work / f"out{i}"
        argv = [python, "-m", "auditor", "scan", "-c", str(cfg), "-o", str(out)]
        elapsed, _, err, code = run(lab, ns, [*argv, "--only", "dep.reachable"])
        if code != 0:
            raise RuntimeError(f"scan exited {code}:\n{err}")
        cli_times.append(elapsed)
        wrong.append(misclassified(json.loads((out / "report.json").read_text()), names))
    scan_s = statistics.median(cli_times)
    sample = names
    if args.loop_sample and args.loop_sample < len(names):
        step = len(names) / args.loop_sample
        sample = [names[int(i * step)] for i in range(args.loop_sample)]
    # The loop, timed separately for each class whose names wait for the timeout (black
    # holes, stalls) and for the rest, each part extrapolated to its share of all names.
    slow = [label for label in SLOW if any(s.label == label for _, s in names)]
    loop_parts = {}
    for part in [*slow, "others"]:

        def member(x: tuple[str, Share], part: str = part) -> bool:
            return x[1].label == part or (part == "others" and x[1].label not in slow)

        # At least one name of each part, so that no part is extrapolated from nothing.
        members = [x for x in sample if member(x)] or [next(x for x in names if member(x))]
        script = work / "loop.sh"
        script.write_text(
            "".join(loop_line(n, s.path, resolver, args.timeout, dual) for n, s in members)
        )
        seconds, _, _, _ = run(lab, ns, ["sh", str(script)])
        total = sum(1 for x in names if member(x))
        loop_parts[part] = {
            "sample": len(members),
            "sample_s": round(seconds, 2),
            "all": total,
            "extrapolated_s": round(seconds * total / max(1, len(members)), 1),
        }
    loop_s = sum(p["sample_s"] for p in loop_parts.values())
    looped = sum(p["sample"] for p in loop_parts.values())
    loop_all_s = sum(p["extrapolated_s"] for p in loop_parts.values())
    return {
        "names": len(names),
        "black_holes": not args.without_black_holes,
        "timeout_s": args.timeout,
        "concurrency": args.concurrency,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "dns_phase": {
            "queries": inner[0]["dns_phase"]["queries"],
            "qps_runs": [r["dns_phase"]["qps"] for r in inner],
            "qps": phase_qps,
            "dnsperf_qps_runs": [round(q, 1) for q in perf],
            "dnsperf_qps": perf_qps,
            "ratio": round(phase_qps / perf_qps, 3),
        },
        "scan": {
            "cli_s_runs": [round(x, 3) for x in cli_times],
            "cli_s": round(scan_s, 3),
            "in_process_s_runs": [r["wall_s"] for r in inner],
            "classes": inner[0]["classes"],
            "expected": dict(sorted(Counter(s.expected for _, s in names).items())),
            "misclassified_runs": wrong,
        },
        "loop": {
            "sample": looped,
            "sample_s": round(loop_s, 2),
            "extrapolated_s": round(loop_all_s, 1),
            "extrapolated": looped < len(names),
            "parts": loop_parts,
        },
        "speedup": round(loop_all_s / scan_s, 1),
        "targets": {
            "dns_phase_at_least_30pct_of_dnsperf": phase_qps >= 0.3 * perf_qps,
            "scan_at_least_20x_faster_than_loop": loop_all_s >= 20 * scan_s,
            "classified_as_generated": not any(wrong),
        },
    }


if __name__ == "__main__":
    sys.exit(main())
