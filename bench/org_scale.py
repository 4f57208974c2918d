"""Benchmark: one organisation, on one machine or split into shards, and the organisation merge.

    .venv/bin/python bench/org_scale.py shards [--accounts 200] [--shards 1,2,4]
    .venv/bin/python bench/org_scale.py merge [--results 1000] [--findings 500] [--rounds 3]

`shards` starts moto_server on a free loopback port, creates an organisation of `--accounts`
members with a small estate in each (VPCs with and without IPv6, subnets, security groups),
then runs `v6audit scan --shard K/N` as N concurrent processes for each N, alternating the
order of the N between rounds, and reports the wall time of each N (all N processes finished)
and its ratio to N=1. The union of the shards' findings is checked equal to the single run.

`merge` writes `--results` results of `--findings` findings each (one account each, as an
organisation's shards or per-account runs would) under bench/results/org-merge/, then runs
`v6audit merge 'DIR/*.json' -o ORG.json` side by side with a baseline that only reads every
input and writes all their findings into one JSON file (the floor for any merge), and reports
wall times and each process's peak RSS. Targets: under 60 s and 300 MB peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.aws.motoserver import running_moto_server  # noqa: E402

V6AUDIT = Path(sys.executable).parent / "v6audit"
RESULTS = ROOT / "bench" / "results"
DUMMY = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}
CHECKS = "aws.vpc.*,aws.subnet.*,aws.sg.*,aws.route.*"


def timed(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{argv[:3]} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


# --- shards ---------------------------------------------------------------------------------


def seed_org(url: str, accounts: int) -> None:
    import boto3

    org = boto3.client("organizations", endpoint_url=url, region_name="us-east-1")
    org.create_organization(FeatureSet="ALL")
    sts = boto3.client("sts", endpoint_url=url, region_name="us-east-1")
    for i in range(accounts):
        status = org.create_account(Email=f"m{i}@example.com", AccountName=f"member-{i:03d}")
        account = status["CreateAccountStatus"]["AccountId"]
        creds = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/v6audit", RoleSessionName="bench-seed"
        )["Credentials"]
        ec2 = boto3.client(
            "ec2",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16", AmazonProvidedIpv6CidrBlock=i % 2 == 0)
        vpc_id = vpc["Vpc"]["VpcId"]
        for n in range(3):
            ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.0.{n}.0/24")
        group = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc_id)
        ec2.authorize_security_group_ingress(
            GroupId=group["GroupId"],
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": 443,
                    "ToPort": 443,
                    "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
                }
            ],
        )


def run_shards(url: str, count: int, folder: Path) -> float:
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "v6audit.yaml"
    config.write_text(
        "workload: org\naws:\n  regions: [us-east-1]\n"
        f"  endpoint_url: {url}\n  organization: {{role_name: v6audit}}\n"
    )
    env = {**os.environ, **DUMMY}
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [
                str(V6AUDIT),
                "scan",
                "-c",
                str(config),
                "--only",
                CHECKS,
                "--format",
                "json",
                "--shard",
                f"{k}/{count}",
                "-o",
                str(folder / f"n{count}" / f"shard-{k}"),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(count)
    ]
    for proc in procs:
        _, err = proc.communicate()
        if proc.returncode not in (0, 1):
            raise SystemExit(f"shard exited {proc.returncode}: {err[-2000:]}")
    return time.perf_counter() - start


def fingerprints(folder: Path) -> set[tuple[str, str]]:
    out = set()
    for path in folder.glob("shard-*/report.json"):
        for f in json.loads(path.read_text())["findings"]:
            out.add((f["fingerprint"], f["status"]))
    return out


def bench_shards(args: argparse.Namespace) -> None:
    counts = [int(n) for n in args.shards.split(",")]
    os.environ.update(DUMMY)  # moto's dummy credentials, for the seeding and every shard
    with running_moto_server() as url:
        seed_start = time.perf_counter()
        seed_org(url, args.accounts)
        print(f"seeded {args.accounts} accounts in {time.perf_counter() - seed_start:.1f} s")
        walls: dict[int, list[float]] = {n: [] for n in counts}
        with tempfile.TemporaryDirectory() as tmp:
            for r in range(args.rounds):
                order = counts if r % 2 == 0 else list(reversed(counts))
                for n in order:
                    walls[n].append(run_shards(url, n, Path(tmp) / f"r{r}"))
            single = fingerprints(Path(tmp) / "r0" / f"n{counts[0]}")
            for n in counts[1:]:
                assert fingerprints(Path(tmp) / "r0" / f"n{n}") == single, n
    base = statistics.median(walls[counts[0]])
    print(f"\n| shard processes | wall (median of {args.rounds}) | x {counts[0]} process |")
    print("|---|---|---|")
    for n in counts:
        wall = statistics.median(walls[n])
        print(f"| {n} | {wall:.1f} s | {wall / base:.2f} |")
    print(f"\nunion of the shards' findings = the single run's ({len(single)} findings)")


# --- merge ----------------------------------------------------------------------------------


def write_results(folder: Path, results: int, findings: int) -> None:
    from auditor.model import Finding, Resource, Severity, Status
    from auditor.registry import load_checks
    from auditor.result import build_result, dumps

    folder.mkdir(parents=True, exist_ok=True)
    metas = [c.meta for c in load_checks() if c.id.startswith("aws.")]
    statuses = [Status.PASS, Status.PASS, Status.FAIL, Status.WARN, Status.ERROR]
    for r in range(results):
        account = f"{100000000000 + r:012d}"
        items = []
        for i in range(findings):
            meta = metas[i % len(metas)]
            finding = Finding(
                check_id=meta.id,
                status=statuses[(i + r) % len(statuses)],
                severity=Severity(meta.severity),
                family=meta.family,
                stage=meta.stage,
                message=f"resource {i} of account {account} needs attention",
                resource=Resource(
                    id=f"sg-{r:05d}{i:05d}",
                    kind="security-group",
                    account=account,
                    region="us-east-1",
                ),
                evidence={"rule": {"from": i, "to": i + 10, "cidr": "0.0.0.0/0"}},
            )
            finding.fingerprint = finding.compute_fingerprint()  # as the runner stamps it
            items.append(finding)
        result = build_result(
            workload=f"account-{r}",
            findings=items,
            checks=metas,
            started_at="2026-11-30T10:00:00Z",
            finished_at="2026-11-30T10:05:00Z",
        )
        (folder / f"result-{r:04d}.json").write_text(dumps(result))


BASELINE = """
import glob, json, sys
findings = []
with open(sys.argv[2], "w") as out:
    out.write('{"findings": [')
    first = True
    for path in sorted(glob.glob(sys.argv[1])):
        for f in json.load(open(path))["findings"]:
            out.write(("" if first else ",") + json.dumps(f))
            first = False
    out.write("]}")
