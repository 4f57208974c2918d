"""The catalog v2 checks where moto cannot answer: botocore's Stubber fed AWS's real response
shapes (what moto does not keep), AccessDenied on each check's first call, and regions where
the service is not offered (botocore's endpoint data)."""

from __future__ import annotations

import copy

import pytest

from auditor.aws import regions
from auditor.model import Status
from auditor.registry import load_checks
from tests.aws.conftest import stub_scan
from tests.aws.estate import stub_client

ACCOUNT = "123456789012"
NFW = f"arn:aws:network-firewall:us-east-1:{ACCOUNT}"


def _scan(check_id, responses, suite, region="us-east-1"):
    """`responses`: {service: [(operation, answer)]}, in call order per service."""
    clients, stubs = {}, []
    for service, calls in responses.items():
        client, stub = stub_client(service, region)
        for operation, answer in calls:
            stub.add_response(operation, answer)
        clients[service] = client
        stubs.append(stub)
    for stub in stubs:
        stub.activate()
    try:
        scan = stub_scan([check_id], {region: clients}, suite)
        for stub in stubs:
            stub.assert_no_pending_responses()
    finally:
        for stub in stubs:
            stub.deactivate()
    return scan


def test_rds_instance_network_type_and_subnet_group(suite_calls):
    """moto keeps neither an instance's NetworkType nor a group's SupportedNetworkTypes."""

    def group(name, types, subnets):
        return {
            "DBSubnetGroupName": name,
            "VpcId": "vpc-0a1b2c3d4e5f60718",
            "SubnetGroupStatus": "Complete",
            "Subnets": [{"SubnetIdentifier": s, "SubnetStatus": "Active"} for s in subnets],
            "DBSubnetGroupArn": f"arn:aws:rds:us-east-1:{ACCOUNT}:subgrp:{name}",
            "SupportedNetworkTypes": types,
        }

    dual = group("app-dual", ["IPV4", "DUAL"], ["subnet-0aaa", "subnet-0bbb"])
    legacy = group("legacy", ["IPV4"], ["subnet-0ccc", "subnet-0ddd"])

    def instance(name, network_type, grp):
        return {
            "DBInstanceIdentifier": name,
            "DBInstanceArn": f"arn:aws:rds:us-east-1:{ACCOUNT}:db:{name}",
            "Engine": "postgres",
            "DBInstanceStatus": "available",
            "NetworkType": network_type,
            "DBSubnetGroup": grp,
        }

    scan = _scan(
        "aws.rds.dualstack",
        {
            "rds": [
                (
                    "describe_db_instances",
                    {
                        "DBInstances": [
                            instance("orders", "DUAL", dual),
                            instance("reports", "IPV4", dual),
                            instance("billing", "IPV4", legacy),
                        ]
                    },
                ),
                ("describe_db_clusters", {"DBClusters": []}),
                ("describe_db_subnet_groups", {"DBSubnetGroups": [dual, legacy]}),
            ]
        },
        suite_calls,
    )
    arn = f"arn:aws:rds:us-east-1:{ACCOUNT}:db:"
    assert scan.statuses("aws.rds.dualstack") == {
        arn + "orders": "pass",
        arn + "reports": "fail",
        arn + "billing": "fail",
    }
    reports = scan.on("aws.rds.dualstack", arn + "reports")
    assert reports.evidence["subnet_group_supported_network_types"] == ["IPV4", "DUAL"]
    assert reports.message.endswith(
        "first: aws rds modify-db-instance --db-instance-identifier reports --network-type DUAL "
        "--apply-immediately"
    )
    billing = scan.on("aws.rds.dualstack", arn + "billing")
    assert "DB subnet group legacy supports only IPV4" in billing.message
    assert "(subnet-0ccc, subnet-0ddd)" in billing.evidence["fix"][0]
    assert billing.remediation.splitlines()[1].startswith("2. aws rds modify-db-instance")


