"""The pure verdicts behind the catalog v2 checks (auditor/aws/{datastores,containers,
transit,firewall,apis,workloads}.py), on answers shaped like AWS's."""

from __future__ import annotations

from auditor.aws.apis import domain_verdicts, http_api_verdict, rest_api_verdict
from auditor.aws.containers import ecs_service_verdict, ecs_setting, eks_verdict
from auditor.aws.datastores import cache_verdicts, rds_verdicts
from auditor.aws.firewall import firewall_mappings, group_parity, parse_rules_string
from auditor.aws.regions import endpoint_data, offered
from auditor.aws.transit import (
    attachment_verdict,
    peering_verdicts,
    resolver_verdict,
    tgw_table_verdict,
)
from auditor.aws.workloads import (
    asg_verdict,
    host_verdict,
    lambda_verdict,
    latest_revisions,
    task_definition_verdict,
    template_verdict,
    versions_by_template,
)

V6 = {"Ipv6CidrBlockState": {"State": "associated"}}


def _subnet(sid, v6=None, assign=False, vpc="vpc-1"):
    assoc = [{"Ipv6CidrBlock": v6, **V6}] if v6 else []
    return {
        "SubnetId": sid,
        "VpcId": vpc,
        "Ipv6CidrBlockAssociationSet": assoc,
        "AssignIpv6AddressOnCreation": assign,
    }


def _vpc(vid, v4, v6=None):
    return {
        "VpcId": vid,
        "CidrBlock": v4,
        "CidrBlockAssociationSet": [{"CidrBlock": v4, "CidrBlockState": {"State": "associated"}}],
        "Ipv6CidrBlockAssociationSet": [{"Ipv6CidrBlock": v6, **V6}] if v6 else [],
    }


def test_service_availability_from_botocore_endpoint_data():
    assert offered("network-firewall", "us-east-1") is True
    assert offered("network-firewall", "us-isof-east-1") is False  # an ISO region without it
    assert offered("ec2", "us-isof-east-1") is True
    assert offered("rds", "xx-future-1") is None  # unknown to this botocore: not judged
    data = {"partitions": [{"regions": {"r-1": {}}, "services": {"eks": {"endpoints": {}}}}]}
    assert offered("eks", "r-1", data) is False
    assert offered("ecs", "r-1", data) is False  # no such service in the partition
    assert "partitions" in endpoint_data()


def test_rds_instances_clusters_and_subnet_groups():
    group_v4 = {
        "DBSubnetGroupName": "legacy",
        "SupportedNetworkTypes": ["IPV4"],
        "Subnets": [{"SubnetIdentifier": "subnet-a"}, {"SubnetIdentifier": "subnet-b"}],
    }
    group_dual = {"DBSubnetGroupName": "dual", "SupportedNetworkTypes": ["IPV4", "DUAL"]}
    instances = [
        {"DBInstanceIdentifier": "ok", "NetworkType": "DUAL", "DBSubnetGroup": group_dual},
        {"DBInstanceIdentifier": "v4", "NetworkType": "IPV4", "DBSubnetGroup": group_dual},
        {"DBInstanceIdentifier": "stuck", "NetworkType": "IPV4", "DBSubnetGroup": group_v4},
        {"DBInstanceIdentifier": "silent", "DBSubnetGroup": {"DBSubnetGroupName": "dual"}},
        {"DBInstanceIdentifier": "member", "DBClusterIdentifier": "aurora"},
    ]
    clusters = [{"DBClusterIdentifier": "aurora", "NetworkType": "IPV4", "DBSubnetGroup": "dual"}]
    verdicts = {v.id: v for v in rds_verdicts(instances, clusters, [group_dual, group_v4])}
    assert set(verdicts) == {"ok", "v4", "stuck", "silent", "aurora"}  # the member follows
    assert verdicts["ok"].ok and not verdicts["v4"].ok
    assert verdicts["v4"].fix == [
        "aws rds modify-db-instance --db-instance-identifier v4 --network-type DUAL "
        "--apply-immediately"
    ]
    stuck = verdicts["stuck"]
    assert stuck.problems[1] == "DB subnet group legacy supports only IPV4"
    assert "(subnet-a, subnet-b)" in stuck.fix[0] and len(stuck.fix) == 2
    silent = verdicts["silent"]  # unreported NetworkType is AWS's default IPV4
    assert not silent.ok and not silent.reported and silent.value == "IPV4"
    assert silent.subnet_group_types == ["IPV4", "DUAL"]  # from the group listing
    assert verdicts["aurora"].kind == "db-cluster"
    assert "modify-db-cluster --db-cluster-identifier aurora" in verdicts["aurora"].fix[0]


