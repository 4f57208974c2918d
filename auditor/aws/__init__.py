"""Reading AWS for the configuration checks: credentials and scopes, the shared inventory,
error classification, parity logic and helpers."""

from auditor.aws.errors import (
    AwsAccessDenied,
    AwsApiError,
    AwsCredentialsRejected,
    AwsError,
    AwsNoCredentials,
    AwsRegionDisabled,
    AwsThrottled,
)
from auditor.aws.inventory import GLOBAL, AccountSetup, Inventory, Scope

__all__ = [
    "GLOBAL",
    "AccountSetup",
    "AwsAccessDenied",
    "AwsApiError",
    "AwsCredentialsRejected",
    "AwsError",
    "AwsNoCredentials",
    "AwsRegionDisabled",
    "AwsThrottled",
    "Inventory",
    "Scope",
]
