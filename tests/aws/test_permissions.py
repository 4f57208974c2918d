"""`v6audit iam-policy` covers every AWS call the checks make, and each check declares exactly
the actions it calls. Each test builds the estate that makes every conditional call happen,
scans it and reads only its own record of the calls, so it passes or fails alone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.registry import load_checks
from auditor.traffic.settings import TrafficSource
from tests.aws import catalog_estate
from tests.aws.conftest import AWS_CHECKS, stub_scan
from tests.aws.estate import build_field, ip_set, stub_client, web_acl
from tests.aws.test_traffic import CHECKS as TRAFFIC_CHECKS
from tests.aws.test_traffic import FLOW_GROUP, QUERY_GROUP, traffic
from tests.aws.test_traffic import build_estate as build_traffic_estate
from tests.aws.test_traffic import scan as traffic_scan

ROOT = Path(__file__).resolve().parents[2]
# Made by the auditing identity on the role it assumes, granted by that role's trust policy
# and the caller's own permissions, not by the read-only policy of the audited account.
OUTSIDE_POLICY = {"sts:AssumeRole"}
# moto keeps no ENI prefixes and answers Network Firewall policies with HTTP 500; the Network
# Firewall check's exact calls are asserted on its stubbed run (test_catalog_stubbed.py)
STUBBED = {"aws.ec2.eni_prefix", "aws.nfw.ipv6"}


def rich_estate(lab) -> dict:
    """The field estate plus what makes every conditional call happen."""
    ids = build_field(lab)
    ec2 = lab.client("ec2")
    pl = ec2.create_managed_prefix_list(
        PrefixListName="partners",
        AddressFamily="IPv4",
        MaxEntries=2,
        Entries=[{"Cidr": "203.0.113.0/24"}],
    )["PrefixList"]["PrefixListId"]
    ec2.authorize_security_group_ingress(
        GroupId=ids["ssh_sg"],
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "PrefixListIds": [{"PrefixListId": pl}],
            }
        ],
    )
    ec2.create_vpc_endpoint(
        VpcId=ids["vpc"],
        ServiceName="com.amazonaws.us-east-1.sqs",
        VpcEndpointType="Interface",
        SubnetIds=[ids["priv"]],
    )
    ec2.create_launch_template(LaunchTemplateName="hosts", LaunchTemplateData={})
    catalog_estate.build_all(lab)
    waf = lab.client("wafv2")
    v4 = ip_set(waf, "v4", "IPV4")
    vc = {"SampledRequestsEnabled": False, "CloudWatchMetricsEnabled": False, "MetricName": "m"}
    group = waf.create_rule_group(
        Name="g",
        Scope="REGIONAL",
        Capacity=5,
        VisibilityConfig=vc,
        Rules=[
            {
                "Name": "r",
                "Priority": 0,
                "Action": {"Block": {}},
                "Statement": {"IPSetReferenceStatement": {"ARN": v4}},
                "VisibilityConfig": vc,
            }
        ],
    )["Summary"]["ARN"]
    web_acl(waf, "acl", [("group", {"RuleGroupReferenceStatement": {"ARN": group}})])
    s3 = lab.client("s3")
    s3.create_bucket(Bucket="assets-bucket")
    s3.put_bucket_policy(
        Bucket="assets-bucket",
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": "arn:aws:s3:::assets-bucket/*",
                        "Condition": {"IpAddress": {"aws:SourceIp": ["192.0.2.0/24"]}},
                    }
                ],
            }
        ),
    )
    return ids


def _eni_prefix_stub():
    ec2, stub = stub_client("ec2")
    stub.add_response(
        "describe_network_interfaces",
        {
            "NetworkInterfaces": [
                {
                    "NetworkInterfaceId": "eni-0000000000000aaaa",
                    "SubnetId": "subnet-0000000000000aaaa",
                    "Ipv4Prefixes": [{"Ipv4Prefix": "100.64.0.32/28"}],
                }
            ]
        },
    )
    stub.add_response(
        "describe_subnets",
        {"Subnets": [{"SubnetId": "subnet-0000000000000aaaa", "CidrBlock": "100.64.0.0/24"}]},
    )
    with stub:
        return stub_scan(["aws.ec2.eni_prefix"], {"us-east-1": {"ec2": ec2}})


@pytest.fixture
def estate(lab):
    return rich_estate(lab)


def test_each_check_declares_exactly_the_actions_it_calls(lab, estate):
    metas = {c.id: c.meta for c in load_checks()}
    wrong = {}
    for check_id in AWS_CHECKS:
        if check_id in STUBBED:
            continue
        scan = lab.scan([check_id])
        assert not [f for f in scan.findings if str(f.status) == "error"], check_id
        declared = set(metas[check_id].permissions)
        if scan.recorder.actions != declared:
            wrong[check_id] = {
                "called, not declared": sorted(scan.recorder.actions - declared),
                "declared, not called": sorted(declared - scan.recorder.actions),
            }
    scan = _eni_prefix_stub()
    declared = set(metas["aws.ec2.eni_prefix"].permissions) - {"sts:GetCallerIdentity"}
    if scan.recorder.actions != declared:  # stubbed clients skip the identity lookup
        wrong["aws.ec2.eni_prefix"] = sorted(scan.recorder.actions ^ declared)
    assert wrong == {}


@pytest.fixture
def traffic_estate(lab):
    return build_traffic_estate(lab)


def test_traffic_checks_declare_exactly_the_actions_their_readers_call(lab, traffic_estate):
    config = traffic(
        traffic_estate["vpc"],
        resolver_query_logs=(TrafficSource("log_group", QUERY_GROUP),),
    )
    findings, recorder = traffic_scan(lab, config)
    assert not [f for f in findings if str(f.status) == "error"]
    metas = {c.id: c.meta for c in load_checks()}
    for check_id in TRAFFIC_CHECKS:
        assert set(metas[check_id].permissions) == recorder.actions, check_id
    assert {"logs:FilterLogEvents", "s3:ListBucket", "s3:GetObject"} <= recorder.actions
    # the flow logs come from S3 here, the queries from the log group


def test_iam_policy_covers_every_call_the_checks_make(lab, estate):
    calls = lab.scan(AWS_CHECKS, regions=("us-east-1", "eu-west-1")).recorder
    calls.merge(_eni_prefix_stub().recorder)
    vpc = build_traffic_estate(lab)["vpc"]
    for sources in ("s3", "log_group"):
        config = traffic(vpc)
        if sources == "log_group":
            config = traffic(
                vpc,
                resolver_query_logs=(TrafficSource("log_group", QUERY_GROUP),),
                flow_logs=(TrafficSource("log_group", FLOW_GROUP),),
            )
        calls.merge(traffic_scan(lab, config)[1])
    proc = subprocess.run(
        [sys.executable, "-m", "auditor", "iam-policy"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    policy = json.loads(proc.stdout)
    (statement,) = policy["Statement"]
    allowed = set(statement["Action"])
    assert statement["Effect"] == "Allow" and statement["Resource"] == "*"
    checks = (*AWS_CHECKS, *TRAFFIC_CHECKS)
    declared = {p for c in load_checks() if c.id in checks for p in c.meta.permissions}
    assert declared <= allowed
    assert {"logs:FilterLogEvents", "s3:ListBucket", "s3:GetObject"} <= allowed
    recorded = calls.actions - OUTSIDE_POLICY
    assert {"logs:FilterLogEvents", "s3:ListBucket", "s3:GetObject"} <= recorded
    assert len(recorded) >= 25  # the estate made (nearly) every listing happen
    assert recorded - allowed == set()
    # read-only verbs; API Gateway authorises its reads as apigateway:GET
    read_only = ("Describe", "List", "Get", "Search", "GET", "FilterLogEvents")
    assert all(a.split(":")[1].startswith(read_only) for a in allowed)
