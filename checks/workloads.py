"""Checks of the workloads family: instances launched with IPv6 (launch templates and Auto
Scaling groups) and AWS SDKs that call dual-stack endpoints."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

import botocore.session

from auditor.aws.findings import next_step, verdict
from auditor.aws.helpers import by_key, perms, resource
from auditor.aws.inventory import Inventory, Scope
from auditor.aws.workloads import (
    DUALSTACK_ENV,
    LaunchVerdict,
    SdkVerdict,
    asg_verdict,
    group_template,
    host_verdict,
    lambda_verdict,
    latest_revisions,
    task_definition_verdict,
    template_verdict,
    versions_by_template,
)
from auditor.context import CheckContext
from auditor.model import Finding, Resource
from auditor.registry import check

FAMILY = "workloads"
REF_LT = "https://docs.aws.amazon.com/autoscaling/ec2/userguide/create-launch-template.html#change-network-interface"
REF_SDK = "https://docs.aws.amazon.com/sdkref/latest/guide/feature-endpoints.html"
VERSIONS = ["$Default", "$Latest"]  # the same listing aws.ec2.imds_ipv6 reads


def _launch_finding(v: LaunchVerdict, scope: Scope) -> Finding:
    kind = "Auto Scaling group" if v.kind == "autoscaling-group" else "Launch template"
    res = resource(scope, v.id, v.kind, v.name)
    ev = {
        "launch_template": v.template,
        "subnets": v.subnets or None,
        "subnets_assigning_ipv6": v.subnets_assigning_ipv6 or None,
    }
    message = f"{kind} {v.name or v.id}: {v.reason}"
    if v.status == "fail":
        message += f": its instances get no IPv6 address; {next_step(v.fix)}"
    elif v.status == "pass":
        message += ": its instances get IPv6"
    return verdict(
        v.status,
        message,
        res,
        attribute="NetworkInterfaces[].Ipv6AddressCount/PrimaryIpv6, "
        "subnet AssignIpv6AddressOnCreation",
        value=v.template_ipv6 or "no IPv6 setting",
        expected="Ipv6AddressCount >= 1 or PrimaryIpv6, or subnets that assign IPv6",
        fix=v.fix,
        **ev,
    )


@check(
    id="aws.ec2.launch_ipv6",
    title="Launch templates and Auto Scaling groups give instances IPv6",
    family=FAMILY,
    severity="medium",
    stage=2,
    permissions=perms(
        "ec2:DescribeLaunchTemplateVersions",
        "autoscaling:DescribeAutoScalingGroups",
        "ec2:DescribeSubnets",
    ),
    fix_order=70,
    remediation="""
        A new default launch template version whose network interface has
        `Ipv6AddressCount=1` (and `PrimaryIpv6=true` for a stable address), or subnets with
        `AssignIpv6AddressOnCreation`; then an instance refresh of the Auto Scaling groups.
    """,
    references=[REF_LT],
    scope="region",
)
async def ec2_launch_ipv6(
    ctx: CheckContext, inv: Inventory, scope: Scope
) -> AsyncIterator[Finding]:
    """Every Auto Scaling group gets IPv6 from its launch template version or from all its
    subnets; every launch template no group uses gives IPv6 in its default version (`warn`
    when it names no subnet, so the subnet chosen at launch decides)."""
    versions = await inv.list(scope, "ec2", "describe_launch_template_versions", Versions=VERSIONS)
    groups = await inv.list(scope, "autoscaling", "describe_auto_scaling_groups")
    if not versions and not groups:
        return
    by_lt = versions_by_template(versions)
    names = {str(v.get("LaunchTemplateName")): lt for lt, vs in by_lt.items() for v in vs.values()}
    subnets = by_key(await inv.list(scope, "ec2", "describe_subnets"), "SubnetId")
    used: set[str] = set()
    for group in groups:
        spec = group_template(group)
        version = None
        if spec is not None:
            lt = spec[0] or names.get(spec[1], "")
            used.add(lt)
            version = by_lt.get(lt, {}).get(spec[2])
            if version is None and lt and spec[2].isdigit():
                extra = await inv.list(
                    scope,
                    "ec2",
                    "describe_launch_template_versions",
                    LaunchTemplateId=lt,
                    Versions=[spec[2]],
                )
                version = extra[0] if extra else None
        yield _launch_finding(asg_verdict(group, version, subnets), scope)
    for lt, vs in sorted(by_lt.items()):
        if lt in used or "$Default" not in vs:
            continue
        yield _launch_finding(template_verdict(lt, vs["$Default"], subnets), scope)


def _sdk_finding(v: SdkVerdict, res: Resource, status: str | None = None) -> Finding:
    status = status or v.status
    label = {
        "ecs-task-definition": f"Task definition {v.name}",
        "lambda-function": f"Lambda function {v.name}",
        "host": v.name[0].upper() + v.name[1:],
    }[v.kind]
    ev: dict[str, Any] = {"settings": v.settings}
    if v.unread:
        ev["not_read"] = v.unread
    if status == "pass":
        message = f"{label} sets {DUALSTACK_ENV}: its AWS SDK calls dual-stack endpoints"
    else:
        where = "" if v.kind != "ecs-task-definition" else f" in {', '.join(v.missing)}"
        message = (
            f"{label} does not turn on dual-stack endpoints{where}: its AWS SDK calls the "
            "IPv4-only endpoints, which an IPv6-only subnet reaches only through NAT64"
        )
        if v.unread:
            message += f" (unless {', '.join(v.unread)} set it: not read by the audit)"
        message += f"; {next_step(v.fix)}"
    return verdict(
        status,
        message,
        res,
        attribute=f"{DUALSTACK_ENV} / use_dualstack_endpoint",
        value=v.settings,
        expected="true",
        fix=v.fix,
        **ev,
    )


def _host_setting(profile: str | None) -> tuple[Any, str]:
    """botocore's `use_dualstack_endpoint` for the profile, and where it came from."""
    session = botocore.session.Session(profile=profile)
    value = session.get_config_variable("use_dualstack_endpoint")
    if DUALSTACK_ENV in os.environ:
        return value, f"environment {DUALSTACK_ENV}"
    path = os.environ.get("AWS_CONFIG_FILE", "~/.aws/config")
    return value, f"config file {path}"


