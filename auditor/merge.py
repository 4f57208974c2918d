"""Merge the results of several accounts or shards into one result.

A large organisation runs one container per account or shard on its own scheduler and
reports once: `v6audit merge 'out/*.json' s3://bucket/runs/ -o ORG.json`. Every figure of the
merged result is recomputed from the union of the findings, exactly as a single scan would
compute it (`auditor.result`); nothing is averaged.

Inputs are read one at a time and their findings go to a temporary SQLite table keyed by
fingerprint and check id, so memory is bounded by the largest single input, not the sum:
the figures are computed in passes over that table and the findings are streamed from it
into the output. Duplicates (the same check id and fingerprint in several inputs) arise when
shards overlap, or when two containers probe the same public dependency (network fingerprints
carry no account); findings of two checks are never one, even if a crafted or colliding
fingerprint is shared. The merged result keeps the worst observation (fail before error before warn
...), because the workload is IPv6-only-ready only where every place that runs it is.
"""

from __future__ import annotations

import glob as globmod
import json
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from auditor.errors import AuditorError
from auditor.jsonfile import MAX_DEPTH, read_json, too_deep
from auditor.model import Finding
from auditor.registry import CheckMeta
from auditor.result import (
    SCHEMA_VERSION,
    result_without_findings,
    validate_result,
)

_WORST_FIRST = {s: i for i, s in enumerate(("fail", "error", "warn", "info", "skip", "pass"))}
_SEVERITY = {s: i for i, s in enumerate(("critical", "high", "medium", "low", "info"))}
_FINDINGS_MARK = "\x00findings\x00"
MAX_NAMED_WORKLOADS = 4


class MergeError(AuditorError):
    """The inputs cannot be merged into one result."""


def _major(version: str) -> str:
    return str(version).split(".", 1)[0]


def _time(text: str, name: str) -> datetime:
    try:
        ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError, TypeError):
        raise MergeError(f"{name}: timestamp {text!r} is not ISO 8601") from None
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def _rank(finding: dict[str, Any]) -> tuple[int, int, int]:
    return (
        _WORST_FIRST.get(finding["status"], 9),
        _SEVERITY.get(finding.get("severity") or "info", 9),
        int(finding.get("suppressed") is not None),  # an unsuppressed observation wins a tie
    )


class _Findings:
    """A re-iterable view of the stored findings in one order (each pass reads the table)."""

    def __init__(self, db: sqlite3.Connection, order: str) -> None:
        self._db = db
        self._order = order

    def __iter__(self) -> Iterator[Finding]:
        for body in self.dicts():
            data = json.loads(body)
            try:
                yield Finding.from_dict(data)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                raise MergeError(
                    f"finding {data.get('fingerprint')!r} of check {data.get('check_id')!r} "
                    f"is not a v6audit finding: {exc}"
                ) from None

    def dicts(self) -> Iterator[str]:
        order = f" ORDER BY {self._order}" if self._order else ""
        for (body,) in self._db.execute(f"SELECT body FROM findings{order}"):
            yield body


