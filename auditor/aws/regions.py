"""botocore's bundled data, read once per process: the data loader every session shares (each
service model is parsed once, not once per account's session), and whether AWS offers a
service in a region, read from the endpoint data (each partition's regions and each service's
regional endpoints).

A region that botocore knows, but where a service lists no endpoint, has no such service:
network firewalls in an ISO region, or a service not yet launched in a new region. Calls there
would only fail on a name that does not resolve; the inventory answers them at once with
:class:`auditor.aws.errors.AwsServiceUnavailable`, which the checks report as `skip` with the
reason. A region botocore does not know at all is never judged here (a newer region than this
botocore): the call is made and its outcome speaks.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from botocore.loaders import Loader, create_loader

from auditor.aws.actions import iam_action
from auditor.aws.errors import AwsServiceUnavailable

if TYPE_CHECKING:
    from botocore.client import BaseClient

    from auditor.aws.inventory import Scope


@functools.cache
def shared_loader() -> Loader:
    """One botocore data loader for every session of the process."""
    return create_loader()


@functools.cache
def endpoint_data() -> dict[str, Any]:
    """botocore's bundled `endpoints.json` (loaded once)."""
    return shared_loader().load_data("endpoints")


def offered(endpoint_prefix: str, region: str, data: dict[str, Any] | None = None) -> bool | None:
    """True when the service (by its endpoint prefix, e.g. ``network-firewall``) has an
    endpoint in `region`; False when botocore knows the region and the service has none there;
    None when the region is unknown to this botocore."""
    data = endpoint_data() if data is None else data
    for partition in data.get("partitions", []):
        if region not in partition.get("regions", {}):
            continue
        service = partition.get("services", {}).get(endpoint_prefix)
        if service is None:
            return False
        if service.get("isRegionalized") is False:  # one global endpoint serves every region
            return True
        endpoint = service.get("endpoints", {}).get(region)
        return endpoint is not None and not endpoint.get("deprecated", False)
    return None


def ensure_offered(client: BaseClient, operation: str, scope: Scope) -> None:
    """Raise AwsServiceUnavailable, naming the IAM action, when the client's service is not
    offered in the scope's region (account-wide scopes are never judged)."""
    model = client.meta.service_model
    if scope.is_global or offered(model.endpoint_prefix, scope.region) is not False:
        return
    op_name = client.meta.method_to_api_mapping.get(operation, operation)
    raise AwsServiceUnavailable(
        f"{model.service_id} is not offered in {scope.region}: botocore's endpoint data lists "
        f"no {model.endpoint_prefix} endpoint there",
        action=iam_action(model, op_name),
        code="ServiceNotInRegion",
    )
