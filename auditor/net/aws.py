"""Dual-stack AWS API endpoints, derived from botocore's own endpoint rules.

The endpoint a botocore client with ``use_dualstack_endpoint`` calls is what the service's
endpoint rule set (``endpoint-rule-set-1``) yields for ``UseDualStack=true`` in that region's
partition. Evaluating the same rules here, with botocore's own rules engine and data, gives the
exact host an SDK would use; no list of hosts is kept by hand. No credentials are needed.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import botocore.exceptions
import botocore.session
from botocore.endpoint_provider import EndpointProvider

NO_DUALSTACK = "no-dualstack"
UNKNOWN_SERVICE = "unknown-service"
RULES_ERROR = "rules"


@dataclass(frozen=True)
class DualStackEndpoint:
    service: str
    region: str
    url: str | None = None
    error: str | None = None
    error_kind: str | None = None  # no-dualstack, unknown-service, rules

    @property
    def host(self) -> str | None:
        return urlsplit(self.url).hostname if self.url else None

    @property
    def port(self) -> int:
        return (urlsplit(self.url).port or 443) if self.url else 443


@functools.lru_cache(maxsize=1)
def _loader() -> Any:
    return botocore.session.get_session().get_component("data_loader")


@functools.lru_cache(maxsize=1)
def _partitions() -> dict[str, Any]:
    return _loader().load_data("partitions")


@functools.lru_cache(maxsize=256)
def _ruleset(service: str) -> dict[str, Any]:
    return _loader().load_service_model(service, "endpoint-rule-set-1")


def dualstack_endpoint(
    service: str, region: str, *, partitions: dict[str, Any] | None = None
) -> DualStackEndpoint:
    """The dual-stack endpoint of `service` in `region`, or why there is none.

    `partitions` replaces botocore's partition data (tests of a partition without dual-stack).
    """
    try:
        ruleset = _ruleset(service)
    except botocore.exceptions.UnknownServiceError:
        return DualStackEndpoint(
            service,
            region,
            error=f"botocore knows no service {service!r}",
            error_kind=UNKNOWN_SERVICE,
        )
    except botocore.exceptions.DataNotFoundError:
        return DualStackEndpoint(
            service,
            region,
            error=f"botocore has no endpoint rules for {service!r}",
            error_kind=RULES_ERROR,
        )
    params = ruleset.get("parameters", {})
    wanted = {"Region": region, "UseDualStack": True, "UseFIPS": False}
    if "UseDualStack" not in params:
        return DualStackEndpoint(
            service,
            region,
            error=f"the endpoint rules of {service} have no dual-stack option",
            error_kind=NO_DUALSTACK,
        )
    provider = EndpointProvider(ruleset, partitions if partitions is not None else _partitions())
    try:
        endpoint = provider.resolve_endpoint(**{k: v for k, v in wanted.items() if k in params})
    except botocore.exceptions.EndpointResolutionError as exc:
        text = str(exc).removeprefix("Error resolving endpoint: ").strip()
        kind = NO_DUALSTACK if "dualstack" in text.lower().replace("-", "") else RULES_ERROR
        return DualStackEndpoint(service, region, error=text, error_kind=kind)
    return DualStackEndpoint(service, region, url=endpoint.url)
