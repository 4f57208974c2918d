"""Dual-stack endpoint derivation from botocore's rules, and the IMDSv2 probe."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path

import botocore.config
import botocore.session
import httpx
import pytest
import respx

from auditor.net import aws
from auditor.net.imds import on_ec2, probe_imds
from auditor.net.probe import Prober


class _Sent(Exception):
    def __init__(self, url: str) -> None:
        self.url = url


def sdk_url(service: str, region: str, operation: str, **params: object) -> str:
    """The URL a real botocore client with use_dualstack_endpoint sends to (caught before
    anything leaves the process)."""
    session = botocore.session.get_session()
    client = session.create_client(
        service,
        region_name=region,
        config=botocore.config.Config(use_dualstack_endpoint=True, retries={"max_attempts": 0}),
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
    )

    def stop(request, **_kw) -> None:
        raise _Sent(request.url)

    client.meta.events.register("before-send", stop)
    with pytest.raises(_Sent) as sent:
        getattr(client, operation)(**params)
    return sent.value.url


@pytest.mark.parametrize(
    ("service", "region", "operation", "expected"),
    [
        ("s3", "us-east-1", "list_buckets", "https://s3.dualstack.us-east-1.amazonaws.com"),
        ("s3", "eu-west-1", "list_buckets", "https://s3.dualstack.eu-west-1.amazonaws.com"),
        ("sqs", "us-east-1", "list_queues", "https://sqs.us-east-1.api.aws"),
        ("sts", "us-east-1", "get_caller_identity", "https://sts.us-east-1.api.aws"),
        ("logs", "eu-west-1", "describe_log_groups", "https://logs.eu-west-1.api.aws"),
        ("ecr", "us-east-1", "describe_repositories", "https://ecr.us-east-1.api.aws"),
        ("sqs", "cn-north-1", "list_queues", "https://sqs.cn-north-1.api.amazonwebservices.com.cn"),
    ],
)
def test_derived_endpoint_is_the_one_the_sdk_calls(
    service: str, region: str, operation: str, expected: str
) -> None:
    derived = aws.dualstack_endpoint(service, region)
    assert derived.error is None
    assert derived.url == expected
    assert derived.host == expected.removeprefix("https://") and derived.port == 443
    assert sdk_url(service, region, operation).startswith(expected + "/")


def test_unknown_service_is_named() -> None:
    got = aws.dualstack_endpoint("monitoring", "us-east-1")  # botocore calls it "cloudwatch"
    assert got.error_kind == aws.UNKNOWN_SERVICE and "monitoring" in (got.error or "")


def test_a_partition_without_dual_stack_gives_no_endpoint() -> None:
    partitions = copy.deepcopy(aws._partitions())
    for partition in partitions["partitions"]:
        partition["outputs"]["supportsDualStack"] = False
    got = aws.dualstack_endpoint("sqs", "us-east-1", partitions=partitions)
    assert got.url is None and got.error_kind == aws.NO_DUALSTACK
    assert "DualStack" in (got.error or "")


# --------------------------------------------------------------------------- IMDS

IMDS = "http://[fd00:ec2::254]"


def test_imdsv2_token_then_metadata() -> None:
    async def main() -> None:
        prober = Prober(timeout=1)
        with respx.mock(assert_all_called=True) as mock:
            put = mock.put(f"{IMDS}/latest/api/token").respond(200, text="AQAEAtoken==")
            get = mock.get(f"{IMDS}/latest/meta-data/instance-id").respond(
                200, text="i-0123456789abcdef0"
            )
            result = await probe_imds(prober)
        await prober.aclose()
        assert put.calls.last.request.headers["x-aws-ec2-metadata-token-ttl-seconds"] == "60"
        assert get.calls.last.request.headers["x-aws-ec2-metadata-token"] == "AQAEAtoken=="
        assert result.ok and result.problem == ""
        assert "AQAEA" not in result.token.answer  # the token never reaches a report
        assert result.metadata is not None and "i-0123456789abcdef0" in result.metadata.answer

    asyncio.run(main())


@pytest.mark.parametrize(
    ("token", "meta", "problem"),
    [
        (httpx.ConnectError("refused"), None, "no answer at [fd00:ec2::254]:80"),
        (httpx.ReadTimeout("hop limit"), None, "the token PUT was accepted but no answer"),
        (httpx.Response(403), None, "the IMDSv2 token PUT answered HTTP 403"),
        (
            httpx.Response(200, text="tok"),
            httpx.Response(401),
            "the metadata GET with the token answered HTTP 401",
        ),
    ],
)
def test_imds_failures(token: object, meta: object, problem: str) -> None:
    async def main() -> None:
        prober = Prober(timeout=1)
        with respx.mock() as mock:
            route = mock.put(f"{IMDS}/latest/api/token")
            if isinstance(token, Exception):
                route.mock(side_effect=token)
            else:
                route.mock(return_value=token)
            if meta is not None:
                mock.get(f"{IMDS}/latest/meta-data/instance-id").mock(return_value=meta)
            result = await probe_imds(prober)
        await prober.aclose()
        assert not result.ok
        assert result.problem.startswith(problem), result.problem

    asyncio.run(main())


def test_ec2_detection_from_dmi_and_hypervisor_files(tmp_path: Path) -> None:
    dmi = tmp_path / "sys/devices/virtual/dmi/id"
    dmi.mkdir(parents=True)
    (dmi / "sys_vendor").write_text("QEMU\n")
    ok, why = on_ec2(tmp_path)
    assert not ok and "QEMU" in why
    (dmi / "board_vendor").write_text("Amazon EC2\n")
    assert on_ec2(tmp_path)[0]
    xen = tmp_path / "xen"
    (xen / "sys/hypervisor").mkdir(parents=True)
    (xen / "sys/hypervisor/uuid").write_text("ec2e1916-9099-7caf-fd21-012345abcdef\n")
    assert on_ec2(xen) == (True, f"{xen}/sys/hypervisor/uuid starts with 'ec2'")
    assert on_ec2(tmp_path / "nothing") == (False, "no DMI vendor or hypervisor UUID files to read")
