"""API Gateway and IPv6: REST APIs, HTTP/WebSocket APIs and custom domain names answer over
IPv6 only with `ipAddressType: dualstack`. Pure functions; checks/apis.py words the findings.

An absent ipAddressType is AWS's default, `ipv4`. Custom domain names are one set shared by
both API Gateway APIs (the v1 and v2 management APIs show the same domains); they are merged by
name so one domain gives one verdict.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

OK = "dualstack"


@dataclass
class ApiVerdict:
    kind: str  # rest-api, http-api, websocket-api, apigw-domain
    id: str
    name: str
    endpoint: str  # REGIONAL, EDGE, PRIVATE (REST, domains) or the protocol (v2)
    ip_address_type: str
    reported: bool
    fix: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # domains: apigateway / apigatewayv2

    @property
    def ok(self) -> bool:
        return self.ip_address_type == OK


def _patch(path: str) -> str:
    return f"--patch-operations op=replace,path={path},value=dualstack"


def rest_api_verdict(api: Mapping) -> ApiVerdict:
    conf = api.get("endpointConfiguration") or {}
    value = conf.get("ipAddressType")
    aid = str(api.get("id", ""))
    v = ApiVerdict(
        kind="rest-api",
        id=aid,
        name=str(api.get("name", "")),
        endpoint=",".join(conf.get("types") or []) or "EDGE",
        ip_address_type=str(value or "ipv4"),
        reported=value is not None,
    )
    if not v.ok:
        v.fix = [
            f"aws apigateway update-rest-api --rest-api-id {aid} "
            + _patch("/endpointConfiguration/ipAddressType")
        ]
    return v


def http_api_verdict(api: Mapping) -> ApiVerdict:
    value = api.get("IpAddressType")
    aid = str(api.get("ApiId", ""))
    protocol = str(api.get("ProtocolType", "HTTP"))
    v = ApiVerdict(
        kind="websocket-api" if protocol == "WEBSOCKET" else "http-api",
        id=aid,
        name=str(api.get("Name", "")),
        endpoint=protocol,
        ip_address_type=str(value or "ipv4"),
        reported=value is not None,
    )
    if not v.ok:
        v.fix = [f"aws apigatewayv2 update-api --api-id {aid} --ip-address-type dualstack"]
    return v


def domain_verdicts(v1: Iterable[Mapping], v2: Iterable[Mapping]) -> list[ApiVerdict]:
    """One verdict per custom domain name, whichever management API lists it. A domain is
    dual-stack when every configuration of it is."""
    seen: dict[str, ApiVerdict] = {}
    for d in v1:
        name = str(d.get("domainName", ""))
        conf = d.get("endpointConfiguration") or {}
        value = conf.get("ipAddressType")
        _merge(
            seen,
            name,
            ",".join(conf.get("types") or []),
            value,
            "apigateway",
            f"aws apigateway update-domain-name --domain-name {name} "
            + _patch("/endpointConfiguration/ipAddressType"),
        )
    for d in v2:
        name = str(d.get("DomainName", ""))
        configs = d.get("DomainNameConfigurations") or [{}]
        for conf in configs:
            value = conf.get("IpAddressType")
            _merge(
                seen,
                name,
                str(conf.get("EndpointType") or ""),
                value,
                "apigatewayv2",
                f"aws apigatewayv2 update-domain-name --domain-name {name} "
                "--domain-name-configurations CertificateArn=<its certificate>,"
                "EndpointType=REGIONAL,IpAddressType=dualstack",
            )
    return [seen[k] for k in sorted(seen)]


def _merge(
    seen: dict[str, ApiVerdict],
    name: str,
    endpoint: str,
    value: object,
    source: str,
    fix: str,
) -> None:
    value_s = str(value or "ipv4")
    v = seen.get(name)
    if v is None:
        v = seen[name] = ApiVerdict(
            kind="apigw-domain",
            id=name,
            name=name,
            endpoint=endpoint,
            ip_address_type=value_s,
            reported=value is not None,
        )
    elif v.ip_address_type == OK and value_s != OK:
        v.ip_address_type, v.reported = value_s, value is not None
    if source not in v.sources:
        v.sources.append(source)
    if value_s != OK and not v.fix:
        v.fix = [fix]
