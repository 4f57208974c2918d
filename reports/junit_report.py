"""report.junit.xml: JUnit XML (the Jenkins/Ant shape every CI reads).

One `<testsuite>` per check, one `<testcase>` per check and resource/target:
- `fail` → `<failure>` carrying the message (the body adds remediation, fingerprint, evidence);
- `error` (the check could not decide) → `<error>`;
- `skip`, and any suppressed finding → `<skipped>` with the reason (accepted is not failing);
- `pass`, `info`, `warn` → a passing testcase; info and warnings are kept in `<system-out>`.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

from reports.view import FindingView, View, build_view

# XML 1.0 forbids most control characters even when escaped.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)


def _seconds(ms: float) -> str:
    return f"{ms / 1000:.3f}"


def _timestamp(iso: str) -> str:
    """Ant's timestamp: ISO 8601 without zone (the result's times are UTC)."""
    return iso.replace("Z", "")[:19]


def _case_name(f: FindingView) -> str:
    name = f.subject_id or f.subject
    return f"{name} [{f.where}]" if f.where else name


def _details(f: FindingView) -> str:
    lines = [f.message]
    if f.remediation:
        lines += ["", f"How to fix: {f.remediation}"]
    lines += ["", f"check: {f.check_id} ({f.title})", f"severity: {f.severity}"]
    if f.stage is not None:
        lines.append(f"stage: {f.stage}")
    lines.append(f"fingerprint: {f.fingerprint}")
    if f.evidence:
        lines += ["evidence:", json.dumps(f.evidence, indent=2, sort_keys=True, default=str)]
    return _clean("\n".join(lines))


def _testcase(parent: ET.Element, f: FindingView) -> None:
    case = ET.SubElement(
        parent,
        "testcase",
        name=_clean(_case_name(f)),
        classname=_clean(f"v6audit.{f.family or 'checks'}.{f.check_id}"),
        time=_seconds(f.duration_ms),
    )
    if f.suppressed:
        s = f.suppressed
        reason = f"suppressed until {s.get('expires', '')}"
        if s.get("owner"):
            reason += f" by {s['owner']}"
        reason += f": {s.get('reason', '')} (finding: {f.status}: {f.message})"
        ET.SubElement(case, "skipped", message=_clean(reason))
    elif f.status == "fail":
        el = ET.SubElement(case, "failure", message=_clean(f.message), type=f.severity)
        el.text = _details(f)
    elif f.status == "error":
        el = ET.SubElement(case, "error", message=_clean(f.message), type="check-error")
        el.text = _details(f)
    elif f.status == "skip":
        ET.SubElement(case, "skipped", message=_clean(f.message))
    elif f.status in ("warn", "info"):
        out = ET.SubElement(case, "system-out")
        out.text = _clean(f"{f.status}: {f.message}") + (
            f"\nHow to fix: {_clean(f.remediation)}" if f.status == "warn" and f.remediation else ""
        )


def _tally(findings: list[FindingView]) -> dict[str, int]:
    failures = sum(1 for f in findings if f.status == "fail" and not f.suppressed)
    errors = sum(1 for f in findings if f.status == "error" and not f.suppressed)
    skipped = sum(1 for f in findings if f.status == "skip" or f.suppressed)
    return {"tests": len(findings), "failures": failures, "errors": errors, "skipped": skipped}


def render_view(view: View) -> str:
    by_check: dict[str, list[FindingView]] = {}
    for f in view.findings:
        by_check.setdefault(f.check_id, []).append(f)
    total = _tally(view.findings)
    root = ET.Element(
        "testsuites",
        name=_clean(f"v6audit: {view.workload}"),
        tests=str(total["tests"]),
        failures=str(total["failures"]),
        errors=str(total["errors"]),
        time=_seconds(sum(f.duration_ms for f in view.findings)),
    )
    for suite_id, check_id in enumerate(sorted(by_check)):
        findings = by_check[check_id]
        check = next(c for c in view.checks if c.id == check_id)
        counts = _tally(findings)
        suite = ET.SubElement(
            root,
            "testsuite",
            name=check_id,
            id=str(suite_id),
            package=_clean(check.family or "checks"),
            tests=str(counts["tests"]),
            failures=str(counts["failures"]),
            errors=str(counts["errors"]),
            skipped=str(counts["skipped"]),
            time=_seconds(sum(f.duration_ms for f in findings)),
            timestamp=_timestamp(view.started_at),
            hostname="v6audit",
        )
        props = ET.SubElement(suite, "properties")
        for name, value in (
            ("title", check.title),
            ("severity", check.severity),
            ("stage", "" if check.stage is None else str(check.stage)),
            ("workload", view.workload),
            ("vantage", view.vantage or "unknown"),
        ):
            ET.SubElement(props, "property", name=name, value=_clean(value))
        for f in findings:
            _testcase(suite, f)
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def render(result: dict) -> str:
    return render_view(build_view(result))
