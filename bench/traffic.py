"""Benchmark: the traffic phase over 10 million VPC flow log records (gzip, S3 layout on local
disk) and 2 million Route 53 Resolver query log records, side by side with a `zcat | awk`
baseline computing the same per-destination aggregation over the flow logs.

Usage::

    .venv/bin/python bench/traffic.py generate [--flows 10000000] [--queries 2000000]
    .venv/bin/python bench/traffic.py measure [--rounds 2]

`generate` writes the data once under bench/results/traffic-data/ (git-ignored): flow logs in
the default format with S3's header line and object names, 500,000 records per object; query
logs as JSON lines, 200,000 per object. The mix: half of the flow records are the workload's
connections to 768 external IPv4 addresses (the three documentation /24s), the rest internal
traffic, answers to clients, inbound records, IMDS and resolver traffic, NODATA; the query logs
answer 1,500 names (A, and AAAA for a third of them) for 200 instances.

`measure` runs, in fresh processes and alternating: the traffic phase exactly as the checks run
it (`auditor.traffic.collect.collect`: query logs first, then every flow record: window, scope,
own space, link-local, replies, naming, aggregation), and `zcat FILES | awk` aggregating flows,
bytes, packets, first/last seen, ports and sources per destination address for the same
records (status OK, own source, external IPv4 destination, not a reply). Records per second are
counted over the flow records for both (the traffic phase reads the 2 million query records on
top, in its own time); peak RSS is each process's `ru_maxrss` (for the baseline, the larger of
zcat and awk; for the traffic phase, its own and the largest of its worker processes, which
read the local objects, one per core). CPU seconds include every child process.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATA = ROOT / "bench" / "results" / "traffic-data"
ACCOUNT = "123456789012"
VPC = "vpc-0a1b2c3d4e5f60718"
END = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp())
WINDOW = 7 * 86400
FLOWS_PER_OBJECT = 500_000
QUERIES_PER_OBJECT = 200_000
HEADER = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes "
    "start end action log-status"
)
AWK = r"""
$14 == "OK" && $4 ~ /^10\.0\./ && $5 ~ /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/ &&
$5 !~ /^(10\.0\.|169\.254\.|127\.|0\.|22[4-9]\.|2[3-5][0-9]\.)/ &&
!($6 < 32768 && $7 >= 32768) && $12 >= WS && $11 <= WE {
    k = $5; f[k]++; b[k] += $10; p[k] += $9
    if (!(k in s) || $11 < s[k]) s[k] = $11
    if ($12 > e[k]) e[k] = $12
    if (!((k, $7) in port)) { port[k, $7] = 1; np[k]++ }
    if (!((k, $3) in src)) { src[k, $3] = 1; ns[k]++ }
}
END { for (k in f) print k, f[k], b[k], p[k], s[k], e[k], np[k], ns[k] }
"""


def _external() -> list[str]:
    return [f"{net}.{i}" for net in ("192.0.2", "198.51.100", "203.0.113") for i in range(256)]


def generate(flows: int, queries: int) -> None:
    rng = random.Random(6)
    external = _external()
    enis = [f"eni-{i:017x}" for i in range(200)]
    hosts = [f"10.0.{i // 250}.{i % 250 + 4}" for i in range(200)]
    internal = [f"10.0.{rng.randrange(0, 8)}.{rng.randrange(4, 250)}" for _ in range(2000)]
    start = END - WINDOW
    flow_dir = DATA / "AWSLogs" / ACCOUNT / "vpcflowlogs" / "us-east-1"
    query_dir = DATA / "AWSLogs" / ACCOUNT / "vpcdnsquerylogs" / VPC
    written = 0
    obj = 0
    while written < flows:
        count = min(FLOWS_PER_OBJECT, flows - written)
        t0 = start + (WINDOW * written) // flows
        stamp = datetime.fromtimestamp(t0, UTC)
        folder = flow_dir / stamp.strftime("%Y/%m/%d")
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{ACCOUNT}_vpcflowlogs_us-east-1_fl-0bench_{stamp:%Y%m%dT%H%MZ}_{obj:08x}.log.gz"
        lines = [HEADER]
        span = max(1, WINDOW * count // flows)
        for _ in range(count):
            i = rng.randrange(200)
            eni, host = enis[i], hosts[i]
            t = t0 + rng.randrange(span)
            roll = rng.random()
            if roll < 0.5:
                dst = external[int(rng.paretovariate(1.2)) % len(external)]
                port = (443, 443, 443, 80, 8443, 22, 5432)[rng.randrange(7)]
                line = f"2 {ACCOUNT} {eni} {host} {dst} {rng.randrange(32768, 61000)} {port} 6"
            elif roll < 0.8:
                dst = internal[rng.randrange(len(internal))]
                line = f"2 {ACCOUNT} {eni} {host} {dst} {rng.randrange(32768, 61000)} 5432 6"
            elif roll < 0.9:
                dst = external[rng.randrange(len(external))]
                line = f"2 {ACCOUNT} {eni} {host} {dst} 443 {rng.randrange(32768, 61000)} 6"
            elif roll < 0.95:
                src = external[rng.randrange(len(external))]
                line = f"2 {ACCOUNT} {eni} {src} {host} 443 {rng.randrange(32768, 61000)} 6"
            elif roll < 0.98:
                port = rng.randrange(32768, 61000)
                line = f"2 {ACCOUNT} {eni} {host} 169.254.169.254 {port} 80 6"
            else:
                lines.append(f"2 {ACCOUNT} {eni} - - - - - - - {t} {t + 60} - NODATA")
                continue
            packets = rng.randrange(1, 200)
            lines.append(f"{line} {packets} {packets * 900} {t} {t + 60} ACCEPT OK")
        (folder / name).write_bytes(gzip.compress(("\n".join(lines) + "\n").encode(), 6))
        written += count
        obj += 1
        print(f"flows: {written}/{flows}", file=sys.stderr)
    names = [f"svc{i}.partner{i % 97}.example" for i in range(1500)]
    answer = {n: external[int(rng.paretovariate(1.2)) % len(external)] for n in names}
    written = obj = 0
    while written < queries:
        count = min(QUERIES_PER_OBJECT, queries - written)
        t0 = start + (WINDOW * written) // queries
        stamp = datetime.fromtimestamp(t0, UTC)
        folder = query_dir / stamp.strftime("%Y/%m/%d")
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{ACCOUNT}_vpcdnsquerylogs_{VPC}_{stamp:%Y%m%dT%H%MZ}_{obj:08x}.log.gz"
        lines = []
        span = max(1, WINDOW * count // queries)
        for _ in range(count):
            qname = names[int(rng.paretovariate(1.1)) % len(names)]
            i = rng.randrange(200)
            aaaa = hash(qname) % 3 == 0 and rng.random() < 0.5
            when = datetime.fromtimestamp(t0 + rng.randrange(span), UTC)
            answers = (
                [{"Rdata": "2001:db8::1", "Type": "AAAA", "Class": "IN"}]
                if aaaa
                else [{"Rdata": answer[qname], "Type": "A", "Class": "IN"}]
            )
            record = {
                "version": "1.100000",
                "account_id": ACCOUNT,
                "region": "us-east-1",
                "vpc_id": VPC,
                "query_timestamp": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "query_name": qname + ".",
                "query_type": "AAAA" if aaaa else "A",
                "query_class": "IN",
                "rcode": "NOERROR",
                "answers": answers,
                "srcaddr": hosts[i],
                "srcport": "53000",
                "transport": "UDP",
                "srcids": {"instance": f"i-{i:017x}"},
            }
            lines.append(json.dumps(record, separators=(",", ":")))
        (folder / name).write_bytes(gzip.compress(("\n".join(lines) + "\n").encode(), 6))
        written += count
        obj += 1
        print(f"queries: {written}/{queries}", file=sys.stderr)


def _flow_files() -> list[Path]:
    return sorted((DATA / "AWSLogs" / ACCOUNT / "vpcflowlogs").rglob("*.log.gz"))


def run_phase(workers: int | None) -> None:
    """One traffic phase, in this (fresh) process; prints its figures as JSON."""
    from auditor.traffic.collect import collect
    from auditor.traffic.settings import TrafficConfig, TrafficScope, TrafficSource
    from auditor.traffic.sources import Window

    base = DATA / "AWSLogs" / ACCOUNT
    config = TrafficConfig(
        resolver_query_logs=(TrafficSource("path", str(base / "vpcdnsquerylogs")),),
        flow_logs=(TrafficSource("path", str(base / "vpcflowlogs")),),
        scope=TrafficScope(cidrs=("10.0.0.0/16",)),
    )
    started = time.perf_counter()
    result = collect(config, Window(END - WINDOW, END), ["10.0.0.0/16"], workers=workers)
    seconds = time.perf_counter() - started
    queries, flows = result.sources
    print(
        json.dumps(
            {
                "seconds": seconds,
                "flow_records": flows.records,
                "query_records": queries.records,
                "destinations": len(result.table.items),
                "named": sum(1 for d in result.table.items.values() if d.named),
                "flows": sum(d.flows for d in result.table.items.values()),
                "cpu_seconds": _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN),
                "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                # the worker processes: the largest one
                "worker_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
            }
        )
    )


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _round(command: str) -> dict:
    """One `phase` or `baseline` run in a fresh process: its figures."""
    out = subprocess.run(
        [sys.executable, __file__, "--data", str(DATA), command],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def run_baseline() -> None:
    """`zcat | awk` over every flow object, in this (fresh) process; prints JSON."""
    files = [str(p) for p in _flow_files()]
    started = time.perf_counter()
    zcat = subprocess.Popen(["zcat", *files], stdout=subprocess.PIPE)
    awk = subprocess.run(
        ["awk", "-v", f"WS={END - WINDOW}", "-v", f"WE={END}", AWK],
        stdin=zcat.stdout,
        capture_output=True,
        text=True,
        check=True,
    )
    assert zcat.stdout is not None
    zcat.stdout.close()
    zcat.wait()
    seconds = time.perf_counter() - started
    rows = [line.split() for line in awk.stdout.splitlines()]
    result = {
        "seconds": seconds,
        "destinations": len(rows),
        "flows": sum(int(r[1]) for r in rows),
        "cpu_seconds": _cpu(resource.RUSAGE_CHILDREN),  # zcat and awk together
        # zcat and awk ran as children of this process: the larger of the two.
        "rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }
    print(json.dumps(result))


def measure(rounds: int) -> None:
    files = _flow_files()
    if not files:
        sys.exit("no data: run `bench/traffic.py generate` first")
    results: dict[str, list[dict]] = {"traffic": [], "baseline": []}
    for _ in range(rounds):
        results["baseline"].append(_round("baseline"))
        results["traffic"].append(_round("phase"))
    flow_records = results["traffic"][0]["flow_records"]
    best = {k: min(v, key=lambda r: r["seconds"]) for k, v in results.items()}
    for name, row in best.items():
        rate = flow_records / row["seconds"]
        print(
            f"{name:9} {row['seconds']:7.1f} s wall, {row['cpu_seconds']:7.1f} s CPU  "
            f"{rate / 1e6:5.2f} M flow records/s  "
            f"peak RSS {row['rss_mb']:6.0f} MB"
            + (f" (each worker {row['worker_rss_mb']:.0f} MB)" if row.get("worker_rss_mb") else "")
            + f"  destinations {row['destinations']}  "
            f"flows {row['flows']}"
        )
    ratio = best["baseline"]["seconds"] / best["traffic"]["seconds"]
    cpu = best["baseline"]["cpu_seconds"] / best["traffic"]["cpu_seconds"]
    print(f"traffic phase / baseline, records per second: {ratio:.2f} (per CPU second: {cpu:.2f})")
    print(json.dumps({"rounds": results, "flow_records": flow_records}), file=sys.stderr)
    print(f"{os.cpu_count()} cores", file=sys.stderr)


def main() -> None:
    global DATA
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="where the logs are")
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate")
    gen.add_argument("--flows", type=int, default=10_000_000)
    gen.add_argument("--queries", type=int, default=2_000_000)
    meas = sub.add_parser("measure")
    meas.add_argument("--rounds", type=int, default=2)
    phase = sub.add_parser("phase")
    phase.add_argument("--workers", type=int, default=None)
    sub.add_parser("baseline")
    args = parser.parse_args()
    DATA = args.data
    if args.command == "generate":
        generate(args.flows, args.queries)
    elif args.command == "measure":
        measure(args.rounds)
    elif args.command == "baseline":
        run_baseline()
    else:
        run_phase(args.workers)


if __name__ == "__main__":
    main()
