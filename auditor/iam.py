"""The least-privilege IAM policy: exactly the union of the checks' declared permissions."""

from __future__ import annotations

from collections.abc import Iterable

from auditor.aws.organization import ORGANIZATION_ACTIONS
from auditor.registry import Check


def required_actions(checks: Iterable[Check]) -> list[str]:
    return sorted({perm for c in checks for perm in c.meta.permissions})


def iam_policy(checks: Iterable[Check], organization_role: str | None = None) -> dict:
    statements: list[dict] = [
        {
            "Sid": "V6auditReadOnly",
            "Effect": "Allow",
            "Action": required_actions(checks),
            "Resource": "*",
        }
    ]
    if organization_role:
        statements += [
            {
                "Sid": "V6auditListOrganization",
                "Effect": "Allow",
                "Action": list(ORGANIZATION_ACTIONS),
                "Resource": "*",
            },
            {
                "Sid": "V6auditAssumeMemberRoles",
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Resource": f"arn:aws:iam::*:role/{organization_role}",
            },
        ]
    return {"Version": "2012-10-17", "Statement": statements}
