"""Checks of the apis family: API Gateway APIs and custom domain names that answer over IPv6
(`ipAddressType: dualstack`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from auditor.aws.apis import ApiVerdict, domain_verdicts, http_api_verdict, rest_api_verdict
from auditor.aws.findings import verdict
from auditor.aws.helpers import perms, resource
from auditor.aws.inventory import Inventory, Scope
from auditor.context import CheckContext
from auditor.model import Finding
from auditor.registry import check

FAMILY = "apis"
REF_APIGW = (
    "https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-ip-address-type.html"
)
LABELS = {
    "rest-api": "REST API",
    "http-api": "HTTP API",
    "websocket-api": "WebSocket API",
    "apigw-domain": "Custom domain",
}


def _finding(v: ApiVerdict, scope: Scope) -> Finding:
    label = f"{LABELS[v.kind]} {v.name}" + (f" ({v.id})" if v.name != v.id else "")
    res = resource(scope, v.id, v.kind, v.name)
    attribute = "IpAddressType" if v.kind in ("http-api", "websocket-api") else "ipAddressType"
    ev = {"endpoint": v.endpoint or None, "reported": v.reported, "listed_by": v.sources or None}
    if v.ok:
        return verdict(
            "pass",
            f"{label} answers over IPv6 (dualstack)",
            res,
            attribute=attribute,
            value=v.ip_address_type,
            expected="dualstack",
            **ev,
        )
    unset = "" if v.reported else " (not reported: AWS's default)"
    return verdict(
        "fail",
        f"{label} is {v.ip_address_type}{unset}: IPv6-only clients cannot call it; run {v.fix[0]}",
        res,
        attribute=attribute,
        value=v.ip_address_type,
        expected="dualstack",
        fix=v.fix,
        **ev,
    )


@check(
    id="aws.apigw.dualstack",
    title="API Gateway APIs and custom domains are dual-stack",
    family=FAMILY,
    severity="medium",
    stage=2,
    permissions=perms("apigateway:GET"),
    fix_order=60,
    remediation="""
        REST APIs and their custom domains: `aws apigateway update-rest-api` /
        `update-domain-name` with `--patch-operations
        op=replace,path=/endpointConfiguration/ipAddressType,value=dualstack`; HTTP and
        WebSocket APIs: `aws apigatewayv2 update-api --api-id ID --ip-address-type dualstack`.
    """,
    references=[REF_APIGW],
    scope="region",
)
async def apigw_dualstack(
    ctx: CheckContext, inv: Inventory, scope: Scope
) -> AsyncIterator[Finding]:
    """REST APIs (`endpointConfiguration.ipAddressType`), HTTP and WebSocket APIs
    (`IpAddressType`) and custom domain names are `dualstack`."""
    for api in await inv.list(scope, "apigateway", "get_rest_apis"):
        yield _finding(rest_api_verdict(api), scope)
    for api in await inv.list(scope, "apigatewayv2", "get_apis"):
        yield _finding(http_api_verdict(api), scope)
    v1 = await inv.list(scope, "apigateway", "get_domain_names")
    v2 = await inv.list(scope, "apigatewayv2", "get_domain_names")
    for v in domain_verdicts(v1, v2):
        yield _finding(v, scope)