@check(
    id="aws.sdk.dualstack",
    title="Workloads' AWS SDKs use dual-stack endpoints",
    family=FAMILY,
    severity="medium",
    stage=3,
    permissions=perms(
        "ecs:ListTaskDefinitions", "ecs:DescribeTaskDefinition", "lambda:ListFunctions"
    ),
    fix_order=90,
    remediation=f"""
        Set `{DUALSTACK_ENV}=true` in the environment of every ECS container that has a task
        role and of every Lambda function in a VPC, and `use_dualstack_endpoint = true` in the
        AWS config of hosts that call AWS. Without it the SDKs call the IPv4-only endpoints.
    """,
    references=[REF_SDK],
    scope="region+account",
)
async def sdk_dualstack(ctx: CheckContext, inv: Inventory, scope: Scope) -> AsyncIterator[Finding]:
    """The newest revision of each ECS task definition with a task role sets
    `AWS_USE_DUALSTACK_ENDPOINT=true` in every container; so does every Lambda function in a
    VPC; this host's AWS config sets `use_dualstack_endpoint` (`warn` when unset: the audit
    may not run where the workload does)."""
    if scope.is_global:
        first = (await inv.global_scopes())[0]
        if scope != first:  # one host: one finding, in the first account
            return
        profile = ctx.state.config.aws.profile
        value, source = await asyncio.to_thread(_host_setting, profile)
        v = host_verdict(value, source, profile)
        res = Resource(
            id=v.id, kind="host", name=v.name, account=scope.account, region=scope.region
        )
        yield _sdk_finding(v, res, "warn" if value is None else None)
        return
    arns = await inv.list(scope, "ecs", "list_task_definitions", status="ACTIVE")
    answers = await asyncio.gather(
        *(
            inv.get(scope, "ecs", "describe_task_definition", taskDefinition=arn)
            for arn in latest_revisions(arns)
        )
    )
    for answer in answers:
        v = task_definition_verdict((answer or {}).get("taskDefinition") or {})
        if v is not None:
            yield _sdk_finding(v, resource(scope, v.id, v.kind, v.name))
    for fn in await inv.list(scope, "lambda", "list_functions"):
        v = lambda_verdict(fn)
        if v is not None:
            yield _sdk_finding(v, resource(scope, v.id, v.kind, v.name))
