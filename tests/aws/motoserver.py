"""A moto server on a free loopback port, for the AWS tests (tests/aws/conftest.py) and the AWS
benchmarks (bench/aws_scan.py, bench/org_scale.py): started, waited for, and stopped by its own
pid however the block ends.

    with running_moto_server(log_path) as url:
        ...  # boto3 clients with endpoint_url=url
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BINARY = Path(sys.executable).parent / "moto_server"
START_TIMEOUT_S = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def default_log() -> Path:
    return Path(tempfile.gettempdir()) / f"v6audit-moto-{os.getpid()}.log"


@contextmanager
def running_moto_server(log: Path | None = None) -> Iterator[str]:
    """The server's base URL; its output goes to `log` (by default a file in the temporary
    folder, removed at the end), which a start failure quotes."""
    own_log = log is None
    log = log or default_log()
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(BINARY), "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"moto_server exited with {proc.returncode}: {log.read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/moto-api/", timeout=1) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"moto_server not ready on {url}: {log.read_text()}")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if own_log:
            log.unlink(missing_ok=True)
