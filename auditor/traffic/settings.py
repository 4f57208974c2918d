"""The `traffic:` config section: where the logs are, the window, the workload's scope."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from auditor.config import _Validator
    from auditor.yamlfile import PathKey

SOURCE_KINDS = ("log_group", "s3", "path")
_SINCE_RE = re.compile(r"^(\d+)\s*([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_SINCE_SECONDS = 366 * 86400
_S3_RE = re.compile(r"^s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(/.*)?$")
_REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_ID_PATTERNS = {
    "vpc_ids": re.compile(r"^vpc-[0-9a-f]{8,17}$"),
    "subnet_ids": re.compile(r"^subnet-[0-9a-f]{8,17}$"),
    "eni_ids": re.compile(r"^eni-[0-9a-f]{8,17}$"),
    "instance_ids": re.compile(r"^i-[0-9a-f]{8,17}$"),
}
_SCOPE_KEYS = {*_ID_PATTERNS, "cidrs"}
_TRAFFIC_KEYS = {
    "since",
    "resolver_query_logs",
    "flow_logs",
    "host_sockets",
    "scope",
    "probe",
}


@dataclass(frozen=True)
class TrafficSource:
    """One place logs are read from: a CloudWatch log group, an S3 prefix or local files.

    `format` (flow logs only) is the record format when the log carries no header line, as
    in CloudWatch Logs: AWS's `${version} ${account-id} ...` string or the plain field names.
    """

    kind: str  # one of SOURCE_KINDS
    location: str  # log group name, s3:// URL or (resolved) path
    region: str | None = None
    format: str | None = None
    declared_at: str = ""

    @property
    def label(self) -> str:
        if self.kind == "s3":
            return self.location
        if self.kind == "log_group":
            return f"log group {self.location}" + (f" ({self.region})" if self.region else "")
        return self.location


@dataclass(frozen=True)
class TrafficScope:
    vpc_ids: tuple[str, ...] = ()
    subnet_ids: tuple[str, ...] = ()
    eni_ids: tuple[str, ...] = ()
    instance_ids: tuple[str, ...] = ()
    cidrs: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (
            self.vpc_ids or self.subnet_ids or self.eni_ids or self.instance_ids or self.cidrs
        )


@dataclass(frozen=True)
class TrafficConfig:
    since: str = "7d"
    since_seconds: int = 7 * 86400
    resolver_query_logs: tuple[TrafficSource, ...] = ()
    flow_logs: tuple[TrafficSource, ...] = ()
    host_sockets: bool = False
    scope: TrafficScope = field(default_factory=TrafficScope)
    probe: bool = True

    @property
    def enabled(self) -> bool:
        return bool(self.resolver_query_logs or self.flow_logs or self.host_sockets)


def parse_since(text: str) -> int | None:
    """'7d', '12h', '30m', '90s' -> seconds; None when malformed."""
    match = _SINCE_RE.match(text.strip())
    if not match:
        return None
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def parse_traffic(v: _Validator, value: Any) -> TrafficConfig:
    key: PathKey = ("traffic",)
    top = v.mapping(value, key, _TRAFFIC_KEYS)
    out: dict[str, Any] = {}
    if "since" in top:
        raw = top["since"]
        text = str(raw) if isinstance(raw, str) else None
        seconds = parse_since(text) if text else None
        if seconds is None:
            raise v.fail((*key, "since"), f"{raw!r} is not a duration such as 7d, 12h, 30m or 90s")
        if not 0 < seconds <= MAX_SINCE_SECONDS:
            raise v.fail((*key, "since"), f"{raw!r} must be more than 0s and at most 366d")
        out["since"], out["since_seconds"] = text.strip(), seconds
    for group in ("resolver_query_logs", "flow_logs"):
        out[group] = v.seq(top.get(group), (*key, group), lambda x, k, g=group: _source(v, x, k, g))
    if "host_sockets" in top:
        out["host_sockets"] = v.boolean(top["host_sockets"], (*key, "host_sockets"))
    if "probe" in top:
        out["probe"] = v.boolean(top["probe"], (*key, "probe"))
    out["scope"] = _scope(v, top.get("scope"), (*key, "scope"))
    return TrafficConfig(**out)


def _source(v: _Validator, value: Any, key: PathKey, group: str) -> TrafficSource:
    allowed = {"log_group", "s3", "path", "region"}
    if group == "flow_logs":
        allowed.add("format")
    item = v.mapping(value, key, allowed)
    if not isinstance(value, dict):
        raise v.fail(key, "must be a mapping with one of log_group, s3 or path")
    kinds = [k for k in SOURCE_KINDS if k in item]
    if len(kinds) != 1:
        raise v.fail(key, "needs exactly one of log_group, s3 or path")
    kind = kinds[0]
    location = v.string(item[kind], (*key, kind))
    assert location is not None
    if kind == "s3":
        if not _S3_RE.match(location):
            raise v.fail((*key, "s3"), f"{location!r} is not an s3://bucket/prefix/ URL")
    elif kind == "path":
        path = Path(location).expanduser()
        if not path.is_absolute() and v.doc.path:
            path = Path(v.doc.path).parent / path
        location = str(path)
    region = None
    if "region" in item:
        region = v.string(item["region"], (*key, "region"))
        if not _REGION_RE.match(region or ""):
            raise v.fail((*key, "region"), f"{region!r} is not an AWS region name")
        if kind == "path":
            raise v.fail((*key, "region"), "a path source has no region")
    fmt = None
    if "format" in item:
        fmt = v.string(item["format"], (*key, "format"))
        from auditor.traffic.flowlog import layout_from_format

        try:
            layout_from_format(fmt or "")
        except ValueError as exc:
            raise v.fail((*key, "format"), str(exc)) from None
    return TrafficSource(
        kind=kind,
        location=location,
        region=region,
        format=fmt,
        declared_at=f"{v.doc.path}:{v.doc.line(key)}",
    )


def _scope(v: _Validator, value: Any, key: PathKey) -> TrafficScope:
    item = v.mapping(value, key, _SCOPE_KEYS)
    out: dict[str, tuple[str, ...]] = {}
    for name, pattern in _ID_PATTERNS.items():

        def one(x: Any, k: PathKey, pattern: re.Pattern = pattern, name: str = name) -> str:
            text = v.string(x, k) or ""
            if not pattern.match(text):
                example = {"vpc_ids": "vpc", "subnet_ids": "subnet", "eni_ids": "eni"}.get(
                    name, "i"
                )
                raise v.fail(k, f"{text!r} is not an id such as {example}-0123456789abcdef0")
            return text

        out[name] = v.seq(item.get(name), (*key, name), one)

    def cidr(x: Any, k: PathKey) -> str:
        text = v.string(x, k) or ""
        try:
            return str(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise v.fail(k, f"{text!r} is not a CIDR such as 10.0.0.0/16") from None

    out["cidrs"] = v.seq(item.get("cidrs"), (*key, "cidrs"), cidr)
    return TrafficScope(**out)
