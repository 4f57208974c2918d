"""`checks list`, `explain` and `iam-policy`: what the registered checks are and need."""

from __future__ import annotations

import argparse
import json
import textwrap

from auditor.cli.common import Parser, Subparsers, formatter
from auditor.errors import EXIT_OK, UsageError
from auditor.output import emit


def register(sub: Subparsers) -> None:
    checks = sub.add_parser("checks", help="the registered checks")
    checks.set_defaults(run=cmd_checks)
    checks_sub = checks.add_subparsers(dest="checks_command", metavar="list", parser_class=Parser)
    listing = checks_sub.add_parser("list", help="list every check with its metadata")
    listing.add_argument("--json", action="store_true", help="all metadata as JSON")

    explain = sub.add_parser("explain", help="what a check proves and how to fix what it finds")
    explain.set_defaults(run=cmd_explain)
    explain.add_argument("check_id", metavar="CHECK_ID")

    policy = sub.add_parser(
        "iam-policy",
        help="print the least-privilege read-only IAM policy",
        formatter_class=formatter,
        description="The read-only policy every audited account's role needs: exactly the "
        "union of the checks' permissions. With --organization ROLE_NAME, a second statement "
        "for the identity that runs the audit in the management (or delegated administrator) "
        "account: listing the organisation's accounts and assuming ROLE_NAME in each.",
    )
    policy.set_defaults(run=cmd_iam_policy)
    policy.add_argument(
        "--organization",
        metavar="ROLE_NAME",
        help="add what aws.organization needs (organizations:List*, sts:AssumeRole on ROLE_NAME)",
    )


def cmd_checks(args: argparse.Namespace) -> int:
    from auditor.registry import load_checks

    registry = load_checks()
    if args.checks_command != "list":
        raise UsageError("usage: v6audit checks list [--json]")
    if args.json:
        emit(json.dumps([c.meta.to_dict() for c in registry], indent=2) + "\n")
        return EXIT_OK
    header = ("ID", "STAGE", "SEVERITY", "FAMILY", "TITLE")
    rows = [
        (c.id, str(c.meta.stage or "-"), c.meta.severity.value, c.meta.family, c.meta.title)
        for c in registry
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    lines = [
        "  ".join(f"{cell:<{w}}" for cell, w in zip(row[:4], widths, strict=True)) + f"  {row[4]}"
        for row in [header, *rows]
    ]
    emit("\n".join(lines) + "\n")
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
    emit("\n".join(parts) + "\n")
    return EXIT_OK


def cmd_iam_policy(args: argparse.Namespace) -> int:
    from auditor.iam import iam_policy
    from auditor.registry import load_checks

    policy = iam_policy(load_checks(), organization_role=args.organization)
    emit(json.dumps(policy, indent=2) + "\n")
    return EXIT_OK
