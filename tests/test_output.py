"""Where reports go: a device or FIFO is written into, never replaced; a read-only or full
file system is one line and exit 2 (exit 3 for `scan`, whose audit did run); no temporary
file is left behind."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.reports.sample_results import SAMPLE_PATH

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="device nodes and mounts need root")


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def _one_line_exit_2(proc: subprocess.CompletedProcess, reason: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert reason in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr


def _node(tmp_path: Path, name: str, minor: int) -> Path:
    """A character device like /dev/null (1, 3) or /dev/full (1, 7), made in tmp_path."""
    path = tmp_path / name
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, minor))
    except PermissionError:
        pytest.skip("this container may not make device nodes")
    return path


@needs_root
def test_report_into_a_character_device_writes_into_it(cli, tmp_path: Path) -> None:
    null = _node(tmp_path, "null", 3)
    proc = cli("report", str(SAMPLE_PATH), "--format", "md", "-o", str(null))
    assert proc.returncode == 0, proc.stderr
    assert stat.S_ISCHR(null.stat().st_mode)  # still the device, not a file put in its place
    assert _leftovers(tmp_path) == []


@needs_root
def test_a_full_device_is_one_line_and_exit_2(cli, tmp_path: Path) -> None:
    full = _node(tmp_path, "full", 7)
    proc = cli("merge", str(SAMPLE_PATH), "-o", str(full))
    _one_line_exit_2(proc, f"cannot write {full}: No space left on device")
    assert stat.S_ISCHR(full.stat().st_mode)
    assert _leftovers(tmp_path) == []


def test_report_into_a_fifo_feeds_its_reader(cli, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a collector waiting on the pipe
    try:
        proc = cli("report", str(SAMPLE_PATH), "--format", "md", "-o", str(fifo))
        chunks = []
        while chunk := os.read(reader, 65536):
            chunks.append(chunk)
    finally:
        os.close(reader)
    assert proc.returncode == 0, proc.stderr
    assert b"".join(chunks).startswith(b"# IPv6 readiness: payments-api")
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_a_directory_is_refused(cli, tmp_path: Path) -> None:
    proc = cli("baseline", str(SAMPLE_PATH), "-o", str(tmp_path))
    _one_line_exit_2(proc, f"cannot write {tmp_path}: it is a directory")


def _in_own_mounts(
    setup: str, folder: Path, args: tuple[str, ...], env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess, list[str]]:
    """`python -m auditor ARGS` in a private mount namespace after the shell `setup`; also
    what `folder` holds afterwards, seen from inside (where the mount is)."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare(1) is not installed")
    script = f'mount --make-rprivate / && {setup} && {{ "$@"; rc=$?; ls -A {folder}; exit $rc; }}'
    proc = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, "sh", sys.executable, "-m", "auditor", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    if proc.returncode != 0 and "v6audit" not in proc.stderr:
        pytest.skip(f"no private mounts here: {proc.stderr.strip()}")
    return proc, proc.stdout.split()


@needs_root
@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        # a read-only bind mount: root ignores `chmod 555`
        ("mount --bind {d} {d} && mount -o remount,bind,ro {d}", "Read-only file system"),
        # 16 KiB: room for the start of the report, not for all of it
        ("mount -t tmpfs -o size=16k tmpfs {d}", "No space left on device"),
    ],
    ids=["read-only", "full"],
)
def test_report_onto_a_file_system_that_refuses_it(tmp_path: Path, setup: str, reason: str):
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "report.html"
    proc, left = _in_own_mounts(
        setup.format(d=folder),
        folder,
        ("report", str(SAMPLE_PATH), "--format", "html", "-o", str(out)),
    )
    _one_line_exit_2(proc, f"cannot write {out}: {reason}")
    assert left == []  # neither the report nor its temporary file


@needs_root
def test_scan_onto_a_full_file_system_is_exit_3(tmp_path: Path, plugin_env) -> None:
    folder = tmp_path / "small"
    folder.mkdir()
    proc, left = _in_own_mounts(
        f"mount -t tmpfs -o size=16k tmpfs {folder}",
        folder,
        ("scan", "--only", "example.*", "--format", "pdf", "--no-history", "-q", "-o", str(folder)),
        env=plugin_env,
    )
    assert proc.returncode == 3, proc.stderr  # the audit ran; its report could not be kept
    assert f"cannot write {folder / 'report.pdf'}: No space left on device" in proc.stderr
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr
    assert left == []


def test_the_json_result_is_streamed_as_dumps_would_write_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture
) -> None:
    import auditor.result
    from auditor.formats import FORMATS
    from auditor.output import write_outputs
    from auditor.result import dumps
    from tests.reports.sample_results import sample_result

    result = sample_result()
    monkeypatch.setattr(auditor.result, "WRITE_BLOCK", 100)  # many blocks, not one
    [path] = write_outputs(result, [FORMATS["json"]], str(tmp_path))
    assert Path(path).read_bytes() == dumps(result).encode("utf-8")
    assert _leftovers(tmp_path) == []
    write_outputs(result, [FORMATS["json"]], "-")
    assert capsysbinary.readouterr().out == dumps(result).encode("utf-8")
