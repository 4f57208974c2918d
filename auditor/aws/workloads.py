"""How workloads are launched and how they call AWS: IPv6 from launch templates and Auto
Scaling groups, and dual-stack SDK endpoints in ECS task definitions, Lambda environments and
the host's AWS config. Pure functions; checks/workloads.py words the findings.

Launch: an instance gets IPv6 from its launch template (a network interface with
`Ipv6AddressCount`, `Ipv6Addresses`, `PrimaryIpv6` or an IPv6 prefix) or, failing that, from
its subnet's `AssignIpv6AddressOnCreation`. An Auto Scaling group names both its template and
its subnets, so it can be judged; a template alone names a subnet only sometimes.

SDK: every AWS SDK and the CLI read `AWS_USE_DUALSTACK_ENDPOINT` (environment) and
`use_dualstack_endpoint` (shared config file); without it they call the IPv4-only endpoints.
A workload that holds AWS credentials (an ECS task with a task role, a Lambda in a VPC, whose
calls leave through the VPC) is the one that needs it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

DUALSTACK_ENV = "AWS_USE_DUALSTACK_ENDPOINT"
TRUE_VALUES = frozenset({"true", "1"})  # botocore's ensure_boolean accepts "true" (any case)


# --- launch templates and Auto Scaling groups ---------------------------------------------


def template_ipv6(data: Mapping[str, Any] | None) -> list[str]:
    """What in a launch template's data gives instances IPv6 (empty: nothing)."""
    found: list[str] = []
    for nic in (data or {}).get("NetworkInterfaces") or []:
        idx = nic.get("DeviceIndex", 0)
        if int(nic.get("Ipv6AddressCount") or 0) > 0:
            found.append(f"NetworkInterfaces[{idx}].Ipv6AddressCount={nic['Ipv6AddressCount']}")
        if nic.get("Ipv6Addresses"):
            found.append(f"NetworkInterfaces[{idx}].Ipv6Addresses")
        if nic.get("PrimaryIpv6"):
            found.append(f"NetworkInterfaces[{idx}].PrimaryIpv6=true")
        if int(nic.get("Ipv6PrefixCount") or 0) > 0 or nic.get("Ipv6Prefixes"):
            found.append(f"NetworkInterfaces[{idx}].Ipv6Prefix")
    return found


def template_subnets(data: Mapping[str, Any] | None) -> list[str]:
    return [
        str(nic["SubnetId"])
        for nic in (data or {}).get("NetworkInterfaces") or []
        if nic.get("SubnetId")
    ]


