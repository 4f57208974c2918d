"""report.sarif: SARIF 2.1.0 for code scanning (GitHub and other SARIF consumers).

- one rule per check, from the check metadata, with `properties.security-severity` (GitHub's
  critical ≥ 9.0, high ≥ 7.0, medium ≥ 4.0, low > 0) and the family as a tag;
- one result per finding that needs attention (`fail`, `error`, `warn`); passes, skips and
  informational findings are left out, as code scanning shows every result as an alert;
- `partialFingerprints` carry the finding's fingerprint, so alerts survive re-runs;
- each location names a file GitHub can show, the config file (at the line that declared the
  dependency when known, else line 1), plus a logical location naming the AWS resource or the
  probed endpoint;
- suppressed findings carry an external, accepted `suppressions` entry with the reason.
"""

from __future__ import annotations

import json
from typing import Any

from reports.view import FindingView, View, build_view

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "v6auditFingerprint/v1"
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}
LEVEL_BY_SEVERITY = {
    "critical": "error",
    "high": "error",
    "medium": "warning",
    "low": "note",
    "info": "note",
}
REPORTED = ("fail", "error", "warn")


def _level(f: FindingView) -> str:
    if f.status == "warn":
        return "warning" if f.blocking else "note"
    return LEVEL_BY_SEVERITY.get(f.severity, "warning")


def _rule(check: Any) -> dict[str, Any]:
    text = check.description or check.title
    help_md = f"**{check.title}**\n\n{text}"
    if check.remediation:
        help_md += f"\n\n**How to fix:** {check.remediation}"
    if check.references:
        help_md += "\n\n" + "\n".join(f"- {r}" for r in check.references)
    rule: dict[str, Any] = {
        "id": check.id,
        "name": "".join(p.capitalize() for p in check.id.replace("_", ".").split(".")),
        "shortDescription": {"text": check.title},
        "fullDescription": {"text": text},
        "help": {"text": check.remediation or text, "markdown": help_md},
        "defaultConfiguration": {"level": LEVEL_BY_SEVERITY.get(check.severity, "warning")},
        "properties": {
            "tags": ["ipv6", check.family] if check.family else ["ipv6"],
            "security-severity": SECURITY_SEVERITY.get(check.severity, "0.0"),
            "precision": "high",
        },
    }
    if check.stage is not None:
        rule["properties"]["stage"] = check.stage
    if check.references:
        rule["helpUri"] = check.references[0]
    return rule


def _result(f: FindingView, rule_index: int) -> dict[str, Any]:
    uri, line = f.location
    logical: dict[str, Any] = {
        "name": f.subject_id or f.subject,
        "kind": "resource",
        "fullyQualifiedName": "/".join(p for p in (f.account, f.region, f.subject_id) if p)
        or f.subject,
    }
    message = f.message if f.subject in f.message else f"{f.message} ({f.subject})"
    result: dict[str, Any] = {
        "ruleId": f.check_id,
        "ruleIndex": rule_index,
        "level": _level(f),
        "message": {"text": message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": uri},
                    "region": {"startLine": max(1, line)},
                },
                "logicalLocations": [logical],
            }
        ],
        "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint},
        "properties": {
            "status": f.status,
            "severity": f.severity,
            "security-severity": SECURITY_SEVERITY.get(f.severity, "0.0"),
            "family": f.family,
            "evidence": f.evidence,
        },
    }
    if f.stage is not None:
        result["properties"]["stage"] = f.stage
    if f.net_class:
        result["properties"]["class"] = f.net_class
    if f.suppressed:
        s = f.suppressed
        result["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": f"{s.get('reason', '')} (until {s.get('expires', '')}"
                + (f", {s['owner']})" if s.get("owner") else ")"),
            }
        ]
    return result


def render_view(view: View) -> dict[str, Any]:
    rules = [_rule(c) for c in view.checks]
    index = {c.id: i for i, c in enumerate(view.checks)}
    results = [_result(f, index[f.check_id]) for f in view.findings if f.status in REPORTED]
    notifications = [
        {
            "level": "error"
            if e["level"] == "error"
            else ("warning" if e["level"] == "warning" else "note"),
            "message": {"text": f"{e['source']}: {e['message']}" if e["source"] else e["message"]},
        }
        for e in view.errors
    ]
    invocation: dict[str, Any] = {
        "executionSuccessful": not any(e["level"] == "error" for e in view.errors),
        "startTimeUtc": view.started_at,
        "endTimeUtc": view.finished_at,
    }
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": view.tool,
                        "version": view.tool_version,
                        "semanticVersion": view.tool_version,
                        "rules": rules,
                    }
                },
                "automationDetails": {"id": f"v6audit/{view.workload}/"},
                "invocations": [invocation],
                "results": results,
                "properties": {
                    "workload": view.workload,
                    "vantage": view.vantage,
                    "vantage_explained": view.vantage_text,
                    "classes_explained": dict(view.classes),
                    "stage": view.stage,
                    "scores": {"ipv6_only": view.ipv6_only, "dual_stack": view.dual_stack},
                },
            }
        ],
    }


def render(result: dict) -> str:
    return json.dumps(render_view(build_view(result)), indent=2, ensure_ascii=False) + "\n"