def test_elasticache_network_type_and_ip_discovery():
    clusters = [
        {"CacheClusterId": "memc", "NetworkType": "ipv4", "CacheSubnetGroupName": "v4"},
        {"CacheClusterId": "rg-001", "ReplicationGroupId": "rg", "CacheSubnetGroupName": "ds"},
        {"CacheClusterId": "solo", "NetworkType": "dual_stack", "IpDiscovery": "ipv6"},
    ]
    groups = [
        {
            "ReplicationGroupId": "rg",
            "NetworkType": "dual_stack",
            "IpDiscovery": "ipv4",
            "MemberClusters": ["rg-001"],
        },
        {"ReplicationGroupId": "far", "NetworkType": "dual_stack", "IpDiscovery": "ipv4"},
    ]
    sgs = [
        {"CacheSubnetGroupName": "v4", "VpcId": "vpc-old", "SupportedNetworkTypes": ["ipv4"]},
        {"CacheSubnetGroupName": "ds", "VpcId": "vpc-new", "SupportedNetworkTypes": ["ipv4"]},
    ]
    verdicts = {v.id: v for v in cache_verdicts(clusters, groups, sgs, {"vpc-new"})}
    assert set(verdicts) == {"memc", "rg", "far", "solo"}
    rg = verdicts["rg"]  # dual-stack, but IPv6-only clients in its VPC discover IPv4
    assert not rg.ok and rg.attribute == "IpDiscovery" and rg.ipv6_only_clients is True
    assert "--ip-discovery ipv6" in rg.fix[0]
    far = verdicts["far"]  # no member visible: the VPC is unknown, so discovery is not judged
    assert far.ok and far.ipv6_only_clients is None
    memc = verdicts["memc"]
    assert memc.problems == ["NetworkType is ipv4", "cache subnet group v4 supports only ipv4"]
    assert "create-cache-cluster" in memc.fix[-1]  # NetworkType is fixed at creation
    assert verdicts["solo"].ok


def test_eks_family_and_ecs_services():
    assert eks_verdict({"name": "a", "kubernetesNetworkConfig": {"ipFamily": "ipv6"}}).ok
    old = eks_verdict(
        {"name": "b", "kubernetesNetworkConfig": {"serviceIpv4Cidr": "172.20.0.0/16"}}
    )
    assert not old.ok and not old.reported and old.ip_family == "ipv4"
    assert "ipFamily=ipv6" in old.fix[0] and "cannot be changed" in old.fix[0]
    assert not ecs_setting([]).ok and not ecs_setting([]).reported
    on = ecs_setting([{"name": "dualStackIPv6", "value": "enabled"}])
    assert on.ok
    subnets = {"subnet-6": _subnet("subnet-6", "2001:db8::/64"), "subnet-4": _subnet("subnet-4")}

    def svc(*ids):
        return {
            "serviceName": "web",
            "serviceArn": "arn:svc/web",
            "clusterArn": "arn:aws:ecs:us-east-1:1:cluster/prod",
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": list(ids)}},
        }

    assert ecs_service_verdict(svc("subnet-6"), subnets, on).ok
    bad = ecs_service_verdict(svc("subnet-6", "subnet-4", "subnet-x"), subnets, ecs_setting([]))
    assert bad.problems == [
        "the account setting dualStackIPv6 is disabled",
        "subnet(s) subnet-4 have no IPv6 CIDR",
    ]
    assert bad.subnets_not_found == ["subnet-x"] and bad.cluster == "prod"
    assert ecs_service_verdict({"serviceName": "bridge"}, subnets, on) is None


