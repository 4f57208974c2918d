"""The IAM action behind an API operation, e.g. elbv2 DescribeLoadBalancers →
`elasticloadbalancing:DescribeLoadBalancers`."""

from __future__ import annotations

# Operations whose IAM action is not named like the operation. API Gateway (REST and HTTP
# APIs alike) authorises its management API by HTTP verb: every read is `apigateway:GET`.
ACTION_OVERRIDES = {
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("apigateway", "GetRestApis"): "apigateway:GET",
    ("apigateway", "GetDomainNames"): "apigateway:GET",
    ("apigateway", "GetApis"): "apigateway:GET",
}


def iam_action(service_model, operation_name: str) -> str:
    """`service_model` is a botocore ServiceModel (e.g. `client.meta.service_model`)."""
    prefix = service_model.signing_name or service_model.endpoint_prefix
    key = (prefix, operation_name)
    return ACTION_OVERRIDES.get(key, f"{prefix}:{operation_name}")
