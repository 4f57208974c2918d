"""What every command module shares: the parser class, the help layout, output to stdout or a
file, the options `scan` and `demo` have in common, and the run summary both print."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from auditor.console import NAME_LIMIT, printable
from auditor.errors import UsageError

if TYPE_CHECKING:
    from auditor.formats import Format


class Parser(argparse.ArgumentParser):
    """Usage errors exit 2 with one line, as every other usage error does."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=34, width=100)


# The top-level subparsers, to which every command module adds its own command(s).
Subparsers = argparse._SubParsersAction


def add_audit_options(parser: argparse.ArgumentParser, outdir: str, formats: str) -> None:
    """The output options of the commands that run an audit (`scan`, `demo`)."""
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUTDIR",
        default=outdir,
        help="folder for the reports, or - for stdout (one format) (default: %(default)s)",
    )
    parser.add_argument(
        "--format",
        default=formats,
        metavar="FORMATS",
        help="comma-separated: json,html,pdf,junit,sarif,md (default: %(default)s)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")


def audit_formats(args: argparse.Namespace) -> list[Format]:
    """The formats asked for with `add_audit_options`; `-o -` takes exactly one."""
    from auditor.formats import parse_formats

    formats = parse_formats(args.format)
    if args.output == "-" and len(formats) != 1:
        raise UsageError("-o - writes one format to stdout; give exactly one --format")
    return formats


def print_summary(result: dict, written: list[str], reasons: list[str]) -> None:
    """The few lines an audit prints on stderr: scores, stage, counts, problems, files, gates.
    Text from the config or the estate goes through `printable`."""
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
        f"v6audit: {printable(result['workload'], NAME_LIMIT)}: "
        f"dual_stack {fmt(scores['dual_stack'])}, ipv6_only {fmt(scores['ipv6_only'])}; "
        f"stage {stage['current']} ({stage['name']})" + ahead,
        file=err,
    )
    print("v6audit: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n), file=err)
    for problem in result["errors"]:
        print(
            f"v6audit: {problem['level']}: {printable(problem.get('source', ''))}: "
            f"{printable(problem['message'])}",
            file=err,
        )
    if written != ["-"]:
        print("v6audit: wrote " + ", ".join(printable(w) for w in written), file=err)
    for reason in reasons:
        print(f"v6audit: gate failed: {printable(reason)}", file=err)
