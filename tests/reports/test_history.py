"""History: real SQLite files, including corrupt, locked, unwritable and too-new ones."""

from __future__ import annotations

import copy
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from auditor.errors import AuditorError
from auditor.formats import FORMATS
from auditor.history import (
    SCHEMA_VERSION,
    HistoryError,
    attach_trend,
    default_db_path,
    format_runs,
    list_runs,
    record_run,
    record_run_safely,
    trend,
)
from auditor.output import write_outputs

T0 = datetime(2026, 11, 2, 9, 0, 0, tzinfo=UTC)


def _iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


def _run(sample: dict, days_ago: int, v6: float, workload: str = "payments-api") -> dict:
    r = copy.deepcopy(sample)
    r.pop("history", None)
    r["workload"] = workload
    r["finished_at"] = _iso(T0 - timedelta(days=days_ago))
    r["started_at"] = _iso(T0 - timedelta(days=days_ago, seconds=60))
    r["scores"]["ipv6_only"] = v6
    return r


def test_record_and_list(sample: dict, tmp_path: Path) -> None:
    db = tmp_path / "sub" / "history.sqlite"
    record_run(db, _run(sample, 10, 40.0))
    record_run(db, _run(sample, 5, 45.0, workload="other"))
    runs = list_runs(db)
    assert [r["workload"] for r in runs] == ["payments-api", "other"]
    r = runs[0]
    assert r["ipv6_only"] == 40.0 and r["dual_stack"] == sample["scores"]["dual_stack"]
    assert r["dual_stack_all"] == sample["scores"]["ignoring_suppressions"]["dual_stack"]
    assert (r["stage"], r["next_stage"], r["blockers"]) == (1, 2, 4)
    assert (r["fail"], r["error"], r["pass"], r["suppressed"]) == (8, 1, 11, 1)
    assert r["findings"] == r["fingerprints"] == len(sample["findings"])
    assert (r["public_ipv4"], r["monthly_usd"]) == (7, 25.55)
    assert r["time"] == _iso(T0 - timedelta(days=10))
    assert [x["workload"] for x in list_runs(db, "other")] == ["other"]
    table = format_runs(runs)
    assert table.splitlines()[0].split()[:3] == ["TIME", "WORKLOAD", "IPV6_ONLY"]
    assert "payments-api" in table and "25.55" in table
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_trend_previous_and_quarter_ago(sample: dict, tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    for days, v6 in [(200, 10.0), (95, 20.0), (60, 30.0), (7, 40.0), (0, 99.0)]:
        record_run(db, _run(sample, days, v6))
    record_run(db, _run(sample, 1, 77.0, workload="other"))
    t = trend(db, "payments-api", _iso(T0))  # the run at T0 itself is not its own past
    assert [p["ipv6_only"] for p in t["points"]] == [10.0, 20.0, 30.0, 40.0]
    assert t["runs"] == 4
    assert t["previous"]["ipv6_only"] == 40.0
    assert t["quarter_ago"]["ipv6_only"] == 20.0  # latest run at least 91 days back
    assert [p["ipv6_only"] for p in trend(db, "payments-api", _iso(T0), limit=2)["points"]] == [
        30.0,
        40.0,
    ]
    young = trend(db, "payments-api", _iso(T0 - timedelta(days=150)))
    assert young["previous"]["ipv6_only"] == 10.0 and young["quarter_ago"] is None
    empty = trend(tmp_path / "missing.sqlite", "payments-api", _iso(T0))
    assert empty == {
        "workload": "payments-api",
        "runs": 0,
        "points": [],
        "previous": None,
        "quarter_ago": None,
    }
    assert not (tmp_path / "missing.sqlite").exists()  # reading never creates a database


def test_times_in_other_offsets_compare_correctly(sample: dict, tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    r = _run(sample, 0, 50.0)
    r["finished_at"] = "2026-11-02T10:30:00+02:00"  # 08:30Z: before 09:00Z
    record_run(db, r)
    assert trend(db, "payments-api", "2026-11-02T09:00:00Z")["previous"]["ipv6_only"] == 50.0


def test_default_path_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_db_path() == tmp_path / "data" / "v6audit" / "history.sqlite"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_db_path() == tmp_path / "home" / ".local/share/v6audit/history.sqlite"


def test_corrupt_database_is_one_clear_error(sample: dict, tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite"
    db.write_bytes(b"this is not sqlite at all" * 100)
    for call in (lambda: record_run(db, sample), lambda: list_runs(db)):
        with pytest.raises(HistoryError) as info:
            call()
        assert isinstance(info.value, AuditorError)
        assert str(info.value) == (
            f"history {db}: the file is not a v6audit history database or is corrupt; move it aside"
        )


def test_locked_database_is_one_clear_error(sample: dict, tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite"
    record_run(db, _run(sample, 3, 10.0))
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(HistoryError, match="locked by another process"):
            record_run(db, sample, timeout=0.2)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    record_run(db, sample, timeout=0.2)  # free again
    assert len(list_runs(db)) == 2


def test_unwritable_location_is_one_clear_error(sample: dict, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(HistoryError, match=r"^history .*not-a-dir/history.sqlite: "):
        record_run(blocker / "history.sqlite", sample)


def test_newer_schema_is_refused(sample: dict, tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite"
    record_run(db, sample)
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(HistoryError, match="newer v6audit"):
        list_runs(db)


def test_scan_outputs_are_written_despite_a_broken_history(sample: dict, tmp_path: Path) -> None:
    """The scan's order: attach the trend, write every output, then record the run."""
    db = tmp_path / "history.sqlite"
    db.write_bytes(b"\x00garbage" * 512)
    result = copy.deepcopy(sample)
    result.pop("history")
    problem = attach_trend(result, db)
    assert problem and problem["level"] == "warning" and "corrupt" in problem["message"]
    assert "history" not in result and result["errors"][-1] == problem
    out = tmp_path / "out"
    written = write_outputs(result, list(FORMATS.values()), str(out))
    assert len(written) == len(FORMATS) and all(Path(p).stat().st_size > 0 for p in written)
    assert "no trend" in (out / "report.md").read_text()
    late = record_run_safely(result, db)
    assert late and "run not recorded" in late["message"]


def test_attach_then_record_feeds_the_next_scan(sample: dict, tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite"
    first = _run(sample, 30, 40.0)
    assert attach_trend(first, db) is None and first["history"]["points"] == []
    assert record_run_safely(first, db) is None
    second = _run(sample, 0, 55.0)
    assert attach_trend(second, db) is None
    assert second["history"]["previous"]["ipv6_only"] == 40.0
