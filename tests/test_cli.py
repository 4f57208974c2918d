"""The command line as users script against it: exit codes, stdout/stderr, the JSON report."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from auditor.result import schema


def test_bad_config_exits_2_naming_file_line_and_key(cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("workload: x\ndns:\n  names: [ok.example]\n  nmaes: [typo.example]\n")
    proc = cli("scan", "-c", str(bad))
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"v6audit: error: {bad}:4: dns.nmaes: unknown key (did you mean 'names'?)"
    )
    assert proc.stdout == ""


def test_usage_errors_exit_2_without_traceback(cli) -> None:
    for args in (
        ["scan", "--format", "docx"],
        ["scan", "--fail-on", "urgent"],
        ["scan", "--concurrency", "0"],
        ["explain", "no.such"],
        ["frobnicate"],
        ["scan", "--only", "zzz.*"],
    ):
        proc = cli(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "Traceback" not in proc.stderr and proc.stderr.startswith("v6audit")


def test_fail_under_101_exits_1_and_reports_are_still_written(cli, plugin_env, tmp_path) -> None:
    out = tmp_path / "out"
    proc = cli("scan", "--only", "example.*", "-o", str(out), "--fail-under", "101", env=plugin_env)
    assert proc.returncode == 1, proc.stderr
    assert "gate failed: ipv6_only score 100 is under 101" in proc.stderr
    assert (out / "report.json").exists()
    ok = cli("scan", "--only", "example.*", "-o", str(out), "--fail-under", "100", env=plugin_env)
    assert ok.returncode == 0, ok.stderr


def test_json_to_stdout_keeps_stdout_clean(cli, plugin_env) -> None:
    proc = cli("scan", "--only", "example.*", "--format", "json", "-o", "-", env=plugin_env)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)  # nothing but the JSON on stdout
    jsonschema.validate(result, schema())
    assert "[1/1] example.hello: 1 pass" in proc.stderr  # plain progress lines, not a TTY


def test_report_json_validates_against_the_committed_schema(cli, plugin_env, tmp_path) -> None:
    out = tmp_path / "out"
    # No resolver listens on [::1]:53 here: the preflight cannot pass.
    config = tmp_path / "v6audit.yaml"
    config.write_text("timeout: 0.5\nresolver:\n  nameservers: ['::1']\n")
    proc = cli(
        "scan", "-c", str(config), "--only", "example.*,net.preflight", "-o", str(out),
        env=plugin_env,
    )  # fmt: skip
    result = json.loads((out / "report.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema())
    jsonschema.validate(result, schema())
    assert proc.returncode == 3  # this run asked for the preflight, which cannot pass
    assert result["tool"]["name"] == "v6audit"
    assert {c["id"] for c in result["checks"]} == {"example.hello", "net.preflight"}
    assert result["stage"]["current"] == 0 and result["stage"]["untested"] == [1, 3, 4]
    # `report` re-renders the saved result identically.
    again = cli("report", str(out / "report.json"), "--format", "json")
    assert json.loads(again.stdout) == result


def test_no_ipv6_resolver_gives_preflight_error_and_exit_3(cli, tmp_path: Path) -> None:
    # ::1 port 53 has no server: whether or not this host has an IPv6 route, the preflight
    # cannot prove IPv6 and must say `error`, never `pass` or `fail`.
    cfg = tmp_path / "v6audit.yaml"
    cfg.write_text("resolver:\n  nameservers: ['::1']\ntimeout: 0.5\n")
    out = tmp_path / "out"
    proc = cli("scan", "-c", str(cfg), "--only", "net.preflight", "-o", str(out))
    assert proc.returncode == 3, proc.stderr
    result = json.loads((out / "report.json").read_text())
    [pre] = result["findings"]
    assert pre["check_id"] == "net.preflight" and pre["status"] == "error"
    assert result["errors"][0]["level"] == "error"
    assert "no IPv6 where the auditor runs" in proc.stderr


def test_corrupt_result_is_a_clear_error(cli, tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text('{"schema_version": "1.0"}')
    proc = cli("report", str(path), "--format", "json")
    assert proc.returncode == 2
    assert "not a v6audit result" in proc.stderr and "Traceback" not in proc.stderr


def test_checks_list_json_has_all_metadata(cli) -> None:
    proc = cli("checks", "list", "--json")
    assert proc.returncode == 0
    checks = json.loads(proc.stdout)
    keys = {
        "id",
        "title",
        "family",
        "severity",
        "stage",
        "mandatory",
        "permissions",
        "remediation",
        "references",
        "description",
    }
    assert checks and all(keys <= set(c) for c in checks)
    assert [c["id"] for c in checks] == sorted(c["id"] for c in checks)


def test_explain_and_iam_policy(cli) -> None:
    proc = cli("explain", "net.preflight")
    assert proc.returncode == 0
    assert proc.stdout.startswith("net.preflight: The auditor has an IPv6 route")
    assert "How to fix:" in proc.stdout
    policy = json.loads(cli("iam-policy").stdout)
    statement = policy["Statement"][0]
    assert policy["Version"] == "2012-10-17" and statement["Effect"] == "Allow"
    assert statement["Action"] == sorted(set(statement["Action"]))
    assert all(
        ":" in a and not a.split(":")[1].startswith(("Put", "Create", "Delete"))
        for a in statement["Action"]
    )


def test_baseline_command_writes_a_baseline_the_gate_accepts(cli, plugin_env, tmp_path) -> None:
    out = tmp_path / "out"
    cli("scan", "--only", "example.*", "-o", str(out), env=plugin_env)
    base = tmp_path / "baseline.json"
    proc = cli("baseline", str(out / "report.json"), "-o", str(base))
    assert proc.returncode == 0 and json.loads(base.read_text())["format"] == "v6audit-baseline/1"
    gated = cli(
        "scan", "--only", "example.*", "-o", str(out), "--baseline", str(base), env=plugin_env
    )
    assert gated.returncode == 0, gated.stderr


def test_progress_bar_on_a_terminal(plugin_env, tmp_path: Path) -> None:
    import os
    import pty
    import subprocess
    import sys

    leader, follower = pty.openpty()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "auditor",
            "scan",
            "--only",
            "example.*",
            "-o",
            str(tmp_path / "out"),
        ],
        env={**plugin_env, "TERM": "xterm"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=follower,
        timeout=60,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    screen = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0
    assert proc.stdout == b""
    assert "\x1b[" in screen  # drawn with terminal control sequences, not plain lines
    assert "[1/1]" not in screen


def test_history_is_recorded_listed_and_attached_as_trend(cli, plugin_env, tmp_path) -> None:
    import time

    db = tmp_path / "history.sqlite"
    for run in ("one", "two"):
        time.sleep(1.0)  # runs are told apart by their finish time, to the second
        proc = cli(
            "scan",
            "--only",
            "example.*",
            "-o",
            str(tmp_path / run),
            "--history",
            str(db),
            env=plugin_env,
        )
        assert proc.returncode == 0, proc.stderr
    second = json.loads((tmp_path / "two" / "report.json").read_text())
    assert second["history"]["previous"]["ipv6_only"] == 100.0
    listing = cli("history", "--db", str(db), "--json")
    runs = json.loads(listing.stdout)
    assert [r["workload"] for r in runs] == ["workload", "workload"]
    table = cli("history", "--db", str(db)).stdout
    assert table.count("workload") >= 2


def test_broken_history_database_warns_and_still_writes_reports(cli, plugin_env, tmp_path) -> None:
    db = tmp_path / "history.sqlite"
    db.write_bytes(b"this is not a database" * 100)
    out = tmp_path / "out"
    proc = cli("scan", "--only", "example.*", "-o", str(out), "--history", str(db), env=plugin_env)
    assert proc.returncode == 0, proc.stderr
    result = json.loads((out / "report.json").read_text())
    assert any(e["source"] == "history" for e in result["errors"])
    assert "history" in proc.stderr and "Traceback" not in proc.stderr


def test_merge_recomputes_from_the_union_of_findings(cli, plugin_env, tmp_path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    cli("scan", "--only", "example.*", "-o", str(a), "--no-history", env=plugin_env)
    cfg = tmp_path / "pre.yaml"
    cfg.write_text("resolver:\n  nameservers: ['::1']\ntimeout: 0.5\n")
    cli("scan", "-c", str(cfg), "--only", "net.preflight", "-o", str(b), "--no-history")
    org = tmp_path / "org.json"
    proc = cli(
        "merge", str(a / "report.json"), str(b / "report.json"), "-o", str(org), "--workload", "org"
    )
    assert proc.returncode == 0, proc.stderr
    merged = json.loads(org.read_text())
    jsonschema.validate(merged, schema())
    assert merged["workload"] == "org"
    assert sorted(f["check_id"] for f in merged["findings"]) == ["example.hello", "net.preflight"]
    assert merged["scores"]["ipv6_only"] == 100.0


def test_unwritable_output_folder_is_a_usage_error_before_any_probe(cli, plugin_env, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    proc = cli("scan", "--only", "example.*", "-o", str(blocker / "out"), env=plugin_env)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"v6audit: error: cannot write reports to {blocker / 'out'}")
    assert "running" not in proc.stderr  # nothing ran


def test_an_empty_only_is_a_usage_error_not_every_check(cli, plugin_env) -> None:
    for flag in ("--only", "--skip"):
        proc = cli("scan", flag, "", "--no-history", "-o", "-", env=plugin_env)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.strip() == f"v6audit: error: {flag} '' names no check id " + (
            "(see `v6audit checks list`)"
        )
        assert proc.stdout == ""  # nothing ran


def test_console_lines_escape_control_characters_and_stay_short(
    cli, plugin_env, tmp_path: Path
) -> None:
    cfg = tmp_path / "v6audit.yaml"
    # a terminal title, red text, a bidi override and 100 000 more characters
    cfg.write_text('workload: "\\e]0;pwned\\a\\e[31mred\\u202egnp.exe' + "x" * 100_000 + '"\n')
    out = tmp_path / "out"
    proc = cli("scan", "-c", str(cfg), "--only", "example.*", "-o", str(out), env=plugin_env)
    assert proc.returncode == 0, proc.stderr
    summary = next(ln for ln in proc.stderr.splitlines() if "dual_stack" in ln)
    assert summary.startswith("v6audit: \\x1b]0;pwned\\x07\\x1b[31mred\\u202egnp.exe")
    assert "more characters]: dual_stack" in summary and len(summary) < 400
    assert all(c == "\n" or c.isprintable() for c in proc.stderr)
    # the report keeps the name as it was given
    assert json.loads((out / "report.json").read_text())["workload"].endswith("x" * 100_000)
