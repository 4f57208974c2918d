"""`report`, `baseline` and `merge`: the commands that read saved results."""

from __future__ import annotations

import argparse
import io
import json
import sys
import textwrap
from pathlib import Path

from auditor.cli.common import Subparsers, formatter
from auditor.errors import EXIT_OK, UsageError
from auditor.output import emit, open_output


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
        description=textwrap.dedent("""\
        Findings are de-duplicated by fingerprint and check id (the worst observation wins);
        every score, the stage, the cost and the `accounts` ranking are recomputed from the
        merged findings (never averaged). Inputs are files, globs ('out/shard-*/report.json',
        quoted so the shell leaves them) and s3://BUCKET/PREFIX/ (every .json below it);
        they are read one at a time, so memory is bounded by the largest input."""),
    )
    merge.set_defaults(run=cmd_merge)
    merge.add_argument("results", nargs="+", metavar="RESULT")
    merge.add_argument(
        "-o", "--output", metavar="ORG.json", required=True, help="merged result, or - for stdout"
    )
    merge.add_argument("--workload", metavar="W", help="name of the merged workload")
    merge.add_argument(
        "--render",
        metavar="FORMATS",
        help="also write these formats beside ORG.json (e.g. html,pdf: ORG.html, ORG.pdf)",
    )

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
    from auditor.formats import parse_formats
    from auditor.merge import merge_inputs
    from auditor.output import write_file
    from auditor.result import load_result

    renders = parse_formats(args.render) if args.render else []
    if renders and args.output == "-":
        raise UsageError("--render writes files beside ORG.json: give -o ORG.json, not -o -")
    if args.output == "-":
        header, count = merge_inputs(args.results, sys.stdout, workload=args.workload)
        sys.stdout.flush()
    else:
        target = Path(args.output)
        with open_output(target) as raw:
            out = io.TextIOWrapper(raw, encoding="utf-8")
            header, count = merge_inputs(args.results, out, workload=args.workload)
            out.flush()
            out.detach()
        for fmt in renders:
            if fmt.name == "json":
                continue
            beside = target.with_suffix(Path(fmt.filename).suffix)
            write_file(beside, fmt.render(load_result(target)))
    total = header["counts"]["total"]
    if args.output != "-":
        print(
            f"v6audit: merged {count} results ({total} findings, "
            f"{len(header['accounts'])} accounts) into {args.output}",
            file=sys.stderr,
        )
    return EXIT_OK
