"""What can go wrong when reading AWS, sorted by what the report should say about it."""

from __future__ import annotations


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
