"""A moto server on a loopback port for the whole session, boto3 pointed at it with dummy
credentials, and helpers to run the AWS checks against it while recording every API call."""

from __future__ import annotations

import asyncio
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from auditor.aws.actions import iam_action
from auditor.aws.inventory import Inventory
from auditor.config import AwsAccount, AwsConfig, Config
from auditor.context import Limits, RunState
from auditor.model import Finding
from auditor.registry import load_checks
from auditor.runner import RunOutcome, run_checks
from tests.aws.motoserver import BINARY, running_moto_server

# The configuration checks this package tests (aws.endpoint is a network check, not here).
FOUNDATION_CHECKS = (
    "aws.cloudfront.ipv6",
    "aws.ec2.eni_prefix",
    "aws.ec2.imds_ipv6",
    "aws.eip.public_ipv4",
    "aws.elb.dualstack",
    "aws.elb.target_ipv6",
    "aws.lambda.dualstack",
    "aws.nacl.parity",
    "aws.route.ingress_parity",
    "aws.route.ipv6_default",
    "aws.route53.aaaa",
    "aws.s3.policy_sourceip",
    "aws.sg.parity",
    "aws.subnet.assign_ipv6",
    "aws.subnet.dns64",
    "aws.subnet.ipv6_cidr",
    "aws.subnet.public_ipv4",
    "aws.vpc.address_plan",
    "aws.vpc.ipv6_cidr",
    "aws.vpce.dualstack",
    "aws.waf.ipset_parity",
)
CATALOG_V2_CHECKS = (
    "aws.apigw.dualstack",
    "aws.ec2.launch_ipv6",
    "aws.ecs.dualstack",
    "aws.eks.ip_family",
    "aws.elasticache.dualstack",
    "aws.nfw.ipv6",
    "aws.peering.ipv6",
    "aws.rds.dualstack",
    "aws.resolver.endpoint_ipv6",
    "aws.sdk.dualstack",
    "aws.tgw.ipv6",
)
AWS_CHECKS = FOUNDATION_CHECKS + CATALOG_V2_CHECKS

DUMMY_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",  # never ask 169.254.169.254 for credentials
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}
CLEARED_ENV = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
)


@pytest.fixture(scope="session")
def aws_env() -> Iterator[dict[str, str]]:
    """Dummy credentials for the whole session; nothing from the host's AWS config."""
    with pytest.MonkeyPatch.context() as mp:
        for name in CLEARED_ENV:
            mp.delenv(name, raising=False)
        for name, value in DUMMY_ENV.items():
            mp.setenv(name, value)
        yield dict(DUMMY_ENV)


