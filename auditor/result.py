"""The JSON result: built once from a run, read back by `report`, `merge` and the gates."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any, BinaryIO

from auditor import __version__
from auditor.accounts import account_of, account_rows
from auditor.config import Config
from auditor.errors import ConfigError
from auditor.jsonfile import read_json
from auditor.model import Finding
from auditor.registry import CheckMeta
from auditor.scoring import ScoreBoard

SCHEMA_VERSION = "1.0"
_ENCODER = json.JSONEncoder(indent=2, ensure_ascii=False, default=str)
WRITE_BLOCK = 1 << 16  # characters per write


def _iso(ts: datetime) -> str:
    return ts.isoformat(timespec="seconds").replace("+00:00", "Z")


def build_result(
    *,
    workload: str,
    findings: list[Finding],
    checks: Iterable[CheckMeta],
    started_at: datetime | str,
    finished_at: datetime | str,
    errors: list[dict] | None = None,
    config: Config | dict | None = None,
    extra: dict[str, Any] | None = None,
    account_names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Every figure of the result is derived here, so scan and merge agree by construction."""
    findings = sorted(findings, key=lambda f: (f.check_id, f.fingerprint))
    result = result_without_findings(
        workload=workload,
        findings=findings,
        checks=checks,
        started_at=started_at,
        finished_at=finished_at,
        errors=errors,
        config=config,
        extra=extra,
        account_names=account_names,
    )
    result["findings"] = [f.to_dict() for f in findings]
    return result


def result_without_findings(
    *,
    workload: str,
    findings: Iterable[Finding],
    checks: Iterable[CheckMeta],
    started_at: datetime | str,
    finished_at: datetime | str,
    errors: list[dict] | None = None,
    config: Config | dict | None = None,
    extra: dict[str, Any] | None = None,
    account_names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The result with `findings` left empty, from one pass over `findings`, so a merge can
    stream them from disk instead of holding them."""
    metas = {m.id: m for m in checks}
    board = ScoreBoard(metas)
    per_account: dict[str, ScoreBoard] = {}
    vantage: str | None = None
    for f in findings:
        board.add(f)
        vantage = vantage or vantage_in(f)
        account = account_of(f)
        if account:
            if account not in per_account:
                per_account[account] = ScoreBoard(metas, ordered=False)
            per_account[account].add(f)
    result: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "v6audit", "version": __version__},
        "workload": workload,
        "vantage": vantage,
        "started_at": started_at if isinstance(started_at, str) else _iso(started_at),
        "finished_at": finished_at if isinstance(finished_at, str) else _iso(finished_at),
        "scores": board.scores(),
        "stage": board.stage(),
        "cost": board.cost(),
        "accounts": account_rows(per_account, account_names),
        "counts": board.counts(),
        "findings": [],
        "errors": list(errors or []),
        "config": config.to_dict() if isinstance(config, Config) else (config or {}),
        "checks": [m.to_dict() for m in sorted(metas.values(), key=lambda m: m.id)],
    }
    if extra:
        result.update(extra)
    return result


VANTAGE_CHECK = "net.preflight"


def vantage_in(f: Finding) -> str | None:
    """Where the network checks ran from (`ipv6-only` or `dual-stack`), if `f` is the
    `net.preflight` finding that found it; None when no network check ran or the auditor had
    no IPv6 route."""
    if f.check_id == VANTAGE_CHECK and f.evidence.get("vantage"):
        return str(f.evidence["vantage"])
    return None


def findings_of(result: dict) -> list[Finding]:
    return [Finding.from_dict(f) for f in result.get("findings", [])]


def checks_of(result: dict) -> list[CheckMeta]:
    return [CheckMeta.from_dict(c) for c in result.get("checks", [])]


@cache
def schema() -> dict:
    return json.loads(files("auditor").joinpath("schema/report.schema.json").read_text())


@cache
def _validator() -> Any:
    import jsonschema

    return jsonschema.Draft202012Validator(schema())


def validate_result(result: dict, source: str = "result") -> None:
    """Raise ConfigError naming the first place where `result` breaks the committed schema."""
    import jsonschema

    error = jsonschema.exceptions.best_match(_validator().iter_errors(result))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise ConfigError(source, None, where, f"not a v6audit result: {error.message[:300]}")


def load_result(path: str | Path) -> dict:
    """A saved result, read within bounds and checked against the committed schema, so every
    reader (`report`, `merge`, `baseline`) can trust its shape."""
    data = read_json(path, "v6audit result")
    validate_result(data, str(path))
    return data


def json_pieces(result: dict) -> Iterator[str]:
    """The result as JSON text, piece by piece (what `json.dumps` would join, and a newline)."""
    yield from _ENCODER.iterencode(result)
    yield "\n"


def dumps(result: dict) -> str:
    return "".join(json_pieces(result))


def write_json(result: dict, out: BinaryIO) -> None:
    """`dumps(result)` into `out` in blocks, never held whole: the text of a large result is
    several times its size while being joined."""
    block: list[str] = []
    size = 0
    for piece in json_pieces(result):
        block.append(piece)
        size += len(piece)
        if size >= WRITE_BLOCK:
            out.write("".join(block).encode("utf-8"))
            block.clear()
            size = 0
    out.write("".join(block).encode("utf-8"))
