"""The AWS inventory: every listing fetched once per account/region/operation and shared by
all checks of a run.

Scopes are accounts x regions: the account of the base credentials (profile, environment,
instance or container role), or the accounts of `aws.accounts[].role_arn` assumed through the
regional STS endpoint. Sessions are created up front, each client on first use, one at a time
(client creation is not thread-safe); API calls then run in worker threads under one bounded
semaphore, with botocore's adaptive retry mode absorbing throttling.

A check asks ``await inv.list(scope, "ec2", "describe_security_groups")`` and receives the
whole (paginated) list; the same call from another check waits for, and shares, the first.
Returned objects are shared: checks must not modify them. Failures are cached too and raised
as :mod:`auditor.aws.errors` exceptions that name the IAM action.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
import botocore.session
import jmespath
from botocore.config import Config as BotoConfig
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)
from botocore.parsers import ResponseParserError

from auditor import __version__
from auditor.aws.actions import iam_action
from auditor.aws.errors import (
    CALLER_RETRY_CODES,
    AwsAccessDenied,
    AwsApiError,
    AwsError,
    AwsNoCredentials,
    classify,
    error_parts,
)
from auditor.aws.organization import (
    NoMembers,
    listing_action,
    organization_members,
    parse_shard,
)
from auditor.aws.regions import ensure_offered, shared_loader
from auditor.config import AwsAccount
from auditor.model import Resource

if TYPE_CHECKING:
    from botocore.client import BaseClient

    from auditor.context import RunState

GLOBAL = "global"
CATALOG_SERVICES = ("rds", "elasticache", "eks", "ecs", "route53resolver", "network-firewall")
CATALOG_SERVICES += ("apigateway", "apigatewayv2", "autoscaling")
REGIONAL_SERVICES = ("ec2", "elbv2", "elb", "lambda", "wafv2", *CATALOG_SERVICES)
GLOBAL_SERVICES = ("cloudfront", "route53", "s3", "wafv2")  # wafv2: CLOUDFRONT-scope web ACLs
PARTITION_HOME = {"aws": "us-east-1", "aws-cn": "cn-northwest-1", "aws-us-gov": "us-gov-west-1"}
MAX_API_CONCURRENCY = 16  # API rate limits are per account and region; more only throttles
DEFAULT_MAX_ATTEMPTS = 10
ROLE_SESSION_NAME = "v6audit"
ASSUME_ROLE_CONCURRENCY = 16


@dataclass(frozen=True)
class Scope:
    """One account in one region; `region` is ``global`` for account-wide services
    (CloudFront, Route 53, S3 bucket listing, CLOUDFRONT-scope WAF)."""

    account: str
    region: str
    label: str = ""

    @property
    def is_global(self) -> bool:
        return self.region == GLOBAL

    @property
    def where(self) -> str:
        who = f"account {self.account}" + (f" ({self.label})" if self.label else "")
        return who if self.is_global else f"{who} in {self.region}"

    def resource(self) -> Resource:
        """The scope itself, for findings about a whole account/region."""
        kind = "aws-account" if self.is_global else "aws-region"
        return Resource(
            id=f"{self.account}/{self.region}",
            kind=kind,
            name=self.label,
            account=self.account,
            region=self.region,
        )


@dataclass
class AccountSetup:
    account: str
    label: str = ""
    error: AwsError | None = None
    clients: dict[str, dict[str, BaseClient]] = field(default_factory=dict)  # region → service
    session: boto3.Session | None = None  # makes the clients on first use (None: preset only)
    home: str = ""  # the region of the account-wide clients


Wanted = tuple[AccountSetup, AwsAccount | None]  # an account, and the role to assume (or none)


def _freeze(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=str)


async def in_daemon_thread(func: Callable[..., Any], *args: Any) -> Any:
    """Run a blocking botocore call in a daemon thread and await its result.

    Not `asyncio.to_thread`: the default executor's threads are joined when the event loop and
    the interpreter shut down, so one AWS call that never answers would hold the process long
    after `check_timeout` ended its check and the report was written. A daemon thread is left
    behind instead; its result, if it ever comes, is dropped.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def work() -> None:
        try:
            outcome: tuple[Any, BaseException | None] = (func(*args), None)
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting coroutine
            outcome = (None, exc)
        # a closed loop (RuntimeError) means nobody waits for this answer any more
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, *outcome)

    threading.Thread(target=work, name="v6audit-aws", daemon=True).start()
    return await future


