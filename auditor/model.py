"""The result model shared by the runner, scoring and every renderer."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    INFO = "info"
    SKIP = "skip"
    ERROR = "error"


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def weight(self) -> int:
        return SEVERITY_WEIGHTS[self]

    @property
    def rank(self) -> int:
        """0 for critical … 4 for info: sorts the most severe first."""
        return SEVERITY_RANKS[self]


SEVERITY_WEIGHTS = {
    Severity.CRITICAL: 10,
    Severity.HIGH: 5,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}

SEVERITY_RANKS = {severity: rank for rank, severity in enumerate(Severity)}

STAGE_NAMES = {
    0: "IPv4-only",
    1: "Dual-stack foundation",
    2: "Dual-stack services",
    3: "IPv6-only with translation",
    4: "IPv6-only native",
}

# Network classification of a probed name or endpoint (DESIGN: "Network classification").
NET_CLASSES = (
    "native",
    "nat64",
    "broken",
    "unreachable",
    "dns-error",
    "ipv4-only",
    "differs",
    "mtu-blackhole",
    "down",
)

# Each class in one sentence a director understands; every renderer shows these.
CLASS_EXPLAINED = {
    "native": "Works over IPv6 on its own: nothing to do.",
    "nat64": "Works from IPv6-only networks only through a NAT64 translator, which costs money "
    "and must stay until the provider offers IPv6.",
    "broken": "Advertises IPv6 but does not answer on it: IPv6-only clients fail, while "
    "dual-stack clients quietly fall back to IPv4 and hide it.",
    "unreachable": "Has no IPv6 path at all: IPv6-only clients cannot reach it.",
    "dns-error": "The name does not resolve, so nothing could be tested.",
    "ipv4-only": "Works over IPv4 only: IPv6-only networks will need a NAT64 translator for it.",
    "differs": "Answers differently over IPv6 than over IPv4 (e.g. access denied over IPv6): "
    "IPv6 users get a different service.",
    "mtu-blackhole": "Connects over IPv6 but large transfers hang, because a network on the path "
    "drops the messages IPv6 needs to size its packets.",
    "down": "Fails over IPv4 as well: the service itself is down, not an IPv6 problem.",
}


@dataclass(frozen=True)
class Resource:
    """What an AWS finding is about; `id` is the resource id or ARN."""

    id: str
    kind: str = ""
    name: str = ""
    account: str = ""
    region: str = ""


@dataclass(frozen=True)
class Target:
    """What a network finding probed."""

    host: str = ""
    port: int | None = None
    url: str = ""
    address: str = ""
    path: str = ""

    def key(self) -> str:
        return self.url or f"{self.host}|{self.port or ''}|{self.address}|{self.path}"


@dataclass(frozen=True)
class Suppression:
    reason: str
    expires: str
    owner: str = ""


@dataclass
class Finding:
    """One observation of one check about one resource or target.

    Checks create findings with the observation only (status, message, resource/target,
    evidence); the runner stamps the check's metadata (id, family, stage, severity,
    remediation), the fingerprint and the duration.

    `blocking` says whether the finding stands between the workload and its `stage`. It
    defaults to True for `fail` and `error` (an unproven stage is not reached); a check sets
    it on a `warn` that still blocks (a dependency reachable only through NAT64 blocks stage 4).
    """

    status: Status
    message: str
    resource: Resource | None = None
    target: Target | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    severity: Severity | None = None
    stage: int | None = None
    blocking: bool | None = None
    check_id: str = ""
    family: str = ""
    remediation: str = ""
    fingerprint: str = ""
    suppressed: Suppression | None = None
    duration_ms: float = 0.0

    def __post_init__(self) -> None:
        self.status = Status(self.status)
        if self.severity is not None:
            self.severity = Severity(self.severity)

    @property
    def is_blocking(self) -> bool:
        if self.blocking is not None:
            return self.blocking
        return self.status in (Status.FAIL, Status.ERROR)

    @property
    def net_class(self) -> str | None:
        return self.evidence.get("class")

    def compute_fingerprint(self) -> str:
        """Stable across runs: check id, account, region and what the finding is about."""
        res = self.resource
        parts = [
            self.check_id,
            res.account if res else "",
            res.region if res else "",
            res.id if res else "",
            self.target.key() if self.target else "",
        ]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]

    def to_dict(self) -> dict[str, Any]:
        return {
            "check_id": self.check_id,
            "status": str(self.status),
            "severity": str(self.severity) if self.severity else "info",
            "family": self.family,
            "stage": self.stage,
            "blocking": self.is_blocking,
            "resource": asdict(self.resource) if self.resource else None,
            "target": asdict(self.target) if self.target else None,
            "message": self.message,
            "evidence": self.evidence,
            "remediation": self.remediation,
            "fingerprint": self.fingerprint,
            "suppressed": asdict(self.suppressed) if self.suppressed else None,
            "duration_ms": round(self.duration_ms, 3),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        res = data.get("resource")
        tgt = data.get("target")
        sup = data.get("suppressed")
        return cls(
            status=Status(data["status"]),
            message=data.get("message", ""),
            resource=Resource(**res) if res else None,
            target=Target(**tgt) if tgt else None,
            evidence=data.get("evidence") or {},
            severity=Severity(data.get("severity") or "info"),
            stage=data.get("stage"),
            blocking=data.get("blocking"),
            check_id=data.get("check_id", ""),
            family=data.get("family", ""),
            remediation=data.get("remediation", ""),
            fingerprint=data.get("fingerprint", ""),
            suppressed=Suppression(**sup) if sup else None,
            duration_ms=float(data.get("duration_ms") or 0.0),
        )


def passed(message: str, **kw: Any) -> Finding:
    return Finding(Status.PASS, message, **kw)


def failed(message: str, **kw: Any) -> Finding:
    return Finding(Status.FAIL, message, **kw)


def warned(message: str, **kw: Any) -> Finding:
    return Finding(Status.WARN, message, **kw)


def info(message: str, **kw: Any) -> Finding:
    return Finding(Status.INFO, message, **kw)


def skipped(message: str, **kw: Any) -> Finding:
    return Finding(Status.SKIP, message, **kw)


def errored(message: str, **kw: Any) -> Finding:
    return Finding(Status.ERROR, message, **kw)
