"""The `v6audit` command line. Exit codes: 0 passed, 1 gate failed, 2 usage/config error,
3 the scan could not complete."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

from auditor import __version__
from auditor.errors import (
    EXIT_GATE,
    EXIT_INCOMPLETE,
    EXIT_OK,
    EXIT_USAGE,
    AuditorError,
    UsageError,
)

MAIN_HELP = """\
v6audit tells what stands between a workload and running IPv6-only: it probes the workload's
dependencies over IPv6 only, audits the AWS configuration for IPv4/IPv6 parity and writes a
scored report with the path from dual-stack to IPv6-only.

examples:
  v6audit scan -c v6audit.yaml -o out/            audit and write out/report.json
  v6audit scan --only 'aws.*' --region eu-west-1  only the AWS configuration checks
  v6audit scan --fail-under 80 --fail-on high     a CI gate
  v6audit demo                                    the whole audit on a bundled sample estate
  v6audit checks list                             every check, its stage and severity
  v6audit explain aws.route.ingress_parity        what a check proves and how to fix it
  v6audit iam-policy > v6audit-policy.json        the read-only IAM policy the checks need
  v6audit report out/report.json --format pdf     render a saved result again
  v6audit merge a.json b.json -o org.json         one report for several accounts

exit codes: 0 ran and passed every gate; 1 a gate failed; 2 usage or config error;
3 the scan could not complete (no credentials, no IPv6 where network checks were asked for).
"""


class _Parser(argparse.ArgumentParser):
    """Usage errors exit 2 with one line, as every other usage error does."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=34, width=100)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="v6audit", description=MAIN_HELP, formatter_class=_formatter)
    parser.add_argument("--version", action="version", version=f"v6audit {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    scan = sub.add_parser(
        "scan",
        help="run the audit and write reports",
        formatter_class=_formatter,
        description=textwrap.dedent("""\
        Run the checks and write the reports. Network checks probe from where v6audit runs,
        over IPv6 only; AWS checks read the configuration with read-only API calls."""),
    )
    scan.add_argument("-c", "--config", metavar="CONFIG", help="v6audit.yaml (default: defaults)")
    scan.add_argument(
        "-o",
        "--output",
        metavar="OUTDIR",
        default="v6audit-report",
        help="folder for the reports, or - for stdout (one format) (default: %(default)s)",
    )
    scan.add_argument(
        "--format",
        default="json",
        metavar="FORMATS",
        help="comma-separated: json,html,pdf,junit,sarif,md (default: %(default)s)",
    )
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
    scan.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")

    report = sub.add_parser(
        "report", help="render a saved result in another format", formatter_class=_formatter
    )
    report.add_argument("result", metavar="RESULT.json")
    report.add_argument("--format", required=True, metavar="FORMAT")
    report.add_argument(
        "-o", "--output", metavar="FILE", default="-", help="file to write (default: stdout)"
    )

    checks = sub.add_parser("checks", help="the registered checks")
    checks_sub = checks.add_subparsers(dest="checks_command", metavar="list", parser_class=_Parser)
    listing = checks_sub.add_parser("list", help="list every check with its metadata")
    listing.add_argument("--json", action="store_true", help="all metadata as JSON")

    explain = sub.add_parser("explain", help="what a check proves and how to fix what it finds")
    explain.add_argument("check_id", metavar="CHECK_ID")

    sub.add_parser("iam-policy", help="print the least-privilege read-only IAM policy")

    demo = sub.add_parser(
        "demo",
        help="run the whole audit on a bundled sample estate (offline, no root)",
        formatter_class=_formatter,
        description="Runs every check against a sample AWS account (moto, in-process) and "
        "sample dependencies served on [::1] and 127.0.0.1, and writes every report format.",
    )
    demo.add_argument(
        "-o",
        "--output",
        metavar="OUTDIR",
        default="demo-report",
        help="folder for the reports (default: %(default)s)",
    )
    demo.add_argument(
        "--format",
        default="json,html,pdf,junit,sarif,md",
        metavar="FORMATS",
        help="comma-separated formats (default: all)",
    )
    demo.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")

    history = sub.add_parser("history", help="past runs with their scores, stage and cost")
    history.add_argument("--db", metavar="DB", help="history database (default: per user)")
    history.add_argument("--workload", metavar="W", help="only this workload")
    history.add_argument("--json", action="store_true", help="as JSON")

    merge = sub.add_parser(
        "merge",
        help="merge results of several accounts or shards into one",
        formatter_class=_formatter,
        description="Findings are de-duplicated by fingerprint; every score, the stage and the "
        "cost are recomputed from the merged findings (never averaged).",
    )
    merge.add_argument("results", nargs="+", metavar="RESULT.json")
    merge.add_argument(
        "-o", "--output", metavar="ORG.json", required=True, help="merged result, or - for stdout"
    )
    merge.add_argument("--workload", metavar="W", help="name of the merged workload")

    baseline = sub.add_parser(
        "baseline",
        help="write a baseline from a result: today's findings "
        "are accepted, only new ones fail --baseline",
    )
    baseline.add_argument("result", metavar="RESULT.json")
    baseline.add_argument(
        "-o", "--output", metavar="FILE", default="-", help="file to write (default: stdout)"
    )
    return parser


