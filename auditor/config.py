"""The `v6audit.yaml` config: defaults, validation with file/line/key errors, CLI overrides."""

from __future__ import annotations

import ipaddress
import re
import ssl
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from auditor.errors import ConfigError
from auditor.net.addresses import is_real_ipv6
from auditor.redact import keep_real, redact_url
from auditor.traffic.settings import TrafficConfig, parse_traffic
from auditor.yamlfile import LocatedYaml, PathKey, load_yaml

URL_KINDS = frozenset(
    {
        "pypi",
        "npm",
        "apt",
        "yum",
        "oci-registry",
        "git",
        "goproxy",
        "maven",
        "https",
        "http",
        "https-intake",
    }
)
ADDRESS_KINDS = frozenset({"syslog-tcp", "syslog-tls", "tcp"})
DEPENDENCY_KINDS = URL_KINDS | ADDRESS_KINDS
IMDS_MODES = ("auto", True, False)
RFC6052_LENGTHS = (32, 40, 48, 56, 64, 96)
IPV4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
MAX_CA_BUNDLE = 16 * 2**20

_HOSTNAME_RE = re.compile(
    r"^(?=.{1,253}\.?$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?)*\.?$",
    re.IGNORECASE,
)
_REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_ROLE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
_SERVICE_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_ROLE_NAME_RE = re.compile(r"^[\w+=,.@-]+(/[\w+=,.@-]+)*$")
_OU_RE = re.compile(r"^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})$")


@dataclass(frozen=True)
class Dependency:
    """Something the workload reaches out to: a package mirror, an API, a log intake.

    `url` is always the redacted URL (no credentials); `real_url` is what the probe requests."""

    name: str
    kinds: tuple[str, ...]
    url: str | None = None
    address: str | None = None
    category: str = "dependency"  # or "log_shipper"
    source: str = ""  # where it was declared: "v6audit.yaml:12" or a discovered file:line
    real_url: str | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        keep_real(self, "url", "real_url")

    @property
    def kind(self) -> str:
        return self.kinds[0]


@dataclass(frozen=True)
class AwsAccount:
    role_arn: str
    external_id: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class AwsOrganization:
    """Every account of the organisation, through one role name (`aws.organization`)."""

    role_name: str
    include: tuple[str, ...] = ("*",)
    exclude: tuple[str, ...] = ()
    ous: tuple[str, ...] = ()


@dataclass(frozen=True)
class AwsConfig:
    regions: tuple[str, ...] = ("us-east-1",)
    profile: str | None = None
    accounts: tuple[AwsAccount, ...] = ()
    services: tuple[str, ...] = ("s3", "sqs", "logs", "ecr", "sts")
    endpoint_url: str | None = None  # redacted, for the report; the client uses the real one
    organization: AwsOrganization | None = None
    shard: str | None = None  # `--shard K/N` as resolved by the CLI (never a config key)
    real_endpoint_url: str | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        keep_real(self, "endpoint_url", "real_endpoint_url")


@dataclass(frozen=True)
class Config:
    workload: str = "workload"
    nat64_prefix: str = "auto"  # "auto" or a normalised IPv6 prefix
    nameservers: tuple[str, ...] = ()
    timeout: float = 5.0
    concurrency: int = 200
    check_timeout: float = 600.0
    dns_names: tuple[str, ...] = ()
    dns_ports: tuple[int, ...] = (443,)
    dependencies: tuple[Dependency, ...] = ()
    log_shippers: tuple[Dependency, ...] = ()
    imds: str | bool = "auto"
    discover: bool = True
    discover_paths: tuple[str, ...] = ()
    ca_bundle: str | None = None  # extra CAs to trust for TLS probes (a private PKI)
    aws: AwsConfig = field(default_factory=AwsConfig)
    traffic: TrafficConfig = field(default_factory=TrafficConfig)
    source: str | None = None

    @property
    def targets(self) -> tuple[Dependency, ...]:
        return self.dependencies + self.log_shippers

    def with_overrides(self, **changes: Any) -> Config:
        aws_changes = {k: v for k, v in changes.items() if k in AwsConfig.__dataclass_fields__}
        top = {k: v for k, v in changes.items() if k not in aws_changes and v is not None}
        aws_changes = {k: v for k, v in aws_changes.items() if v}
        return replace(self, **top, aws=replace(self.aws, **aws_changes))

    def to_dict(self) -> dict[str, Any]:
        """The effective config for the report, with credentials removed from URLs."""
        data = asdict(self)
        for group in ("dependencies", "log_shippers"):
            for dep in data[group]:
                del dep["real_url"]
        del data["aws"]["real_endpoint_url"]
        for account in data["aws"]["accounts"]:
            if account.get("external_id"):
                account["external_id"] = "***"
        return data


