"""Fixture results built the way a scan builds them: real `Finding`s and `CheckMeta`s, stamped by
the runner's `stamp`, assembled by `build_result`.

`sample_result()` covers every status, a suppressed finding, nat64/broken network findings with
evidence, AWS findings with resources, a resource name holding `<script>`, public IPv4 cost by
kind, run-level errors and a trend from a real history database. It is saved as
`tests/fixtures/results/sample.json` (`python -m tests.reports.sample_results` rewrites it; a
test fails when the two drift apart). `large_result(n)` scales the same shapes to n findings
for the rendering benchmark.
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from auditor.history import record_run, trend
from auditor.model import (
    Finding,
    Resource,
    Suppression,
    Target,
    errored,
    failed,
    info,
    passed,
    skipped,
    warned,
)
from auditor.registry import Check, CheckMeta
from auditor.result import build_result, dumps
from auditor.runner import stamp

SAMPLE_PATH = Path(__file__).resolve().parents[1] / "fixtures" / "results" / "sample.json"
XSS_NAME = "<script>alert(1)</script>"
WORKLOAD = "payments-api"
ACCOUNT = "123456789012"
REGION = "eu-west-1"


def _meta(
    id: str,
    title: str,
    family: str,
    severity: str,
    stage: int | None,
    remediation: str,
    fix_order: int = 100,
    mandatory: bool = True,
    network: bool = False,
    permissions: tuple[str, ...] = (),
    references: tuple[str, ...] = (),
) -> CheckMeta:
    from auditor.model import Severity

    return CheckMeta(
        id=id,
        title=title,
        family=family,
        severity=Severity(severity),
        stage=stage,
        mandatory=mandatory,
        permissions=permissions,
        remediation=remediation,
        references=references,
        description=f"Proves: {title.lower()}.",
        network=network,
        fix_order=fix_order,
        module=f"checks.{family}",
    )


CHECKS: dict[str, CheckMeta] = {
    m.id: m
    for m in (
        _meta(
            "net.preflight",
            "The auditor has an IPv6 route and a resolver answering over IPv6",
            "preflight",
            "critical",
            None,
            "Run the auditor where it has IPv6.",
            mandatory=False,
            network=True,
        ),
        _meta(
            "dns.nat64",
            "DNS64/NAT64 is present and its prefix known",
            "dns",
            "medium",
            3,
            "Enable DNS64 on IPv6-only subnets and route 64:ff9b::/96 to a NAT gateway.",
            network=True,
            references=("https://www.rfc-editor.org/rfc/rfc7050",),
        ),
        _meta(
            "dns.aaaa",
            "Own names publish a real AAAA",
            "dns",
            "high",
            2,
            "Publish an AAAA record (or an alias AAAA) next to every A record.",
            network=True,
        ),
        _meta(
            "dns.reachable",
            "Every AAAA of an own name answers on its port",
            "dns",
            "high",
            2,
            "Make the service listen on IPv6 at the published address, or withdraw the AAAA.",
            network=True,
        ),
        _meta(
            "dep.reachable",
            "Each dependency is reachable over IPv6",
            "dependencies",
            "medium",
            3,
            "Ask the provider for IPv6, use an IPv6 mirror, or keep NAT64 for it.",
            network=True,
        ),
        _meta(
            "log.reachable",
            "Each log shipper intake is reachable over IPv6",
            "dependencies",
            "medium",
            3,
            "Use the provider's IPv6 intake endpoint.",
            network=True,
        ),
        _meta(
            "aws.endpoint",
            "AWS service endpoints answer dual-stack",
            "endpoints",
            "medium",
            2,
            "Set use_dualstack_endpoint in the SDK config.",
            network=True,
        ),
        _meta(
            "aws.vpc.ipv6_cidr",
            "Each VPC has an IPv6 CIDR",
            "vpc",
            "high",
            1,
            "Associate an Amazon-provided /56 with the VPC.",
            fix_order=10,
            permissions=("ec2:DescribeVpcs",),
        ),
        _meta(
            "aws.vpc.address_plan",
            "VPC IPv4 address plan",
            "vpc",
            "info",
            None,
            "Prefer RFC1918 or RFC6598 space inside VPCs.",
            mandatory=False,
            permissions=("ec2:DescribeVpcs",),
        ),
        _meta(
            "aws.subnet.ipv6_cidr",
            "Each subnet has an IPv6 CIDR",
            "vpc",
            "high",
            1,
            "Give every subnet a /64 from the VPC's /56.",
            fix_order=20,
            permissions=("ec2:DescribeSubnets",),
        ),
        _meta(
            "aws.sg.parity",
            "Security group rules have IPv6 counterparts",
            "filtering",
            "high",
            1,
            "Add the ::/0 (or mapped IPv6) rule next to each IPv4 rule.",
            fix_order=40,
            permissions=("ec2:DescribeSecurityGroups",),
        ),
        _meta(
            "aws.route.ingress_parity",
            "IPv6 traffic is inspected like IPv4",
            "vpc",
            "critical",
            1,
            "Send the subnet's IPv6 CIDR to the same appliance in the gateway route table.",
            fix_order=30,
            permissions=("ec2:DescribeRouteTables",),
        ),
        _meta(
            "aws.elb.dualstack",
            "Load balancers are dual-stack",
            "edge",
            "high",
            2,
            "Set IpAddressType to dualstack on the load balancer.",
            fix_order=60,
            permissions=("elasticloadbalancing:DescribeLoadBalancers",),
        ),
        _meta(
            "aws.cloudfront.ipv6",
            "CloudFront distributions have IPv6 enabled",
            "edge",
            "medium",
            2,
            "Enable IPv6 on the distribution.",
            permissions=("cloudfront:ListDistributions",),
        ),
        _meta(
            "imds.ipv6",
            "IMDSv2 answers over IPv6",
            "compute",
            "low",
            2,
            "Enable HttpProtocolIpv6 on the instance metadata options.",
            network=True,
        ),
        _meta(
            "aws.subnet.dns64",
            "IPv6-only subnets have DNS64 and a NAT64 route",
            "vpc",
            "critical",
            3,
            "Enable DNS64 and add 64:ff9b::/96 to a NAT gateway in the subnet's route table.",
            fix_order=50,
            permissions=("ec2:DescribeSubnets", "ec2:DescribeRouteTables"),
        ),
        _meta(
            "aws.eip.public_ipv4",
            "Public IPv4 addresses are counted and priced",
            "compute",
            "medium",
            4,
            "Release public IPv4 addresses the workload no longer needs once it runs IPv6-only.",
            permissions=("ec2:DescribeAddresses",),
        ),
        _meta(
            "aws.subnet.public_ipv4",
            "Subnets do not map public IPv4 on launch",
            "vpc",
            "low",
            4,
            "Turn MapPublicIpOnLaunch off.",
            permissions=("ec2:DescribeSubnets",),
        ),
    )
}


def _res(rid: str, kind: str, name: str = "", account: str = ACCOUNT, region: str = REGION):
    return Resource(id=rid, kind=kind, name=name, account=account, region=region)


def _stamped(check_id: str, finding: Finding, ms: float = 12.5) -> Finding:
    return stamp(finding, Check(CHECKS[check_id], func=None), ms)  # type: ignore[arg-type]


def sample_findings() -> list[Finding]:
    nat64 = "64:ff9b::/96"
    f = _stamped
    vpc = _res("vpc-0a1b2c3d", "vpc", "prod")
    return [
        f(
            "net.preflight",
            passed(
                "The auditor has an IPv6 default route and its resolver answers over IPv6.",
                evidence={
                    "vantage": "ipv6-only",
                    "route": "2001:db8:0:1::1",
                    "resolvers": ["2001:db8::53"],
                },
            ),
        ),
        f(
            "dns.nat64",
            info(
                "DNS64/NAT64 is present with the well-known prefix 64:ff9b::/96.",
                evidence={"nat64_prefix": nat64, "method": "rfc7050"},
            ),
        ),
        f(
            "dns.aaaa",
            passed(
                "api.example.com has a real AAAA (2001:db8::10).",
                target=Target(host="api.example.com", port=443),
                evidence={"class": "native", "aaaa": ["2001:db8::10"], "a": ["192.0.2.10"]},
            ),
        ),
        f(
            "dns.aaaa",
            failed(
                "www.example.com has no AAAA record: publish one next to its A record.",
                target=Target(host="www.example.com", port=443),
                evidence={"class": "unreachable", "aaaa": [], "a": ["192.0.2.11"]},
            ),
        ),
        f(
            "dns.reachable",
            failed(
                "api.example.com publishes 2001:db8::10 but nothing answers on port 443 there; "
                "IPv6-only clients cannot connect.",
                target=Target(host="api.example.com", port=443, address="2001:db8::10"),
                severity="high",
                evidence={
                    "class": "broken",
                    "aaaa": ["2001:db8::10"],
                    "timings_ms": {"dns": 3.1, "connect": None},
                    "error": "connect timed out after 5 s",
                },
            ),
        ),
        f(
            "dep.reachable",
            passed(
                "PyPI answers natively over IPv6.",
                target=Target(host="pypi.org", port=443, url="https://pypi.org/simple/"),
                evidence={
                    "class": "native",
                    "kind": "pypi",
                    "aaaa": ["2001:db8:f::1"],
                    "timings_ms": {"dns": 2.0, "connect": 11.2, "tls": 20.5, "first_byte": 41.0},
                    "http_status": 200,
                },
            ),
        ),
        f(
            "dep.reachable",
            warned(
                "Docker Hub is reachable only through NAT64: it blocks IPv6-only native.",
                target=Target(
                    host="registry-1.docker.io",
                    port=443,
                    url="https://registry-1.docker.io/v2/",
                ),
                stage=4,
                blocking=True,
                evidence={
                    "class": "nat64",
                    "nat64_prefix": nat64,
                    "kind": "oci-registry",
                    "aaaa": ["64:ff9b::c633:640a"],
                    "http_status": 401,
                },
            ),
        ),
        f(
            "dep.reachable",
            failed(
                "The apt mirror has no AAAA and no NAT64 translation: IPv6-only hosts cannot "
                "install packages.",
                target=Target(
                    host="mirror.example.net",
                    port=80,
                    url="http://mirror.example.net/debian/dists/bookworm/InRelease",
                ),
                evidence={"class": "unreachable", "kind": "apt", "aaaa": [], "a": []},
            ),
        ),
        f(
            "log.reachable",
            warned(
                "The log intake is reachable only through NAT64.",
                target=Target(
                    host="intake.logs.example.com",
                    port=443,
                    url="https://intake.logs.example.com/",
                ),
                stage=4,
                blocking=True,
                evidence={"class": "nat64", "nat64_prefix": nat64, "kind": "https-intake"},
            ),
        ),
        f(
            "aws.endpoint",
            passed(
                "s3 answers on its dual-stack endpoint in eu-west-1.",
                target=Target(
                    host="s3.dualstack.eu-west-1.amazonaws.com",
                    port=443,
                    url="https://s3.dualstack.eu-west-1.amazonaws.com/",
                ),
                evidence={"class": "native", "service": "s3", "region": REGION},
            ),
        ),
        f(
            "aws.endpoint",
            errored(
                "sqs: probing the dual-stack endpoint timed out; the verdict is unknown.",
                target=Target(host="sqs.eu-west-1.api.aws", port=443),
                evidence={"service": "sqs", "error": "TimeoutError after 5 s"},
            ),
        ),
        f("aws.vpc.ipv6_cidr", passed("vpc-0a1b2c3d has 2001:db8:1200::/56.", resource=vpc)),
        f(
            "aws.vpc.address_plan",
            info(
                "vpc-0a1b2c3d uses 10.20.0.0/16 (RFC1918).",
                resource=vpc,
                evidence={"cidrs": {"10.20.0.0/16": "rfc1918"}},
            ),
        ),
        f(
            "aws.subnet.ipv6_cidr",
            passed(
                "subnet-0aa1 has 2001:db8:1200:1::/64.",
                resource=_res("subnet-0aa1", "subnet", "app-a"),
            ),
        ),
        f(
            "aws.subnet.ipv6_cidr",
            passed(
                "subnet-0bb2 has 2001:db8:1200:2::/64.",
                resource=_res("subnet-0bb2", "subnet", "app-b"),
            ),
        ),
        f(
            "aws.route.ingress_parity",
            passed(
                "rtb-0edge sends both CIDRs of subnet-0aa1 to the inspection appliance.",
                resource=_res("rtb-0edge", "route-table", "edge"),
            ),
        ),
        f(
            "aws.sg.parity",
            passed(
                "sg-0web allows 443 from 0.0.0.0/0 and ::/0.",
                resource=_res("sg-0web", "security-group", "web"),
            ),
        ),
        f(
            "aws.sg.parity",
            warned(
                "sg-0db allows 5432 from 10.20.0.0/16; map it to an IPv6 CIDR by hand.",
                resource=_res("sg-0db", "security-group", "db"),
                evidence={"rule": {"port": 5432, "cidr": "10.20.0.0/16"}},
            ),
        ),
        _suppress(
            f(
                "aws.sg.parity",
                failed(
                    "sg-0legacy allows 22 from 0.0.0.0/0 but has no ::/0 rule.",
                    resource=_res("sg-0legacy", "security-group", "legacy-admin"),
                    evidence={"rule": {"port": 22, "cidr": "0.0.0.0/0"}},
                ),
            ),
            Suppression("Legacy admin access, removed with the bastion", "2027-03-31", "netops"),
        ),
        f(
            "aws.elb.dualstack",
            failed(
                "The load balancer is IPv4-only: set IpAddressType to dualstack.",
                resource=_res(
                    f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/app/evil/1",
                    "load-balancer",
                    XSS_NAME,
                ),
                evidence={"IpAddressType": "ipv4", "scheme": "internet-facing"},
            ),
        ),
        f(
            "aws.elb.dualstack",
            passed(
                "The load balancer api-alb is dual-stack.",
                resource=_res(
                    f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/app/api/2",
                    "load-balancer",
                    "api-alb",
                ),
                evidence={"IpAddressType": "dualstack"},
            ),
        ),
        f(
            "aws.cloudfront.ipv6",
            passed(
                "Distribution E2EXAMPLE has IPv6 enabled.",
                resource=_res("E2EXAMPLE", "cloudfront-distribution", "", region="global"),
            ),
        ),
        f(
            "imds.ipv6",
            skipped("Not running on EC2: IMDS over IPv6 was not probed.", evidence={}),
        ),
        f(
            "aws.subnet.dns64",
            failed(
                "subnet-0cc3 is IPv6-only with DNS64 on but has no 64:ff9b::/96 route: "
                "connections to IPv4-only names hang.",
                resource=_res("subnet-0cc3", "subnet", "v6only-c"),
                evidence={"enable_dns64": True, "nat64_route": None},
            ),
        ),
        f(
            "aws.eip.public_ipv4",
            failed(
                "7 public IPv4 addresses are billed in eu-west-1.",
                resource=_res(f"{ACCOUNT}/{REGION}", "account-region"),
                evidence={
                    "public_ipv4": {"eip": 3, "nat-gateway": 2, "load-balancer": 2},
                    "addresses": ["198.51.100.7", "198.51.100.8", "203.0.113.9"],
                },
            ),
        ),
        f(
            "aws.subnet.public_ipv4",
            failed(
                "subnet-0aa1 maps a public IPv4 on launch.",
                resource=_res("subnet-0aa1", "subnet", "app-a"),
                evidence={"MapPublicIpOnLaunch": True},
            ),
        ),
    ]


def _suppress(finding: Finding, suppression: Suppression) -> Finding:
    finding.suppressed = suppression
    return finding


SAMPLE_ERRORS = [
    {
        "level": "warning",
        "source": "suppressions.yaml:4",
        "message": "suppression for aws.sg.parity expires on 2027-03-31",
    },
    {
        "level": "error",
        "source": "aws us-west-2",
        "message": "AccessDenied on ec2:DescribeVpcs; the region's AWS checks did not run",
    },
]

SAMPLE_CONFIG = {
    "workload": WORKLOAD,
    "source": "v6audit.yaml",
    "dependencies": [
        {
            "name": "apt",
            "kinds": ["apt"],
            "url": "http://mirror.example.net/debian/dists/bookworm/InRelease",
            "address": None,
            "category": "dependency",
            "source": "v6audit.yaml:14",
        },
        {
            "name": "Docker Hub",
            "kinds": ["oci-registry"],
            "url": "https://registry-1.docker.io/v2/",
            "address": None,
            "category": "dependency",
            "source": "v6audit.yaml:12",
        },
    ],
    "aws": {"regions": [REGION], "services": ["s3", "sqs"]},
}

FINISHED = datetime(2026, 11, 2, 9, 30, 41, tzinfo=UTC)
STARTED = FINISHED - timedelta(seconds=94)

# Past runs: (days before this run, dual_stack, ipv6_only, stage)
PAST_RUNS = [(180, 40.0, 22.5, 0), (120, 55.0, 31.0, 0), (60, 62.5, 38.0, 1), (30, 70.0, 44.0, 1)]


def _past_result(workload: str, days: int, dual: float, v6: float, stage: int) -> dict[str, Any]:
    """A minimal past run: only what history records is meaningful."""
    finished = FINISHED - timedelta(days=days)
    result = build_result(
        workload=workload,
        findings=[],
        checks=[],
        started_at=finished - timedelta(seconds=80),
        finished_at=finished,
    )
    result["scores"].update(dual_stack=dual, ipv6_only=v6)
    result["stage"].update(current=stage, blockers=["0" * 24] * (9 - 2 * stage))
    count = 7 + days // 60
    result["cost"]["public_ipv4"].update(count=count, monthly_usd=round(count * 0.005 * 730, 2))
    return result


def sample_history(workload: str = WORKLOAD, finished_at: str | None = None) -> dict[str, Any]:
    """The trend the scan would attach, computed by the real history module."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "history.sqlite"
        for run in PAST_RUNS:
            record_run(db, _past_result(workload, *run))
        return trend(db, workload, finished_at or FINISHED.isoformat().replace("+00:00", "Z"))