def test_tgw_attachments_and_route_table_parity():
    vpcs = {
        "vpc-a": _vpc("vpc-a", "10.1.0.0/16", "2001:db8:a::/56"),
        "vpc-b": _vpc("vpc-b", "10.2.0.0/16", "2001:db8:b::/56"),
        "vpc-c": _vpc("vpc-c", "10.3.0.0/16"),
    }
    atts = [
        {"TransitGatewayAttachmentId": f"tgw-attach-{x}", "VpcId": f"vpc-{x}", "Options": o}
        for x, o in (("a", {"Ipv6Support": "enable"}), ("b", {}), ("c", {"Ipv6Support": "disable"}))
    ]
    verdicts = [attachment_verdict(a, vpcs) for a in atts]
    assert [v.ok for v in verdicts] == [True, False, False]
    assert "associate-vpc-cidr-block --vpc-id vpc-c" in verdicts[2].fix[0]
    routes = [
        {"DestinationCidrBlock": "10.1.0.0/16", "Type": "propagated", "State": "active"},
        {"DestinationCidrBlock": "2001:db8:a::/56", "Type": "propagated", "State": "active"},
        # moto leaves out the attachment: the VPC is found by its IPv4 CIDR
        {"DestinationCidrBlock": "10.2.0.0/16", "Type": "static", "State": "active"},
        {"DestinationCidrBlock": "10.3.0.0/16", "Type": "static", "State": "active"},
        {
            "DestinationCidrBlock": "192.0.2.0/24",
            "Type": "static",
            "TransitGatewayAttachments": [{"ResourceType": "vpn", "ResourceId": "vpn-1"}],
        },
    ]
    table = {"TransitGatewayRouteTableId": "tgw-rtb-1", "TransitGatewayId": "tgw-1"}
    v = tgw_table_verdict(table, routes, atts, vpcs)
    assert v.checked_vpcs == ["vpc-a", "vpc-b", "vpc-c"]
    (gap,) = v.gaps
    assert (gap.vpc, gap.missing_ipv6, gap.route_type) == ("vpc-b", ["2001:db8:b::/56"], "static")
    assert gap.fix == (
        "aws ec2 create-transit-gateway-route --transit-gateway-route-table-id tgw-rtb-1 "
        "--destination-cidr-block 2001:db8:b::/56 --transit-gateway-attachment-id tgw-attach-b"
    )
    assert v.unmatched_ipv4 == ["192.0.2.0/24"]


