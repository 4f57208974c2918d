"""What can go wrong when reading AWS, sorted by what the report should say about it, and
`classify`, which turns a botocore failure into one of these."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)

if TYPE_CHECKING:
    from auditor.aws.inventory import Scope


class AwsError(Exception):
    """A listing could not be read. `action` is the IAM action of the failed call."""

    def __init__(self, message: str, *, action: str = "", code: str = "", detail: str = "") -> None:
        super().__init__(message)
        self.action = action
        self.code = code
        self.detail = detail

    def evidence(self) -> dict[str, str]:
        out = {"error": type(self).__name__}
        if self.action:
            out["action"] = self.action
        if self.code:
            out["code"] = self.code
        if self.detail:
            out["detail"] = self.detail[:500]
        return out


class AwsNoCredentials(AwsError):
    """No usable credentials at all: the scan cannot read any account."""


class AwsCredentialsRejected(AwsError):
    """AWS refused the credentials in one scope (AuthFailure, InvalidClientTokenId,
    UnrecognizedClientException…): invalid, expired, or a region that is not enabled. It is never
    a verdict and never a skip: the scope was not checked."""


class AwsAccessDenied(AwsError):
    """The audit identity lacks `action` (AccessDenied, UnauthorizedOperation…)."""


class AwsRegionDisabled(AwsError):
    """The region is not enabled for the account (opt-in region, or disabled by policy)."""


class AwsThrottled(AwsError):
    """Still throttled after every retry: not a verdict about the configuration."""


class AwsApiError(AwsError):
    """Any other failure: endpoint unreachable, unexpected error code, malformed answer."""


class AwsServiceUnavailable(AwsError):
    """AWS does not offer the service in the region: nothing there to audit."""


# --- AWS's error codes, sorted by what they mean for the report -------------------------------

ACCESS_DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthorizationError",
        "AuthorizationErrorException",
        "Forbidden",
        "UnauthorizedAccess",
    }
)
REGION_DISABLED_CODES = frozenset({"OptInRequired", "SubscriptionRequiredException"})
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "RequestThrottled",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
        "BandwidthLimitExceeded",
        "ProvisionedThroughputExceededException",
    }
)
# The credentials were refused. AWS answers so for invalid or expired credentials, and also in
# an opt-in region that is not enabled: which one it is cannot be told from the answer, so it is
# an `error` that names both, never a skip (a skip would let a CI gate pass).
CREDENTIAL_CODES = frozenset(
    {
        "AuthFailure",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
    }
)
# GetCallerIdentity answers these in a region that is not enabled: ask the next region.
CALLER_RETRY_CODES = REGION_DISABLED_CODES | {
    "AuthFailure",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
}


def error_parts(exc: ClientError) -> tuple[str, str]:
    err = exc.response.get("Error", {}) if isinstance(exc.response, dict) else {}
    return str(err.get("Code", "")), str(err.get("Message", ""))


def classify(exc: BaseException, action: str, scope: Scope) -> AwsError:
    """Turn a botocore failure into the AwsError the report needs."""
    if isinstance(exc, AwsError):
        return exc
    if isinstance(exc, ClientError):
        code, message = error_parts(exc)
        if code in ACCESS_DENIED_CODES:
            return AwsAccessDenied(
                f"{action} denied in {scope.where}", action=action, code=code, detail=message
            )
        if code in THROTTLING_CODES:
            attempts = exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
            return AwsThrottled(
                f"{action} still throttled in {scope.where} after {attempts} retries",
                action=action,
                code=code,
                detail=message,
            )
        if code in CREDENTIAL_CODES:
            where = scope.where if scope.is_global else scope.region
            return AwsCredentialsRejected(
                f"AWS rejected the credentials in {where} ({code}) calling {action}: they are "
                "invalid or expired, or the region is not enabled for account "
                f"{scope.account} (then remove it from aws.regions)",
                action=action,
                code=code,
                detail=message,
            )
        if code in REGION_DISABLED_CODES and not scope.is_global:
            return AwsRegionDisabled(
                f"region {scope.region} is not enabled for account {scope.account}",
                action=action,
                code=code,
                detail=message,
            )
        return AwsApiError(
            f"{action} failed in {scope.where}: {code}: {message}",
            action=action,
            code=code,
            detail=message,
        )
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return AwsNoCredentials(f"no usable AWS credentials: {exc}", action=action)
    if isinstance(
        exc,
        EndpointConnectionError | ConnectTimeoutError | ReadTimeoutError | ConnectionClosedError,
    ):
        return AwsApiError(
            f"{action}: cannot reach the endpoint for {scope.where}: {exc}",
            action=action,
            code=type(exc).__name__,
        )
    return AwsApiError(
        f"{action} failed in {scope.where}: {type(exc).__name__}: {exc}",
        action=action,
        code=type(exc).__name__,
    )