def test_resolver_endpoint_dualstack(suite_calls):
    def endpoint(eid, kind):
        item = {
            "Id": eid,
            "Arn": f"arn:aws:route53resolver:us-east-1:{ACCOUNT}:resolver-endpoint/{eid}",
            "Direction": "INBOUND" if "-in-" in eid else "OUTBOUND",
            "IpAddressCount": 2,
            "HostVPCId": "vpc-0a1b2c3d4e5f60718",
            "Status": "OPERATIONAL",
        }
        if kind:
            item["ResolverEndpointType"] = kind
        return item

    scan = _scan(
        "aws.resolver.endpoint_ipv6",
        {
            "route53resolver": [
                (
                    "list_resolver_endpoints",
                    {
                        "ResolverEndpoints": [
                            endpoint("rslvr-in-0123456789abcdef0", "DUALSTACK"),
                            endpoint("rslvr-out-0123456789abcdef1", "IPV6"),
                            endpoint("rslvr-out-0123456789abcdef2", "IPV4"),
                        ]
                    },
                )
            ]
        },
        suite_calls,
    )
    assert sorted(scan.statuses("aws.resolver.endpoint_ipv6").values()) == ["fail", "pass", "pass"]
    (fail,) = [f for f in scan.of("aws.resolver.endpoint_ipv6") if f.status is Status.FAIL]
    assert fail.evidence["reported"] is True and fail.evidence["direction"] == "OUTBOUND"
    assert "rslvr-out-0123456789abcdef2 (outbound) is IPV4:" in fail.message


def _firewall(name, mappings):
    return {
        "UpdateToken": "token",
        "Firewall": {
            "FirewallName": name,
            "FirewallArn": f"{NFW}:firewall/{name}",
            "FirewallPolicyArn": f"{NFW}:firewall-policy/egress",
            "VpcId": "vpc-0a1b2c3d4e5f60718",
            "SubnetMappings": mappings,
            "FirewallId": "a1b2c3d4-0000-4000-8000-000000000001",
        },
        "FirewallStatus": {"Status": "READY", "ConfigurationSyncStateSummary": "IN_SYNC"},
    }


def _policy(groups):
    return {
        "UpdateToken": "token",
        "FirewallPolicyResponse": {
            "FirewallPolicyName": "egress",
            "FirewallPolicyArn": f"{NFW}:firewall-policy/egress",
            "FirewallPolicyId": "a1b2c3d4-0000-4000-8000-000000000002",
        },
        "FirewallPolicy": {
            "StatelessDefaultActions": ["aws:forward_to_sfe"],
            "StatelessFragmentDefaultActions": ["aws:forward_to_sfe"],
            "StatefulRuleGroupReferences": [{"ResourceArn": g} for g in groups],
            "PolicyVariables": {
                "RuleVariables": {"HOME_NET": {"Definition": ["100.64.0.0/16", "2001:db8::/56"]}}
            },
        },
    }


def _group(name, rules_string, ipsets=None):
    return {
        "UpdateToken": "token",
        "RuleGroup": {
            "RuleVariables": {"IPSets": {k: {"Definition": v} for k, v in (ipsets or {}).items()}},
            "RulesSource": {"RulesString": rules_string},
        },
        "RuleGroupResponse": {
            "RuleGroupArn": f"{NFW}:stateful-rulegroup/{name}",
            "RuleGroupName": name,
            "RuleGroupId": "a1b2c3d4-0000-4000-8000-000000000003",
        },
    }