def test_peering_routes_need_the_peers_ipv6():
    vpcs = {"vpc-1": _vpc("vpc-1", "10.0.0.0/16", "2001:db8:1::/56")}
    vpcs["vpc-2"] = _vpc("vpc-2", "10.1.0.0/16", "2001:db8:2::/56")
    vpcs["vpc-3"] = _vpc("vpc-3", "10.2.0.0/16")
    peerings = {
        "pcx-2": {
            "RequesterVpcInfo": {"VpcId": "vpc-1"},
            "AccepterVpcInfo": {"VpcId": "vpc-2"},
        },
        "pcx-3": {"RequesterVpcInfo": {"VpcId": "vpc-3"}, "AccepterVpcInfo": {"VpcId": "vpc-1"}},
        "pcx-x": {
            "RequesterVpcInfo": {"VpcId": "vpc-1"},
            "AccepterVpcInfo": {
                "VpcId": "vpc-far",
                "Ipv6CidrBlockSet": [{"Ipv6CidrBlock": "2001:db8:f::/56"}],
            },
        },
    }

    def route(dest, pcx):
        key = "DestinationIpv6CidrBlock" if ":" in dest else "DestinationCidrBlock"
        return {key: dest, "VpcPeeringConnectionId": pcx, "State": "active"}

    tables = [
        {
            "RouteTableId": "rtb-good",
            "VpcId": "vpc-1",
            "Routes": [route("10.1.0.0/16", "pcx-2"), route("2001:db8:2::/56", "pcx-2")],
        },
        {
            "RouteTableId": "rtb-bad",
            "VpcId": "vpc-1",
            "Routes": [
                route("10.1.0.0/16", "pcx-2"),
                route("10.2.0.0/16", "pcx-3"),
                route("10.9.0.0/16", "pcx-x"),
            ],
        },
    ]
    out = {(v.route_table, v.pcx): v for v in peering_verdicts(tables, peerings, vpcs)}
    assert out["rtb-good", "pcx-2"].status == "pass"
    missing = out["rtb-bad", "pcx-2"]
    assert missing.status == "fail" and missing.fix == [
        "aws ec2 create-route --route-table-id rtb-bad --destination-ipv6-cidr-block "
        "2001:db8:2::/56 --vpc-peering-connection-id pcx-2"
    ]
    no_v6_peer = out["rtb-bad", "pcx-3"]
    assert no_v6_peer.peer_vpc == "vpc-3" and "has no IPv6 CIDR" in no_v6_peer.reason
    far = out["rtb-bad", "pcx-x"]  # cross-account peer: its CIDR from the connection
    assert far.peer_ipv6 == ["2001:db8:f::/56"] and far.status == "fail"


def test_resolver_endpoint_types():
    assert resolver_verdict({"Id": "rslvr-in-1", "ResolverEndpointType": "DUALSTACK"}).ok
    assert resolver_verdict({"Id": "rslvr-in-2", "ResolverEndpointType": "IPV6"}).ok
    v4 = resolver_verdict({"Id": "rslvr-out-3", "IpAddressCount": 2})
    assert not v4.ok and not v4.reported and "--resolver-endpoint-type DUALSTACK" in v4.fix[0]


def test_network_firewall_rules_and_mappings():
    rules, bad = parse_rules_string(
        "pass tls $HOME_NET any -> [203.0.113.0/24, 198.51.100.7] 443 (tls.sni; sid:10;)\n"
        "# a comment\n"
        "not a rule\n"
    )
    assert (
        bad == 1 and rules[0].ref == "sid:10" and rules[0].dst == "[203.0.113.0/24, 198.51.100.7]"
    )
    group = {
        "RuleVariables": {"IPSets": {"OFFICE": {"Definition": ["192.0.2.0/24"]}}},
        "RulesSource": {
            "StatefulRules": [
                {
                    "Action": "DROP",
                    "Header": {
                        "Protocol": "TCP",
                        "Source": "$OFFICE",
                        "SourcePort": "ANY",
                        "Direction": "FORWARD",
                        "Destination": "ANY",
                        "DestinationPort": "22",
                    },
                    "RuleOptions": [{"Keyword": "sid", "Settings": ["1"]}],
                },
                {
                    "Action": "PASS",
                    "Header": {
                        "Protocol": "TCP",
                        "Source": "192.0.2.0/24",
                        "SourcePort": "ANY",
                        "Direction": "FORWARD",
                        "Destination": "ANY",
                        "DestinationPort": "443",
                    },
                    "RuleOptions": [{"Keyword": "sid", "Settings": ["2"]}],
                },
                {
                    "Action": "PASS",
                    "Header": {
                        "Protocol": "TCP",
                        "Source": "2001:db8:10::/48",
                        "SourcePort": "ANY",
                        "Direction": "FORWARD",
                        "Destination": "ANY",
                        "DestinationPort": "443",
                    },
                    "RuleOptions": [{"Keyword": "sid", "Settings": ["3"]}],
                },
            ]
        },
    }
    parity = group_parity("arn:rg/office", group)
    (gap,) = parity.gaps  # sid:2 has its IPv6 twin in sid:3
    assert (gap.rule, gap.ipv4_only, gap.variables) == (
        "sid:1",
        {"source": ["192.0.2.0/24"]},
        ["OFFICE"],
    )
    # the policy's HOME_NET makes an IPv4-only destination out of $HOME_NET
    homes = group_parity(
        "g",
        {"RulesSource": {"RulesString": "pass tcp any any -> $HOME_NET 80 (sid:1;)"}},
        {"HOME_NET": ["100.64.0.0/16"]},
    )
    assert [g.ipv4_only for g in homes.gaps] == [{"destination": ["100.64.0.0/16"]}]
    assert (
        group_parity(
            "g", {"RulesSource": {"RulesString": "pass tcp any any -> any 80 (sid:1;)"}}
        ).gaps
        == []
    )
    v4_subnets, types = firewall_mappings(
        {"SubnetMappings": [{"SubnetId": "s-1", "IPAddressType": "DUALSTACK"}, {"SubnetId": "s-2"}]}
    )
    assert v4_subnets == ["s-2"] and types == {"s-1": "DUALSTACK", "s-2": "IPV4"}