class MergeStore:
    """Collects results one at a time; then writes or returns the merged result."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="v6audit-merge-")
        self._db = sqlite3.connect(Path(self._dir.name) / "merge.db")
        # a scratch table that dies with the merge: no journal, no fsync
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute(
            "CREATE TABLE findings (fingerprint TEXT, check_id TEXT, account TEXT, "
            "r0 INT, r1 INT, r2 INT, ord INT, body TEXT, PRIMARY KEY (fingerprint, check_id))"
        )
        self.checks: dict[str, dict[str, Any]] = {}
        self.errors: list[dict[str, Any]] = []
        self.sources: list[dict[str, Any]] = []
        self.workloads: set[str] = set()
        self.account_names: dict[str, str] = {}
        self._starts: list[tuple[datetime, str]] = []
        self._ends: list[tuple[datetime, str]] = []

    def close(self) -> None:
        self._db.close()
        self._dir.cleanup()

    def __enter__(self) -> MergeStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, name: str, result: dict[str, Any]) -> None:
        theirs = _major(result.get("schema_version", ""))
        if theirs != _major(SCHEMA_VERSION):
            raise MergeError(
                f"{name}: schema_version {result.get('schema_version')!r} cannot be merged "
                f"with schema {SCHEMA_VERSION} results (different major version); re-run "
                "that scan with this v6audit"
            )
        order = len(self.sources)
        findings = result.get("findings") or []
        accounts: set[str] = set()
        regions: set[str] = set()
        rows = []
        for f in findings:
            res = f.get("resource") or {}
            account = res.get("account") or ""
            accounts.add(account)
            regions.add(res.get("region") or "")
            rows.append((f["fingerprint"], f["check_id"], account, *_rank(f), order, json.dumps(f)))
        with self._db:
            self._db.executemany(
                "INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (fingerprint, check_id) DO UPDATE SET "
                "account = excluded.account, r0 = excluded.r0, r1 = excluded.r1, "
                "r2 = excluded.r2, ord = excluded.ord, body = excluded.body "
                "WHERE (excluded.r0, excluded.r1, excluded.r2, excluded.ord) < (r0, r1, r2, ord)",
                rows,
            )
        for meta in result.get("checks") or ():
            self.checks.setdefault(meta["id"], meta)
        for problem in result.get("errors") or ():
            source = problem.get("source")
            self.errors.append({**problem, "source": f"{name}: {source}" if source else name})
        for row in result.get("accounts") or ():
            if row.get("name"):
                self.account_names.setdefault(row["account"], row["name"])
        self._starts.append((_time(result["started_at"], name), result["started_at"]))
        self._ends.append((_time(result["finished_at"], name), result["finished_at"]))
        self.workloads.add(result.get("workload", ""))
        self.sources.append(
            {
                "name": name,
                "workload": result.get("workload", ""),
                "started_at": result["started_at"],
                "finished_at": result["finished_at"],
                "tool_version": (result.get("tool") or {}).get("version", ""),
                "findings": len(findings),
                "accounts": sorted(accounts - {""}),
                "regions": sorted(regions - {""}),
            }
        )

    def _workload(self, workload: str | None) -> str:
        if workload is not None:
            return workload
        workloads = sorted(self.workloads - {""})
        if len(workloads) > MAX_NAMED_WORKLOADS:  # an organisation: name it, do not list it
            return f"{workloads[0]} and {len(workloads) - 1} more workloads"
        return workloads[0] if len(workloads) == 1 else " + ".join(workloads) or "merged"

    def _header(self, workload: str | None) -> dict[str, Any]:
        if not self.sources:
            raise MergeError("merge needs at least one result")
        workload = self._workload(workload)
        return result_without_findings(
            workload=workload,
            findings=_Findings(self._db, ""),  # the figures do not depend on the order
            checks=[CheckMeta.from_dict(m) for m in self.checks.values()],
            started_at=min(self._starts)[1],
            finished_at=max(self._ends)[1],
            errors=self.errors,
            config={"workload": workload, "merged_from": [s["name"] for s in self.sources]},
            extra={"sources": self.sources},
            account_names=self.account_names,
        )

    def write(self, out: IO[str], workload: str | None = None) -> dict[str, Any]:
        """Stream the merged result as JSON into `out`; returns it without its findings."""
        header = self._header(workload)
        header["findings"] = _FINDINGS_MARK
        before, after = json.dumps(header, indent=2, ensure_ascii=False, default=str).split(
            json.dumps(_FINDINGS_MARK), 1
        )
        out.write(before + "[")
        first = True
        for body in _Findings(self._db, "check_id, fingerprint").dicts():
            out.write("\n    " if first else ",\n    ")
            out.write(body)
            first = False
        out.write("\n  ]" if not first else "]")
        out.write(after + "\n")
        header["findings"] = []
        return header

    def result(self, workload: str | None = None) -> dict[str, Any]:
        """The merged result in memory (for small merges and tests): the streamed figures,
        with the findings in the order `build_result` writes them."""
        result = self._header(workload)
        result["findings"] = [f.to_dict() for f in _Findings(self._db, "check_id, fingerprint")]
        return result


def merge_results(
    results: Iterable[dict[str, Any]],
    workload: str | None = None,
    names: Sequence[str] | None = None,
) -> dict[str, Any]:
    """One result from several; `names` label the inputs (file names) in `sources` and errors."""
    results = list(results)
    if not results:
        raise MergeError("merge needs at least one result")
    names = list(names) if names is not None else [f"input {i + 1}" for i in range(len(results))]
    if len(names) != len(results):
        raise MergeError("merge: one name per result")
    with MergeStore() as store:
        for name, result in zip(names, results, strict=True):
            store.add(name, result)
        return store.result(workload)


# --- inputs -------------------------------------------------------------------------------------


def _s3_inputs(spec: str) -> list[tuple[str, Callable[[], dict[str, Any]]]]:
    """Every `.json` object below an `s3://bucket/prefix`, each read when its turn comes."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, _, prefix = spec[len("s3://") :].partition("/")
    if not bucket:
        raise MergeError(f"{spec}: expected s3://BUCKET/PREFIX")
    client = boto3.client("s3")
    try:
        keys = [
            obj["Key"]
            for page in client.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=prefix
            )
            for obj in page.get("Contents", ())
            if obj["Key"].endswith(".json")
        ]
    except (BotoCoreError, ClientError) as exc:
        raise MergeError(f"{spec}: cannot list the objects (s3:ListBucket): {exc}") from None

    def loader(key: str) -> Callable[[], dict[str, Any]]:
        def load() -> dict[str, Any]:
            name = f"s3://{bucket}/{key}"
            try:
                body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
            except (BotoCoreError, ClientError) as exc:
                raise MergeError(f"{name}: cannot read (s3:GetObject): {exc}") from None
            return parse_result(body, name)

        return load

    return [(f"s3://{bucket}/{key}", loader(key)) for key in sorted(keys)]


