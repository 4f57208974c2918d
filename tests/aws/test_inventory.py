"""The inventory: one fetch per account/region/operation, pagination, accounts through
AssumeRole, and errors that become the right findings (real botocore against a fault proxy in
front of moto)."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from auditor.aws.actions import iam_action
from auditor.config import AwsConfig, Config
from auditor.model import Status
from tests.aws.conftest import AWS_CHECKS, run_scan
from tests.aws.estate import ip_set, make_subnet, make_vpc, web_acl
from tests.aws.fault_proxy import FaultProxy


def test_each_listing_is_fetched_once_per_region_and_shared(lab):
    for region in ("us-east-1", "eu-west-1"):
        ec2 = lab.client("ec2", region)
        vpc = make_vpc(ec2)
        make_subnet(ec2, vpc, "100.64.0.0/24")
    scan = lab.scan(AWS_CHECKS, regions=("us-east-1", "eu-west-1"))
    calls = Counter(scan.recorder.calls)
    # DescribeSubnets feeds nine checks, DescribeVpcs two, DescribeRouteTables three
    assert calls["ec2:DescribeSubnets"] == 2
    assert calls["ec2:DescribeVpcs"] == 2
    assert calls["ec2:DescribeRouteTables"] == 2
    assert calls["ec2:DescribeNetworkInterfaces"] == 2
    assert calls["elasticloadbalancing:DescribeLoadBalancers"] == 4  # elbv2 + classic
    assert calls["wafv2:ListWebACLs"] == 3  # two regions + CloudFront scope
    assert calls["s3:ListAllMyBuckets"] == 1  # account-wide
    assert calls["cloudfront:ListDistributions"] == 1
    assert calls["sts:GetCallerIdentity"] == 1
    regions = {f.resource.region for f in scan.of("aws.vpc.ipv6_cidr")}
    assert regions == {"us-east-1", "eu-west-1"}


def test_lists_without_a_botocore_paginator_are_followed(lab):
    waf = lab.client("wafv2", "eu-west-1")
    v4 = ip_set(waf, "v4", "IPV4")
    for i in range(105):  # two pages of 100
        web_acl(waf, f"acl-{i:03d}", [("r", {"IPSetReferenceStatement": {"ARN": v4}})])
    scan = lab.scan(["aws.waf.ipset_parity"], regions=("eu-west-1",))
    findings = [f for f in scan.of("aws.waf.ipset_parity") if f.resource.region == "eu-west-1"]
    assert len(findings) == 105 and all(f.status is Status.FAIL for f in findings)
    assert Counter(scan.recorder.calls)["wafv2:ListWebACLs"] == 3  # 2 pages + CloudFront scope


def test_accounts_are_assumed_and_scanned(lab):
    target = lab.assumed("222222222222")
    ec2 = lab.client("ec2", session=target)
    legacy = make_vpc(ec2, "10.1.0.0/16", ipv6=False)
    scan = lab.scan(
        ["aws.vpc.ipv6_cidr"],
        accounts=(
            "arn:aws:iam::111111111111:role/v6audit",
            "arn:aws:iam::222222222222:role/v6audit",
        ),
    )
    accounts = {f.resource.account for f in scan.of("aws.vpc.ipv6_cidr")}
    assert accounts == {"111111111111", "222222222222"}  # not the base account
    fail = scan.on("aws.vpc.ipv6_cidr", legacy.id)
    assert fail.resource.account == "222222222222" and fail.status is Status.FAIL
    assert Counter(scan.recorder.calls)["sts:AssumeRole"] == 2


def _proxied_scan(lab, proxy, only, **kw):
    return lab.scan(only, endpoint_url=proxy.url, **kw)


def test_access_denied_names_the_missing_action(lab):
    def deny_sgs(req):
        if req.action == "DescribeSecurityGroups":
            return 403, "UnauthorizedOperation"
        return None

    with FaultProxy(lab.url, deny_sgs) as proxy:
        scan = _proxied_scan(lab, proxy, ["aws.sg.parity", "aws.vpc.ipv6_cidr"])
    (err,) = scan.of("aws.sg.parity")
    assert err.status is Status.ERROR
    assert err.evidence["action"] == "ec2:DescribeSecurityGroups"
    assert err.evidence["code"] == "UnauthorizedOperation"
    assert "denied ec2:DescribeSecurityGroups" in err.message
    assert err.resource.id == "123456789012/us-east-1"
    assert all(f.status is not Status.ERROR for f in scan.of("aws.vpc.ipv6_cidr"))
    assert proxy.seen["ec2:DescribeSecurityGroups@us-east-1"] == 1  # denial is not retried


def test_throttling_is_retried_with_backoff(lab):
    make_vpc(lab.client("ec2"), "10.2.0.0/16", ipv6=False)
    throttled = Counter()

    def throttle_twice(req):
        if req.action == "DescribeVpcs" and throttled["n"] < 2:
            throttled["n"] += 1
            return 503, "RequestLimitExceeded"
        return None

    with FaultProxy(lab.url, throttle_twice) as proxy:
        scan = _proxied_scan(lab, proxy, ["aws.vpc.ipv6_cidr"])
    assert proxy.seen["ec2:DescribeVpcs@us-east-1"] == 3
    statuses = {str(f.status) for f in scan.of("aws.vpc.ipv6_cidr")}
    assert statuses == {"fail"}  # the verdicts of a normal run, after two retries


def test_throttling_that_never_ends_is_an_error_not_a_verdict(lab):
    def always(req):
        return (503, "RequestLimitExceeded") if req.action == "DescribeVpcs" else None

    with FaultProxy(lab.url, always) as proxy:
        start = time.monotonic()
        scan = _proxied_scan(lab, proxy, ["aws.vpc.ipv6_cidr"], max_attempts=2)
        assert time.monotonic() - start < 60
    (err,) = scan.of("aws.vpc.ipv6_cidr")
    assert err.status is Status.ERROR and err.evidence["error"] == "AwsThrottled"
    assert "still throttled" in err.message
    assert proxy.seen["ec2:DescribeVpcs@us-east-1"] == 2


def test_region_not_enabled_is_skipped_with_the_reason(lab):
    def disabled(req):
        return (401, "OptInRequired") if req.region == "ap-east-1" else None

    with FaultProxy(lab.url, disabled) as proxy:
        scan = _proxied_scan(lab, proxy, ["aws.vpc.ipv6_cidr"], regions=("us-east-1", "ap-east-1"))
    skipped = [f for f in scan.of("aws.vpc.ipv6_cidr") if f.resource.region == "ap-east-1"]
    assert [str(f.status) for f in skipped] == ["skip"]
    assert "region ap-east-1 is not enabled for account 123456789012 (OptInRequired)" in (
        skipped[0].message
    )
    assert skipped[0].resource.id == "123456789012/ap-east-1"
    assert {
        str(f.status) for f in scan.of("aws.vpc.ipv6_cidr") if f.resource.region == "us-east-1"
    } == {"fail"}


def test_assume_role_denied_is_an_error_for_that_account_only(lab):
    def deny_role(req):
        if req.action == "AssumeRole" and b"333333333333" in req.body:
            return 403, "AccessDenied"
        return None

    with FaultProxy(lab.url, deny_role) as proxy:
        scan = _proxied_scan(
            lab,
            proxy,
            ["aws.vpc.ipv6_cidr", "aws.cloudfront.ipv6"],
            accounts=(
                "arn:aws:iam::111111111111:role/v6audit",
                "arn:aws:iam::333333333333:role/v6audit",
            ),
        )
    denied = [f for f in scan.findings if f.resource and f.resource.account == "333333333333"]
    assert {(f.check_id, str(f.status)) for f in denied} == {
        ("aws.vpc.ipv6_cidr", "error"),
        ("aws.cloudfront.ipv6", "error"),
    }
    assert all(f.evidence["action"] == "sts:AssumeRole" for f in denied)
    assert "cannot assume arn:aws:iam::333333333333:role/v6audit" in denied[0].message
    assert any(f.resource.account == "111111111111" for f in scan.of("aws.vpc.ipv6_cidr"))
    assert scan.state.problems == []


def test_no_credentials_is_one_fatal_problem_and_errors(moto_server, monkeypatch, suite_calls):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    config = Config(aws=AwsConfig(regions=("us-east-1",), endpoint_url=moto_server))
    scan = run_scan(config, AWS_CHECKS, suite_calls)
    assert len(scan.findings) == len(AWS_CHECKS)
    assert {str(f.status) for f in scan.findings} == {"error"}
    assert all("no AWS credentials found" in f.message for f in scan.findings)
    assert scan.state.problems == [
        {"level": "error", "source": "aws", "message": scan.state.problems[0]["message"]}
    ]
    assert scan.outcome.incomplete


def test_unknown_profile_is_fatal(moto_server, suite_calls):
    config = Config(aws=AwsConfig(regions=("us-east-1",), endpoint_url=moto_server, profile="nope"))
    scan = run_scan(config, ["aws.vpc.ipv6_cidr"], suite_calls)
    (err,) = scan.findings
    assert err.status is Status.ERROR and "AWS profile 'nope' not found" in err.message
    assert scan.outcome.incomplete


def test_rejected_credentials_are_fatal(lab):
    def reject(req):
        return (403, "InvalidClientTokenId") if req.action == "GetCallerIdentity" else None

    with FaultProxy(lab.url, reject) as proxy:
        scan = _proxied_scan(lab, proxy, ["aws.vpc.ipv6_cidr"])
    (err,) = scan.findings
    assert err.status is Status.ERROR
    assert "AWS rejected the credentials (InvalidClientTokenId" in err.message
    assert scan.outcome.incomplete


@pytest.mark.parametrize(
    ("service", "operation", "action"),
    [
        ("ec2", "DescribeSecurityGroups", "ec2:DescribeSecurityGroups"),
        ("elbv2", "DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancers"),
        ("elb", "DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancers"),
        ("s3", "ListBuckets", "s3:ListAllMyBuckets"),
        ("s3", "GetBucketPolicy", "s3:GetBucketPolicy"),
        ("lambda", "ListFunctions", "lambda:ListFunctions"),
        ("wafv2", "GetIPSet", "wafv2:GetIPSet"),
        ("route53", "ListResourceRecordSets", "route53:ListResourceRecordSets"),
        ("cloudfront", "ListDistributions", "cloudfront:ListDistributions"),
    ],
)
def test_iam_action_names(service, operation, action):
    import boto3

    client = boto3.Session(region_name="us-east-1").client(service)
    assert iam_action(client.meta.service_model, operation) == action


def test_no_client_is_created_in_worker_threads(lab, monkeypatch):
    """Clients are made up front on one thread; API calls then run in worker threads."""
    import threading

    import boto3

    made_on: set[str] = set()
    original = boto3.Session.client

    def spy(self, *args, **kwargs):
        made_on.add(threading.current_thread().name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(boto3.Session, "client", spy)
    lab.scan(AWS_CHECKS, regions=("us-east-1", "eu-west-1", "ap-southeast-2"))
    assert len(made_on) == 1, made_on


def test_assumed_role_credentials_are_renewed_before_they_expire(lab):
    scan = lab.scan(["aws.vpc.ipv6_cidr"], accounts=("arn:aws:iam::333333333333:role/v6audit",))
    assert Counter(scan.recorder.calls)["sts:AssumeRole"] == 1
    [setup] = scan.state.services["aws"]._accounts
    credentials = setup.clients["us-east-1"]["ec2"]._request_signer._credentials
    assert credentials.method == "assume-role"
    first = credentials.get_frozen_credentials()
    credentials._expiry_time = credentials._expiry_time.replace(year=2000)  # as after an hour
    renewed = credentials.get_frozen_credentials()
    assert renewed.access_key != first.access_key
