"""This host's sockets from /proc/net tables (fixture files in the kernel's layout)."""

from __future__ import annotations

import ipaddress
import struct
from pathlib import Path

from auditor.traffic.collect import collect
from auditor.traffic.settings import TrafficConfig
from auditor.traffic.sources import Window

HEADER = (
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
    "timeout inode\n"
)


def hexaddr(address: str, port: int) -> str:
    """The kernel's form: each 32-bit word of the address in host (little-endian) order."""
    packed = ipaddress.ip_address(address).packed
    words = struct.unpack(f"<{len(packed) // 4}I", packed)
    return "".join(f"{w:08X}" for w in words) + f":{port:04X}"


def row(n: int, local: tuple[str, int], remote: tuple[str, int], state: str) -> str:
    return (
        f"  {n}: {hexaddr(*local)} {hexaddr(*remote)} {state} 00000000:00000000 00:00000000 "
        "00000000     0        0 12345 1 0000000000000000 20 4 30 10 -1\n"
    )


def test_outgoing_connections_only(tmp_path: Path) -> None:
    (tmp_path / "tcp").write_text(
        HEADER
        + row(0, ("0.0.0.0", 22), ("0.0.0.0", 0), "0A")  # listening on 22
        + row(1, ("10.0.1.10", 40000), ("203.0.113.5", 443), "01")  # outgoing
        + row(2, ("10.0.1.10", 22), ("198.51.100.9", 50000), "01")  # accepted on 22
        + row(3, ("10.0.1.10", 40001), ("10.0.2.7", 5432), "01")  # internal
        + row(4, ("10.0.1.10", 40002), ("203.0.113.6", 443), "06")  # TIME_WAIT
        + "  5: garbage\n"
    )
    (tmp_path / "tcp6").write_text(
        HEADER
        + row(0, ("::ffff:10.0.1.10", 40003), ("::ffff:203.0.113.5", 8443), "01")
        + row(1, ("2001:db8:1::2", 40004), ("2001:db8:2::80", 443), "01")
    )
    (tmp_path / "udp").write_text(HEADER + row(0, ("10.0.1.10", 40005), ("192.0.2.53", 53), "01"))
    config = TrafficConfig(host_sockets=True)
    result = collect(config, Window(0, 1_000_000), ["10.0.0.0/16"], proc_net=tmp_path, hostname="h")
    got = {
        d.key: (d.flows, sorted(d.ports), sorted(d.protocols), sorted(d.sources))
        for d in result.table.ranked()
    }
    assert got == {
        "203.0.113.5": (2, [443, 8443], [6], ["h"]),
        "192.0.2.53": (1, [53], [17], ["h"]),
    }
    (cov,) = result.sources
    assert cov.objects == 3  # udp6 is absent: nothing to read, nothing wrong
    assert cov.skipped["corrupt"] == 1
    assert cov.kinds["inbound"] == 1 and cov.kinds["not-established"] == 2
    assert cov.kinds["internal"] == 1 and cov.kinds["ipv6"] == 1
    prov = result.table.items["192.0.2.53"].provenance
    assert prov == {"source": "host_sockets", "object": str(tmp_path / "udp"), "line": 2}
