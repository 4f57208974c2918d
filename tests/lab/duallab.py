"""Vantages next to the IPv6-only lab: a dual-stack workload and a path-MTU black hole.

On top of a running :class:`~tests.lab.netlab.Lab` (built with :data:`RECORDS` as extra zone
records) this adds:

- a router namespace ``rt`` hanging off ``net`` (links of 1500 bytes) whose links toward the
  workloads have ``mtu 1280``; nft drops ICMPv6 Packet Too Big about one origin
  (``pmtu``, in the output hook, where the router's own PTBs leave, and in forward) and lets
  it through for another (``pmtuok``, the control). The black-holed origin lives in its own
  namespace ``bh`` behind ``rt``: a kernel caches the path MTU per destination, so an origin
  sharing a stack with the control would learn it from the control's PTB;
- ``ds``, a dual-stack workload behind ``rt``: IPv4 and IPv6 default routes, the plain
  resolver (no DNS64, so an AAAA answer is a real one);
- ``v6``, an IPv6-only workload behind ``rt`` with the DNS64 resolver;
- a second nginx in ``net``: an origin answering 403 over IPv6 and 200 over IPv4 (two server
  blocks, one per listener address), and the two path-MTU origins serving a 64 KiB file over
  HTTP and, over HTTPS, a certificate chain of several KiB (the handshake needs full-size
  packets as a large download does).

Every process is started through ``lab.popen`` (ended by ``lab.down()``); :meth:`down` removes
the namespaces it made. Documentation addresses only.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from pathlib import Path

from .netlab import NETNS_ETC, NETNS_RUN, Lab, LabError

DIFFERS6, DIFFERS4 = "2001:db8:2::403", "192.0.2.43"
PMTU6, PMTU4 = "2001:db8:2::1280", "192.0.2.12"
PMTUOK6, PMTUOK4 = "2001:db8:2::1281", "192.0.2.13"
CLOSED6, CLOSED4 = "2001:db8:2::dead", "203.0.113.10"  # nothing listens on either

RECORDS = [
    f"differs IN AAAA {DIFFERS6}",
    f"differs IN A {DIFFERS4}",
    f"closed IN AAAA {CLOSED6}",
    f"closed IN A {CLOSED4}",
    f"pmtu IN AAAA {PMTU6}",
    f"pmtu IN A {PMTU4}",
    f"pmtuok IN AAAA {PMTUOK6}",
    f"pmtuok IN A {PMTUOK4}",
]
BIG_PATH = "/dists/big/InRelease"  # an apt Release file of 64 KiB: needs full-size packets
BIG_BODY = "Origin: Lab\nSuite: stable\nCodename: big\n" + "# padding line\n" * 4400
SMALL_MTU = 1280
# Padding names in the path-MTU origins' certificate: its chain takes several full-size packets.
BIG_CERT_NAMES = 120

# net <-> rt, rt <-> ds, rt <-> v6 (IPv6 /64s and IPv4 /30s from documentation ranges).
NET_RT6, RT_NET6 = "2001:db8:8::1", "2001:db8:8::2"
NET_RT4, RT_NET4 = "203.0.113.137", "203.0.113.138"
RT_DS6, DS_RT6 = "2001:db8:7::1", "2001:db8:7::2"
RT_DS4, DS_RT4 = "203.0.113.133", "203.0.113.134"
RT_V66, V6_RT6 = "2001:db8:9::1", "2001:db8:9::2"
RT_BH6, BH_RT6 = "2001:db8:a::1", "2001:db8:a::2"
RT_BH4, BH_RT4 = "203.0.113.141", "203.0.113.142"


def _nginx_conf(workdir: Path, servers: str, name: str) -> str:
    return f"""
