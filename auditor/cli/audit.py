"""`scan` and `demo`: the commands that run an audit and write its reports."""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

from auditor.cli.common import (
    Subparsers,
    add_audit_options,
    audit_formats,
    formatter,
    print_summary,
)
from auditor.errors import EXIT_GATE, EXIT_INCOMPLETE, EXIT_OK, UsageError


def register(sub: Subparsers) -> None:
    scan = sub.add_parser(
        "scan",
        help="run the audit and write reports",
        formatter_class=formatter,
        description=textwrap.dedent("""\
        Run the checks and write the reports. Network checks probe from where v6audit runs,
        over IPv6 only; AWS checks read the configuration with read-only API calls."""),
    )
    scan.set_defaults(run=cmd_scan)
    scan.add_argument("-c", "--config", metavar="CONFIG", help="v6audit.yaml (default: defaults)")
    add_audit_options(scan, outdir="v6audit-report", formats="json")
    scan.add_argument(
        "--only",
        action="append",
        metavar="GLOB",
        help="run only checks whose id matches (repeatable, comma-separated), e.g. 'aws.*'",
    )
    scan.add_argument("--skip", action="append", metavar="GLOB", help="skip matching checks")
    scan.add_argument(
        "--region",
        action="append",
        metavar="R",
        help="AWS region (repeatable; overrides aws.regions)",
    )
    scan.add_argument("--profile", metavar="P", help="AWS profile (overrides aws.profile)")
    scan.add_argument("--concurrency", type=int, metavar="N", help="concurrent probes/API calls")
    scan.add_argument("--timeout", type=float, metavar="S", help="seconds per probe phase")
    scan.add_argument(
        "--fail-under",
        action="append",
        metavar="N",
        help="exit 1 when the ipv6_only score is under N; dual_stack=N gates the "
        "other axis (repeatable)",
    )
    scan.add_argument(
        "--fail-on",
        metavar="SEVERITY",
        help="exit 1 on any unsuppressed fail/error of this severity or worse "
        "(critical, high, medium, low, info)",
    )
    scan.add_argument(
        "--baseline",
        metavar="FILE",
        help="exit 1 on a fail/error whose fingerprint is not in FILE "
        "(write one with `v6audit baseline`)",
    )
    scan.add_argument(
        "--suppressions",
        metavar="FILE",
        help="YAML of accepted findings (check, resource, reason, expires)",
    )
    scan.add_argument(
        "--history",
        metavar="DB",
        help="SQLite history database the run is appended to and the trend is read "
        "from (default: ~/.local/share/v6audit/history.sqlite)",
    )
    scan.add_argument(
        "--no-history",
        action="store_true",
        help="neither read nor record history (e.g. throw-away CI runs)",
    )
    scan.add_argument(
        "--shard",
        metavar="K/N",
        help="audit the K-th (0-based) of N stable shards of the accounts (aws.organization "
        "or aws.accounts); auto/N takes K from AWS_BATCH_JOB_ARRAY_INDEX or "
        "JOB_COMPLETION_INDEX. {shard} in --output becomes K. Merge the shards' results "
        "with `v6audit merge`",
    )

    demo = sub.add_parser(
        "demo",
        help="run the whole audit on a bundled sample estate (offline, no root)",
        formatter_class=formatter,
        description="Runs every check against a sample AWS account (moto, in-process) and "
        "sample dependencies served on [::1] and 127.0.0.1, and writes every report format.",
    )
    demo.set_defaults(run=cmd_demo)
    add_audit_options(demo, outdir="demo-report", formats="json,html,pdf,junit,sarif,md")


def cmd_scan(args: argparse.Namespace) -> int:
    from auditor.config import load_config
    from auditor.gates import evaluate_gates, parse_fail_on, parse_fail_under
    from auditor.history import attach_trend, default_db_path, record_run_safely
    from auditor.output import prepare_output, write_outputs
    from auditor.progress import make_progress
    from auditor.scan import ScanRequest, scan
    from auditor.suppressions import load_baseline, load_suppressions

    # Everything the user gave is validated before the first probe.
    formats = audit_formats(args)
    if args.concurrency is not None and not 1 <= args.concurrency <= 10000:
        raise UsageError("--concurrency must be between 1 and 10000")
    if args.timeout is not None and not 0.05 <= args.timeout <= 300:
        raise UsageError("--timeout must be between 0.05 and 300 seconds")
    score_gates = parse_fail_under(args.fail_under)
    fail_on = parse_fail_on(args.fail_on)
    shard = _shard(args)
    config = load_config(args.config).with_overrides(
        concurrency=args.concurrency,
        timeout=args.timeout,
        regions=tuple(args.region or ()),
        profile=args.profile,
        shard=str(shard) if shard else None,
    )
    rules = load_suppressions(args.suppressions) if args.suppressions else []
    baseline = load_baseline(args.baseline) if args.baseline else None
    prepare_output(args.output)

    outcome = scan(
        ScanRequest(config=config, only=args.only or (), skip=args.skip or (), suppressions=rules),
        make_progress(args.quiet),
    )
    result = outcome.result
    db = None if args.no_history else (args.history or default_db_path())
    if db is not None:
        attach_trend(result, db)  # a broken database becomes a warning in result["errors"]
    written = write_outputs(result, formats, args.output)
    if db is not None and (problem := record_run_safely(result, db)):
        result["errors"].append(problem)
    reasons = evaluate_gates(result, score_gates, fail_on, baseline)
    print_summary(result, written, reasons)
    if outcome.incomplete:
        return EXIT_INCOMPLETE
    return EXIT_GATE if reasons else EXIT_OK


def _shard(args: argparse.Namespace):
    """`--shard` resolved to a shard, with `{shard}` in `--output` replaced by its index."""
    from auditor.aws.organization import ShardError, parse_shard

    if args.shard is None:
        if "{shard}" in args.output:
            raise UsageError("--output names {shard} but no --shard K/N was given")
        return None
    try:
        shard = parse_shard(args.shard)
    except ShardError as exc:
        raise UsageError(str(exc)) from None
    args.output = args.output.replace("{shard}", str(shard.index))
    return shard


def cmd_demo(args: argparse.Namespace) -> int:
    from auditor.demo import run_demo
    from auditor.output import prepare_output
    from auditor.progress import make_progress

    formats = audit_formats(args)
    prepare_output(args.output)
    outcome, written = run_demo(formats, args.output, make_progress(args.quiet))
    print_summary(outcome.result, written, [])
    if args.output != "-":
        print(f"v6audit: open {Path(args.output) / 'report.html'} in a browser", file=sys.stderr)
    return EXIT_INCOMPLETE if outcome.incomplete else EXIT_OK
