"""The EC2 instance metadata service over IPv6 (IMDSv2 at [fd00:ec2::254]), and over IPv4
(169.254.169.254) for the comparison a dual-stack vantage makes."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.net.probe import Attempt, Prober

IMDS_ADDRESS = "fd00:ec2::254"
IMDS_ADDRESS_V4 = "169.254.169.254"
IMDS_PORT = 80
TOKEN_PATH = "/latest/api/token"
METADATA_PATH = "/latest/meta-data/instance-id"
TOKEN_TTL_S = 60

# Files that say "this is an EC2 instance": Nitro exposes the vendor in DMI, Xen-based
# instances a hypervisor UUID starting with "ec2".
DMI_FILES = (
    "sys/devices/virtual/dmi/id/board_vendor",
    "sys/devices/virtual/dmi/id/sys_vendor",
)
HYPERVISOR_UUID = "sys/hypervisor/uuid"


def on_ec2(root: Path = Path("/")) -> tuple[bool, str]:
    """(is EC2, why): read-only look at DMI and hypervisor files under `root`."""
    seen = []
    for rel in DMI_FILES:
        path = root / rel
        try:
            value = path.read_text(errors="replace").strip()
        except OSError:
            continue
        if "amazon ec2" in value.lower():
            return True, f"{path} says {value!r}"
        seen.append(f"{path} is {value!r}")
    path = root / HYPERVISOR_UUID
    try:
        value = path.read_text(errors="replace").strip()
    except OSError:
        value = ""
    if value.lower().startswith("ec2"):
        return True, f"{path} starts with 'ec2'"
    if value:
        seen.append(f"{path} is {value!r}")
    return False, "; ".join(seen) or "no DMI vendor or hypervisor UUID files to read"


@dataclass
class ImdsResult:
    ok: bool
    token: Attempt
    metadata: Attempt | None = None
    problem: str = ""
    steps: list[dict[str, Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://[{IMDS_ADDRESS}]{METADATA_PATH}"

    @property
    def attempts(self) -> list[Attempt]:
        return [self.token] + ([self.metadata] if self.metadata is not None else [])

    @property
    def answered(self) -> bool:
        """IMDS answered at the HTTP level (even when IMDSv2 then failed)."""
        return self.token.status_code is not None


async def probe_imds(
    prober: Prober, address: str = IMDS_ADDRESS, family: int = socket.AF_INET6
) -> ImdsResult:
    """IMDSv2: PUT a session token, then GET a metadata item with it (over `family`)."""
    shown = f"[{address}]" if family == socket.AF_INET6 else address
    base = f"http://{shown}"
    token = await prober.exchange(
        "PUT",
        base + TOKEN_PATH,
        address,
        headers={"X-aws-ec2-metadata-token-ttl-seconds": str(TOKEN_TTL_S)},
        family=family,
    )
    token.kind = "imds-token"
    result = ImdsResult(ok=False, token=token)
    if not token.ok:
        if token.error_kind == "timeout" and token.phase != "connect":
            result.problem = (
                "the token PUT was accepted but no answer came back: the PUT response hop "
                "limit is too low for this host (containers need 2)"
            )
        else:
            result.problem = f"no answer at {shown}:{IMDS_PORT}: {token.error}"
        return result
    if token.status_code != 200 or not token.answer.strip():
        result.problem = f"the IMDSv2 token PUT answered HTTP {token.status_code}"
        return result
    secret = token.answer.strip()
    token.answer = f"token issued ({len(secret)} characters)"  # never the token itself
    meta = await prober.exchange(
        "GET",
        base + METADATA_PATH,
        address,
        headers={"X-aws-ec2-metadata-token": secret},
        family=family,
    )
    meta.kind = "imds-metadata"
    result.metadata = meta
    if not meta.ok:
        result.problem = f"the metadata GET failed: {meta.error}"
    elif meta.status_code != 200:
        result.problem = f"the metadata GET with the token answered HTTP {meta.status_code}"
    else:
        result.ok = True
        meta.answer = f"HTTP 200, instance id {meta.answer.strip()[:40]}"
    return result