daemon off;
master_process off;
worker_processes 1;
pid {workdir}/{name}.pid;
error_log {workdir}/{name}-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {workdir}/tmp;
    proxy_temp_path {workdir}/tmp;
    fastcgi_temp_path {workdir}/tmp;
    uwsgi_temp_path {workdir}/tmp;
    scgi_temp_path {workdir}/tmp;
    default_type text/plain;
    server_tokens off;
    root {workdir}/www;
{servers}
}}
"""


def _tls(cert: Path, key: Path) -> str:
    return f"ssl_certificate {cert}; ssl_certificate_key {key};"


def net_servers(cert: Path, key: Path) -> str:
    return f"""
    server {{
        listen [{DIFFERS6}]:80;
        return 403 "forbidden: not on the allow-list\\n";
    }}
    server {{
        listen {DIFFERS4}:80;
        location / {{ return 200 "{"welcome to the mirror " * 40}\\n"; }}
    }}
    server {{
        listen [{PMTUOK6}]:80;
        listen {PMTUOK4}:80;
        listen [{PMTUOK6}]:443 ssl;
        listen {PMTUOK4}:443 ssl;
        {_tls(cert, key)}
    }}
"""


def bh_servers(cert: Path, key: Path) -> str:
    return f"""
    server {{
        listen [{PMTU6}]:80;
        listen {PMTU4}:80;
        listen [{PMTU6}]:443 ssl;
        listen {PMTU4}:443 ssl;
        {_tls(cert, key)}
    }}