def sample_result(history: bool = True) -> dict[str, Any]:
    result = build_result(
        workload=WORKLOAD,
        findings=sample_findings(),
        checks=CHECKS.values(),
        started_at=STARTED,
        finished_at=FINISHED,
        errors=SAMPLE_ERRORS,
        config=SAMPLE_CONFIG,
    )
    if history:
        result["history"] = sample_history()
    return result


def large_result(n: int = 20_000, seed: int = 7) -> dict[str, Any]:
    """n findings over many accounts, regions and dependencies, with realistic evidence."""
    import random

    rng = random.Random(seed)
    statuses = ["pass"] * 6 + ["fail"] * 2 + ["warn", "info", "skip", "error"]
    aws_checks = [c for c in CHECKS.values() if c.id.startswith("aws.") and c.id != "aws.endpoint"]
    net_checks = [
        CHECKS[i] for i in ("dns.aaaa", "dns.reachable", "dep.reachable", "log.reachable")
    ]
    kinds = {"eip": 0, "nat-gateway": 0, "load-balancer": 0}
    findings: list[Finding] = []
    for i in range(n):
        status = rng.choice(statuses)
        account = f"{100000000000 + i % 40:012d}"
        region = ("eu-west-1", "us-east-1", "ap-southeast-2")[i % 3]
        evidence: dict[str, Any] = {"observed": {"index": i, "note": "x" * rng.randint(10, 80)}}
        if i % 3 == 0:
            meta = rng.choice(net_checks)
            cls = {"pass": "native", "warn": "nat64", "fail": rng.choice(["broken", "unreachable"])}
            evidence.update(
                {
                    "class": cls.get(status, "unreachable"),
                    "aaaa": [f"2001:db8::{i:x}"],
                    "timings_ms": {"dns": 2.5, "connect": 10.0, "tls": 20.0, "first_byte": 35.0},
                }
            )
            if status == "warn":
                evidence["nat64_prefix"] = "64:ff9b::/96"
            target = Target(
                host=f"svc{i}.example.com", port=443, url=f"https://svc{i}.example.com/"
            )
            kw: dict[str, Any] = {"target": target, "evidence": evidence}
            if status == "warn":
                kw.update(stage=4, blocking=True)
        else:
            meta = rng.choice(aws_checks)
            rid = f"{meta.id.split('.')[1]}-{i:08x}"
            name = XSS_NAME if i == 1 else f"{meta.id.split('.')[1]}-{i}"
            kw = {"resource": Resource(rid, meta.id.split(".")[1], name, account, region)}
            if meta.id == "aws.eip.public_ipv4" and status == "fail":
                kind = rng.choice(list(kinds))
                kinds[kind] += 1
                evidence["public_ipv4"] = {kind: 1}
            kw["evidence"] = evidence
        make = {
            "pass": passed,
            "fail": failed,
            "warn": warned,
            "info": info,
            "skip": skipped,
            "error": errored,
        }[status]
        message = f"{meta.title} — observation {i} ({status})."
        finding = stamp(make(message, **kw), Check(meta, func=None), rng.uniform(1, 900))  # type: ignore[arg-type]
        if status == "fail" and i % 97 == 0:
            finding.suppressed = Suppression("accepted risk", "2027-06-30", "platform")
        findings.append(finding)
    result = build_result(
        workload="org-wide",
        findings=findings,
        checks=CHECKS.values(),
        started_at=STARTED,
        finished_at=FINISHED,
        errors=SAMPLE_ERRORS,
        config=SAMPLE_CONFIG,
    )
    result["history"] = sample_history("org-wide")
    return result


def write_sample(path: Path = SAMPLE_PATH) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(sample_result()), encoding="utf-8")


def load_sample() -> dict[str, Any]:
    return json.loads(SAMPLE_PATH.read_text(encoding="utf-8"))


if __name__ == "__main__":
    write_sample()
    print(f"wrote {SAMPLE_PATH}")