class Inventory:
    """Run-wide AWS reader: ``ctx.service("aws", Inventory)``.

    `on_session` is called with every boto3 session before its clients are made (tests use it
    to register botocore event hooks); `max_attempts` bounds botocore's adaptive retries.
    """

    def __init__(
        self,
        state: RunState,
        *,
        on_session: Callable[[boto3.Session], None] | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        accounts: list[AccountSetup] | None = None,
    ) -> None:
        self._state = state
        self._aws = state.config.aws
        self._on_session = on_session
        self._max_attempts = max_attempts
        self._slots_n = max(1, min(state.config.concurrency, MAX_API_CONCURRENCY))
        self._slots: asyncio.Semaphore | None = None
        self._preset = accounts
        self._making = threading.Lock()  # clients are made one at a time
        self._accounts: list[AccountSetup] | None = accounts
        self.regions: tuple[str, ...] = tuple(self._aws.regions)
        self._base: boto3.Session | None = None
        self._readers: dict[tuple[str, str], BaseClient] = {}

    @classmethod
    def from_clients(
        cls,
        state: RunState,
        clients: dict[str, dict[str, BaseClient]],
        *,
        account: str = "123456789012",
        label: str = "",
    ) -> Inventory:
        """An inventory over ready-made clients ({region or "global": {service: client}}),
        e.g. clients with a botocore Stubber attached."""
        inv = cls(state, accounts=[AccountSetup(account, label, None, clients)])
        inv.regions = tuple(r for r in clients if r != GLOBAL)
        return inv

    # --- setup -------------------------------------------------------------------------------

    def _client_config(self, service: str) -> BotoConfig:
        extra: dict[str, Any] = {}
        if service == "s3" and self._aws.endpoint_url:
            extra["s3"] = {"addressing_style": "path"}
        return BotoConfig(
            retries={"mode": "adaptive", "total_max_attempts": self._max_attempts},
            max_pool_connections=self._slots_n,
            connect_timeout=10,
            read_timeout=60,
            user_agent_extra=f"v6audit/{__version__}",
            **extra,
        )

    def _new_session(
        self, *, profile: str | None = None, credentials: RefreshableCredentials | None = None
    ) -> boto3.Session:
        core = botocore.session.Session(profile=profile)
        core.register_component("data_loader", shared_loader())  # models parsed once a process
        core.set_config_variable("sts_regional_endpoints", "regional")
        if credentials is not None:
            core._credentials = credentials  # botocore's way to give a session refreshable creds
        session = boto3.Session(botocore_session=core)
        if self._on_session is not None:
            self._on_session(session)
        return session

    def _assumed_session(self, sts: BaseClient, params: dict[str, Any]) -> boto3.Session:
        """A session on the role's credentials, assumed again before they expire (a scan of a
        large organisation can outlast the default hour)."""

        def fetch() -> dict[str, Any]:
            creds = sts.assume_role(**params)["Credentials"]
            return {
                "access_key": creds["AccessKeyId"],
                "secret_key": creds["SecretAccessKey"],
                "token": creds["SessionToken"],
                "expiry_time": creds["Expiration"].isoformat(),
            }

        credentials = RefreshableCredentials.create_from_metadata(
            fetch(), refresh_using=fetch, method="assume-role"
        )
        return self._new_session(credentials=credentials)

    def _sts(self, session: boto3.Session, region: str) -> BaseClient:
        return session.client(
            "sts",
            region_name=region,
            endpoint_url=self._aws.real_endpoint_url,
            config=self._client_config("sts"),
        )

    def _home_region(self, session: boto3.Session) -> str:
        try:
            partition = session.get_partition_for_region(self.regions[0])
        except (BotoCoreError, ValueError, IndexError):
            partition = "aws"
        return PARTITION_HOME.get(partition, "us-east-1")

    def _caller(self, session: boto3.Session) -> tuple[str, BaseClient]:
        """The account of the base credentials, asked of the first regional STS endpoint that
        answers (an opt-in region that is not enabled rejects the token)."""
        last: BaseException | None = None
        for region in dict.fromkeys([*self.regions, self._home_region(session)]):
            sts = self._sts(session, region)
            try:
                return sts.get_caller_identity()["Account"], sts
            except (NoCredentialsError, PartialCredentialsError) as exc:
                raise AwsNoCredentials(
                    f"no usable AWS credentials: {exc}", action="sts:GetCallerIdentity"
                ) from exc
            except ClientError as exc:
                code, message = error_parts(exc)
                last = AwsNoCredentials(
                    f"AWS rejected the credentials ({code}: {message})",
                    action="sts:GetCallerIdentity",
                    code=code,
                    detail=message,
                )
                if code not in CALLER_RETRY_CODES:  # not a region question: stop asking
                    raise last from exc
            except BotoCoreError as exc:
                last = AwsNoCredentials(
                    f"cannot verify the AWS credentials: {exc}", action="sts:GetCallerIdentity"
                )
        assert last is not None
        raise last

    def _build(self) -> list[AccountSetup]:
        try:
            base = self._new_session(profile=self._aws.profile)
            credentials = base.get_credentials()
        except ProfileNotFound as exc:
            raise AwsNoCredentials(
                f"AWS profile {self._aws.profile!r} not found in the shared config/credentials "
                "files (aws.profile / --profile)"
            ) from exc
        if credentials is None:
            raise AwsNoCredentials(
                "no AWS credentials found (environment, shared credentials/config files, SSO, "
                "container or instance role); set aws.profile or --profile, or run where a role "
                "is attached"
            )
        base_account, sts = self._caller(base)
        self._base = base
        wanted = self._wanted_accounts(base, base_account)
        shard = parse_shard(self._aws.shard) if self._aws.shard else None
        if shard is not None:
            wanted = [(setup, arn) for setup, arn in wanted if shard.holds(setup.account)]
        accounts = self._sessions(base, sts, base_account, wanted)
        for setup, session in accounts:
            if session is not None:
                setup.session, setup.home = session, self._home_region(session)
        return [setup for setup, _ in accounts]

    def _wanted_accounts(self, base: boto3.Session, base_account: str) -> list[Wanted]:
        """The accounts to audit, each with the role to assume (None: the base credentials)."""
        org = self._aws.organization
        if org is None:
            if not self._aws.accounts:
                return [(AccountSetup(base_account), None)]
            return [
                (AccountSetup(acc.role_arn.split(":")[4], acc.name or ""), acc)
                for acc in self._aws.accounts
            ]
        home = self._home_region(base)
        client = base.client(
            "organizations",
            region_name=home,
            endpoint_url=self._aws.real_endpoint_url,
            config=self._client_config("organizations"),
        )
        try:
            members = organization_members(
                client, org, base_account, base.get_partition_for_region(home)
            )
        except (ClientError, BotoCoreError) as exc:
            error = classify(exc, listing_action(org), Scope(base_account, GLOBAL))
            raise AwsNoCredentials(
                f"cannot list the organisation's accounts from account {base_account}: {error}",
                action=error.action,
                code=error.code,
                detail=error.detail,
            ) from exc
        except NoMembers as exc:
            raise AwsNoCredentials(str(exc), action=listing_action(org)) from None
        return [
            (AccountSetup(a.id, a.name), AwsAccount(arn, name=a.name or None) if arn else None)
            for a, arn in members
        ]

    def _sessions(
        self, base: boto3.Session, sts: BaseClient, base_account: str, wanted: list[Wanted]
    ) -> list[tuple[AccountSetup, boto3.Session | None]]:
        """A session per account; roles are assumed concurrently under a bound, and an account
        whose role cannot be assumed keeps its error (the others go on)."""

        def one(item: Wanted) -> tuple[AccountSetup, boto3.Session | None]:
            setup, acc = item
            if acc is None:
                return setup, base
            params: dict[str, Any] = {"RoleArn": acc.role_arn, "RoleSessionName": ROLE_SESSION_NAME}
            if acc.external_id:
                params["ExternalId"] = acc.external_id
            try:
                return setup, self._assumed_session(sts, params)
            except (ClientError, BotoCoreError) as exc:
                error = classify(exc, "sts:AssumeRole", Scope(setup.account, GLOBAL, setup.label))
                why = str(error)
                if isinstance(error, AwsAccessDenied):
                    why = "its trust policy or the caller's sts:AssumeRole permission refuses it"
                setup.error = type(error)(
                    f"cannot assume {acc.role_arn} from account {base_account}: {why}",
                    action="sts:AssumeRole",
                    code=error.code,
                    detail=error.detail,
                )
                return setup, None

        with ThreadPoolExecutor(max_workers=ASSUME_ROLE_CONCURRENCY) as pool:
            return list(pool.map(one, wanted))

    def _make_client(self, setup: AccountSetup, region: str, service: str) -> BaseClient | None:
        """The client, made now if need be (None: not a service of that kind of scope)."""
        with self._making:
            made = setup.clients.get(region, {}).get(service)
            allowed = GLOBAL_SERVICES if region == GLOBAL else REGIONAL_SERVICES
            if made is None and setup.session is not None and service in allowed:
                made = setup.clients.setdefault(region, {})[service] = setup.session.client(
                    service,
                    region_name=setup.home if region == GLOBAL else region,
                    endpoint_url=self._aws.real_endpoint_url,
                    config=self._client_config(service),
                )
            return made

    async def _setup(self) -> list[AccountSetup]:
        if self._accounts is not None:
            return self._accounts

        async def build() -> list[AccountSetup]:
            try:
                return await in_daemon_thread(self._build)
            except NoRegionError as exc:
                raise AwsNoCredentials(f"no AWS region: {exc}") from exc

        self._accounts = await self._state.cache.get(("aws", "setup", id(self)), build)
        return self._accounts

    # --- scopes ------------------------------------------------------------------------------

    def account_names(self) -> dict[str, str]:
        """{account id: label} of the accounts set up so far (no I/O)."""
        return {a.account: a.label for a in self._accounts or () if a.label}

    async def scopes(self) -> list[Scope]:
        """Every account in every configured region; AwsNoCredentials when nothing can be read."""
        accounts = await self._setup()
        return [Scope(a.account, r, a.label) for a in accounts for r in self.regions]

    async def global_scopes(self) -> list[Scope]:
        """One scope per account for account-wide services."""
        accounts = await self._setup()
        return [Scope(a.account, GLOBAL, a.label) for a in accounts]

    async def _client(self, scope: Scope, service: str) -> BaseClient:
        for setup in await self._setup():
            if setup.account != scope.account:
                continue
            if setup.error is not None:
                raise setup.error
            client = setup.clients.get(scope.region, {}).get(service) or await in_daemon_thread(
                self._make_client, setup, scope.region, service
            )
            if client is None:
                raise AwsApiError(f"no {service} client for {scope.where}", code="NoClient")
            return client
        raise AwsApiError(f"account {scope.account} is not in this scan", code="NoAccount")

    async def reader_client(self, service: str, region: str | None = None) -> BaseClient:
        """A client on the base credentials for reads outside the listings (log events, log
        objects streamed from S3), in `region` or the first configured one; made in the
        event loop's thread, once per service and region."""
        await self._setup()
        if self._base is None:
            raise AwsApiError(f"no AWS session to read {service} with", code="NoSession")
        region = region or self.regions[0]
        client = self._readers.get((service, region))
        if client is None:
            client = self._readers[(service, region)] = self._base.client(
                service,
                region_name=region,
                endpoint_url=self._aws.real_endpoint_url,
                config=self._client_config(service),
            )
        return client

    # --- calls -------------------------------------------------------------------------------

    async def list(self, scope: Scope, service: str, operation: str, **params: Any) -> list[dict]:
        """The complete result list of a (paginated) Describe/List operation."""
        key = ("aws", scope.account, scope.region, service, operation, _freeze(params))
        return await self._state.cache.get(
            key, lambda: self._run(scope, service, operation, params, True, ())
        )

    async def get(
        self,
        scope: Scope,
        service: str,
        operation: str,
        *,
        missing_ok: tuple[str, ...] = (),
        **params: Any,
    ) -> dict | None:
        """One call's response (without ResponseMetadata); None when the error code is one
        of `missing_ok` (e.g. NoSuchBucketPolicy)."""
        key = ("aws", scope.account, scope.region, service, operation, _freeze(params), missing_ok)
        return await self._state.cache.get(
            key, lambda: self._run(scope, service, operation, params, False, missing_ok)
        )

    async def _run(
        self,
        scope: Scope,
        service: str,
        operation: str,
        params: dict[str, Any],
        paginate: bool,
        missing_ok: tuple[str, ...],
    ) -> Any:
        client = await self._client(scope, service)
        ensure_offered(client, operation, scope)
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._slots_n)
        async with self._slots:
            return await in_daemon_thread(
                self._call, client, scope, operation, params, paginate, missing_ok
            )

    def _call(
        self,
        client: BaseClient,
        scope: Scope,
        operation: str,
        params: dict[str, Any],
        paginate: bool,
        missing_ok: tuple[str, ...],
    ) -> Any:
        op_name = client.meta.method_to_api_mapping[operation]
        action = iam_action(client.meta.service_model, op_name)
        try:
            if not paginate:
                response = getattr(client, operation)(**params)
                response.pop("ResponseMetadata", None)
                return response
            if client.can_paginate(operation):
                paginator = client.get_paginator(operation)
                full = paginator.paginate(**params).build_full_result()
                return jmespath.search(paginator.result_keys[0].expression, full) or []
            return self._manual_pages(client, operation, op_name, params)
        except ClientError as exc:
            if error_parts(exc)[0] in missing_ok:
                return None
            raise classify(exc, action, scope) from exc
        except (BotoCoreError, ResponseParserError) as exc:  # an unreadable answer, too
            raise classify(exc, action, scope) from exc

    @staticmethod
    def _manual_pages(
        client: BaseClient, operation: str, op_name: str, params: dict[str, Any]
    ) -> list[dict]:
        """Operations botocore has no paginator for (wafv2 List*, ec2 DescribeAddresses):
        the one list member of the output, following NextMarker/NextToken."""
        model = client.meta.service_model.operation_model(op_name)
        out_members = model.output_shape.members if model.output_shape else {}
        in_members = model.input_shape.members if model.input_shape else {}
        lists = [name for name, shape in out_members.items() if shape.type_name == "list"]
        if len(lists) != 1:
            raise AwsApiError(f"{op_name}: cannot tell which member holds the results")
        token = next((t for t in ("NextMarker", "NextToken") if t in out_members), None)
        items: list[dict] = []
        call_params = dict(params)
        if token and "Limit" in in_members and "Limit" not in call_params:
            call_params["Limit"] = 100
        while True:
            response = getattr(client, operation)(**call_params)
            items.extend(response.get(lists[0]) or [])
            next_token = response.get(token) if token else None
            if not next_token or token not in in_members or not response.get(lists[0]):
                return items
            call_params[token] = next_token

    async def aclose(self) -> None:
        for client in self._readers.values():
            client.close()
        if self._preset is not None or not self._accounts:
            return
        for setup in self._accounts:
            for clients in setup.clients.values():
                for client in clients.values():
                    client.close()
