"""Lab additions for the network checks: AWS dual-stack endpoint names and an IMDS.

The session lab (tests/lab) serves `lab.test`. `endpoint_lab` adds, inside the lab's `net`
namespace, a second DNS64 resolver (unbound) that serves the dual-stack endpoint names botocore
derives for a few services, an nginx playing those endpoints (and the instance metadata
service at [fd00:ec2::254]), and a CA bundle that trusts both the lab's and its own
certificates. Its processes are started and ended here, by pid; its addresses are removed.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.lab import Lab

from .helpers import make_pki

RESOLVER = "2001:db8:2::1053"
SQS_ADDR = "2001:db8:2::a5"  # answers like an AWS endpoint
STS_ADDR = "2001:db8:2::a6"  # published, nothing listens: broken
S3_V4 = "192.0.2.81"  # IPv4 only: reached through NAT64
IMDS = "fd00:ec2::254"
TOKEN = "AQAEAlabtoken=="

NAMES = {
    "s3": "s3.dualstack.us-east-1.amazonaws.com",
    "sqs": "sqs.us-east-1.api.aws",
    "sts": "sts.us-east-1.api.aws",
    # logs.us-east-1.api.aws is left out on purpose: NXDOMAIN
}


@dataclass
class EndpointLab:
    lab: Lab
    workdir: Path
    resolver: str
    ca_bundle: Path
    names: dict[str, str]
    procs: list[subprocess.Popen] = field(default_factory=list)


def _zone(origin: str, records: list[str]) -> str:
    head = [
        f"$ORIGIN {origin}.",
        "$TTL 300",
        "@ IN SOA ns1.lab.test. hostmaster.lab.test. 1 3600 600 86400 60",
        "@ IN NS ns1.lab.test.",
    ]
    return "\n".join(head + records) + "\n"


def _unbound_conf(workdir: Path, zones: dict[str, Path]) -> str:
    lines = [
        "server:",
        f'  interface: "{RESOLVER}"',
        "  port: 53",
        "  interface-automatic: no",
        "  do-ip4: no",
        "  do-ip6: yes",
        "  num-threads: 1",
        '  username: ""',
        '  chroot: ""',
        f'  directory: "{workdir}"',
        f'  pidfile: "{workdir / "unbound.pid"}"',
        f'  logfile: "{workdir / "unbound.log"}"',
        "  use-syslog: no",
        "  do-not-query-localhost: no",
        '  module-config: "dns64 iterator"',
        "  dns64-prefix: 2001:db8:64::/96",
        f"  access-control: {'::/0'} allow",
        '  local-zone: "." static',
    ]
    for zone in zones:
        lines += [f'  local-zone: "{zone}." transparent', f'  domain-insecure: "{zone}"']
    for zone, path in zones.items():
        lines += [
            "auth-zone:",
            f'  name: "{zone}"',
            f'  zonefile: "{path}"',
            "  for-downstream: no",
            "  for-upstream: yes",
            "  fallback-enabled: no",
        ]
    lines += ["remote-control:", "  control-enable: no"]
    return "\n".join(lines) + "\n"


def _nginx_conf(workdir: Path, cert: Path, key: Path) -> str:
    return f"""
