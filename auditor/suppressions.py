"""Suppressions (accepted findings, with a reason and an expiry) and baselines (known findings)."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from auditor.errors import ConfigError
from auditor.jsonfile import read_json
from auditor.model import Finding, Status, Suppression
from auditor.redact import redact_url
from auditor.yamlfile import LocatedYaml, PathKey, load_yaml

_RULE_KEYS = {
    "check",
    "resource",
    "resource_regex",
    "accounts",
    "regions",
    "reason",
    "expires",
    "owner",
}


@dataclass(frozen=True)
class SuppressionRule:
    check: str
    reason: str
    expires: date
    resource: str | None = None
    resource_regex: re.Pattern[str] | None = None
    accounts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    owner: str = ""
    source: str = ""

    def matches(self, finding: Finding) -> bool:
        if not fnmatch.fnmatchcase(finding.check_id, self.check):
            return False
        res = finding.resource
        if self.accounts and (res is None or res.account not in self.accounts):
            return False
        if self.regions and (res is None or res.region not in self.regions):
            return False
        names = _names(finding)
        # A target's URL is shown redacted: a rule naming the real URL matches it too.
        if self.resource is not None and not {self.resource, redact_url(self.resource)} & names:
            return False
        return not (
            self.resource_regex is not None
            and not any(self.resource_regex.fullmatch(n) for n in names)
        )


def _names(finding: Finding) -> set[str]:
    """Everything a person may use to name what a finding is about."""
    names: set[str] = set()
    if finding.resource:
        names |= {finding.resource.id, finding.resource.name}
    if finding.target:
        t = finding.target
        names |= {t.host, t.url, t.address}
    names.discard("")
    return names


def _fail(doc: LocatedYaml, key: PathKey, message: str) -> ConfigError:
    return doc.error(key, message)


def _parse_date(doc: LocatedYaml, value: Any, key: PathKey) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _fail(doc, key, f"must be a date such as 2027-03-31, not {value!r}")


def _str_list(doc: LocatedYaml, value: Any, key: PathKey) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise _fail(doc, key, "must be a list of strings")
    return tuple(str(v) for v in value)


def load_suppressions(path: str | Path) -> list[SuppressionRule]:
    """A YAML list of rules (or {suppressions: [...]}); `reason` and `expires` are required."""
    doc = load_yaml(path)
    data, base = doc.data, ()
    if isinstance(data, dict):
        if set(data) - {"suppressions"}:
            extra = sorted(set(data) - {"suppressions"})[0]
            raise _fail(doc, (extra,), "unknown key (expected 'suppressions')")
        data, base = data.get("suppressions"), ("suppressions",)
    if data is None:
        return []
    if not isinstance(data, list):
        raise _fail(doc, base, "must be a list of suppression rules")
    rules = []
    for index, item in enumerate(data):
        key = (*base, index)
        if not isinstance(item, dict):
            raise _fail(doc, key, "must be a mapping with check, reason and expires")
        for name in item:
            if name not in _RULE_KEYS:
                raise _fail(
                    doc, (*key, name), f"unknown key; allowed: {', '.join(sorted(_RULE_KEYS))}"
                )
        for required in ("check", "reason", "expires"):
            if item.get(required) in (None, ""):
                raise _fail(doc, key, f"missing required key {required!r}")
        for name in ("check", "reason", "resource", "resource_regex", "owner"):
            if name in item and not isinstance(item[name], str):
                raise _fail(doc, (*key, name), "must be a string")
        if "resource" in item and "resource_regex" in item:
            raise _fail(doc, (*key, "resource_regex"), "give either resource or resource_regex")
        regex = None
        if "resource_regex" in item:
            try:
                regex = re.compile(item["resource_regex"])
            except re.error as exc:
                raise _fail(
                    doc, (*key, "resource_regex"), f"invalid regular expression: {exc}"
                ) from None
        rules.append(
            SuppressionRule(
                check=item["check"],
                reason=item["reason"].strip(),
                expires=_parse_date(doc, item["expires"], (*key, "expires")),
                resource=item.get("resource"),
                resource_regex=regex,
                accounts=_str_list(doc, item.get("accounts", []), (*key, "accounts")),
                regions=_str_list(doc, item.get("regions", []), (*key, "regions")),
                owner=str(item.get("owner") or ""),
                source=f"{doc.path}:{doc.line(key)}",
            )
        )
    return rules


def apply_suppressions(
    findings: Iterable[Finding], rules: list[SuppressionRule], today: date
) -> list[dict]:
    """Mark matching findings suppressed; return run-level warnings for expired rules."""
    warnings = []
    active = []
    for rule in rules:
        if rule.expires < today:
            warnings.append(
                {
                    "level": "warning",
                    "source": rule.source,
                    "message": f"suppression for {rule.check!r} expired on "
                    f"{rule.expires.isoformat()} and no longer applies",
                }
            )
        else:
            active.append(rule)
    for finding in findings:
        if finding.status in (Status.PASS, Status.SKIP):
            continue
        for rule in active:
            if rule.matches(finding):
                finding.suppressed = Suppression(rule.reason, rule.expires.isoformat(), rule.owner)
                break
    return warnings


# --- baselines -------------------------------------------------------------------------------

BASELINE_FORMAT = "v6audit-baseline/1"


def baseline_document(result: dict) -> dict:
    """Today's non-passing findings, by fingerprint, with enough context for a reviewer."""
    entries = {}
    for f in result.get("findings", []):
        if f["status"] in ("fail", "error", "warn"):
            res = f.get("resource") or {}
            tgt = f.get("target") or {}
            entries[f["fingerprint"]] = {
                "check_id": f["check_id"],
                "status": f["status"],
                "about": res.get("id") or tgt.get("url") or tgt.get("host") or tgt.get("address"),
                "message": f["message"],
            }
    return {
        "format": BASELINE_FORMAT,
        "workload": result.get("workload"),
        "created_at": result.get("finished_at"),
        "fingerprints": dict(sorted(entries.items())),
    }


def load_baseline(path: str | Path) -> set[str]:
    path = str(path)
    data = read_json(path, "baseline")
    if not isinstance(data, dict) or data.get("format") != BASELINE_FORMAT:
        raise ConfigError(
            path,
            1,
            "format",
            f"not a v6audit baseline (expected format "
            f"{BASELINE_FORMAT!r}; write one with `v6audit baseline`)",
        )
    fps = data.get("fingerprints")
    if not isinstance(fps, dict | list):
        raise ConfigError(path, None, "fingerprints", "must be a mapping of fingerprints")
    bad = [fp for fp in fps if not isinstance(fp, str) or not re.fullmatch(r"[0-9a-f]{8,64}", fp)]
    if bad:
        raise ConfigError(path, None, "fingerprints", f"{bad[0]!r} is not a fingerprint")
    return set(fps)