@pytest.fixture(scope="session")
def moto_server(aws_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start `moto_server` once on a free loopback port; stop it by pid at the end."""
    if not BINARY.exists():
        pytest.skip(f"moto_server not installed at {BINARY} (pip install 'moto[server]')")
    with running_moto_server(tmp_path_factory.mktemp("moto") / "moto.log") as url:
        yield url


def reset_moto(url: str) -> None:
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=30) as resp:
        resp.read()


class ApiRecorder:
    """Records the IAM action of every AWS call made through a session it is attached to."""

    def __init__(self) -> None:
        self.actions: set[str] = set()
        self.calls: list[str] = []

    def attach(self, session: boto3.Session) -> None:
        session.events.register("before-call", self._on_call)

    def attach_client(self, client: Any) -> None:
        # first, so it sees the call before a Stubber's handler answers it
        client.meta.events.register_first("before-call.*.*", self._on_call)

    def _on_call(self, model: Any = None, **_: Any) -> None:
        action = iam_action(model.service_model, model.name)
        self.actions.add(action)
        self.calls.append(action)

    def merge(self, other: ApiRecorder) -> None:
        self.actions |= other.actions
        self.calls += other.calls


@pytest.fixture(scope="session")
def suite_calls() -> ApiRecorder:
    """Every AWS call the checks make during the whole test session."""
    return ApiRecorder()


@dataclass
class Scan:
    outcome: RunOutcome
    state: RunState
    recorder: ApiRecorder

    @property
    def findings(self) -> list[Finding]:
        return self.outcome.findings

    def of(self, check_id: str) -> list[Finding]:
        return [f for f in self.findings if f.check_id == check_id]

    def on(self, check_id: str, resource_id: str) -> Finding:
        found = [
            f for f in self.of(check_id) if f.resource is not None and f.resource.id == resource_id
        ]
        assert len(found) == 1, f"{len(found)} {check_id} findings on {resource_id}: " + "; ".join(
            f"{f.status} {f.resource and f.resource.id} {f.message}" for f in self.of(check_id)
        )
        return found[0]

    def statuses(self, check_id: str) -> dict[str, str]:
        return {(f.resource.id if f.resource else ""): str(f.status) for f in self.of(check_id)}


@dataclass
class AwsLab:
    """boto3 clients against the moto server, and a way to run checks against it."""

    url: str
    suite: ApiRecorder
    sessions: dict[str, boto3.Session] = field(default_factory=dict)

    def client(self, service: str, region: str = "us-east-1", session: boto3.Session | None = None):
        session = session or boto3.Session(region_name=region)
        return session.client(service, region_name=region, endpoint_url=self.url)

    def assumed(self, account: str, role: str = "v6audit") -> boto3.Session:
        """A session in another (moto) account, through STS AssumeRole."""
        sts = self.client("sts")
        creds = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/{role}", RoleSessionName="lab-setup"
        )["Credentials"]
        return boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )

    def scan(
        self,
        only: Sequence[str] = AWS_CHECKS,
        *,
        regions: Iterable[str] = ("us-east-1",),
        accounts: Iterable[str] = (),
        endpoint_url: str | None = None,
        max_attempts: int = 3,
        concurrency: int = 50,
        configure: Callable[[Config], Config] | None = None,
    ) -> Scan:
        config = Config(
            workload="lab",
            concurrency=concurrency,
            aws=AwsConfig(
                regions=tuple(regions),
                endpoint_url=endpoint_url or self.url,
                accounts=tuple(AwsAccount(role_arn=a) for a in accounts),
            ),
        )
        if configure is not None:
            config = configure(config)
        return run_scan(config, only, self.suite, max_attempts=max_attempts)


def run_scan(
    config: Config,
    only: Sequence[str],
    suite: ApiRecorder | None = None,
    *,
    max_attempts: int = 3,
    clients: dict[str, dict[str, Any]] | None = None,
) -> Scan:
    """Run `only` with a fresh run state. With `clients` ({region or "global": {service:
    client}}, e.g. clients with a Stubber) the inventory reads through those clients."""
    registry = load_checks()
    checks = [registry.get(c) for c in only]
    assert all(checks), f"unknown check in {only}"
    state = RunState(config=config, limits=Limits(config.concurrency))
    recorder = ApiRecorder()
    if clients is not None:
        for per_service in clients.values():
            for client in per_service.values():
                recorder.attach_client(client)
        state.services["aws"] = Inventory.from_clients(state, clients)
    else:
        state.services["aws"] = Inventory(
            state, on_session=recorder.attach, max_attempts=max_attempts
        )
    outcome = asyncio.run(run_checks(checks, config, registry=registry, state=state))
    if suite is not None:
        suite.merge(recorder)
    return Scan(outcome, state, recorder)


@pytest.fixture
def lab(moto_server: str, suite_calls: ApiRecorder) -> AwsLab:
    """A clean moto (reset before each test) and the helpers to fill and scan it."""
    reset_moto(moto_server)
    return AwsLab(moto_server, suite_calls)


def stub_scan(
    only: Sequence[str], clients: dict[str, dict[str, Any]], suite: ApiRecorder | None = None
) -> Scan:
    """Run checks over stubbed clients (what moto does not store)."""
    regions = tuple(r for r in clients if r != "global") or ("us-east-1",)
    config = Config(workload="stub", aws=AwsConfig(regions=regions))
    return run_scan(config, only, suite, clients=clients)


@pytest.fixture
def field(lab: AwsLab) -> dict:
    """The field scenario (see tests/aws/test_scenario.py) built in a clean moto."""
    from tests.aws.estate import build_field

    return build_field(lab)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that need the moto server carry the `moto` marker (`-m "not moto"` skips them)."""
    for item in items:
        if "moto_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.moto)
