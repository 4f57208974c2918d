"""Run history: one SQLite row per scan, read back as the trend the reports show.

The scan asks `trend()` for the workload's past runs and attaches it as `result["history"]`
before rendering (so `v6audit report` re-renders the same trend), then appends the run with
`record_run()`. Times are the result's own `finished_at`: the history never reads the clock.

Every failure (corrupt file, database locked past the busy timeout, unwritable folder, a
database written by a newer v6audit) raises `HistoryError` with one line naming the file; the
scan reports it as a warning and still writes its outputs.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from auditor.console import NAME_LIMIT, printable
from auditor.errors import AuditorError

SCHEMA_VERSION = 1
QUARTER = timedelta(days=91)
DEFAULT_LIMIT = 24
BUSY_TIMEOUT_S = 5.0

_DDL = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,              -- the run's finished_at (UTC, ISO 8601)
    started_at TEXT NOT NULL,
    workload TEXT NOT NULL,
    tool_version TEXT NOT NULL,
    dual_stack REAL,
    ipv6_only REAL,
    dual_stack_all REAL,             -- ignoring suppressions
    ipv6_only_all REAL,
    stage INTEGER NOT NULL,
    next_stage INTEGER,
    blockers INTEGER NOT NULL,
    pass INTEGER NOT NULL,
    fail INTEGER NOT NULL,
    warn INTEGER NOT NULL,
    info INTEGER NOT NULL,
    skip INTEGER NOT NULL,
    error INTEGER NOT NULL,
    suppressed INTEGER NOT NULL,
    findings INTEGER NOT NULL,
    fingerprints INTEGER NOT NULL,   -- distinct fingerprints (what a baseline would hold)
    public_ipv4 INTEGER NOT NULL,
    monthly_usd REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_workload_time ON runs (workload, time)
"""

_COLUMNS = (
    "id",
    "time",
    "started_at",
    "workload",
    "tool_version",
    "dual_stack",
    "ipv6_only",
    "dual_stack_all",
    "ipv6_only_all",
    "stage",
    "next_stage",
    "blockers",
    "pass",
    "fail",
    "warn",
    "info",
    "skip",
    "error",
    "suppressed",
    "findings",
    "fingerprints",
    "public_ipv4",
    "monthly_usd",
)


class HistoryError(AuditorError):
    """The history database cannot be read or written."""


def default_db_path() -> Path:
    """`$XDG_DATA_HOME/v6audit/history.sqlite`, else `~/.local/share/v6audit/history.sqlite`."""
    base = os.environ.get("XDG_DATA_HOME") or ""
    root = Path(base) if os.path.isabs(base) else Path.home() / ".local" / "share"
    return root / "v6audit" / "history.sqlite"


def _explain(db_path: Path, exc: BaseException) -> HistoryError:
    text = str(exc)
    if "locked" in text or "busy" in text:
        why = "the database is locked by another process (tried for the busy timeout)"
    elif "not a database" in text or "malformed" in text:
        why = "the file is not a v6audit history database or is corrupt; move it aside"
    elif "readonly" in text or "unable to open" in text or isinstance(exc, PermissionError):
        why = "cannot write there (check the folder exists and is writable)"
    else:
        why = text
    return HistoryError(f"history {db_path}: {why}")


@contextmanager
def _connect(db_path: str | Path, write: bool, timeout: float) -> Iterator[sqlite3.Connection]:
    path = Path(db_path)
    try:
        if write:
            path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    except (sqlite3.Error, OSError) as exc:
        raise _explain(path, exc) from None
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise HistoryError(
                f"history {path}: written by a newer v6audit (schema {version}, this one "
                f"reads {SCHEMA_VERSION}); upgrade, or give another --history file"
            )
        if write and version < SCHEMA_VERSION:
            _migrate(conn)
        yield conn
    except sqlite3.Error as exc:
        raise _explain(path, exc) from None
    finally:
        conn.close()


def _migrate(conn: sqlite3.Connection) -> None:
    """Create (or, in later versions, upgrade) the schema in one transaction."""
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("BEGIN IMMEDIATE")
    try:
        if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
            for statement in _DDL.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _has_runs(conn: sqlite3.Connection) -> bool:
    found = conn.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'runs'"
    ).fetchone()[0]
    return bool(found)


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    scores = result["scores"]
    ignoring = scores.get("ignoring_suppressions") or {}
    by_status = (result.get("counts") or {}).get("by_status") or {}
    findings = result.get("findings") or []
    cost = result["cost"]["public_ipv4"]
    return {
        "time": _utc(result["finished_at"]),
        "started_at": _utc(result["started_at"]),
        "workload": result["workload"],
        "tool_version": (result.get("tool") or {}).get("version", ""),
        "dual_stack": scores.get("dual_stack"),
        "ipv6_only": scores.get("ipv6_only"),
        "dual_stack_all": ignoring.get("dual_stack"),
        "ipv6_only_all": ignoring.get("ipv6_only"),
        "stage": result["stage"]["current"],
        "next_stage": result["stage"].get("next"),
        "blockers": len(result["stage"].get("blockers") or ()),
        **{s: int(by_status.get(s, 0)) for s in ("pass", "fail", "warn", "info", "skip", "error")},
        "suppressed": sum(1 for f in findings if f.get("suppressed")),
        "findings": len(findings),
        "fingerprints": len({f.get("fingerprint") for f in findings}),
        "public_ipv4": int(cost.get("count") or 0),
        "monthly_usd": float(cost.get("monthly_usd") or 0),
    }


