"""AWS Organizations: accounts listed, filtered, sharded and assumed, on a moto organisation."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from auditor.aws.inventory import Inventory
from auditor.aws.organization import (
    OrgAccount,
    Shard,
    ShardError,
    parse_shard,
    select_accounts,
    shard_of,
)
from auditor.config import AwsConfig, AwsOrganization, Config
from auditor.context import Limits, RunState
from auditor.iam import iam_policy
from auditor.registry import load_checks
from auditor.runner import run_checks
from tests.aws.conftest import AwsLab, run_scan

CHECK = "aws.vpc.ipv6_cidr"
MANAGEMENT = "123456789012"  # moto's organisation master is the caller's account


def build_org(lab: AwsLab, count: int, estates: int | None = None) -> dict[str, Any]:
    """An organisation of `count` members under two OUs (prod/eu below prod), small estates of
    different stages in the first `estates` (default: all): every third an IPv6 VPC, every
    third an IPv4-only one; every account also has moto's default VPC (no IPv6)."""
    org = lab.client("organizations")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    prod = org.create_organizational_unit(ParentId=root, Name="prod")["OrganizationalUnit"]["Id"]
    eu = org.create_organizational_unit(ParentId=prod, Name="eu")["OrganizationalUnit"]["Id"]
    accounts: dict[str, str] = {}
    for i in range(count):
        status = org.create_account(Email=f"m{i}@example.com", AccountName=f"member-{i:03d}")
        accounts[status["CreateAccountStatus"]["AccountId"]] = f"member-{i:03d}"
    ids = sorted(accounts)
    org.move_account(AccountId=ids[0], SourceParentId=root, DestinationParentId=prod)
    org.move_account(AccountId=ids[1], SourceParentId=root, DestinationParentId=eu)
    for i, account in enumerate(ids[:estates]):
        if i % 3 == 2:
            continue
        ec2 = lab.assumed(account).client("ec2", region_name="us-east-1", endpoint_url=lab.url)
        ec2.create_vpc(CidrBlock="10.0.0.0/16", AmazonProvidedIpv6CidrBlock=(i % 3 == 0))
    return {"ids": ids, "names": accounts, "prod": prod, "eu": eu, "root": root}


def org_config(lab: AwsLab, **org: Any) -> Config:
    return Config(
        workload="org",
        concurrency=50,
        aws=AwsConfig(
            regions=("us-east-1",),
            endpoint_url=lab.url,
            organization=AwsOrganization(role_name="v6audit", **org),
        ),
    )


def accounts_of(scan) -> set[str]:
    return {f.resource.account for f in scan.of(CHECK) if f.resource}


def test_every_account_of_the_organisation_is_audited_with_its_own_findings(lab: AwsLab) -> None:
    org = build_org(lab, 6)
    scan = run_scan(org_config(lab), [CHECK], lab.suite)
    assert accounts_of(scan) == {*org["ids"], MANAGEMENT}
    for i, account in enumerate(org["ids"]):
        statuses = {str(f.status) for f in scan.of(CHECK) if f.resource.account == account}
        # every account has moto's default VPC (no IPv6); every third has an IPv6 VPC too
        assert statuses == ({"pass", "fail"} if i % 3 == 0 else {"fail"}), account
    assert "organizations:ListAccounts" in scan.recorder.actions
    assert "sts:AssumeRole" in scan.recorder.actions
    # `iam-policy --organization` grants every call beyond the checks' own
    policy = iam_policy(load_checks(), organization_role="v6audit")
    granted = {
        a
        for st in policy["Statement"]
        for a in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]])
    }
    assert scan.recorder.actions <= granted


def test_include_exclude_globs_match_ids_and_names(lab: AwsLab) -> None:
    org = build_org(lab, 5)
    scan = run_scan(
        org_config(lab, include=("member-*",), exclude=("member-001", org["ids"][4])),
        [CHECK],
        lab.suite,
    )
    by_name = {v: k for k, v in org["names"].items()}
    expected = set(org["ids"]) - {by_name["member-001"], org["ids"][4]}
    assert accounts_of(scan) == expected  # the management account is not a member-*


