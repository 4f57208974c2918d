"""The `v6audit` command line. Exit codes: 0 passed, 1 gate failed, 2 usage/config error,
3 the scan could not complete.

Each command lives in its own module of this package, which adds its parser through
`register(subparsers)` and points it at its handler (`set_defaults(run=...)`); a new command
is a new module listed in `COMMAND_MODULES`. Handlers import what they need when they run, so
`v6audit --help` loads nothing heavy.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from auditor import __version__
from auditor.cli import audit, catalog, history, results, traffic
from auditor.cli.common import Parser, formatter
from auditor.console import printable
from auditor.errors import EXIT_INCOMPLETE, EXIT_OK, EXIT_USAGE, AuditorError

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
  v6audit traffic-sql -c v6audit.yaml             the traffic analysis as Athena SQL

exit codes: 0 ran and passed every gate; 1 a gate failed; 2 usage or config error;
3 the scan could not complete (no credentials, no IPv6 where network checks were asked for).
"""

# In the order `v6audit --help` lists their commands.
COMMAND_MODULES = (audit, results, catalog, history, traffic)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="v6audit", description=MAIN_HELP, formatter_class=formatter)
    parser.add_argument("--version", action="version", version=f"v6audit {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        args = parser.parse_args(argv)
        if not args.command:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        return args.run(args)
    except AuditorError as exc:
        print(f"v6audit: error: {printable(exc)}", file=sys.stderr)
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
            f"v6audit: internal error: {type(exc).__name__}: {printable(exc)} "
            "(run with --debug for the traceback)",
            file=sys.stderr,
        )
        return EXIT_INCOMPLETE