"""


class DualLab:
    """The extra namespaces and origins; ``up()`` builds them, ``down()`` removes them."""

    def __init__(self, lab: Lab, workdir: Path) -> None:
        self.lab = lab
        self.workdir = Path(workdir)
        base = lab.net[: -len("net")]
        self.rt, self.ds, self.v6 = f"{base}rt", f"{base}ds", f"{base}v6"
        self.bh = f"{base}bh"
        self._made: list[str] = []

    def _ip(self, ns: str, lines: list[str]) -> None:
        got = subprocess.run(
            ["ip", "-n", ns, "-batch", "-"],
            input="\n".join(lines) + "\n",
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if got.returncode != 0:
            raise LabError(f"ip -n {ns} failed", ["ip", "-n", ns, "-batch", "-"], got.stderr)

    def _sh(self, ns: str, script: str, stdin: str | None = None) -> None:
        got = self.lab.run(ns, ["sh", "-c", script], input=stdin, timeout=30)
        if got.returncode != 0:
            raise LabError(f"in {ns}: {script}", ["sh", "-c", script], got.stderr)

    def up(self) -> DualLab:
        try:
            self._namespaces()
            self._links()
            self._wait_settled()
            self._origins()
        except BaseException:
            self.down()
            raise
        return self

    def _namespaces(self) -> None:
        for ns in (self.rt, self.ds, self.v6, self.bh):
            if (NETNS_RUN / ns).exists():
                raise LabError(f"network namespace {ns} exists already")
            subprocess.run(["ip", "netns", "add", ns], check=True, timeout=30)
            self._made.append(ns)
        for ns, resolver in ((self.ds, self.lab.resolver_plain), (self.v6, self.lab.resolver)):
            d = NETNS_ETC / ns
            d.mkdir(parents=True, exist_ok=True)
            (d / "resolv.conf").write_text(f"nameserver {resolver}\n")

    def _links(self) -> None:
        lab, rt, ds, v6 = self.lab, self.rt, self.ds, self.v6
        nodad = "echo 0 > /proc/sys/net/ipv6/conf/all/accept_dad; "
        nodad += "echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad"
        self._sh(rt, nodad + "; echo 1 > /proc/sys/net/ipv6/conf/all/forwarding; "
                 "echo 1 > /proc/sys/net/ipv4/ip_forward")  # fmt: skip
        # Before any link exists: an interface takes its accept_dad from `default` when made.
        for ns in (ds, v6, self.bh):
            self._sh(ns, nodad)
        self._ip(
            lab.net,
            [
                f"link add vrt type veth peer name vup netns {rt}",
                f"address add {NET_RT6}/64 dev vrt nodad",
                f"address add {NET_RT4}/30 dev vrt",
                "link set vrt up",
                f"route add 2001:db8:7::/64 via {RT_NET6}",
                f"route add 2001:db8:9::/64 via {RT_NET6}",
                f"route add 203.0.113.132/30 via {RT_NET4}",
            ]
            + [f"address add {a}/128 dev lo nodad" for a in (DIFFERS6, PMTUOK6)]
            + [f"address add {a}/32 dev lo" for a in (DIFFERS4, PMTUOK4)],
        )
        self._ip(
            rt,
            [
                "link set lo up",
                f"address add {RT_NET6}/64 dev vup nodad",
                f"address add {RT_NET4}/30 dev vup",
                "link set vup up",
                f"link add vds mtu {SMALL_MTU} type veth peer name vrt netns {ds}",
                f"address add {RT_DS6}/64 dev vds nodad",
                f"address add {RT_DS4}/30 dev vds",
                "link set vds up",
                f"link add vv6 mtu {SMALL_MTU} type veth peer name vrt netns {v6}",
                f"address add {RT_V66}/64 dev vv6 nodad",
                "link set vv6 up",
                f"link add vbh type veth peer name vrt netns {self.bh}",
                f"address add {RT_BH6}/64 dev vbh nodad",
                f"address add {RT_BH4}/30 dev vbh",
                "link set vbh up",
                f"route add {PMTU6}/128 via {BH_RT6}",
                f"route add {PMTU4}/32 via {BH_RT4}",
                f"route add ::/0 via {NET_RT6}",
                f"route add 0.0.0.0/0 via {NET_RT4}",
            ],
        )
        self._ip(
            self.bh,
            [
                "link set lo up",
                f"address add {PMTU6}/128 dev lo nodad",
                f"address add {PMTU4}/32 dev lo",
                f"address add {BH_RT6}/64 dev vrt nodad",
                f"address add {BH_RT4}/30 dev vrt",
                "link set vrt up",
                f"route add ::/0 via {RT_BH6}",
                f"route add 0.0.0.0/0 via {RT_BH4}",
            ],
        )
        # The workload ends stay at 1500 (their MSS says so): only the router's side is small.
        self._ip(
            ds,
            [
                "link set lo up",
                "link set vrt mtu 1500",
                f"address add {DS_RT6}/64 dev vrt nodad",
                f"address add {DS_RT4}/30 dev vrt",
                "link set vrt up",
                f"route add ::/0 via {RT_DS6}",
                f"route add 0.0.0.0/0 via {RT_DS4}",
            ],
        )
        self._ip(
            v6,
            [
                "link set lo up",
                "link set vrt mtu 1500",
                f"address add {V6_RT6}/64 dev vrt nodad",
                "link set vrt up",
                f"route add ::/0 via {RT_V66}",
            ],
        )
        ptb = f"icmpv6 type packet-too-big ip6 daddr {PMTU6} drop"
        rules = (
            "table ip6 v6audit {\n"
            f"  chain ptb_out {{ type filter hook output priority 0; {ptb}; }}\n"
            f"  chain ptb_fwd {{ type filter hook forward priority 0; {ptb}; }}\n"
            "}\n"
        )
        self._sh(rt, "nft -f -", stdin=rules)

    def _wait_settled(self) -> None:
        """Until no IPv6 address is tentative (in duplicate address detection). A namespace
        cannot send Neighbor Solicitations for traffic from its loopback addresses while its
        link-local address is tentative, so the first connections to an origin would wait
        1-3 s for the neighbour: on a busy machine, past a probe's timeout. accept_dad is off
        before any link is made, so this normally returns at once; it is the condition the
        lab relies on, checked rather than assumed."""
        deadline = time.monotonic() + 10
        namespaces = (self.rt, self.ds, self.v6, self.bh)
        while True:
            tentative = [
                ns
                for ns in namespaces
                if "tentative"
                in subprocess.run(
                    ["ip", "-n", ns, "-6", "address", "show"],
                    capture_output=True,
                    text=True,
                    timeout=30,
                    check=False,
                ).stdout
            ]
            if not tentative:
                return
            if time.monotonic() > deadline:
                raise LabError(f"IPv6 addresses still tentative in {', '.join(tentative)}")
            time.sleep(0.05)

    def _origins(self) -> None:
        www = self.workdir / "www" / BIG_PATH.strip("/").rsplit("/", 1)[0]
        www.mkdir(parents=True, exist_ok=True)
        (www / "InRelease").write_text(BIG_BODY)
        (self.workdir / "www" / "index.html").write_text("small\n")
        (self.workdir / "tmp").mkdir(exist_ok=True)
        cert, key = self._big_certificate()
        for ns, name, servers, want in (
            (self.lab.net, "net", net_servers(cert, key), [f"[{DIFFERS6}]:80", f"{PMTUOK4}:443"]),
            (self.bh, "bh", bh_servers(cert, key), [f"[{PMTU6}]:443", f"{PMTU4}:443"]),
        ):
            conf = self.workdir / f"{name}.conf"
            conf.write_text(_nginx_conf(self.workdir, servers, name))
            log = open(self.workdir / "nginx.out", "ab")  # noqa: SIM115 - the child keeps it
            argv = ["nginx", "-p", f"{self.workdir}/", "-c", str(conf)]
            self.lab.popen(
                ns,
                [*argv, "-e", str(self.workdir / f"{name}-e.log")],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
            log.close()
            self._wait_listening(ns, want)

    def _big_certificate(self) -> tuple[Path, Path]:
        """A leaf for pmtu and pmtuok signed by the lab's CA, padded with names so that the
        chain (leaf + CA) is several KiB: (chain file, key file)."""
        z = self.lab.zone
        names = [f"pmtu.{z}", f"pmtuok.{z}"]
        names += [f"padding-{i:03d}.pmtu.{z}" for i in range(BIG_CERT_NAMES)]
        key, csr, pem, ext = (self.workdir / f"big.{s}" for s in ("key", "csr", "pem", "ext"))
        ext.write_text(
            "basicConstraints=critical,CA:FALSE\n"
            "extendedKeyUsage=serverAuth\n"
            "subjectAltName=" + ",".join(f"DNS:{n}" for n in names) + "\n"
        )
        ca_key = self.lab.ca_cert.with_name("ca.key")
        for argv in (
            ["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={names[0]}"],
            ["openssl", "x509", "-req", "-in", str(csr), "-CA", str(self.lab.ca_cert),
             "-CAkey", str(ca_key), "-set_serial", "4096", "-days", "30", "-sha256",
             "-extfile", str(ext), "-out", str(pem)],
        ):  # fmt: skip
            got = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
            if got.returncode != 0:
                raise LabError("could not make the big certificate", argv, got.stderr)
        chain = self.workdir / "big-chain.pem"
        chain.write_text(pem.read_text() + self.lab.ca_cert.read_text())
        return chain, key

    def _wait_listening(self, ns: str, want: list[str]) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            listening = subprocess.run(
                ["ss", "-N", ns, "-H", "-l", "-n", "-t"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            ).stdout
            if all(w in listening for w in want):
                return
            time.sleep(0.05)
        raise LabError(
            "dual-stack lab origins not listening: " + (self.workdir / "nginx.out").read_text()
        )

    def down(self) -> None:
        for ns in reversed(self._made):
            subprocess.run(["ip", "netns", "del", ns], check=False, timeout=30)
        for ns in (self.rt, self.ds, self.v6, self.bh):
            with contextlib.suppress(OSError):
                (NETNS_ETC / ns / "resolv.conf").unlink()
                (NETNS_ETC / ns).rmdir()
        self._made.clear()