# --- validation ------------------------------------------------------------------------------


class _Validator:
    def __init__(self, doc: LocatedYaml) -> None:
        self.doc = doc

    def fail(self, key: PathKey, message: str) -> ConfigError:
        return self.doc.error(key, message)

    def mapping(self, value: Any, key: PathKey, allowed: set[str]) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a mapping, not {_typename(value)}")
        for name in value:
            if name not in allowed:
                hint = _closest(name, allowed)
                raise self.fail(
                    (*key, name), "unknown key" + (f" (did you mean {hint!r}?)" if hint else "")
                )
        return value

    def string(self, value: Any, key: PathKey, *, allow_none: bool = False) -> str | None:
        if value is None and allow_none:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"must be a non-empty string, not {_typename(value)}")
        return value.strip()

    def number(
        self, value: Any, key: PathKey, low: float, high: float, *, integer: bool = False
    ) -> Any:
        ok_types = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, ok_types):
            kind = "an integer" if integer else "a number"
            raise self.fail(key, f"must be {kind}, not {_typename(value)}")
        if not low <= value <= high:
            raise self.fail(key, f"must be between {low:g} and {high:g}, not {value}")
        return value

    def boolean(self, value: Any, key: PathKey) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, not {value!r}")
        return value

    def seq(self, value: Any, key: PathKey, item: Callable[[Any, PathKey], Any]) -> tuple:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.fail(key, f"must be a list, not {_typename(value)}")
        return tuple(item(v, (*key, i)) for i, v in enumerate(value))

    def hostname(self, value: Any, key: PathKey) -> str:
        name = self.string(value, key)
        if not _HOSTNAME_RE.match(name):
            raise self.fail(key, f"{name!r} is not a DNS name")
        return name.rstrip(".").lower()

    def url(self, value: Any, key: PathKey) -> str:
        """An http(s) URL with a valid host and port. Errors show it redacted."""
        text = self.string(value, key)
        why = url_problem(text)
        if why is not None:
            raise self.fail(key, f"{redact_url(text)!r} {why}")
        return text

    def address(self, value: Any, key: PathKey) -> str:
        text = self.string(value, key)
        if not address_ok(text):
            shown = "***@" + text.rpartition("@")[2] if "@" in text else text
            raise self.fail(key, f"{shown!r} is not host:port (use [2001:db8::1]:514 for IPv6)")
        return text


def url_problem(text: str) -> str | None:
    """Why `text` is not an http(s) URL a probe can request (said after the URL), or None.
    Configured and discovered URLs are both checked here."""
    try:
        parts = urlsplit(text)
        host, port = parts.hostname, parts.port
    except ValueError as exc:  # an unclosed "[", a port that is not a number
        return "has an invalid port" if "port" in str(exc).lower() else "is not a valid URL"
    if parts.scheme not in ("http", "https") or not host:
        return "is not an http(s) URL with a host"
    if any(c.isspace() or ord(c) < 32 for c in text):
        return "contains white space or control characters"
    if not valid_host(host, bracketed="[" in parts.netloc.rpartition("@")[2]):
        return f"has an invalid host {host!r} (not a DNS name or an IP address)"
    if port == 0:
        return "has an invalid port"
    return None


def address_ok(text: str) -> bool:
    """`host:port` or `[v6]:port` with a valid host and port."""
    parsed = parse_address(text)
    return parsed is not None and valid_host(parsed[0], bracketed=text.strip().startswith("["))


def valid_host(host: str, *, bracketed: bool = False) -> bool:
    """A DNS name (IDN allowed), an IPv4 address, or an IPv6 address in brackets."""
    if bracketed:
        try:
            return ipaddress.ip_address(host.split("%", 1)[0]).version == 6
        except ValueError:
            return False
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    return bool(_HOSTNAME_RE.match(ascii_host))