daemon off;
master_process off;
worker_processes 1;
pid {workdir / "nginx.pid"};
error_log {workdir / "nginx-error.log"} warn;
events {{ worker_connections 1024; }}
http {{
    access_log {workdir / "nginx-access.log"};
    client_body_temp_path {workdir}/body;
    proxy_temp_path {workdir}/proxy;
    fastcgi_temp_path {workdir}/fastcgi;
    uwsgi_temp_path {workdir}/uwsgi;
    scgi_temp_path {workdir}/scgi;
    default_type text/xml;
    server {{
        listen [{SQS_ADDR}]:443 ssl;
        listen {S3_V4}:443 ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        location / {{
            return 403 '<ErrorResponse><Error><Code>MissingAuthenticationToken</Code></Error></ErrorResponse>';
        }}
    }}
    server {{
        listen [{IMDS}]:80;
        default_type text/plain;
        location = /latest/api/token {{
            if ($request_method != PUT) {{ return 405; }}
            if ($http_x_aws_ec2_metadata_token_ttl_seconds = "") {{ return 400; }}
            return 200 "{TOKEN}";
        }}
        location = /latest/meta-data/instance-id {{
            if ($http_x_aws_ec2_metadata_token != "{TOKEN}") {{ return 401; }}
            return 200 "i-0123456789abcdef0";
        }}
    }}
}}
"""  # noqa: E501


def _ip(lab: Lab, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "-n", lab.net, *args], capture_output=True, text=True, check=False, timeout=30
    )


def _listening(lab: Lab) -> str:
    return subprocess.run(
        ["ss", "-N", lab.net, "-H", "-l", "-n", "-t", "-u"],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    ).stdout


def _stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait(timeout=5)


ADDRESSES = [f"{RESOLVER}/128", f"{SQS_ADDR}/128", f"{STS_ADDR}/128", f"{IMDS}/128"]


@pytest.fixture(scope="session")
def endpoint_lab(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EndpointLab]:
    workdir = tmp_path_factory.mktemp("endpoints")
    pki = make_pki(workdir / "tls", list(NAMES.values()), ca_name="v6audit endpoint lab CA")
    bundle = workdir / "ca-bundle.pem"
    bundle.write_text(lab.ca_cert.read_text() + pki.ca_pem.read_text())
    zones = {
        "amazonaws.com": _zone("amazonaws.com", [f"s3.dualstack.us-east-1 IN A {S3_V4}"]),
        "api.aws": _zone(
            "api.aws", [f"sqs.us-east-1 IN AAAA {SQS_ADDR}", f"sts.us-east-1 IN AAAA {STS_ADDR}"]
        ),
        "ipv4only.arpa": _zone("ipv4only.arpa", ["@ IN A 192.0.0.170", "@ IN A 192.0.0.171"]),
    }
    paths = {}
    for zone, text in zones.items():
        paths[zone] = workdir / f"{zone}.zone"
        paths[zone].write_text(text)
    (workdir / "unbound.conf").write_text(_unbound_conf(workdir, paths))
    (workdir / "nginx.conf").write_text(_nginx_conf(workdir, pki.cert_pem, pki.key_pem))
    env = EndpointLab(lab, workdir, RESOLVER, bundle, dict(NAMES))
    added: list[list[str]] = []
    try:
        for addr in [*ADDRESSES, f"{S3_V4}/32"]:
            extra = ["nodad"] if ":" in addr else []
            got = _ip(lab, "address", "add", addr, "dev", "lo", *extra)
            assert got.returncode == 0, got.stderr
            added.append(["address", "del", addr, "dev", "lo"])
        for name, argv in (
            ("unbound", ["unbound", "-d", "-c", str(workdir / "unbound.conf")]),
            (
                "nginx",
                [
                    "nginx",
                    "-p",
                    f"{workdir}/",
                    "-c",
                    str(workdir / "nginx.conf"),
                    "-e",
                    str(workdir / "nginx-error.log"),
                ],
            ),
        ):
            log = open(workdir / f"{name}.out", "wb")  # noqa: SIM115 - closed when the process ends
            env.procs.append(
                subprocess.Popen(
                    ["ip", "netns", "exec", lab.net, *argv],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
            log.close()
        want = [f"[{RESOLVER}]:53", f"[{SQS_ADDR}]:443", f"{S3_V4}:443", f"[{IMDS}]:80"]
        deadline = time.monotonic() + 20
        while True:
            dead = [p for p in env.procs if p.poll() is not None]
            listening = _listening(lab)
            missing = [w for w in want if w not in listening]
            if dead or not missing or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if dead or missing:
            logs = "\n".join(
                f"[{p.name}]\n{p.read_text(errors='replace')[-2000:]}"
                for p in sorted(workdir.glob("*.out")) + sorted(workdir.glob("*.log"))
            )
            raise RuntimeError(f"endpoint lab not ready: missing {missing}, exited {dead}\n{logs}")
        yield env
    finally:
        _stop(env.procs)
        for args in added:
            _ip(lab, *args)