def test_network_firewall_mappings_and_rule_parity(suite_calls):
    good = f"{NFW}:stateful-rulegroup/web"
    partners = f"{NFW}:stateful-rulegroup/partners"
    managed = "arn:aws:network-firewall:us-east-1:aws-managed:stateful-rulegroup/MalwareDomains"
    scan = _scan(
        "aws.nfw.ipv6",
        {
            "network-firewall": [
                (
                    "list_firewalls",
                    {
                        "Firewalls": [
                            {"FirewallName": "egress", "FirewallArn": f"{NFW}:firewall/egress"}
                        ]
                    },
                ),
                (
                    "describe_firewall",
                    _firewall(
                        "egress",
                        [
                            {"SubnetId": "subnet-0aaa", "IPAddressType": "DUALSTACK"},
                            {"SubnetId": "subnet-0bbb", "IPAddressType": "IPV4"},
                        ],
                    ),
                ),
                ("describe_firewall_policy", _policy([good, managed, partners])),
                (
                    "describe_rule_group",
                    _group("web", "pass tcp $HOME_NET any -> any 443 (sid:1;)"),
                ),
                (
                    "describe_rule_group",
                    _group(
                        "partners",
                        'pass tcp $PARTNERS any -> $HOME_NET 22 (msg:"ssh"; sid:7;)\n'
                        "drop tcp 203.0.113.0/24 any -> any any (sid:8;)\n"
                        "drop tcp 2001:db8:66::/48 any -> any any (sid:9;)\n",
                        {"PARTNERS": ["198.51.100.0/24"]},
                    ),
                ),
            ]
        },
        suite_calls,
    )
    (finding,) = scan.of("aws.nfw.ipv6")
    assert finding.status is Status.FAIL and finding.stage == 1
    assert finding.evidence["value"] == {"ipv4_only_subnets": ["subnet-0bbb"], "ipv4_only_rules": 1}
    (gap,) = finding.evidence["rule_gaps"]["items"]
    assert gap["rule"] == "sid:7" and gap["variables"] == ["PARTNERS"]
    assert gap["ipv4_only"] == {"source": ["198.51.100.0/24"]}
    assert finding.evidence["rule_groups"] == {good: 1, partners: 3}  # the managed one skipped
    fix = finding.evidence["fix"]
    assert fix[0].endswith(
        "aws network-firewall associate-subnets --firewall-name egress --subnet-mappings "
        "SubnetId=subnet-0bbb,IPAddressType=DUALSTACK"
    )
    assert fix[1].startswith("add the IPv6 ranges of the same hosts to IP set variable(s) PARTNERS")
    # exactly the declared calls (stubbed clients skip the identity lookup)
    declared = load_checks().get("aws.nfw.ipv6").meta.permissions
    assert scan.recorder.actions == set(declared) - {"sts:GetCallerIdentity"}


def test_network_firewall_passes_when_dual_stack_with_ipv6_rules(suite_calls):
    group = f"{NFW}:stateful-rulegroup/web"
    scan = _scan(
        "aws.nfw.ipv6",
        {
            "network-firewall": [
                (
                    "list_firewalls",
                    {
                        "Firewalls": [
                            {"FirewallName": "egress", "FirewallArn": f"{NFW}:firewall/egress"}
                        ]
                    },
                ),
                (
                    "describe_firewall",
                    _firewall(
                        "egress", [{"SubnetId": "subnet-0aaa", "IPAddressType": "DUALSTACK"}]
                    ),
                ),
                ("describe_firewall_policy", _policy([group])),
                (
                    "describe_rule_group",
                    _group(
                        "web",
                        "pass tcp $OFFICE any -> any 443 (sid:1;)",
                        {"OFFICE": ["192.0.2.0/24", "2001:db8:1::/48"]},
                    ),
                ),
            ]
        },
        suite_calls,
    )
    (finding,) = scan.of("aws.nfw.ipv6")
    assert finding.status is Status.PASS, finding.message


def test_http_api_dualstack(suite_calls):
    def api(aid, kind):
        return {
            "ApiId": aid,
            "Name": aid,
            "ProtocolType": "HTTP",
            "RouteSelectionExpression": "$request.method $request.path",
            "IpAddressType": kind,
        }

    scan = _scan(
        "aws.apigw.dualstack",
        {
            "apigateway": [("get_rest_apis", {"items": []}), ("get_domain_names", {"items": []})],
            "apigatewayv2": [
                (
                    "get_apis",
                    {"Items": [api("a1b2c3d4e5", "dualstack"), api("f6g7h8i9j0", "ipv4")]},
                ),
                ("get_domain_names", {"Items": []}),
            ],
        },
        suite_calls,
    )
    assert scan.statuses("aws.apigw.dualstack") == {"a1b2c3d4e5": "pass", "f6g7h8i9j0": "fail"}


# --- AccessDenied and regions without the service -----------------------------------------

FIRST_CALLS = [
    ("aws.rds.dualstack", "rds", "describe_db_instances", "rds:DescribeDBInstances"),
    (
        "aws.elasticache.dualstack",
        "elasticache",
        "describe_cache_clusters",
        "elasticache:DescribeCacheClusters",
    ),
    ("aws.eks.ip_family", "eks", "list_clusters", "eks:ListClusters"),
    ("aws.ecs.dualstack", "ecs", "list_clusters", "ecs:ListClusters"),
    (
        "aws.tgw.ipv6",
        "ec2",
        "describe_transit_gateway_vpc_attachments",
        "ec2:DescribeTransitGatewayVpcAttachments",
    ),
    ("aws.peering.ipv6", "ec2", "describe_route_tables", "ec2:DescribeRouteTables"),
    (
        "aws.resolver.endpoint_ipv6",
        "route53resolver",
        "list_resolver_endpoints",
        "route53resolver:ListResolverEndpoints",
    ),
    ("aws.nfw.ipv6", "network-firewall", "list_firewalls", "network-firewall:ListFirewalls"),
    ("aws.apigw.dualstack", "apigateway", "get_rest_apis", "apigateway:GET"),
    (
        "aws.ec2.launch_ipv6",
        "ec2",
        "describe_launch_template_versions",
        "ec2:DescribeLaunchTemplateVersions",
    ),
    ("aws.sdk.dualstack", "ecs", "list_task_definitions", "ecs:ListTaskDefinitions"),
]


