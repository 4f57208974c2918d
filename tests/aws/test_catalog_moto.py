"""The catalog v2 checks against the moto server: a passing and a failing resource each, for
what moto keeps (tests/aws/catalog_estate.py says what that is)."""

from __future__ import annotations

from auditor.model import Status
from tests.aws import catalog_estate as est
from tests.aws.estate import make_subnet, make_vpc

PASS, FAIL, WARN = Status.PASS, Status.FAIL, Status.WARN


def test_rds_clusters_and_an_instance_moto_does_not_describe_fully(lab):
    ec2 = lab.client("ec2")
    ids = est.rds_clusters(lab, est.two_subnets(ec2, make_vpc(ec2)))
    scan = lab.scan(["aws.rds.dualstack"])
    ok = scan.on("aws.rds.dualstack", ids["orders"])
    assert ok.status is PASS and ok.evidence["value"] == "DUAL"
    bad = scan.on("aws.rds.dualstack", ids["ledger"])
    assert bad.status is FAIL and bad.evidence["value"] == "IPV4"
    assert bad.evidence["fix"] == [
        "aws rds modify-db-cluster --db-cluster-identifier ledger --network-type DUAL "
        "--apply-immediately"
    ]
    assert bad.remediation.startswith("1. aws rds modify-db-cluster")
    # moto accepts NetworkType=DUAL for an instance but answers without it: AWS's default
    silent = scan.on("aws.rds.dualstack", ids["reports"])
    assert silent.status is FAIL and silent.evidence["reported"] is False
    assert "not reported by the API" in silent.message


def test_elasticache_network_type_and_discovery(lab):
    ec2 = lab.client("ec2")
    vpc = make_vpc(ec2)
    subnet = make_subnet(ec2, vpc, "100.64.0.0/24")["SubnetId"]
    make_subnet(ec2, vpc, None, az="b")  # an IPv6-only subnet: its clients need ipv6 discovery
    ids = est.cache_clusters(lab, subnet)
    scan = lab.scan(["aws.elasticache.dualstack"])
    assert scan.statuses("aws.elasticache.dualstack") == {
        ids["sessions"]: "pass",
        ids["legacy"]: "fail",
        ids["catalog"]: "fail",
        ids["queue"]: "fail",
    }
    catalog = scan.on("aws.elasticache.dualstack", ids["catalog"])
    assert catalog.evidence["attribute"] == "IpDiscovery"
    assert (catalog.evidence["value"], catalog.evidence["expected"]) == ("ipv4", "ipv6")
    assert catalog.evidence["vpc_has_ipv6_only_subnets"] is True
    assert "modify-cache-cluster --cache-cluster-id catalog --ip-discovery ipv6" in (
        catalog.message
    )
    legacy = scan.on("aws.elasticache.dualstack", ids["legacy"])
    assert legacy.evidence["reported"] is False and "create-cache-cluster" in legacy.remediation


def test_eks_ip_family(lab):
    ec2 = lab.client("ec2")
    ids = est.eks_clusters(lab, est.two_subnets(ec2, make_vpc(ec2)))
    scan = lab.scan(["aws.eks.ip_family"])
    assert scan.on("aws.eks.ip_family", ids["apps-v6"]).status is PASS
    old = scan.on("aws.eks.ip_family", ids["apps"])
    assert old.status is FAIL and old.stage == 3
    assert old.evidence["value"] == "ipv4" and old.evidence["service_cidr"] == "172.20.0.0/16"
    assert "ipFamily=ipv6" in old.remediation


def test_ecs_setting_and_awsvpc_services(lab):
    ec2 = lab.client("ec2")
    vpc = make_vpc(ec2)
    v6 = make_subnet(ec2, vpc, "100.64.0.0/24")["SubnetId"]
    v4 = make_subnet(ec2, vpc, "100.64.1.0/24", ipv6=False, az="b")["SubnetId"]
    ids = est.ecs_services(lab, ec2, vpc, v6, v4)
    before = lab.scan(["aws.ecs.dualstack"])
    region = before.on("aws.ecs.dualstack", "123456789012/us-east-1")
    assert region.status is FAIL and region.evidence["reported"] is False
    assert region.evidence["fix"] == [
        "aws ecs put-account-setting-default --name dualStackIPv6 --value enabled"
    ]
    assert before.on("aws.ecs.dualstack", ids["web"]).status is FAIL  # the setting is off
    lab.client("ecs").put_account_setting(name="dualStackIPv6", value="enabled")
    after = lab.scan(["aws.ecs.dualstack"])
    assert after.statuses("aws.ecs.dualstack") == {
        "123456789012/us-east-1": "pass",
        ids["web"]: "pass",
        ids["worker"]: "fail",
    }
    worker = after.on("aws.ecs.dualstack", ids["worker"])
    assert worker.evidence["subnets_without_ipv6"] == [v4]
    assert "subnet(s) " + v4 + " have no IPv6 CIDR" in worker.message


def test_transit_gateway_attachments_and_routes(lab):
    ec2 = lab.client("ec2")
    ids = est.transit(lab, ec2)
    scan = lab.scan(["aws.tgw.ipv6"])
    assert scan.on("aws.tgw.ipv6", ids["att_a"]).status is PASS
    att_b = scan.on("aws.tgw.ipv6", ids["att_b"])
    assert att_b.status is FAIL and att_b.evidence["value"] == "disable"
    assert att_b.evidence["fix"] == [
        "aws ec2 modify-transit-gateway-vpc-attachment --transit-gateway-attachment-id "
        f"{ids['att_b']} --options Ipv6Support=enable"
    ]
    table = scan.on("aws.tgw.ipv6", ids["rt"])
    assert table.status is FAIL
    (gap,) = table.evidence["gaps"]
    assert (gap["vpc"], gap["missing_ipv6"]) == (ids["vpc_b"], [ids["vpc_b_v6"]])
    assert f"--destination-cidr-block {ids['vpc_b_v6']}" in gap["fix"]


