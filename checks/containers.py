"""Checks of the containers family: EKS clusters that can give pods IPv6, and ECS tasks that
get IPv6 addresses (the `dualStackIPv6` account setting and awsvpc services on IPv6
subnets)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from auditor.aws.containers import (
    ECS_SETTING,
    ECS_SETTING_FIX,
    ecs_service_verdict,
    ecs_setting,
    eks_verdict,
)
from auditor.aws.findings import next_step, verdict
from auditor.aws.helpers import by_key, perms, resource
from auditor.aws.inventory import Inventory, Scope
from auditor.context import CheckContext
from auditor.model import Finding
from auditor.registry import check

FAMILY = "containers"
REF_EKS = "https://docs.aws.amazon.com/eks/latest/userguide/cni-ipv6.html"
REF_ECS = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-networking-awsvpc.html#task-networking-vpc-dual-stack"
DESCRIBE_BATCH = 10  # DescribeServices takes at most 10 services per call


@check(
    id="aws.eks.ip_family",
    title="EKS clusters use the IPv6 family",
    family=FAMILY,
    severity="high",
    stage=3,
    permissions=perms("eks:ListClusters", "eks:DescribeCluster"),
    fix_order=80,
    remediation="""
        A cluster's IP family is fixed at creation: create a new cluster with
        `aws eks create-cluster ... --kubernetes-network-config ipFamily=ipv6` on subnets with
        IPv6 CIDRs, give the node role the IPv6 CNI policy, and move the workloads. Pods of an
        IPv4 cluster never get IPv6 addresses.
    """,
    references=[REF_EKS],
    scope="region",
)
async def eks_ip_family(ctx: CheckContext, inv: Inventory, scope: Scope) -> AsyncIterator[Finding]:
    """Every EKS cluster has `kubernetesNetworkConfig.ipFamily: ipv6`."""
    names = await inv.list(scope, "eks", "list_clusters")
    answers = await asyncio.gather(
        *(inv.get(scope, "eks", "describe_cluster", name=n) for n in names)
    )
    for answer in answers:
        v = eks_verdict((answer or {}).get("cluster") or {})
        res = resource(scope, v.arn, "eks-cluster", v.name)
        evidence = {
            "reported": v.reported,
            "service_cidr": v.service_cidr or None,
            "subnets": v.subnets,
        }
        if v.ok:
            yield verdict(
                "pass",
                f"EKS cluster {v.name} uses the IPv6 family: its pods get IPv6 addresses",
                res,
                attribute="kubernetesNetworkConfig.ipFamily",
                value=v.ip_family,
                expected="ipv6",
                **evidence,
            )
        else:
            yield verdict(
                "fail",
                f"EKS cluster {v.name} uses the {v.ip_family} family: its pods can never get "
                f"IPv6 addresses and the family cannot be changed; {next_step(v.fix)}",
                res,
                attribute="kubernetesNetworkConfig.ipFamily",
                value=v.ip_family,
                expected="ipv6",
                fix=v.fix,
                **evidence,
            )


async def _services(inv: Inventory, scope: Scope, cluster: str) -> list[dict]:
    arns = await inv.list(scope, "ecs", "list_services", cluster=cluster)
    batches = [arns[i : i + DESCRIBE_BATCH] for i in range(0, len(arns), DESCRIBE_BATCH)]
    answers = await asyncio.gather(
        *(inv.get(scope, "ecs", "describe_services", cluster=cluster, services=b) for b in batches)
    )
    return [s for a in answers for s in (a or {}).get("services") or []]


@check(
    id="aws.ecs.dualstack",
    title="ECS tasks get IPv6: dualStackIPv6 on, awsvpc services on IPv6 subnets",
    family=FAMILY,
    severity="medium",
    stage=2,
    permissions=perms(
        "ecs:ListClusters",
        "ecs:ListAccountSettings",
        "ecs:ListServices",
        "ecs:DescribeServices",
        "ec2:DescribeSubnets",
    ),
    fix_order=70,
    remediation=f"""
        `{ECS_SETTING_FIX}` (per region), put awsvpc services on subnets with IPv6 CIDRs, then
        redeploy them (`aws ecs update-service --force-new-deployment`): tasks get an IPv6
        address only when both hold.
    """,
    references=[REF_ECS],
    scope="region",
)
async def ecs_dualstack(ctx: CheckContext, inv: Inventory, scope: Scope) -> AsyncIterator[Finding]:
    """Where ECS is used: the effective `dualStackIPv6` account setting is enabled, and every
    awsvpc service runs on subnets that have an IPv6 CIDR."""
    clusters = await inv.list(scope, "ecs", "list_clusters")
    if not clusters:
        return
    setting = ecs_setting(
        await inv.list(
            scope, "ecs", "list_account_settings", name=ECS_SETTING, effectiveSettings=True
        )
    )
    evidence = {
        "reported": setting.reported,
        "principal": setting.principal or None,
        "clusters": len(clusters),
    }
    where = scope.resource()
    if setting.ok:
        yield verdict(
            "pass",
            f"The ECS account setting {ECS_SETTING} is enabled in {scope.where}",
            where,
            attribute=ECS_SETTING,
            value=setting.value,
            expected="enabled",
            **evidence,
        )
    else:
        unset = "" if setting.reported else " (never set: AWS's default)"
        yield verdict(
            "fail",
            f"The ECS account setting {ECS_SETTING} is {setting.value}{unset} in "
            f"{scope.where}: awsvpc tasks get no IPv6 address; run {ECS_SETTING_FIX}",
            where,
            attribute=ECS_SETTING,
            value=setting.value,
            expected="enabled",
            fix=[ECS_SETTING_FIX],
            **evidence,
        )
    per_cluster = await asyncio.gather(*(_services(inv, scope, c) for c in clusters))
    services = [s for group in per_cluster for s in group]
    if not services:
        return
    subnets = by_key(await inv.list(scope, "ec2", "describe_subnets"), "SubnetId")
    for service in services:
        v = ecs_service_verdict(service, subnets, setting)
        if v is None:
            continue
        res = resource(scope, v.arn, "ecs-service", v.name)
        ev = {
            "cluster": v.cluster,
            "subnets": v.subnets,
            "subnets_without_ipv6": v.subnets_without_ipv6,
            "subnets_not_found": v.subnets_not_found or None,
        }
        if v.ok:
            yield verdict(
                "pass",
                f"ECS service {v.name} ({v.cluster}) runs awsvpc tasks on IPv6 subnets with "
                f"{ECS_SETTING} enabled",
                res,
                attribute="networkConfiguration.awsvpcConfiguration.subnets",
                value=v.subnets,
                expected="subnets with an IPv6 CIDR, dualStackIPv6 enabled",
                **ev,
            )
        else:
            yield verdict(
                "fail",
                f"ECS service {v.name} ({v.cluster}): {' and '.join(v.problems)}: its tasks get "
                f"no IPv6 address; {next_step(v.fix)}",
                res,
                attribute="networkConfiguration.awsvpcConfiguration.subnets",
                value=v.subnets,
                expected="subnets with an IPv6 CIDR, dualStackIPv6 enabled",
                fix=v.fix,
                **ev,
            )