def parse_address(text: str) -> tuple[str, int] | None:
    """'host:port' or '[v6]:port' -> (host, port), or None when malformed."""
    match = re.fullmatch(r"\[([0-9a-fA-F:.]+)\]:(\d+)|([^:\s\[\]]+):(\d+)", text.strip())
    if not match:
        return None
    host = match.group(1) or match.group(3)
    port = int(match.group(2) or match.group(4))
    if not 0 < port < 65536:
        return None
    return host, port


def _typename(value: Any) -> str:
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        type(None): "null",
        int: "an integer",
        float: "a number",
    }.get(type(value), type(value).__name__)


def _closest(name: str, options: set[str]) -> str | None:
    import difflib

    match = difflib.get_close_matches(name, sorted(options), n=1, cutoff=0.6)
    return match[0] if match else None


_TOP_KEYS = {
    "workload",
    "nat64_prefix",
    "resolver",
    "timeout",
    "concurrency",
    "check_timeout",
    "dns",
    "dependencies",
    "log_shippers",
    "imds",
    "discover",
    "discover_paths",
    "tls",
    "aws",
    "traffic",
}


def parse_config(doc: LocatedYaml) -> Config:
    v = _Validator(doc)
    top = v.mapping(doc.data, (), _TOP_KEYS)
    cfg: dict[str, Any] = {"source": doc.path}
    if "workload" in top:
        cfg["workload"] = v.string(top["workload"], ("workload",))
    if "nat64_prefix" in top:
        cfg["nat64_prefix"] = _nat64_prefix(v, top["nat64_prefix"], ("nat64_prefix",))
    resolver = v.mapping(top.get("resolver"), ("resolver",), {"nameservers"})
    cfg["nameservers"] = v.seq(
        resolver.get("nameservers"), ("resolver", "nameservers"), lambda x, k: _nameserver(v, x, k)
    )
    if "timeout" in top:
        cfg["timeout"] = float(v.number(top["timeout"], ("timeout",), 0.05, 300))
    if "check_timeout" in top:
        cfg["check_timeout"] = float(v.number(top["check_timeout"], ("check_timeout",), 1, 86400))
    if "concurrency" in top:
        cfg["concurrency"] = v.number(top["concurrency"], ("concurrency",), 1, 10000, integer=True)
    dns = v.mapping(top.get("dns"), ("dns",), {"names", "ports"})
    cfg["dns_names"] = _unique(
        v, v.seq(dns.get("names"), ("dns", "names"), v.hostname), ("dns", "names")
    )
    if "ports" in dns:
        cfg["dns_ports"] = v.seq(
            dns["ports"], ("dns", "ports"), lambda x, k: v.number(x, k, 1, 65535, integer=True)
        )
    seen: dict[str, PathKey] = {}
    cfg["dependencies"] = v.seq(
        top.get("dependencies"),
        ("dependencies",),
        lambda x, k: _dependency(v, x, k, "dependency", seen),
    )
    cfg["log_shippers"] = v.seq(
        top.get("log_shippers"),
        ("log_shippers",),
        lambda x, k: _dependency(v, x, k, "log_shipper", seen),
    )
    if "imds" in top:
        if top["imds"] not in IMDS_MODES or (
            isinstance(top["imds"], int) and not isinstance(top["imds"], bool)
        ):
            raise v.fail(("imds",), f"must be auto, true or false, not {top['imds']!r}")
        cfg["imds"] = top["imds"]
    if "discover" in top:
        cfg["discover"] = v.boolean(top["discover"], ("discover",))
    cfg["discover_paths"] = v.seq(top.get("discover_paths"), ("discover_paths",), v.string)
    tls = v.mapping(top.get("tls"), ("tls",), {"ca_bundle"})
    if tls.get("ca_bundle") is not None:
        cfg["ca_bundle"] = _ca_bundle(v, tls["ca_bundle"], ("tls", "ca_bundle"))
    cfg["aws"] = _aws(v, top.get("aws"))
    if "traffic" in top:
        cfg["traffic"] = parse_traffic(v, top["traffic"])
    return Config(**cfg)


def _readable_file(v: _Validator, value: Any, key: PathKey) -> str:
    text = v.string(value, key)
    path = Path(text)
    if not path.is_absolute() and v.doc.path:
        path = Path(v.doc.path).parent / path
    if not path.is_file():
        raise v.fail(key, f"{text!r} is not a readable file")
    return str(path)


