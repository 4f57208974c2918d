"""Build an IPv6-only VPC on one machine out of Linux network namespaces.

Three namespaces make up one lab:

``ws``
    The workload: IPv6 only (``2001:db8:1::2/64`` on a veth to ``net``, default route via
    ``net``, no IPv4 address but the loopback one). ``/etc/netns/<ws>/resolv.conf`` points at
    the DNS64 resolver, so every program run with ``ip netns exec`` sees the lab's resolver.
``nov6``
    A host without IPv6 connectivity: only ``lo`` is up, but its resolv.conf names the same
    resolver (which it cannot reach).
``net``
    "The VPC and the world": forwards, holds every server address on ``lo``, runs unbound
    (a DNS64 resolver, a plain resolver and an authoritative server), tayga (NAT64 for
    ``2001:db8:64::/96``), nginx (HTTP/HTTPS origins, an intake, a registry) and socat (syslog
    over TCP and TLS).

Only documentation address ranges are used, and no packet leaves the namespaces.

Usage::

    with Lab(Path("/tmp/lab")) as lab:
        out = lab.run(lab.ws, ["dig", "+short", "AAAA", lab.names["v4only"]])

Every daemon runs in the foreground under this process, with its configuration, pid file and log
under ``workdir``; :meth:`Lab.down` ends them by pid and deletes the namespaces.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import functools
import itertools
import os
import re
import shlex
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = ["ADDRESSES", "ZONE", "Lab", "LabError", "lab_available", "remove_stale_labs"]

ZONE = "lab.test"
NETNS_RUN = Path("/run/netns")
NETNS_ETC = Path("/etc/netns")
REQUIRED_BINARIES = ("ip", "ss", "unbound", "tayga", "nginx", "socat", "openssl", "dig")

NAT64_PREFIX = "2001:db8:64::/96"
NAT64_POOL = "198.51.100.0/24"
NAT64_IPV4 = "198.51.100.1"
NAT64_IPV6 = "2001:db8:2::64"
NAT64_TUN = "nat64"
BLACKHOLE_NET = "2001:db8:3::/64"

# The link between ws and net.
NET_LINK_ADDR = "2001:db8:1::1"
WS_LINK_ADDR = "2001:db8:1::2"
NET_VETH = "vnet"
WS_VETH = "vws"

#: Every address the lab serves, by role.
ADDRESSES: dict[str, str] = {
    "resolver": "2001:db8:2::53",
    "resolver_plain": "2001:db8:2::54",
    "ns1": "2001:db8:2::35",
    "ns_refuse": "2001:db8:2::36",
    "native": "2001:db8:2::80",
    "broken": "2001:db8:2::dead",
    "intake": "2001:db8:2::443",
    "registry": "2001:db8:2::5000",
    "syslog": "2001:db8:2::514",
    "reset": "2001:db8:2::444",
    "blackhole": "2001:db8:3::1",
    "v4origin": "192.0.2.80",
    "ns2": "192.0.2.53",
    "v4dead": "203.0.113.10",
}
# Addresses on net's lo. The blackhole address is routed nowhere on purpose.
_LO6 = [a for k, a in ADDRESSES.items() if ":" in a and k != "blackhole"]
_LO4 = [a for a in ADDRESSES.values() if ":" not in a]

SYSLOG_TCP_PORT = 514
SYSLOG_TLS_PORT = 6514

_COUNTER = itertools.count()
_COUNTER_LOCK = threading.Lock()
# A tag starts with a letter, so that a tagged name never looks like a pid-named one.
_TAG_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,23}$")
_PR_SET_PDEATHSIG = 1


class LabError(RuntimeError):
    """The lab could not be built. Carries the failing command and what it wrote to stderr."""

    def __init__(self, message: str, cmd: Sequence[str] | None = None, stderr: str = "") -> None:
        self.cmd = list(cmd) if cmd is not None else None
        self.stderr = stderr
        text = message
        if cmd is not None:
            text += f"\n  command: {shlex.join(cmd)}"
        if stderr.strip():
            text += "\n  stderr: " + stderr.strip().replace("\n", "\n    ")
        super().__init__(text)


def _run(
    argv: Sequence[str], *, input: str | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """Run a build step; raise LabError naming the command when it fails."""
    try:
        proc = subprocess.run(
            list(argv), input=input, capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise LabError(f"could not run a lab build step: {exc}", argv) from exc
    if proc.returncode != 0:
        detail = proc.stderr or proc.stdout
        if input:
            detail += "\n(input was)\n" + input
        raise LabError(f"lab build step failed with exit code {proc.returncode}", argv, detail)
    return proc


@functools.cache
def lab_available() -> str | None:
    """None when the lab can be built here, else the reason it cannot (for a pytest skip)."""
    return _probe_lab()


def _probe_lab() -> str | None:
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "the network lab needs root (network namespaces)"
    missing = [b for b in REQUIRED_BINARIES if shutil.which(b) is None]
    if missing:
        return "the network lab needs these programs: " + ", ".join(missing)
    if not Path("/dev/net/tun").exists():
        return "the network lab needs /dev/net/tun (tayga NAT64)"
    probe = f"v6aprobe{os.getpid()}"
    try:
        made = subprocess.run(
            ["ip", "netns", "add", probe], capture_output=True, text=True, timeout=20, check=False
        )
        if made.returncode != 0:
            return f"`ip netns add` does not work here: {made.stderr.strip()}"
        ran = subprocess.run(
            ["ip", "netns", "exec", probe, "ip", "link", "set", "lo", "up"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
        if ran.returncode != 0:
            return f"`ip netns exec` does not work here: {ran.stderr.strip()}"
    except (OSError, subprocess.SubprocessError) as exc:
        return f"`ip netns` does not work here: {exc}"
    finally:
        subprocess.run(["ip", "netns", "del", probe], capture_output=True, check=False)
    return None


_STALE_RE = re.compile(r"^v6a(\d+)-\d+(net|ws|nov6)$")


def remove_stale_labs() -> list[str]:
    """Delete namespaces left by labs whose process died without tearing down (e.g. SIGKILL).

    Only names this module makes from a pid (``v6a<pid>-<n>...``) are considered, and only when
    that pid is gone and no process is left inside the namespace. Returns the names deleted.
    """
    removed: list[str] = []
    try:
        names = sorted(p.name for p in NETNS_RUN.iterdir()) if NETNS_RUN.is_dir() else []
    except OSError:
        return removed
    for name in names:
        m = _STALE_RE.match(name)
        if m is None or int(m.group(1)) == os.getpid() or _alive(int(m.group(1))):
            continue
        try:
            inside = subprocess.run(
                ["ip", "netns", "pids", name], capture_output=True, text=True, timeout=10
            )
            if inside.returncode != 0 or inside.stdout.strip():
                continue
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            continue
        shutil.rmtree(NETNS_ETC / name, ignore_errors=True)
        removed.append(name)
    return removed


def _die_with_parent() -> None:
    """Child-side hook: get SIGTERM when the process that started the lab dies."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))


