"""`history`: past runs recorded by `scan`, with their scores, stage and cost."""

from __future__ import annotations

import argparse
import json
import sys

from auditor.cli.common import Subparsers
from auditor.errors import EXIT_OK
from auditor.output import emit


def register(sub: Subparsers) -> None:
    history = sub.add_parser("history", help="past runs with their scores, stage and cost")
    history.set_defaults(run=cmd_history)
    history.add_argument("--db", metavar="DB", help="history database (default: per user)")
    history.add_argument("--workload", metavar="W", help="only this workload")
    history.add_argument("--json", action="store_true", help="as JSON")


def cmd_history(args: argparse.Namespace) -> int:
    from auditor.history import default_db_path, format_runs, list_runs

    db = args.db or default_db_path()
    runs = list_runs(db, args.workload)
    if not runs and not args.json:
        print(f"v6audit: no runs recorded in {db}", file=sys.stderr)
        return EXIT_OK
    emit(json.dumps(runs, indent=2) + "\n" if args.json else format_runs(runs))
    return EXIT_OK