def test_an_ou_filter_takes_the_ou_and_the_ous_below_it(lab: AwsLab) -> None:
    org = build_org(lab, 4)
    scan = run_scan(org_config(lab, ous=(org["prod"],)), [CHECK], lab.suite)
    assert accounts_of(scan) == {org["ids"][0], org["ids"][1]}
    assert "organizations:ListChildren" in scan.recorder.actions
    assert "organizations:ListAccountsForParent" in scan.recorder.actions
    assert "organizations:ListAccounts" not in scan.recorder.actions  # only the OUs' accounts


def scan_with_hook(config: Config, operation: str, hook) -> list:
    """Run the check with `hook` registered before every `operation` call of every session."""

    def attach(session) -> None:
        session.events.register(f"before-call.{operation}", hook)

    state = RunState(config=config, limits=Limits(config.concurrency))
    state.services["aws"] = Inventory(state, on_session=attach, max_attempts=2)
    registry = load_checks()
    outcome = asyncio.run(run_checks([registry.get(CHECK)], config, registry=registry, state=state))
    return outcome.findings


def denied(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "AccessDenied", "Message": "not authorized"}}, operation)


def test_an_account_whose_role_cannot_be_assumed_is_an_error_and_the_others_go_on(
    lab: AwsLab,
) -> None:
    org = build_org(lab, 3)
    refused = org["ids"][1]

    def refuse(params, **_: Any):  # moto assumes any role: answer as STS would for one account
        if f"::{refused}:" in params.get("body", {}).get("RoleArn", ""):
            raise denied("AssumeRole")

    findings = scan_with_hook(org_config(lab), "sts.AssumeRole", refuse)
    errors = [f for f in findings if str(f.status) == "error"]
    assert len(errors) == 1
    assert errors[0].resource.account == refused
    assert f"arn:aws:iam::{refused}:role/v6audit" in errors[0].message
    audited = {f.resource.account for f in findings if str(f.status) != "error"}
    assert audited == {MANAGEMENT, org["ids"][0], org["ids"][2]}


def test_listing_the_organisation_denied_is_an_error_naming_the_action(lab: AwsLab) -> None:
    build_org(lab, 2)

    def refuse(**_: Any):
        raise denied("ListAccounts")

    [finding] = scan_with_hook(org_config(lab), "organizations.ListAccounts", refuse)
    assert str(finding.status) == "error"
    assert "organizations:ListAccounts" in finding.message


def test_filters_that_select_no_account_are_an_error_not_a_pass(lab: AwsLab) -> None:
    build_org(lab, 2)
    scan = run_scan(org_config(lab, include=("nobody-*",)), [CHECK], lab.suite)
    [finding] = scan.of(CHECK)
    assert str(finding.status) == "error"
    assert "selects none of the 3 accounts" in finding.message


def test_shards_partition_the_organisation(lab: AwsLab) -> None:
    org = build_org(lab, 9)
    everyone = {*org["ids"], MANAGEMENT}
    seen: list[set[str]] = []
    for k in range(3):
        config = org_config(lab)
        config = config.with_overrides(shard=f"{k}/3")
        seen.append(accounts_of(run_scan(config, [CHECK], lab.suite)))
    assert set().union(*seen) == everyone
    assert sum(len(s) for s in seen) == len(everyone)  # no account in two shards


# --- pure parts ---------------------------------------------------------------------------------


def test_shard_assignment_is_stable_and_spread() -> None:
    ids = [f"{n:012d}" for n in range(1000, 3000)]
    counts = [0] * 4
    for account in ids:
        counts[shard_of(account, 4)] += 1
        assert shard_of(account, 4) == shard_of(account, 4)
    assert min(counts) > 400  # 2,000 accounts over 4 shards: none starved
    assert shard_of("111111111111", 4) == 0 or Shard(shard_of("111111111111", 4), 4).holds(
        "111111111111"
    )


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("0/4", {}, Shard(0, 4)),
        ("3/4", {}, Shard(3, 4)),
        ("auto/4", {"AWS_BATCH_JOB_ARRAY_INDEX": "2"}, Shard(2, 4)),
        ("auto/4", {"JOB_COMPLETION_INDEX": "1"}, Shard(1, 4)),
    ],
)
def test_shard_values(text: str, env: dict[str, str], expected: Shard) -> None:
    assert parse_shard(text, env) == expected