def test_peering_routes(lab):
    ids = est.peering(lab, lab.client("ec2"))
    scan = lab.scan(["aws.peering.ipv6"])
    assert scan.statuses("aws.peering.ipv6") == {
        f"{ids['good']}/{ids['pcx_b']}": "pass",
        f"{ids['bad']}/{ids['pcx_b']}": "fail",
        f"{ids['bad']}/{ids['pcx_c']}": "fail",
    }
    missing = scan.on("aws.peering.ipv6", f"{ids['bad']}/{ids['pcx_b']}")
    assert missing.evidence["peer_ipv6_cidrs"] == [ids["b_v6"]]
    assert missing.evidence["fix"] == [
        f"aws ec2 create-route --route-table-id {ids['bad']} --destination-ipv6-cidr-block "
        f"{ids['b_v6']} --vpc-peering-connection-id {ids['pcx_b']}"
    ]
    no_v6 = scan.on("aws.peering.ipv6", f"{ids['bad']}/{ids['pcx_c']}")
    assert f"the peer VPC {ids['c']} has no IPv6 CIDR" in no_v6.message


def test_resolver_endpoint_on_moto_is_ipv4(lab):
    """moto keeps no ResolverEndpointType: every endpoint reads as AWS's default, IPV4 (the
    passing case is stubbed, tests/aws/test_catalog_stubbed.py)."""
    ec2 = lab.client("ec2")
    vpc = make_vpc(ec2)
    subnets = est.two_subnets(ec2, vpc)
    sg = ec2.create_security_group(GroupName="dns", Description="d", VpcId=vpc.id)["GroupId"]
    endpoint = lab.client("route53resolver").create_resolver_endpoint(
        CreatorRequestId="in",
        Name="inbound",
        SecurityGroupIds=[sg],
        Direction="INBOUND",
        IpAddresses=[{"SubnetId": s} for s in subnets],
    )["ResolverEndpoint"]
    (finding,) = lab.scan(["aws.resolver.endpoint_ipv6"]).of("aws.resolver.endpoint_ipv6")
    assert finding.status is FAIL and finding.resource.id == endpoint["Arn"]
    assert finding.evidence["value"] == "IPV4" and finding.evidence["reported"] is False
    assert "--resolver-endpoint-type DUALSTACK" in finding.remediation


def test_api_gateway(lab):
    ids = est.apis(lab)
    scan = lab.scan(["aws.apigw.dualstack"])
    assert scan.statuses("aws.apigw.dualstack") == {
        ids["orders"]: "pass",
        ids["legacy"]: "fail",
        ids["hooks"]: "fail",  # moto keeps no HTTP API IpAddressType: AWS's default, ipv4
        "api.example.com": "pass",
        "hooks.example.com": "fail",
    }
    legacy = scan.on("aws.apigw.dualstack", ids["legacy"])
    assert legacy.evidence["endpoint"] == "EDGE" and legacy.evidence["fix"] == [
        f"aws apigateway update-rest-api --rest-api-id {ids['legacy']} --patch-operations "
        "op=replace,path=/endpointConfiguration/ipAddressType,value=dualstack"
    ]
    domain = scan.on("aws.apigw.dualstack", "hooks.example.com")
    assert domain.evidence["listed_by"] == ["apigatewayv2"]


def test_launch_templates_and_auto_scaling_groups(lab):
    ec2 = lab.client("ec2")
    ids = est.launch(lab, ec2, make_vpc(ec2))
    scan = lab.scan(["aws.ec2.launch_ipv6"])
    assert scan.statuses("aws.ec2.launch_ipv6") == {
        ids["web"]: "pass",  # the template gives IPv6
        ids["jobs"]: "pass",  # its subnet assigns IPv6
        ids["batch"]: "fail",
        ids["lt_pinned"]: "fail",  # names a subnet that does not assign IPv6
        ids["lt_loose"]: "warn",  # names no subnet: the launch decides
    }
    batch = scan.on("aws.ec2.launch_ipv6", ids["batch"])
    assert batch.evidence["launch_template"] == f"{ids['lt_bare']} 1 (v1)"
    assert f"--launch-template-id {ids['lt_bare']}" in batch.evidence["fix"][0]
    assert f"--subnet-id {ids['plain']} --assign-ipv6-address-on-creation" in batch.remediation


def test_sdk_dualstack(lab, monkeypatch):
    ec2 = lab.client("ec2")
    subnet = make_subnet(ec2, make_vpc(ec2), "100.64.0.0/24")["SubnetId"]
    tds, fns = est.task_definitions(lab), est.functions(lab, subnet)
    scan = lab.scan(["aws.sdk.dualstack"])
    assert scan.statuses("aws.sdk.dualstack") == {
        tds["api"]: "pass",  # the newest revision sets it; revision 1 is not judged
        tds["batch"]: "fail",
        fns["ingest"]: "pass",
        fns["report"]: "fail",
        "aws-config:default": "warn",  # this host: unset
    }
    report = scan.on("aws.sdk.dualstack", fns["report"])
    assert "hunter2" not in repr(report.evidence) + report.message + report.remediation
    monkeypatch.setenv("AWS_USE_DUALSTACK_ENDPOINT", "true")
    host = lab.scan(["aws.sdk.dualstack"]).on("aws.sdk.dualstack", "aws-config:default")
    assert host.status is PASS
    assert host.evidence["settings"] == {"environment AWS_USE_DUALSTACK_ENDPOINT": "True"}