def test_api_gateway_types_and_shared_domains():
    assert rest_api_verdict({"id": "a", "endpointConfiguration": {"ipAddressType": "dualstack"}}).ok
    edge = rest_api_verdict({"id": "b", "endpointConfiguration": {"types": ["EDGE"]}})
    assert (
        not edge.ok and not edge.reported and "/endpointConfiguration/ipAddressType" in edge.fix[0]
    )
    ws = http_api_verdict({"ApiId": "c", "ProtocolType": "WEBSOCKET", "IpAddressType": "ipv4"})
    assert ws.kind == "websocket-api" and "--ip-address-type dualstack" in ws.fix[0]
    v1 = [
        {"domainName": "api.example.com", "endpointConfiguration": {"ipAddressType": "dualstack"}}
    ]
    v2 = [
        {"DomainName": "api.example.com", "DomainNameConfigurations": [{"IpAddressType": "ipv4"}]},
        {
            "DomainName": "v2.example.com",
            "DomainNameConfigurations": [{"IpAddressType": "dualstack"}],
        },
    ]
    domains = {d.id: d for d in domain_verdicts(v1, v2)}
    assert len(domains) == 2  # one verdict per domain, whichever API lists it
    shared = domains["api.example.com"]
    assert not shared.ok and shared.sources == ["apigateway", "apigatewayv2"]
    assert "apigatewayv2 update-domain-name" in shared.fix[0]
    assert domains["v2.example.com"].ok