@pytest.mark.parametrize(
    ("text", "env", "says"),
    [
        ("4/4", {}, "between 0 and 3"),
        ("x/4", {}, "not a number"),
        ("1", {}, "K/N"),
        ("0/0", {}, "at least 1"),
        ("auto/4", {}, "AWS_BATCH_JOB_ARRAY_INDEX"),
        ("auto/2", {"JOB_COMPLETION_INDEX": "5"}, "between 0 and 1"),
    ],
)
def test_bad_shard_values_say_why(text: str, env: dict[str, str], says: str) -> None:
    with pytest.raises(ShardError, match=says):
        parse_shard(text, env)


def test_select_keeps_active_accounts_named_by_id_or_name() -> None:
    accounts = [
        OrgAccount("111111111111", "prod-a"),
        OrgAccount("222222222222", "prod-b"),
        OrgAccount("333333333333", "sandbox"),
        OrgAccount("444444444444", "prod-c", status="SUSPENDED"),
    ]
    chosen = select_accounts(accounts, ["prod-*", "333333333333"], ["prod-b"])
    assert [a.id for a in chosen] == ["111111111111", "333333333333"]


# --- the organisation end to end: four shard processes equal one run ------------------------


def v6audit(*args: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "v6audit"), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(proc: subprocess.Popen) -> None:
    _, err = proc.communicate(timeout=600)
    assert proc.returncode in (0, 1), err


@pytest.mark.timeout(1800)  # a busy machine needs room; bench/org_scale.py runs 200 accounts
def test_four_shard_processes_merge_into_exactly_the_unsharded_run(
    lab: AwsLab, tmp_path: Path
) -> None:
    org = build_org(lab, 60, estates=30)
    config = tmp_path / "v6audit.yaml"
    config.write_text(
        "workload: org\naws:\n  regions: [us-east-1]\n"
        f"  endpoint_url: {lab.url}\n  organization: {{role_name: v6audit}}\n"
    )
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    common = ["-c", str(config), "--only", "aws.vpc.ipv6_cidr,aws.subnet.ipv6_cidr"]
    common += ["--format", "json", "--no-history", "-q"]
    procs = [v6audit("scan", *common, "-o", str(tmp_path / "single"), env=env)]
    procs += [
        v6audit(
            "scan", *common, "--shard", f"{k}/4", "-o", str(tmp_path / "shard-{shard}"), env=env
        )
        for k in range(4)
    ]
    for proc in procs:
        finished(proc)
    merge = v6audit(
        "merge",
        str(tmp_path / "shard-*" / "report.json"),
        "-o",
        str(tmp_path / "org.json"),
        env=env,
    )
    finished(merge)
    single = json.loads((tmp_path / "single" / "report.json").read_text())
    merged = json.loads((tmp_path / "org.json").read_text())
    shards = [json.loads((tmp_path / f"shard-{k}" / "report.json").read_text()) for k in range(4)]
    assert all(s["findings"] for s in shards)  # 61 accounts spread over every shard

    def view(result: dict) -> list:
        return sorted((f["fingerprint"], f["check_id"], f["status"]) for f in result["findings"])

    assert view(merged) == view(single)
    assert len({f["resource"]["account"] for f in merged["findings"]}) == len(org["ids"]) + 1
    for key in ("scores", "stage", "cost", "accounts"):
        assert merged[key] == single[key], key
    assert merged["accounts"][0]["stage"] == 0
    assert {r["name"] for r in merged["accounts"]} >= {"member-000", "member-059"}