def record_run(
    db_path: str | Path, result: dict[str, Any], timeout: float = BUSY_TIMEOUT_S
) -> None:
    """Append the run's summary; one short transaction."""
    try:
        row = _summary(result)
    except (KeyError, TypeError, ValueError) as exc:
        raise HistoryError(f"history {db_path}: not a v6audit result ({exc})") from None
    names = ", ".join(row)
    marks = ", ".join(f":{k}" for k in row)
    with _connect(db_path, write=True, timeout=timeout) as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(f"INSERT INTO runs ({names}) VALUES ({marks})", row)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


def _rows(
    db_path: str | Path, where: str, params: tuple, order: str, limit: int | None, timeout: float
) -> list[dict[str, Any]]:
    if not Path(db_path).exists():
        return []
    with _connect(db_path, write=False, timeout=timeout) as conn:
        if not _has_runs(conn):
            return []  # an empty file: no run recorded yet
        sql = f"SELECT {', '.join(_COLUMNS)} FROM runs {where} ORDER BY {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [dict(r) for r in conn.execute(sql, params)]


def list_runs(
    db_path: str | Path, workload: str | None = None, timeout: float = BUSY_TIMEOUT_S
) -> list[dict[str, Any]]:
    """Every recorded run (of one workload, if given), oldest first."""
    where, params = ("WHERE workload = ?", (workload,)) if workload else ("", ())
    return _rows(db_path, where, params, "time, id", None, timeout)


def _point(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "time": row["time"],
        "dual_stack": row["dual_stack"],
        "ipv6_only": row["ipv6_only"],
        "stage": row["stage"],
        "blockers": row["blockers"],
        "fail": row["fail"],
        "error": row["error"],
        "public_ipv4": row["public_ipv4"],
        "monthly_usd": row["monthly_usd"],
    }


def _parse(text: str) -> datetime:
    ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def _utc(text: str) -> str:
    """One spelling for every stored time, so SQL can compare them as text."""
    return _parse(text).astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def trend(
    db_path: str | Path,
    workload: str,
    now_iso: str,
    limit: int = DEFAULT_LIMIT,
    timeout: float = BUSY_TIMEOUT_S,
) -> dict[str, Any]:
    """The workload's runs before `now_iso` (the current run's finished_at), for the reports.

    `points` are the last `limit` runs, oldest first; `previous` is the latest of them;
    `quarter_ago` is the latest run at least 91 days before now (None when history is younger).
    """
    rows = _rows(
        db_path,
        "WHERE workload = ? AND time < ?",
        (workload, _utc(now_iso)),
        "time DESC, id DESC",
        None,
        timeout,
    )
    now = _parse(now_iso)
    quarter = next((r for r in rows if _parse(r["time"]) <= now - QUARTER), None)
    points = [_point(r) for r in reversed(rows[:limit])]
    return {
        "workload": workload,
        "runs": len(rows),
        "points": points,
        "previous": _point(rows[0]) if rows else None,
        "quarter_ago": _point(quarter) if quarter else None,
    }


def format_runs(runs: list[dict[str, Any]]) -> str:
    """A plain table for `v6audit history` (names made safe for a terminal)."""

    def score(v: float | None) -> str:
        return "n/a" if v is None else f"{v:g}"

    header = (
        "TIME",
        "WORKLOAD",
        "IPV6_ONLY",
        "DUAL_STACK",
        "STAGE",
        "BLOCKERS",
        "FAIL",
        "ERROR",
        "PUBLIC_IPV4",
        "USD/MONTH",
    )
    rows = [
        (
            printable(r["time"], NAME_LIMIT),
            printable(r["workload"], NAME_LIMIT),
            score(r["ipv6_only"]),
            score(r["dual_stack"]),
            str(r["stage"]),
            str(r["blockers"]),
            str(r["fail"]),
            str(r["error"]),
            str(r["public_ipv4"]),
            f"{r['monthly_usd']:.2f}",
        )
        for r in runs
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    return "\n".join(lines) + "\n"


def attach_trend(result: dict[str, Any], db_path: str | Path) -> dict[str, str] | None:
    """Before rendering: set `result["history"]` from the database.

    On a database problem the result keeps no trend, the problem is added to
    `result["errors"]` as a warning (so the reports say why the trend is missing) and returned
    for the caller to print; the scan goes on and writes its outputs.
    """
    try:
        result["history"] = trend(db_path, result["workload"], result["finished_at"])
    except (HistoryError, ValueError) as exc:
        problem = {"level": "warning", "source": "history", "message": f"no trend: {exc}"}
        result.setdefault("errors", []).append(problem)
        return problem
    return None


def record_run_safely(result: dict[str, Any], db_path: str | Path) -> dict[str, str] | None:
    """After the outputs are written: append the run; a problem is returned, not raised."""
    try:
        record_run(db_path, result)
    except (HistoryError, ValueError) as exc:
        return {"level": "warning", "source": "history", "message": f"run not recorded: {exc}"}
    return None