"""


def bench_merge(args: argparse.Namespace) -> None:
    folder = RESULTS / f"org-merge-{args.results}x{args.findings}"
    if not (folder / f"result-{args.results - 1:04d}.json").exists():
        start = time.perf_counter()
        write_results(folder, args.results, args.findings)
        print(f"wrote {args.results} results in {time.perf_counter() - start:.0f} s")
    pattern = str(folder / "result-*.json")
    rows: dict[str, list[tuple[float, float]]] = {"baseline": [], "v6audit merge": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            runs = [
                ("baseline", [sys.executable, "-c", BASELINE, pattern, f"{tmp}/base.json"]),
                ("v6audit merge", [str(V6AUDIT), "merge", pattern, "-o", f"{tmp}/org.json"]),
            ]
            for name, argv in runs if r % 2 == 0 else reversed(runs):
                # a fresh interpreter per run, so each RSS figure is that process's own
                wrapped = [sys.executable, "-c", RSS_WRAPPER, *argv]
                out = subprocess.run(wrapped, capture_output=True, text=True, check=True)
                wall, rss = (float(x) for x in out.stdout.split())
                rows[name].append((wall, rss))
        merged = json.loads(Path(f"{tmp}/org.json").read_text())
    print(f"\nmerged findings: {len(merged['findings'])}, accounts: {len(merged['accounts'])}")
    print(f"\n| {args.results} results x {args.findings} findings | wall (median) | peak RSS |")
    print("|---|---|---|")
    for name, values in rows.items():
        wall = statistics.median(v[0] for v in values)
        rss = max(v[1] for v in values)
        print(f"| {name} | {wall:.1f} s | {rss:.0f} MB |")


RSS_WRAPPER = """
import resource, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)
wall = time.perf_counter() - start
if proc.returncode not in (0, 1):
    sys.exit(proc.stderr[-2000:])
print(wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    shards = sub.add_parser("shards")
    shards.add_argument("--accounts", type=int, default=200)
    shards.add_argument("--shards", default="1,2,4")
    shards.add_argument("--rounds", type=int, default=2)
    merge = sub.add_parser("merge")
    merge.add_argument("--results", type=int, default=1000)
    merge.add_argument("--findings", type=int, default=500)
    merge.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    (bench_shards if args.what == "shards" else bench_merge)(args)


if __name__ == "__main__":
    main()