def group_template(group: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """(template id, name, version) of an Auto Scaling group, or None (launch configuration)."""
    spec = group.get("LaunchTemplate") or (
        ((group.get("MixedInstancesPolicy") or {}).get("LaunchTemplate") or {}).get(
            "LaunchTemplateSpecification"
        )
    )
    if not spec:
        return None
    return (
        str(spec.get("LaunchTemplateId") or ""),
        str(spec.get("LaunchTemplateName") or ""),
        str(spec.get("Version") or "$Default"),
    )


@dataclass
class LaunchVerdict:
    kind: str  # autoscaling-group, launch-template
    id: str
    name: str
    template: str  # the launch template (id) and version judged
    template_ipv6: list[str]  # the settings that give IPv6
    subnets: list[str]
    subnets_assigning_ipv6: list[str]
    status: str  # pass, fail, warn
    reason: str
    fix: list[str] = field(default_factory=list)


def _lt_fix(lt_id: str) -> str:
    return (
        f"aws ec2 create-launch-template-version --launch-template-id {lt_id} --source-version "
        "$Default --launch-template-data "
        '\'{"NetworkInterfaces":[{"DeviceIndex":0,"Ipv6AddressCount":1,"PrimaryIpv6":true}]}\' '
        f"and aws ec2 modify-launch-template --launch-template-id {lt_id} --default-version N"
    )


def _subnet_fix(subnets: Iterable[str]) -> str:
    return "or turn on IPv6 assignment in the subnets: " + "; ".join(
        f"aws ec2 modify-subnet-attribute --subnet-id {s} --assign-ipv6-address-on-creation"
        for s in subnets
    )


def versions_by_template(versions: Iterable[dict]) -> dict[str, dict[str, dict]]:
    """Launch template id → {"$Default": version, "$Latest": version, "N": version}."""
    out: dict[str, dict[str, dict]] = {}
    for v in versions:
        lt = out.setdefault(str(v.get("LaunchTemplateId", "")), {})
        number = int(v.get("VersionNumber") or 0)
        lt[str(number)] = v
        if v.get("DefaultVersion"):
            lt["$Default"] = v
        latest = lt.get("$Latest")
        if latest is None or number > int(latest.get("VersionNumber") or 0):
            lt["$Latest"] = v
    return out


def asg_verdict(
    group: Mapping[str, Any],
    template_version: dict | None,
    subnets: Mapping[str, dict],
) -> LaunchVerdict:
    """An Auto Scaling group: IPv6 from its template version, else from all its subnets."""
    spec = group_template(group)
    ids = [s for s in str(group.get("VPCZoneIdentifier") or "").split(",") if s]
    assigning = [s for s in ids if (subnets.get(s) or {}).get("AssignIpv6AddressOnCreation")]
    data = (template_version or {}).get("LaunchTemplateData")
    from_template = template_ipv6(data)
    label = ""
    if spec:
        number = (template_version or {}).get("VersionNumber")
        label = f"{spec[0] or spec[1]} {spec[2]}" + (f" (v{number})" if number else "")
    name = str(group.get("AutoScalingGroupName", ""))
    v = LaunchVerdict(
        kind="autoscaling-group",
        id=str(group.get("AutoScalingGroupARN") or name),
        name=name,
        template=label or "launch configuration " + str(group.get("LaunchConfigurationName", "")),
        template_ipv6=from_template,
        subnets=ids,
        subnets_assigning_ipv6=assigning,
        status="pass",
        reason="",
    )
    if from_template:
        v.reason = f"its launch template sets {', '.join(from_template)}"
    elif ids and len(assigning) == len(ids):
        v.reason = "all its subnets assign IPv6 on creation"
    else:
        v.status = "fail"
        missing = [s for s in ids if s not in assigning]
        v.reason = (
            "neither its launch template nor subnet(s) "
            f"{', '.join(missing) or '(none)'} give instances IPv6"
        )
        if spec and spec[0]:
            v.fix.append(_lt_fix(spec[0]))
            v.fix.append(
                f"aws autoscaling start-instance-refresh --auto-scaling-group-name {name} "
                "(existing instances keep their addresses until replaced)"
            )
        if missing:
            v.fix.append(_subnet_fix(missing))
    return v


def template_verdict(template_id: str, version: dict, subnets: Mapping[str, dict]) -> LaunchVerdict:
    """A launch template no Auto Scaling group uses, judged by its default version: pass when it
    gives IPv6 (or names a subnet that does), fail when it names only subnets that do not, warn
    when it names no subnet (the subnet chosen at launch decides)."""
    data = version.get("LaunchTemplateData")
    from_template = template_ipv6(data)
    named = template_subnets(data)
    assigning = [s for s in named if (subnets.get(s) or {}).get("AssignIpv6AddressOnCreation")]
    v = LaunchVerdict(
        kind="launch-template",
        id=template_id,
        name=str(version.get("LaunchTemplateName", "")),
        template=f"{template_id} $Default (v{version.get('VersionNumber')})",
        template_ipv6=from_template,
        subnets=named,
        subnets_assigning_ipv6=assigning,
        status="pass",
        reason="",
    )
    if from_template:
        v.reason = f"it sets {', '.join(from_template)}"
    elif named and len(assigning) == len(named):
        v.reason = "the subnet it names assigns IPv6 on creation"
    elif named:
        v.status = "fail"
        v.reason = f"it sets no IPv6 and subnet(s) {', '.join(named)} do not assign IPv6"
        v.fix = [_lt_fix(template_id), _subnet_fix(s for s in named if s not in assigning)]
    else:
        v.status = "warn"
        v.reason = (
            "it sets no IPv6 and names no subnet: instances get IPv6 only if the subnet chosen "
            "at launch assigns it"
        )
        v.fix = [_lt_fix(template_id)]
    return v


# --- SDK dual-stack endpoints -------------------------------------------------------------


def dualstack_value(env: Mapping[str, Any] | None) -> str | None:
    """The raw AWS_USE_DUALSTACK_ENDPOINT value, or None when unset."""
    if not env or DUALSTACK_ENV not in env:
        return None
    return str(env[DUALSTACK_ENV])


def is_on(value: str | None) -> bool:
    return value is not None and value.strip().lower() in TRUE_VALUES


def container_env(container: Mapping[str, Any]) -> dict[str, str]:
    return {
        str(e.get("name")): str(e.get("value", ""))
        for e in container.get("environment") or []
        if e.get("name")
    }


@dataclass
class SdkVerdict:
    kind: str  # ecs-task-definition, lambda-function, host
    id: str
    name: str
    settings: dict[str, str | None]  # where (container name, "environment"…) → value
    missing: list[str]  # the places without the setting on
    unread: list[str] = field(default_factory=list)  # places the audit cannot read
    fix: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        if not self.missing:
            return "pass"
        return "warn" if self.unread else "fail"


def latest_revisions(arns: Iterable[str]) -> list[str]:
    """The newest revision of each task definition family from ListTaskDefinitions ARNs."""
    best: dict[str, tuple[int, str]] = {}
    for arn in arns:
        family, _, rev = arn.rsplit("/", 1)[-1].rpartition(":")
        try:
            number = int(rev)
        except ValueError:
            continue
        if family not in best or number > best[family][0]:
            best[family] = (number, arn)
    return [arn for _, arn in sorted(best.values(), key=lambda t: t[1])]


def task_definition_verdict(td: Mapping[str, Any]) -> SdkVerdict | None:
    """None for task definitions without a task role (their containers hold no AWS
    credentials, so no SDK of theirs calls AWS)."""
    if not td.get("taskRoleArn"):
        return None
    family = f"{td.get('family')}:{td.get('revision')}"
    settings: dict[str, str | None] = {}
    unread: list[str] = []
    for c in td.get("containerDefinitions") or []:
        cname = str(c.get("name", ""))
        settings[cname] = dualstack_value(container_env(c))
        if c.get("environmentFiles"):
            unread.append(f"{cname}: environmentFiles")
    missing = [name for name, value in settings.items() if not is_on(value)]
    unread = [u for u in unread if u.split(":", 1)[0] in missing]
    v = SdkVerdict(
        kind="ecs-task-definition",
        id=str(td.get("taskDefinitionArn") or family),
        name=family,
        settings=settings,
        missing=missing,
        unread=unread,
    )
    if missing:
        v.fix = [
            f"register a new revision of {td.get('family')} with "
            f'{{"name": "{DUALSTACK_ENV}", "value": "true"}} in the environment of '
            f"container(s) {', '.join(missing)} (aws ecs register-task-definition "
            "--cli-input-json file://td.json), then update the services that run it"
        ]
    return v


def lambda_verdict(fn: Mapping[str, Any]) -> SdkVerdict | None:
    """None for functions outside a VPC (AWS's own network carries their calls)."""
    if not (fn.get("VpcConfig") or {}).get("SubnetIds"):
        return None
    env = (fn.get("Environment") or {}).get("Variables") or {}
    value = dualstack_value(env)
    name = str(fn.get("FunctionName", ""))
    v = SdkVerdict(
        kind="lambda-function",
        id=str(fn.get("FunctionArn") or name),
        name=name,
        settings={"environment": value},
        missing=[] if is_on(value) else ["environment"],
    )
    if v.missing:
        keep = ",".join(f"{k}=..." for k in sorted(env) if k != DUALSTACK_ENV)
        v.fix = [
            f"aws lambda update-function-configuration --function-name {name} --environment "
            f"'Variables={{{keep + ',' if keep else ''}{DUALSTACK_ENV}=true}}' (the call replaces "
            "every variable: list them all)"
        ]
    return v


def host_verdict(value: Any, source: str, profile: str | None) -> SdkVerdict:
    """This host's SDK setting (botocore's `use_dualstack_endpoint`, from `source`)."""
    raw = None if value is None else str(value)
    where = f"profile {profile}" if profile else "the default profile"
    v = SdkVerdict(
        kind="host",
        id="aws-config:" + (profile or "default"),
        name=f"this host's AWS config ({where})",
        settings={source: raw},
        missing=[] if is_on(raw) else [source],
    )
    if v.missing:
        target = f" --profile {profile}" if profile else ""
        v.fix = [
            f"aws configure set use_dualstack_endpoint true{target} (or export "
            f"{DUALSTACK_ENV}=true in the workload's environment)"
        ]
    return v