def _emit(text: str, output: str = "-") -> None:
    from auditor.result import atomic_write

    if output == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        atomic_write(output, text)


def cmd_scan(args: argparse.Namespace) -> int:
    from auditor.config import load_config
    from auditor.gates import evaluate_gates, parse_fail_on, parse_fail_under
    from auditor.history import attach_trend, default_db_path, record_run_safely
    from auditor.progress import make_progress
    from auditor.scan import ScanRequest, prepare_output, scan, write_outputs
    from auditor.suppressions import load_baseline, load_suppressions
    from reports import parse_formats

    # Everything the user gave is validated before the first probe.
    formats = parse_formats(args.format)
    if args.output == "-" and len(formats) != 1:
        raise UsageError("-o - writes one format to stdout; give exactly one --format")
    if args.concurrency is not None and not 1 <= args.concurrency <= 10000:
        raise UsageError("--concurrency must be between 1 and 10000")
    if args.timeout is not None and not 0.05 <= args.timeout <= 300:
        raise UsageError("--timeout must be between 0.05 and 300 seconds")
    score_gates = parse_fail_under(args.fail_under)
    fail_on = parse_fail_on(args.fail_on)
    config = load_config(args.config).with_overrides(
        concurrency=args.concurrency,
        timeout=args.timeout,
        regions=tuple(args.region or ()),
        profile=args.profile,
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
    _print_summary(result, written, reasons)
    if outcome.incomplete:
        return EXIT_INCOMPLETE
    return EXIT_GATE if reasons else EXIT_OK


def _print_summary(result: dict, written: list[str], reasons: list[str]) -> None:
    err = sys.stderr
    scores, stage, counts = result["scores"], result["stage"], result["counts"]["by_status"]

    def fmt(v: float | None) -> str:
        return "n/a" if v is None else f"{v:g}"

    if stage["next"] is None:
        ahead = ""
    elif stage["next"] in stage.get("untested", ()):
        ahead = f"; stage {stage['next']} not tested (no check in this run gives it a verdict)"
    else:
        ahead = f", {len(stage['blockers'])} blocker(s) to stage {stage['next']}"
    print(
        f"v6audit: {result['workload']}: dual_stack {fmt(scores['dual_stack'])}, "
        f"ipv6_only {fmt(scores['ipv6_only'])}; stage {stage['current']} ({stage['name']})" + ahead,
        file=err,
    )
    print("v6audit: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n), file=err)
    for problem in result["errors"]:
        print(
            f"v6audit: {problem['level']}: {problem.get('source', '')}: {problem['message']}",
            file=err,
        )
    if written != ["-"]:
        print("v6audit: wrote " + ", ".join(written), file=err)
    for reason in reasons:
        print(f"v6audit: gate failed: {reason}", file=err)


def cmd_report(args: argparse.Namespace) -> int:
    from auditor.result import load_result
    from reports import parse_formats

    formats = parse_formats(args.format)
    if len(formats) != 1:
        raise UsageError("report renders one format at a time")
    data = formats[0].render(load_result(args.result))
    if args.output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        from auditor.result import atomic_write

        atomic_write(args.output, data)
    return EXIT_OK


def cmd_checks(args: argparse.Namespace) -> int:
    from auditor.registry import load_checks

    registry = load_checks()
    if args.checks_command != "list":
        raise UsageError("usage: v6audit checks list [--json]")
    if args.json:
        _emit(json.dumps([c.meta.to_dict() for c in registry], indent=2) + "\n")
        return EXIT_OK
    rows = [
        (c.id, str(c.meta.stage or "-"), c.meta.severity.value, c.meta.family, c.meta.title)
        for c in registry
    ]
    widths = [
        max(len(r[i]) for r in [("ID", "STAGE", "SEVERITY", "FAMILY", ""), *rows]) for i in range(4)
    ]
    lines = [
        f"{'ID':<{widths[0]}}  {'STAGE':<{widths[1]}}  {'SEVERITY':<{widths[2]}}  "
        f"{'FAMILY':<{widths[3]}}  TITLE"
    ]
    lines += [
        f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  "
        f"{r[3]:<{widths[3]}}  {r[4]}"
        for r in rows
    ]
    _emit("\n".join(lines) + "\n")
    return EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    import difflib

    from auditor.model import STAGE_NAMES
    from auditor.registry import load_checks

    registry = load_checks()
    found = registry.get(args.check_id)
    if found is None:
        close = difflib.get_close_matches(args.check_id, [c.id for c in registry], n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise UsageError(f"no check {args.check_id!r}{hint} (see `v6audit checks list`)")
    m = found.meta
    stage = f"{m.stage} ({STAGE_NAMES[m.stage]})" if m.stage else "none (not scored)"
    parts = [
        f"{m.id}: {m.title}",
        "",
        f"family: {m.family}    severity: {m.severity.value}    stage: {stage}    "
        f"scored: {'yes' if m.mandatory and m.stage else 'no'}",
    ]
    if m.description:
        parts += ["", m.description]
    if m.remediation:
        parts += ["", "How to fix:", textwrap.indent(m.remediation, "  ")]
    if m.permissions:
        parts += ["", "AWS permissions: " + ", ".join(m.permissions)]
    if m.references:
        parts += ["", "References:"] + [f"  {r}" for r in m.references]
    _emit("\n".join(parts) + "\n")
    return EXIT_OK


def cmd_iam_policy(args: argparse.Namespace) -> int:
    from auditor.iam import iam_policy
    from auditor.registry import load_checks

    _emit(json.dumps(iam_policy(load_checks()), indent=2) + "\n")
    return EXIT_OK


def cmd_baseline(args: argparse.Namespace) -> int:
    from auditor.result import load_result
    from auditor.suppressions import baseline_document

    doc = baseline_document(load_result(args.result))
    _emit(json.dumps(doc, indent=2) + "\n", args.output)
    if args.output != "-":
        print(
            f"v6audit: wrote {args.output} with {len(doc['fingerprints'])} accepted finding(s)",
            file=sys.stderr,
        )
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from auditor.demo import run_demo
    from auditor.progress import make_progress
    from auditor.scan import prepare_output
    from reports import parse_formats

    prepare_output(args.output)
    outcome, written = run_demo(parse_formats(args.format), args.output, make_progress(args.quiet))
    _print_summary(outcome.result, written, [])
    if args.output != "-":
        print(f"v6audit: open {Path(args.output) / 'report.html'} in a browser", file=sys.stderr)
    return EXIT_INCOMPLETE if outcome.incomplete else EXIT_OK


def cmd_history(args: argparse.Namespace) -> int:
    from auditor.history import default_db_path, format_runs, list_runs

    db = args.db or default_db_path()
    runs = list_runs(db, args.workload)
    if not runs and not args.json:
        print(f"v6audit: no runs recorded in {db}", file=sys.stderr)
        return EXIT_OK
    _emit(json.dumps(runs, indent=2) + "\n" if args.json else format_runs(runs))
    return EXIT_OK


def cmd_merge(args: argparse.Namespace) -> int:
    from auditor.merge import merge_results
    from auditor.result import dumps, load_result

    merged = merge_results(
        [load_result(p) for p in args.results], workload=args.workload, names=args.results
    )
    _emit(dumps(merged), args.output)
    if args.output != "-":
        print(
            f"v6audit: merged {len(args.results)} results ({len(merged['findings'])} findings) "
            f"into {args.output}",
            file=sys.stderr,
        )
    return EXIT_OK


COMMANDS = {
    "scan": cmd_scan,
    "report": cmd_report,
    "checks": cmd_checks,
    "explain": cmd_explain,
    "iam-policy": cmd_iam_policy,
    "baseline": cmd_baseline,
    "history": cmd_history,
    "demo": cmd_demo,
    "merge": cmd_merge,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        args = parser.parse_args(argv)
        if not args.command:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        return COMMANDS[args.command](args)
    except AuditorError as exc:
        print(f"v6audit: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("v6audit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:
        if debug:
            raise
        print(
            f"v6audit: internal error: {type(exc).__name__}: {exc} "
            "(run with --debug for the traceback)",
            file=sys.stderr,
        )
        return EXIT_INCOMPLETE


if __name__ == "__main__":
    raise SystemExit(main())