def _descendants(pid: int) -> list[int]:
    """Pids of every live descendant of pid (read from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as fh:
                stat = fh.read()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: the fields follow the last ')'.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and fields[1].isdigit():
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _kill(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


class _Daemon:
    def __init__(self, name: str, proc: subprocess.Popen[Any], log: Path | None) -> None:
        self.name = name
        self.proc = proc
        self.log = log

    def log_tail(self, lines: int = 25) -> str:
        if self.log is None:
            return ""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


class Lab:
    """One IPv6-only lab. ``up()`` builds it, ``down()`` removes every trace of it."""

    zone: str = ZONE
    resolver: str = ADDRESSES["resolver"]
    resolver_plain: str = ADDRESSES["resolver_plain"]
    nameserver: str = ADDRESSES["ns1"]
    nat64_prefix: str = NAT64_PREFIX
    addresses: Mapping[str, str] = ADDRESSES

    def __init__(
        self,
        workdir: Path,
        extra_records: list[str] | None = None,
        tag: str | None = None,
    ) -> None:
        if tag is not None and not _TAG_RE.match(tag):
            raise ValueError(f"lab tag must match {_TAG_RE.pattern}: {tag!r}")
        self.workdir = Path(workdir).resolve()
        self.extra_records = list(extra_records or [])
        self.tag = tag
        self.ca_cert = self.workdir / "tls" / "ca.pem"
        #: What the syslog listeners received, appended as it arrives ("tcp" and "tls").
        self.syslog_received: dict[str, Path] = {
            "tcp": self.workdir / "logs" / "syslog-tcp.received",
            "tls": self.workdir / "logs" / "syslog-tls.received",
        }
        z = ZONE
        #: role -> name served by the lab (v4origin is the IPv4 literal of the IPv4-only origin).
        self.names: dict[str, str] = {
            "native": f"native.{z}",
            "v4only": f"v4only.{z}",
            "alias": f"alias.{z}",
            "alias2": f"alias2.{z}",
            "broken": f"broken.{z}",
            "blackhole": f"blackhole.{z}",
            "nodata": f"nodata.{z}",
            "nxdomain": f"missing.{z}",
            "servfail": f"host.lame.{z}",
            "intake": f"intake.{z}",
            "registry": f"registry.{z}",
            "syslog": f"syslog.{z}",
            "reset": f"reset.{z}",
            "ns1": f"ns1.{z}",
            "ns2": f"ns2.{z}",
            "v4dead": f"v4dead.{z}",
            "v4origin": ADDRESSES["v4origin"],
        }
        base = self._pick_base(tag)
        self.net = f"{base}net"
        self.ws = f"{base}ws"
        self.nov6 = f"{base}nov6"
        self._namespaces: list[str] = []
        self._etc_dirs: list[Path] = []
        self._daemons: list[_Daemon] = []
        self._extra_procs: list[subprocess.Popen[Any]] = []
        self._started_pids: list[int] = []
        self._state = "new"
        self._lock = threading.Lock()

    # ----------------------------------------------------------------- public API

    @property
    def namespaces(self) -> tuple[str, str, str]:
        """(net, ws, nov6)."""
        return (self.net, self.ws, self.nov6)

    @property
    def pids(self) -> list[int]:
        """Every pid this lab has started (daemons and popen()), running or not."""
        return list(self._started_pids)

    @property
    def is_up(self) -> bool:
        return self._state == "up"

    def url(self, role: str, path: str = "/", scheme: str = "http") -> str:
        """A URL for a named role, e.g. ``lab.url("native", "/simple/", "https")``."""
        return f"{scheme}://{self.names[role]}{path}"

    def up(self) -> Lab:
        """Build the lab. On failure tear down what was built and raise LabError."""
        with self._lock:
            if self._state == "up":
                return self
            if self._state != "new":
                raise LabError("a Lab cannot be brought up again after down(); make a new one")
            self._state = "building"
        try:
            self._build()
        except BaseException as exc:
            self.down()
            if isinstance(exc, LabError):
                raise
            if isinstance(exc, (OSError, subprocess.SubprocessError)):
                raise LabError(f"lab build failed: {exc}") from exc
            raise
        self._state = "up"
        return self

    def down(self) -> None:
        """Stop every process this lab started and delete its namespaces. Never raises."""
        with self._lock:
            if self._state == "down":
                return
            self._state = "down"
        with contextlib.suppress(Exception):
            atexit.unregister(self.down)
        with contextlib.suppress(Exception):
            self._stop_processes()
        for ns in reversed(self._namespaces):
            with contextlib.suppress(Exception):
                subprocess.run(
                    ["ip", "netns", "del", ns], capture_output=True, timeout=30, check=False
                )
        self._namespaces.clear()
        for d in self._etc_dirs:
            with contextlib.suppress(Exception):
                shutil.rmtree(d, ignore_errors=True)
        self._etc_dirs.clear()

    def __enter__(self) -> Lab:
        return self.up()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.down()

    def run(
        self,
        ns: str,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        timeout: float = 120,
        input: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run argv inside namespace ns (``ip netns exec``); text output captured, no check.

        env entries are added to (and override) this process's environment.
        """
        return subprocess.run(
            ["ip", "netns", "exec", ns, *argv],
            env=self._env(env),
            timeout=timeout,
            input=input,
            capture_output=True,
            text=True,
            check=False,
        )

    def popen(self, ns: str, argv: Sequence[str], **kw: Any) -> subprocess.Popen[Any]:
        """Start argv inside namespace ns; down() ends it (and its children) if still running.

        Keyword arguments go to subprocess.Popen; ``env`` is merged like in run().
        """
        if "env" in kw:
            kw["env"] = self._env(kw["env"])
        proc = subprocess.Popen(["ip", "netns", "exec", ns, *argv], **kw)
        self._extra_procs.append(proc)
        self._started_pids.append(proc.pid)
        return proc

    def logs(self) -> dict[str, str]:
        """The last lines of every daemon's log, by daemon name (for failure messages)."""
        return {d.name: d.log_tail() for d in self._daemons}

    # ----------------------------------------------------------------- build steps

    @staticmethod
    def _pick_base(tag: str | None) -> str:
        stem = f"v6a{tag if tag else os.getpid()}-"
        while True:
            with _COUNTER_LOCK:
                n = next(_COUNTER)
            base = f"{stem}{n}"
            if not any(
                (NETNS_RUN / f"{base}{s}").exists() or (NETNS_ETC / f"{base}{s}").exists()
                for s in ("net", "ws", "nov6")
            ):
                return base

    @staticmethod
    def _env(env: Mapping[str, str] | None) -> dict[str, str] | None:
        if env is None:
            return None
        merged = dict(os.environ)
        merged.update(env)
        return merged

    def _p(self, *parts: str) -> Path:
        return self.workdir.joinpath(*parts)

    def _build(self) -> None:
        atexit.register(self.down)
        for sub in ("tls", "logs", "run", "tayga", "www", "nginx", "dns"):
            self._p(sub).mkdir(parents=True, exist_ok=True)
        self._write_configs()
        # Certificates need no namespace: make them while the network is built.
        certs_error: list[BaseException] = []

        def make_certs() -> None:
            try:
                self._make_certs()
            except BaseException as exc:  # noqa: BLE001 - re-raised in the building thread
                certs_error.append(exc)

        certs = threading.Thread(target=make_certs, name="lab-certs", daemon=True)
        certs.start()
        try:
            self._make_namespaces()
            self._make_network()
        finally:
            certs.join()
        if certs_error:
            raise certs_error[0]
        self._start_daemons()
        self._wait_ready()

    def _make_namespaces(self) -> None:
        mine = self.namespaces
        for ns in mine:
            if (NETNS_RUN / ns).exists():
                raise LabError(f"network namespace {ns} exists already")
        try:
            _run(["ip", "-batch", "-"], input="".join(f"netns add {ns}\n" for ns in mine))
        finally:
            self._namespaces = [ns for ns in mine if (NETNS_RUN / ns).exists()]
        for ns in (self.ws, self.nov6):
            d = NETNS_ETC / ns
            d.mkdir(parents=True, exist_ok=True)
            self._etc_dirs.append(d)
            (d / "resolv.conf").write_text(f"nameserver {self.resolver}\n")

    def _sysctl(self, ns: str, settings: Mapping[str, str]) -> None:
        script = " && ".join(
            f"echo {v} > /proc/sys/{k.replace('.', '/')}" for k, v in settings.items()
        )
        _run(["ip", "netns", "exec", ns, "sh", "-c", script])

    def _make_network(self) -> None:
        self._sysctl(
            self.net,
            {
                "net.ipv6.conf.all.forwarding": "1",
                "net.ipv4.ip_forward": "1",
                "net.ipv6.conf.default.accept_dad": "0",
                "net.ipv6.conf.all.accept_dad": "0",
            },
        )
        self._sysctl(
            self.ws,
            {"net.ipv6.conf.default.accept_dad": "0", "net.ipv6.conf.all.accept_dad": "0"},
        )
        _run(
            ["ip", "netns", "exec", self.net, "tayga", "-c", str(self._p("tayga.conf")), "--mktun"]
        )
        lines = ["link set lo up"]
        lines += [f"address add {a}/128 dev lo nodad" for a in _LO6]
        lines += [f"address add {a}/32 dev lo" for a in _LO4]
        lines += [
            f"link add {NET_VETH} type veth peer name {WS_VETH} netns {self.ws}",
            f"address add {NET_LINK_ADDR}/64 dev {NET_VETH} nodad",
            f"link set {NET_VETH} up",
            f"link set {NAT64_TUN} up",
            f"route add {NAT64_PREFIX} dev {NAT64_TUN}",
            f"route add {NAT64_POOL} dev {NAT64_TUN}",
            f"route add blackhole {BLACKHOLE_NET}",
        ]
        _run(["ip", "-n", self.net, "-batch", "-"], input="\n".join(lines) + "\n")
        ws_lines = [
            "link set lo up",
            f"address add {WS_LINK_ADDR}/64 dev {WS_VETH} nodad",
            f"link set {WS_VETH} up",
            f"route add ::/0 via {NET_LINK_ADDR} dev {WS_VETH}",
        ]
        _run(["ip", "-n", self.ws, "-batch", "-"], input="\n".join(ws_lines) + "\n")
        _run(["ip", "-n", self.nov6, "link", "set", "lo", "up"])

    # ----------------------------------------------------------------- configuration

    def _zone_text(self) -> str:
        a = ADDRESSES
        records = [
            f"$ORIGIN {ZONE}.",
            "$TTL 300",
            f"@ IN SOA ns1.{ZONE}. hostmaster.{ZONE}. 1 3600 600 86400 60",
            f"@ IN NS ns1.{ZONE}.",
            f"@ IN NS ns2.{ZONE}.",
            f"ns1 IN AAAA {a['ns1']}",
            f"ns2 IN A {a['ns2']}",
            f"resolver IN AAAA {a['resolver']}",
            f"native IN AAAA {a['native']}",
            f"native IN A {a['v4origin']}",
            f"v4only IN A {a['v4origin']}",
            f"alias IN CNAME alias2.{ZONE}.",
            f"alias2 IN CNAME v4only.{ZONE}.",
            f"broken IN AAAA {a['broken']}",
            f"broken IN A {a['v4origin']}",
            f"blackhole IN AAAA {a['blackhole']}",
            'nodata IN TXT "no address records here"',
            f"intake IN AAAA {a['intake']}",
            f"registry IN AAAA {a['registry']}",
            f"syslog IN AAAA {a['syslog']}",
            f"reset IN AAAA {a['reset']}",
            f"v4dead IN A {a['v4dead']}",
            # Delegated to a server that refuses every query: lookups below it end in SERVFAIL.
            f"lame IN NS ns.lame.{ZONE}.",
            f"ns.lame IN AAAA {a['ns_refuse']}",
        ]
        records += [r.strip() for r in self.extra_records if r.strip()]
        return "\n".join(records) + "\n"

    @staticmethod
    def _ipv4only_zone_text() -> str:
        lines = [
            "$ORIGIN ipv4only.arpa.",
            "$TTL 300",
            f"@ IN SOA ns1.{ZONE}. hostmaster.{ZONE}. 1 3600 600 86400 60",
            f"@ IN NS ns1.{ZONE}.",
            "@ IN A 192.0.0.170",
            "@ IN A 192.0.0.171",
        ]
        return "\n".join(lines) + "\n"

    def _unbound_conf(
        self, name: str, address: str, *, dns64: bool, authoritative: bool, refuse_on: str = ""
    ) -> str:
        modules = "dns64 iterator" if dns64 else "iterator"
        downstream, upstream = ("yes", "no") if authoritative else ("no", "yes")
        lines = [
            "server:",
            "  verbosity: 1",
            f'  interface: "{address}"',
            "  port: 53",
            "  interface-automatic: no",
            "  do-ip4: no",
            "  do-ip6: yes",
            "  do-udp: yes",
            "  do-tcp: yes",
            "  num-threads: 1",
            '  username: ""',
            '  chroot: ""',
            f'  directory: "{self.workdir}"',
            f'  pidfile: "{self._p("run", name + ".pid")}"',
            f'  logfile: "{self._p("logs", name + ".log")}"',
            "  use-syslog: no",
            "  log-servfail: yes",
            "  do-not-query-localhost: no",
            "  hide-identity: yes",
            "  hide-version: yes",
            "  minimal-responses: yes",
            "  outgoing-num-tcp: 64",
            "  incoming-num-tcp: 256",
            "  num-queries-per-thread: 4096",
            "  infra-host-ttl: 60",
            f'  module-config: "{modules}"',
            # No lookup ever leaves the lab: anything outside its zones is NXDOMAIN.
            '  local-zone: "." static',
            '  local-zone: "test." nodefault',
            f'  local-zone: "{ZONE}." transparent',
            '  local-zone: "ipv4only.arpa." transparent',
            f'  domain-insecure: "{ZONE}"',
            '  domain-insecure: "ipv4only.arpa"',
        ]
        if dns64:
            lines.append(f"  dns64-prefix: {NAT64_PREFIX}")
        # Who may ask: anyone on the main address (set per interface, so that a second address
        # can refuse every query: the server of the lame delegation).
        lines.append(f"  interface-action: {address} allow")
        if refuse_on:
            lines += [f'  interface: "{refuse_on}"', f"  interface-action: {refuse_on} refuse"]
        for zone, path in ((ZONE, "lab.test.zone"), ("ipv4only.arpa", "ipv4only.arpa.zone")):
            lines += [
                "auth-zone:",
                f'  name: "{zone}"',
                f'  zonefile: "{self._p("dns", path)}"',
                f"  for-downstream: {downstream}",
                f"  for-upstream: {upstream}",
                "  fallback-enabled: no",
            ]
        lines += ["remote-control:", "  control-enable: no"]
        return "\n".join(lines) + "\n"

    def _tayga_conf(self) -> str:
        lines = [
            f"tun-device {NAT64_TUN}",
            f"ipv4-addr {NAT64_IPV4}",
            f"ipv6-addr {NAT64_IPV6}",
            f"prefix {NAT64_PREFIX}",
            f"dynamic-pool {NAT64_POOL}",
            f"data-dir {self._p('tayga')}",
        ]
        return "\n".join(lines) + "\n"

    def _nginx_conf(self) -> str:
        a = ADDRESSES
        tls = self._p("tls")
        temp = self._p("nginx")
        origin_locations = r"""
        location = / { return 200 "v6audit lab origin\n"; }
        location = /health { return 200 "ok\n"; }
        location = /status500 { return 500 "internal error\n"; }
        location /simple/ {
            default_type text/html;
            return 200 '<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.0"><title>Simple index</title></head>\n<body><a href="/simple/v6audit/">v6audit</a></body></html>\n';
        }
        location = /dists/bookworm/InRelease {
            return 200 "Origin: Debian\nLabel: Debian\nSuite: stable\nCodename: bookworm\nArchitectures: amd64\nComponents: main\n";
        }
        location = /repodata/repomd.xml {
            default_type application/xml;
            return 200 '<?xml version="1.0" encoding="UTF-8"?>\n<repomd xmlns="http://linux.duke.edu/metadata/repo"><revision>1</revision></repomd>\n';
        }
        location ~ /info/refs$ {
            default_type application/x-git-upload-pack-advertisement;
            return 200 "001e# service=git-upload-pack\n0000";
        }
"""  # noqa: E501
        return f"""
daemon off;
master_process off;
worker_processes 1;
pid {self._p("run", "nginx.pid")};
error_log {self._p("logs", "nginx-error.log")} warn;
events {{ worker_connections 4096; }}
http {{
    access_log {self._p("logs", "nginx-access.log")};
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    default_type text/plain;
    root {self._p("www")};
    server_tokens off;
    keepalive_timeout 15s;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache off;

    server {{
        listen [{a["native"]}]:80;
        listen [{a["native"]}]:443 ssl;
        listen {a["v4origin"]}:80;
        listen {a["v4origin"]}:443 ssl;
        server_name _;
        ssl_certificate {tls}/origin.pem;
        ssl_certificate_key {tls}/origin.key;
        {origin_locations}
    }}
    server {{
        listen [{a["intake"]}]:443 ssl;
        server_name _;
        ssl_certificate {tls}/intake.pem;
        ssl_certificate_key {tls}/intake.key;
        location / {{
            if ($request_method = POST) {{ return 202 '{{"accepted":true}}\\n'; }}
            return 200 "intake\\n";
        }}
    }}
    server {{
        listen [{a["registry"]}]:443 ssl;
        server_name _;
        ssl_certificate {tls}/registry.pem;
        ssl_certificate_key {tls}/registry.key;
        default_type application/json;
        location /v2/ {{
            add_header Docker-Distribution-API-Version registry/2.0 always;
            add_header WWW-Authenticate 'Bearer realm="https://{self.names["registry"]}/token"' always;
            return 401 '{{"errors":[{{"code":"UNAUTHORIZED","message":"authentication required"}}]}}\\n';
        }}
        location = /token {{ return 200 '{{"token":"lab","access_token":"lab"}}\\n'; }}
    }}
    server {{
        listen [{a["reset"]}]:80;
        server_name _;
        return 444;
    }}
}}
"""  # noqa: E501

    def _write_configs(self) -> None:
        self._p("dns", "lab.test.zone").write_text(self._zone_text())
        self._p("dns", "ipv4only.arpa.zone").write_text(self._ipv4only_zone_text())
        unbounds = {
            "unbound-dns64": (self.resolver, True, False, ""),
            "unbound-plain": (self.resolver_plain, False, False, ""),
            "unbound-auth": (self.nameserver, False, True, ADDRESSES["ns_refuse"]),
        }
        for name, (address, dns64, auth, refuse_on) in unbounds.items():
            conf = self._unbound_conf(
                name, address, dns64=dns64, authoritative=auth, refuse_on=refuse_on
            )
            self._p(f"{name}.conf").write_text(conf)
        self._p("tayga.conf").write_text(self._tayga_conf())
        self._p("nginx.conf").write_text(self._nginx_conf())

    def _make_certs(self) -> None:
        tls = self._p("tls")
        ca_key = tls / "ca.key"
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        _run(
            [
                "openssl", "req", "-x509", *ec, "-keyout", str(ca_key), "-out", str(self.ca_cert),
                "-days", "30", "-subj", "/O=v6audit lab/CN=v6audit lab CA",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ]
        )  # fmt: skip
        z = ZONE
        leaves = {
            "origin": [f"native.{z}", f"v4only.{z}", f"alias.{z}", f"alias2.{z}", f"broken.{z}"],
            "intake": [f"intake.{z}"],
            "registry": [f"registry.{z}"],
            "syslog": [f"syslog.{z}"],
        }
        for leaf, dns_names in leaves.items():
            key, csr, pem, ext = (tls / f"{leaf}.{s}" for s in ("key", "csr", "pem", "ext"))
            ext.write_text(
                "basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectKeyIdentifier=hash\n"
                "authorityKeyIdentifier=keyid,issuer\n"
                "subjectAltName=" + ",".join(f"DNS:{n}" for n in dns_names) + "\n"
            )
            _run(
                ["openssl", "req", "-new", *ec, "-keyout", str(key), "-out", str(csr),
                 "-subj", f"/O=v6audit lab/CN={dns_names[0]}"]
            )  # fmt: skip
            _run(
                ["openssl", "x509", "-req", "-in", str(csr), "-CA", str(self.ca_cert),
                 "-CAkey", str(ca_key), "-set_serial", str(int.from_bytes(os.urandom(8), "big")),
                 "-days", "30", "-sha256", "-extfile", str(ext), "-out", str(pem)]
            )  # fmt: skip
            # socat wants the key and the certificate in one file.
            (tls / f"{leaf}-bundle.pem").write_text(key.read_text() + pem.read_text())

    # ----------------------------------------------------------------- daemons

    def _spawn(self, name: str, argv: Sequence[str]) -> None:
        log = self._p("logs", f"{name}.out")
        with open(log, "ab") as out:
            kwargs: dict[str, Any] = {
                "stdin": subprocess.DEVNULL,
                "stdout": out,
                "stderr": subprocess.STDOUT,
                "start_new_session": True,
                "cwd": self.workdir,
            }
            if threading.current_thread() is threading.main_thread():
                kwargs["preexec_fn"] = _die_with_parent
            try:
                proc = subprocess.Popen(["ip", "netns", "exec", self.net, *argv], **kwargs)
            except OSError as exc:
                raise LabError(f"could not start {name}: {exc}", argv) from exc
        self._daemons.append(_Daemon(name, proc, log))
        self._started_pids.append(proc.pid)

    def _start_daemons(self) -> None:
        for name in ("unbound-dns64", "unbound-plain", "unbound-auth"):
            self._spawn(name, ["unbound", "-d", "-c", str(self._p(f"{name}.conf"))])
        self._spawn("tayga", ["tayga", "--nodetach", "-c", str(self._p("tayga.conf"))])
        self._spawn(
            "nginx",
            ["nginx", "-p", str(self.workdir) + "/", "-c", str(self._p("nginx.conf")),
             "-e", str(self._p("logs", "nginx-error.log"))],
        )  # fmt: skip
        syslog = ADDRESSES["syslog"]
        self._spawn(
            "syslog-tcp",
            ["socat", "-u",
             f"TCP6-LISTEN:{SYSLOG_TCP_PORT},bind=[{syslog}],reuseaddr,fork,backlog=512",
             f"OPEN:{self.syslog_received['tcp']},creat,append"],
        )  # fmt: skip
        bundle = self._p("tls", "syslog-bundle.pem")
        self._spawn(
            "syslog-tls",
            ["socat", "-u",
             f"OPENSSL-LISTEN:{SYSLOG_TLS_PORT},bind=[{syslog}],pf=ip6,reuseaddr,fork,"
             f"backlog=512,cert={bundle},verify=0",
             f"OPEN:{self.syslog_received['tls']},creat,append"],
        )  # fmt: skip

    def _expected_sockets(self) -> set[str]:
        a = ADDRESSES
        want = set()
        for dns in ("resolver", "resolver_plain", "ns1", "ns_refuse"):
            want |= {f"udp [{a[dns]}]:53", f"tcp [{a[dns]}]:53"}
        want |= {
            f"tcp [{a['native']}]:80",
            f"tcp [{a['native']}]:443",
            f"tcp {a['v4origin']}:80",
            f"tcp {a['v4origin']}:443",
            f"tcp [{a['intake']}]:443",
            f"tcp [{a['registry']}]:443",
            f"tcp [{a['reset']}]:80",
            f"tcp [{a['syslog']}]:{SYSLOG_TCP_PORT}",
            f"tcp [{a['syslog']}]:{SYSLOG_TLS_PORT}",
        }
        return want

    def _listening(self) -> set[str]:
        out = _run(["ss", "-N", self.net, "-H", "-l", "-n", "-t", "-u"]).stdout
        found = set()
        for line in out.splitlines():
            cols = line.split()
            if len(cols) >= 5:
                found.add(f"{cols[0]} {cols[4]}")
        return found

    def _tun_has_carrier(self) -> bool:
        out = _run(["ip", "-n", self.net, "-o", "link", "show", NAT64_TUN]).stdout
        flags = out.split("<", 1)[-1].split(">", 1)[0].split(",")
        return "LOWER_UP" in flags

    def _check_daemons(self) -> None:
        for d in self._daemons:
            code = d.proc.poll()
            if code is not None:
                raise LabError(
                    f"{d.name} exited with code {code} while the lab was starting",
                    d.proc.args if isinstance(d.proc.args, list) else None,
                    d.log_tail() + self._daemon_log_extra(d.name),
                )

    def _daemon_log_extra(self, name: str) -> str:
        extra = self._p("logs", f"{name}.log")
        if name.startswith("unbound") and extra.exists():
            return "\n" + "\n".join(extra.read_text(errors="replace").splitlines()[-25:])
        return ""

    def _wait_ready(self, timeout: float = 20.0) -> None:
        want = self._expected_sockets()
        deadline = time.monotonic() + timeout
        missing: Iterable[str] = want
        carrier = False
        while True:
            self._check_daemons()
            missing = want - self._listening()
            carrier = carrier or self._tun_has_carrier()
            if not missing and carrier:
                break
            if time.monotonic() > deadline:
                what = sorted(missing) + ([] if carrier else [f"carrier on {NAT64_TUN} (tayga)"])
                raise LabError(
                    "lab daemons not ready in time; still waiting for: " + ", ".join(what),
                    None,
                    "\n".join(f"[{k}]\n{v}" for k, v in self.logs().items()),
                )
            time.sleep(0.02)
        # End to end: ws asks the DNS64 resolver for a name in the lab zone.
        argv = ["dig", "+time=2", "+tries=3", "+short", f"@{self.resolver}", "AAAA",
                self.names["native"]]  # fmt: skip
        got = self.run(self.ws, argv, timeout=30)
        if ADDRESSES["native"] not in got.stdout.split():
            raise LabError(
                "the lab resolver does not answer from ws",
                ["ip", "netns", "exec", self.ws, *argv],
                got.stderr + got.stdout + "\n" + self._daemon_log_extra("unbound-dns64"),
            )

    def _stop_processes(self) -> None:
        procs: list[subprocess.Popen[Any]] = [d.proc for d in self._daemons] + self._extra_procs
        # Children first collected (socat forks one per connection), then everyone gets SIGTERM.
        victims: list[int] = []
        for proc in procs:
            if proc.poll() is None:
                victims += [proc.pid, *_descendants(proc.pid)]
        for pid in victims:
            _kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 3.0
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        for pid in victims:
            if _alive(pid):
                _kill(pid, signal.SIGKILL)
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        # Orphaned children were re-parented away from us; give them a moment to go.
        deadline = time.monotonic() + 2.0
        while any(_alive(p) for p in victims) and time.monotonic() < deadline:
            time.sleep(0.02)


def _alive(pid: int) -> bool:
    """True while pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
    except OSError:
        return False
    state = stat[stat.rfind(")") + 2 :].split()[:1]
    return state != ["Z"] and state != ["X"]