def parse_result(data: bytes | str, name: str) -> dict[str, Any]:
    """An input's result, within the bounds `read_json` keeps for files."""
    try:
        result = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise MergeError(f"{name}: not JSON: {exc}") from None
    where = too_deep(result, MAX_DEPTH)
    if where is not None:
        raise MergeError(f"{name}: nested deeper than {MAX_DEPTH} levels at {where}")
    check_shape(result, name)
    return result


def check_shape(result: Any, name: str) -> None:
    """The fields a merge reads, with their types: a clear error instead of a traceback."""
    if not isinstance(result, dict):
        raise MergeError(f"{name}: not a v6audit result (a JSON object is expected)")
    if not isinstance(result.get("findings"), list):
        raise MergeError(f"{name}: not a v6audit result: `findings` missing or not a list")
    # the schema for everything but the findings (checking each finding against it would cost
    # more than the merge); the fields the merge reads from each finding are checked below
    validate_result({**result, "findings": []}, name)
    for i, finding in enumerate(result["findings"]):
        if not (
            isinstance(finding, dict)
            and isinstance(finding.get("fingerprint"), str)
            and isinstance(finding.get("check_id"), str)
            and isinstance(finding.get("status"), str)
        ):
            raise MergeError(
                f"{name}: findings[{i}] lacks a string fingerprint, check_id or status"
            )


def expand_inputs(specs: Iterable[str]) -> list[tuple[str, Callable[[], dict[str, Any]]]]:
    """Files, globs and `s3://` prefixes, in the order given; each read only when merged."""
    out: list[tuple[str, Callable[[], dict[str, Any]]]] = []
    for spec in specs:
        if spec.startswith("s3://"):
            found = _s3_inputs(spec)
        elif any(ch in spec for ch in "*?["):
            found = [(p, _file_loader(p)) for p in sorted(globmod.glob(spec, recursive=True))]
        else:
            found = [(spec, _file_loader(spec))]
        if not found:
            raise MergeError(f"{spec}: matches no result")
        out += found
    return out


def _file_loader(path: str) -> Callable[[], dict[str, Any]]:
    def load() -> dict[str, Any]:
        result = read_json(path, "v6audit result")
        check_shape(result, path)
        return result

    return load


def merge_inputs(
    specs: Iterable[str], out: IO[str], workload: str | None = None
) -> tuple[dict[str, Any], int]:
    """Stream every input into `out` as one result; returns it without findings, and how many
    inputs were read."""
    inputs = expand_inputs(specs)
    with MergeStore() as store:
        for name, load in inputs:
            store.add(name, load())
        return store.write(out, workload), len(inputs)