def _ca_bundle(v: _Validator, value: Any, key: PathKey) -> str:
    """A file of PEM CA certificates that OpenSSL loads (checked now, not at the first probe)."""
    path = _readable_file(v, value, key)
    try:
        with open(path, "rb") as fh:
            head = fh.read(MAX_CA_BUNDLE + 1)
    except OSError as exc:
        raise v.fail(key, f"{path!r} cannot be read: {exc.strerror or exc}") from None
    if len(head) > MAX_CA_BUNDLE:
        raise v.fail(key, f"{path!r} is larger than {MAX_CA_BUNDLE // 2**20} MiB")
    if b"-----BEGIN CERTIFICATE-----" not in head:
        raise v.fail(key, f"{path!r} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
    try:
        ssl.create_default_context().load_verify_locations(cafile=path)
    except (ssl.SSLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or "a certificate in it cannot be parsed"
        raise v.fail(key, f"{path!r} is not a valid PEM CA bundle ({reason})") from None
    return path


def _unique(v: _Validator, items: tuple, key: PathKey) -> tuple:
    seen: set = set()
    for index, item in enumerate(items):
        if item in seen:
            raise v.fail((*key, index), f"{item!r} is listed twice")
        seen.add(item)
    return items


def _nat64_prefix(v: _Validator, value: Any, key: PathKey) -> str:
    text = v.string(value, key)
    if text == "auto":
        return text
    try:
        net = ipaddress.IPv6Network(text, strict=True)
    except ValueError as exc:
        raise v.fail(key, f"{text!r} is not an IPv6 prefix ({exc})") from None
    if net.overlaps(IPV4_MAPPED):
        raise v.fail(key, f"{net} holds IPv4-mapped addresses (::ffff:0:0/96), not a NAT64 prefix")
    if net.prefixlen not in RFC6052_LENGTHS:
        raise v.fail(
            key,
            f"prefix length /{net.prefixlen} is not one of RFC 6052's /32, /40, /48, /56, /64, /96",
        )
    return str(net)


def _nameserver(v: _Validator, value: Any, key: PathKey) -> str:
    text = v.string(value, key)
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        raise v.fail(key, f"{text!r} is not an IP address") from None
    if not is_real_ipv6(text):
        raise v.fail(
            key,
            f"{text} is IPv4{'-mapped' if addr.version == 6 else ''}: the audit asks resolvers "
            "over IPv6 only (in a VPC the Route 53 Resolver is fd00:ec2::253)",
        )
    return str(addr)


def _dependency(
    v: _Validator, value: Any, key: PathKey, category: str, seen: dict[str, PathKey]
) -> Dependency:
    item = v.mapping(value, key, {"name", "kind", "url", "address"})
    if not isinstance(value, dict):
        raise v.fail(key, "must be a mapping with name, kind and url or address")
    for required in ("name", "kind"):
        if required not in item:
            raise v.fail(key, f"missing required key {required!r}")
    name = v.string(item["name"], (*key, "name"))
    if name in seen:
        raise v.fail(
            (*key, "name"), f"duplicate name {name!r} (first at line {v.doc.line(seen[name])})"
        )
    seen[name] = (*key, "name")
    raw_kinds = item["kind"] if isinstance(item["kind"], list) else [item["kind"]]
    kinds = []
    for index, kind in enumerate(raw_kinds):
        kkey = (*key, "kind", index) if isinstance(item["kind"], list) else (*key, "kind")
        kind = v.string(kind, kkey)
        if kind not in DEPENDENCY_KINDS:
            hint = _closest(kind, set(DEPENDENCY_KINDS))
            raise v.fail(
                kkey,
                f"unknown kind {kind!r}"
                + (f" (did you mean {hint!r}?)" if hint else "")
                + f"; kinds: {', '.join(sorted(DEPENDENCY_KINDS))}",
            )
        kinds.append(kind)
    if not kinds:
        raise v.fail((*key, "kind"), "needs at least one kind")
    needs_url = [k for k in kinds if k in URL_KINDS]
    needs_address = [k for k in kinds if k in ADDRESS_KINDS]
    url = v.url(item["url"], (*key, "url")) if "url" in item else None
    address = v.address(item["address"], (*key, "address")) if "address" in item else None
    if needs_url and not url:
        raise v.fail(key, f"kind {needs_url[0]!r} needs a 'url'")
    if needs_address and not address:
        raise v.fail(key, f"kind {needs_address[0]!r} needs an 'address' (host:port)")
    return Dependency(
        name=name,
        kinds=tuple(kinds),
        url=url,
        address=address,
        category=category,
        source=f"{v.doc.path}:{v.doc.line(key)}",
    )


def _aws(v: _Validator, value: Any) -> AwsConfig:
    key: PathKey = ("aws",)
    aws = v.mapping(
        value, key, {"regions", "profile", "accounts", "services", "endpoint_url", "organization"}
    )
    out: dict[str, Any] = {}
    if "regions" in aws:
        out["regions"] = _unique(
            v,
            v.seq(aws["regions"], (*key, "regions"), lambda x, k: _region(v, x, k)),
            (*key, "regions"),
        )
    if "profile" in aws:
        out["profile"] = v.string(aws["profile"], (*key, "profile"), allow_none=True)
    if "accounts" in aws:
        out["accounts"] = v.seq(aws["accounts"], (*key, "accounts"), lambda x, k: _account(v, x, k))
    if "services" in aws:
        out["services"] = _unique(
            v,
            v.seq(aws["services"], (*key, "services"), lambda x, k: _service(v, x, k)),
            (*key, "services"),
        )
    if aws.get("endpoint_url") is not None:
        out["endpoint_url"] = v.url(aws["endpoint_url"], (*key, "endpoint_url"))
    if aws.get("organization") is not None:
        out["organization"] = _organization(v, aws["organization"], (*key, "organization"))
        if out.get("accounts"):
            raise v.fail(
                (*key, "organization"),
                "aws.organization lists the accounts itself: remove aws.accounts, or list "
                "the accounts there and drop aws.organization",
            )
    return AwsConfig(**out)


def _organization(v: _Validator, value: Any, key: PathKey) -> AwsOrganization:
    item = v.mapping(value, key, {"role_name", "include", "exclude", "ous"})
    if "role_name" not in item:
        raise v.fail(key, "missing required key 'role_name' (the role every account carries)")
    role = v.string(item["role_name"], (*key, "role_name"))
    if not _ROLE_NAME_RE.match(role):
        raise v.fail((*key, "role_name"), f"{role!r} is not an IAM role name (or path/name)")
    out: dict[str, Any] = {"role_name": role}
    for name in ("include", "exclude"):
        if name in item:
            out[name] = v.seq(item[name], (*key, name), lambda x, k: _glob(v, x, k))
    if "ous" in item:
        out["ous"] = _unique(
            v, v.seq(item["ous"], (*key, "ous"), lambda x, k: _ou(v, x, k)), (*key, "ous")
        )
    return AwsOrganization(**out)


def _glob(v: _Validator, value: Any, key: PathKey) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = f"{value:012d}"  # an unquoted account id reads as a number in YAML
    text = v.string(value, key)
    if not text.strip():
        raise v.fail(key, "an empty pattern matches no account")
    return text


def _ou(v: _Validator, value: Any, key: PathKey) -> str:
    text = v.string(value, key)
    if not _OU_RE.match(text):
        raise v.fail(key, f"{text!r} is not an OU id (ou-xxxx-xxxxxxxx) or root id (r-xxxx)")
    return text


def _region(v: _Validator, value: Any, key: PathKey) -> str:
    text = v.string(value, key)
    if not _REGION_RE.match(text):
        raise v.fail(key, f"{text!r} is not an AWS region name such as us-east-1")
    return text


def _service(v: _Validator, value: Any, key: PathKey) -> str:
    text = v.string(value, key)
    if not _SERVICE_RE.match(text):
        raise v.fail(key, f"{text!r} is not an AWS service name such as s3 or sqs")
    return text


def _account(v: _Validator, value: Any, key: PathKey) -> AwsAccount:
    item = v.mapping(value, key, {"role_arn", "external_id", "name"})
    if "role_arn" not in item:
        raise v.fail(key, "missing required key 'role_arn'")
    arn = v.string(item["role_arn"], (*key, "role_arn"))
    if not _ROLE_ARN_RE.match(arn):
        raise v.fail(
            (*key, "role_arn"),
            f"{arn!r} is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)",
        )
    return AwsAccount(
        role_arn=arn,
        external_id=v.string(item.get("external_id"), (*key, "external_id"), allow_none=True),
        name=v.string(item.get("name"), (*key, "name"), allow_none=True),
    )


def load_config(path: str | Path | None) -> Config:
    """Load and validate a config file; no file means every default."""
    if path is None:
        return Config()
    return parse_config(load_yaml(path))
