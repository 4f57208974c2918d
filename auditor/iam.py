"""The least-privilege IAM policy: exactly the union of the checks' declared permissions."""

from __future__ import annotations

from collections.abc import Iterable

from auditor.registry import Check


def required_actions(checks: Iterable[Check]) -> list[str]:
    return sorted({perm for c in checks for perm in c.meta.permissions})


def iam_policy(checks: Iterable[Check]) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "V6auditReadOnly",
                "Effect": "Allow",
                "Action": required_actions(checks),
                "Resource": "*",
            }
        ],
    }
