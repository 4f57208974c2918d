"""This host's own connections, from /proc/net/{tcp,tcp6,udp,udp6}.

Hand-written: the kernel's table is a fixed text layout (`sl local_address rem_address st ...`,
addresses in hex as the kernel stores them, in host byte order per 32-bit word); psutil would
read the same files with a new dependency and cannot be pointed at fixture files.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from auditor.traffic import coverage as cov

TABLES = ("tcp", "tcp6", "udp", "udp6")
ESTABLISHED = "01"  # TCP_ESTABLISHED; a connected UDP socket shows the same state
LISTEN = "0A"
MAX_LINES = 1_000_000  # a host with more sockets than this is read in part, and says so


@dataclass(frozen=True)
class Socket:
    table: str
    line: int
    local: str
    local_port: int
    remote: str
    remote_port: int
    state: str


def decode_address(text: str) -> tuple[str, int]:
    """'0100007F:0050' -> ('127.0.0.1', 80); IPv6 as four host-order 32-bit words."""
    hex_addr, _, hex_port = text.partition(":")
    raw = bytes.fromhex(hex_addr)
    if len(raw) == 4:
        packed = struct.pack("=I", struct.unpack(">I", raw)[0])
        address = socket.inet_ntop(socket.AF_INET, packed)
    elif len(raw) == 16:
        words = struct.unpack(">4I", raw)
        packed = b"".join(struct.pack("=I", w) for w in words)
        ip6 = ipaddress.IPv6Address(packed)
        address = str(ip6.ipv4_mapped) if ip6.ipv4_mapped else str(ip6)
    else:
        raise ValueError(f"unexpected address length {len(raw)}")
    return address, int(hex_port, 16)


def read_table(path: Path, table: str, coverage: cov.SourceCoverage) -> Iterator[Socket]:
    """Every socket of one table; bad lines are counted as corrupt."""
    try:
        handle = path.open(encoding="ascii", errors="replace")
    except FileNotFoundError:
        return  # e.g. no IPv6 in this kernel: nothing to read, nothing wrong
    except OSError as exc:
        coverage.skip(cov.UNREADABLE)
        coverage.problem(f"{path}: cannot read: {exc.strerror or exc}")
        return
    coverage.objects += 1
    with handle:
        for number, line in enumerate(handle, 1):
            if number == 1:
                continue  # the column header
            if number > MAX_LINES:
                coverage.skip(cov.TRUNCATED)
                coverage.problem(f"{path}: more than {MAX_LINES} sockets; the rest not read")
                return
            coverage.records += 1
            parts = line.split()
            try:
                local, local_port = decode_address(parts[1])
                remote, remote_port = decode_address(parts[2])
                state = parts[3]
            except (IndexError, ValueError):
                coverage.skip(cov.CORRUPT)
                continue
            yield Socket(table, number, local, local_port, remote, remote_port, state)


def host_sockets(proc_net: Path, coverage: cov.SourceCoverage) -> Iterator[Socket]:
    """Established (or connected) sockets whose local port is not a listening one: the
    connections this host made, not the ones it accepted."""
    sockets = [s for t in TABLES for s in read_table(proc_net / t, t, coverage)]
    listening = {(s.table.rstrip("6"), s.local_port) for s in sockets if s.state == LISTEN}
    for sock in sockets:
        if sock.state != ESTABLISHED:
            coverage.kinds["not-established"] += 1
            continue
        if (sock.table.rstrip("6"), sock.local_port) in listening:
            coverage.kinds["inbound"] += 1
            continue
        yield sock
