"""`report`, `baseline` and `merge`: the commands that read saved results."""

from __future__ import annotations

import argparse
import json
import sys

from auditor.cli.common import Subparsers, formatter
from auditor.errors import EXIT_OK, UsageError
from auditor.output import emit


def register(sub: Subparsers) -> None:
    report = sub.add_parser(
        "report", help="render a saved result in another format", formatter_class=formatter
    )
    report.set_defaults(run=cmd_report)
    report.add_argument("result", metavar="RESULT.json")
    report.add_argument("--format", required=True, metavar="FORMAT")
    report.add_argument(
        "-o", "--output", metavar="FILE", default="-", help="file to write (default: stdout)"
    )

    merge = sub.add_parser(
        "merge",
        help="merge results of several accounts or shards into one",
        formatter_class=formatter,
        description="Findings are de-duplicated by check id and fingerprint; every score, the "
        "stage and the cost are recomputed from the merged findings (never averaged).",
    )
    merge.set_defaults(run=cmd_merge)
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
    baseline.set_defaults(run=cmd_baseline)
    baseline.add_argument("result", metavar="RESULT.json")
    baseline.add_argument(
        "-o", "--output", metavar="FILE", default="-", help="file to write (default: stdout)"
    )


def cmd_report(args: argparse.Namespace) -> int:
    from auditor.formats import parse_formats
    from auditor.result import load_result

    formats = parse_formats(args.format)
    if len(formats) != 1:
        raise UsageError("report renders one format at a time")
    emit(formats[0].render(load_result(args.result)), args.output)
    return EXIT_OK


def cmd_baseline(args: argparse.Namespace) -> int:
    from auditor.result import load_result
    from auditor.suppressions import baseline_document

    doc = baseline_document(load_result(args.result))
    emit(json.dumps(doc, indent=2) + "\n", args.output)
    if args.output != "-":
        print(
            f"v6audit: wrote {args.output} with {len(doc['fingerprints'])} accepted finding(s)",
            file=sys.stderr,
        )
    return EXIT_OK


def cmd_merge(args: argparse.Namespace) -> int:
    from auditor.merge import merge_results
    from auditor.result import dumps, load_result

    merged = merge_results(
        [load_result(p) for p in args.results], workload=args.workload, names=args.results
    )
    emit(dumps(merged), args.output)
    if args.output != "-":
        print(
            f"v6audit: merged {len(args.results)} results ({len(merged['findings'])} findings) "
            f"into {args.output}",
            file=sys.stderr,
        )
    return EXIT_OK