def test_launch_templates_and_auto_scaling_groups():
    subnets = {
        "subnet-on": _subnet("subnet-on", "2001:db8::/64", assign=True),
        "subnet-off": _subnet("subnet-off", "2001:db8:0:1::/64"),
    }
    versions = [
        {
            "LaunchTemplateId": "lt-v6",
            "VersionNumber": 1,
            "DefaultVersion": True,
            "LaunchTemplateData": {
                "NetworkInterfaces": [{"DeviceIndex": 0, "Ipv6AddressCount": 1}]
            },
        },
        {
            "LaunchTemplateId": "lt-bare",
            "VersionNumber": 3,
            "DefaultVersion": True,
            "LaunchTemplateData": {},
        },
        {
            "LaunchTemplateId": "lt-bare",
            "VersionNumber": 4,
            "LaunchTemplateData": {"NetworkInterfaces": [{"DeviceIndex": 0, "PrimaryIpv6": True}]},
        },
    ]
    by_lt = versions_by_template(versions)
    assert by_lt["lt-bare"]["$Default"]["VersionNumber"] == 3
    assert by_lt["lt-bare"]["$Latest"]["VersionNumber"] == 4

    def asg(version, zones):
        spec = {"LaunchTemplateId": "lt-bare", "Version": version}
        return {"AutoScalingGroupName": "g", "LaunchTemplate": spec, "VPCZoneIdentifier": zones}

    assert (
        asg_verdict(asg("$Latest", "subnet-off"), by_lt["lt-bare"]["$Latest"], subnets).status
        == "pass"
    )
    by_subnet = asg_verdict(asg("$Default", "subnet-on"), by_lt["lt-bare"]["$Default"], subnets)
    assert (
        by_subnet.status == "pass" and by_subnet.reason == "all its subnets assign IPv6 on creation"
    )
    bad = asg_verdict(
        asg("$Default", "subnet-on,subnet-off"), by_lt["lt-bare"]["$Default"], subnets
    )
    assert bad.status == "fail" and "subnet-off" in bad.reason
    assert "create-launch-template-version --launch-template-id lt-bare" in bad.fix[0]
    assert "modify-subnet-attribute --subnet-id subnet-off" in bad.fix[-1]
    mixed = {
        "AutoScalingGroupName": "m",
        "MixedInstancesPolicy": {
            "LaunchTemplate": {
                "LaunchTemplateSpecification": {"LaunchTemplateId": "lt-v6", "Version": "1"}
            }
        },
        "VPCZoneIdentifier": "subnet-off",
    }
    assert asg_verdict(mixed, by_lt["lt-v6"]["1"], subnets).status == "pass"
    assert template_verdict("lt-v6", by_lt["lt-v6"]["$Default"], subnets).status == "pass"
    assert template_verdict("lt-bare", by_lt["lt-bare"]["$Default"], subnets).status == "warn"
    named = {
        "LaunchTemplateName": "n",
        "VersionNumber": 1,
        "LaunchTemplateData": {"NetworkInterfaces": [{"DeviceIndex": 0, "SubnetId": "subnet-off"}]},
    }
    assert template_verdict("lt-n", named, subnets).status == "fail"


def test_sdk_dualstack_settings():
    arns = [
        f"arn:aws:ecs:us-east-1:1:task-definition/{f}:{n}"
        for f, n in (("web", 1), ("web", 12), ("web", 3), ("jobs", 2))
    ]
    assert latest_revisions(arns) == [
        "arn:aws:ecs:us-east-1:1:task-definition/jobs:2",
        "arn:aws:ecs:us-east-1:1:task-definition/web:12",
    ]

    def td(role, *containers):
        return {
            "family": "web",
            "revision": 12,
            "taskRoleArn": role,
            "containerDefinitions": list(containers),
        }

    on = {"name": "app", "environment": [{"name": "AWS_USE_DUALSTACK_ENDPOINT", "value": "TRUE"}]}
    off = {
        "name": "sidecar",
        "environment": [{"name": "AWS_USE_DUALSTACK_ENDPOINT", "value": "false"}],
    }
    files = {"name": "worker", "environmentFiles": [{"value": "arn:aws:s3:::b/env", "type": "s3"}]}
    assert task_definition_verdict(td(None, off)) is None  # no task role: no AWS credentials
    assert task_definition_verdict(td("arn:role", on)).status == "pass"
    bad = task_definition_verdict(td("arn:role", on, off, files))
    assert bad.missing == ["sidecar", "worker"] and bad.status == "warn"  # env file unread
    assert bad.settings == {"app": "TRUE", "sidecar": "false", "worker": None}
    assert task_definition_verdict(td("arn:role", off)).status == "fail"
    fn = {
        "FunctionName": "f",
        "VpcConfig": {"SubnetIds": ["s"]},
        "Environment": {"Variables": {"DB_PASSWORD": "hunter2"}},
    }
    v = lambda_verdict(fn)
    assert v.status == "fail" and "hunter2" not in repr(v)  # values never leave, names do
    assert "DB_PASSWORD=...,AWS_USE_DUALSTACK_ENDPOINT=true" in v.fix[0]
    assert lambda_verdict({"FunctionName": "outside"}) is None
    assert host_verdict(True, "config file", "prod").status == "pass"
    assert host_verdict(None, "environment", None).missing == ["environment"]
