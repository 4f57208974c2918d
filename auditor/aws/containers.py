"""IPv6 verdicts for container platforms: EKS clusters' IP family, the ECS `dualStackIPv6`
account setting and the subnets of awsvpc services. Pure functions; checks/containers.py words
the findings.

EKS: a cluster's `kubernetesNetworkConfig.ipFamily` is chosen at creation and never changes;
with `ipv4` pods cannot get IPv6 addresses, so the fix is a new cluster. An absent ipFamily is
AWS's default, ipv4.

ECS: tasks in awsvpc mode get an IPv6 address only when the `dualStackIPv6` account setting is
enabled *and* their subnet has an IPv6 CIDR. The setting read is the effective one for the
identity that lists it (`effectiveSettings`): the account default unless that principal has
its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from auditor.aws.helpers import ipv6_cidrs

ECS_SETTING = "dualStackIPv6"
ECS_SETTING_FIX = f"aws ecs put-account-setting-default --name {ECS_SETTING} --value enabled"


@dataclass
class EksVerdict:
    name: str
    arn: str
    ip_family: str
    reported: bool
    service_cidr: str
    subnets: list[str]
    fix: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.ip_family == "ipv6"


def eks_verdict(cluster: dict) -> EksVerdict:
    net = cluster.get("kubernetesNetworkConfig") or {}
    family = net.get("ipFamily")
    name = str(cluster.get("name", ""))
    v = EksVerdict(
        name=name,
        arn=str(cluster.get("arn") or name),
        ip_family=str(family or "ipv4"),
        reported=family is not None,
        service_cidr=str(net.get("serviceIpv6Cidr") or net.get("serviceIpv4Cidr") or ""),
        subnets=list((cluster.get("resourcesVpcConfig") or {}).get("subnetIds") or []),
    )
    if not v.ok:
        v.fix = [
            "ipFamily cannot be changed: create a new cluster with aws eks create-cluster "
            f"--name {name}-v6 --kubernetes-network-config ipFamily=ipv6 --resources-vpc-config "
            "subnetIds=<subnets with IPv6 CIDRs> --role-arn <cluster role>",
            f"give the node role the AmazonEKS_CNI_IPv6_Policy, move the workloads, retire {name}",
        ]
    return v


@dataclass
class EcsSetting:
    value: str  # enabled / disabled
    reported: bool
    principal: str = ""

    @property
    def ok(self) -> bool:
        return self.value == "enabled"


def ecs_setting(settings: Iterable[dict]) -> EcsSetting:
    """The effective `dualStackIPv6` setting from ListAccountSettings; unset is disabled."""
    for s in settings:
        if s.get("name") == ECS_SETTING:
            return EcsSetting(str(s.get("value", "disabled")), True, str(s.get("principalArn", "")))
    return EcsSetting("disabled", False)


@dataclass
class EcsServiceVerdict:
    arn: str
    name: str
    cluster: str
    subnets: list[str]
    subnets_without_ipv6: list[str]
    subnets_not_found: list[str]
    setting_enabled: bool
    problems: list[str] = field(default_factory=list)
    fix: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def awsvpc_subnets(service: dict) -> list[str] | None:
    """The subnets of an awsvpc service, or None for other network modes."""
    conf = (service.get("networkConfiguration") or {}).get("awsvpcConfiguration")
    if not conf:
        return None
    return [str(s) for s in conf.get("subnets") or []]


def ecs_service_verdict(
    service: dict, subnets: Mapping[str, dict], setting: EcsSetting
) -> EcsServiceVerdict | None:
    """None for services that are not in awsvpc mode (they share their host's addresses)."""
    ids = awsvpc_subnets(service)
    if ids is None:
        return None
    name = str(service.get("serviceName", ""))
    cluster = str(service.get("clusterArn", "")).rsplit("/", 1)[-1]
    v = EcsServiceVerdict(
        arn=str(service.get("serviceArn") or name),
        name=name,
        cluster=cluster,
        subnets=ids,
        subnets_without_ipv6=[s for s in ids if s in subnets and not ipv6_cidrs(subnets[s])],
        subnets_not_found=[s for s in ids if s not in subnets],
        setting_enabled=setting.ok,
    )
    if not setting.ok:
        v.problems.append(f"the account setting {ECS_SETTING} is {setting.value}")
        v.fix.append(ECS_SETTING_FIX)
    if v.subnets_without_ipv6:
        v.problems.append(f"subnet(s) {', '.join(v.subnets_without_ipv6)} have no IPv6 CIDR")
        v.fix.append(
            "give those subnets IPv6 CIDRs (aws ec2 associate-subnet-cidr-block --subnet-id S "
            "--ipv6-cidr-block ...) or move the service: aws ecs update-service --cluster "
            f"{cluster} --service {name} --network-configuration "
            "awsvpcConfiguration={subnets=[<subnets with IPv6>],securityGroups=[...]}"
        )
    if v.problems:
        v.fix.append(
            f"aws ecs update-service --cluster {cluster} --service {name} --force-new-deployment "
            "(running tasks keep their addresses until replaced)"
        )
    return v