@pytest.mark.parametrize(("check_id", "service", "operation", "action"), FIRST_CALLS)
def test_access_denied_is_an_error_naming_the_action(
    check_id, service, operation, action, suite_calls
):
    client, stub = stub_client(service)
    code = "UnauthorizedOperation" if service == "ec2" else "AccessDeniedException"
    stub.add_client_error(operation, service_error_code=code, http_status_code=403)
    with stub:
        scan = stub_scan([check_id], {"us-east-1": {service: client}}, suite_calls)
    errors = [f for f in scan.of(check_id) if f.status is Status.ERROR]
    assert len(errors) == 1, [f.message for f in scan.of(check_id)]
    assert errors[0].evidence["action"] == action and errors[0].evidence["code"] == code
    assert f"denied {action}" in errors[0].message
    assert errors[0].resource.id == f"{ACCOUNT}/us-east-1"


def test_access_denied_deeper_in_a_check_names_that_action(suite_calls):
    client, stub = stub_client("network-firewall")
    stub.add_response(
        "list_firewalls",
        {"Firewalls": [{"FirewallName": "egress", "FirewallArn": f"{NFW}:firewall/egress"}]},
    )
    stub.add_response("describe_firewall", _firewall("egress", []))
    stub.add_client_error(
        "describe_firewall_policy", service_error_code="AccessDeniedException", http_status_code=400
    )
    with stub:
        scan = stub_scan(["aws.nfw.ipv6"], {"us-east-1": {"network-firewall": client}}, suite_calls)
    (finding,) = scan.of("aws.nfw.ipv6")
    assert finding.status is Status.ERROR
    assert finding.evidence["action"] == "network-firewall:DescribeFirewallPolicy"


@pytest.mark.parametrize("check_id", ["aws.nfw.ipv6", "aws.apigw.dualstack"])
def test_a_region_without_the_service_is_skipped(check_id, suite_calls):
    """botocore's own data: the aws-iso-f partition has no Network Firewall and no API
    Gateway in us-isof-east-1. No call is made (the stub has no answers to give)."""
    service = "network-firewall" if check_id == "aws.nfw.ipv6" else "apigateway"
    client, stub = stub_client(service, "us-isof-east-1")
    with stub:
        scan = stub_scan([check_id], {"us-isof-east-1": {service: client}}, suite_calls)
    (finding,) = scan.of(check_id)
    assert finding.status is Status.SKIP
    assert f"is not offered in us-isof-east-1: botocore's endpoint data lists no {service}" in (
        finding.message
    )
    assert finding.evidence["code"] == "ServiceNotInRegion"


@pytest.mark.parametrize(("check_id", "service", "operation", "action"), FIRST_CALLS)
def test_every_check_skips_a_region_its_service_has_not_reached(
    check_id, service, operation, action, monkeypatch, suite_calls
):
    """As botocore's data reads before a service launches in a new region: the region is
    known to the partition, the service lists no endpoint there."""
    data = copy.deepcopy(regions.endpoint_data())
    prefix = stub_client(service)[0].meta.service_model.endpoint_prefix
    for partition in data["partitions"]:
        partition["services"].get(prefix, {}).get("endpoints", {}).pop("eu-south-2", None)
    monkeypatch.setattr(regions, "endpoint_data", lambda: data)
    client, stub = stub_client(service, "eu-south-2")
    with stub:
        scan = stub_scan([check_id], {"eu-south-2": {service: client}}, suite_calls)
    regional = [f for f in scan.of(check_id) if f.resource.region == "eu-south-2"]
    assert [str(f.status) for f in regional] == ["skip"]
    assert "is not offered in eu-south-2" in regional[0].message
    assert regional[0].evidence["action"] == action
