"""Traffic log fixtures with AWS's real field layouts: VPC Flow Logs in the default format
(v2) and a custom format (header line), Route 53 Resolver query logs (JSON lines) with CNAME
chains, NXDOMAIN, A and AAAA answers; and the bad objects a real bucket holds (cut short,
not gzip, Parquet). Written as S3 delivers them, to a folder or to moto S3 / CloudWatch Logs.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

ACCOUNT = "123456789012"
VPC = "vpc-0a1b2c3d4e5f60718"
OTHER_VPC = "vpc-0ffffffffffffffff"
INSTANCE_A = "i-0aaaaaaaaaaaaaaa1"
INSTANCE_B = "i-0bbbbbbbbbbbbbbb2"
ENI_A = "eni-0aaaaaaaaaaaaaaa1"
ENI_B = "eni-0bbbbbbbbbbbbbbb2"
ENI_NAT = "eni-0ccccccccccccccc3"
SUBNET = "subnet-0aaaaaaaaaaaaaaa1"
HOST_A = "10.0.1.10"
HOST_B = "10.0.1.20"
NAT_GW = "10.0.3.100"
OWN_CIDR = "10.0.0.0/16"
NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
T = int(NOW.timestamp())
SINCE = 86400  # the tests' window: one day ending at NOW

PARTNER = "api.partner.example"  # CNAME to partner-lb.example.net, A and AAAA
PARTNER_V4 = "203.0.113.10"
LICENCE = "licence.example"  # A only
LICENCE_V4 = "198.51.100.7"
LITERAL = "192.0.2.55"  # reached by address, never resolved

FLOW_HEADER_V2 = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes "
    "start end action log-status"
)
FLOW_HEADER_CUSTOM = (
    "version vpc-id subnet-id instance-id interface-id account-id type srcaddr dstaddr "
    "srcport dstport pkt-srcaddr pkt-dstaddr protocol bytes packets start end action "
    "tcp-flags log-status flow-direction traffic-path"
)


def v2(eni, src, dst, sport, dport, proto, packets, nbytes, start, end, status="OK"):
    return (
        f"2 {ACCOUNT} {eni} {src} {dst} {sport} {dport} {proto} {packets} {nbytes} "
        f"{start} {end} ACCEPT {status}"
    )


def custom(
    instance,
    eni,
    src,
    dst,
    sport,
    dport,
    psrc,
    pdst,
    nbytes,
    packets,
    start,
    flags,
    direction="egress",
    vpc=VPC,
):
    return (
        f"5 {vpc} {SUBNET} {instance} {eni} {ACCOUNT} IPv4 {src} {dst} {sport} {dport} "
        f"{psrc} {pdst} 6 {nbytes} {packets} {start} {start + 60} ACCEPT {flags} OK "
        f"{direction} 8"
    )


def flow_lines_v2(t: int = T) -> list[str]:
    """Default format. Dependencies: PARTNER (2 flows), LICENCE (1), LITERAL (1)."""
    return [
        FLOW_HEADER_V2,
        v2(ENI_A, HOST_A, PARTNER_V4, 40000, 443, 6, 10, 1000, t - 10200, t - 10140),
        v2(ENI_B, HOST_B, PARTNER_V4, 40001, 443, 6, 20, 2000, t - 9000, t - 8940),
        v2(ENI_B, HOST_B, LICENCE_V4, 40002, 8443, 6, 5, 500, t - 6600, t - 6540),
        v2(ENI_A, HOST_A, LITERAL, 40003, 22, 6, 7, 700, t - 3600, t - 3540),
        # not dependencies, each for its own reason
        v2(ENI_A, HOST_A, "198.51.100.200", 443, 51515, 6, 3, 300, t - 3000, t - 2940),  # reply
        v2(ENI_A, HOST_A, "10.0.2.5", 40004, 5432, 6, 3, 300, t - 3000, t - 2940),  # internal
        v2(ENI_A, HOST_A, "169.254.169.254", 40005, 80, 6, 3, 300, t - 3000, t - 2940),  # IMDS
        v2(ENI_A, HOST_A, "10.0.0.2", 40006, 53, 17, 1, 80, t - 3000, t - 2940),  # resolver
        v2(ENI_A, PARTNER_V4, HOST_A, 443, 40000, 6, 10, 9000, t - 10200, t - 10140),  # inbound
        f"2 {ACCOUNT} {ENI_A} - - - - - - - {t - 2000} {t - 1940} - NODATA",
        f"2 {ACCOUNT} {ENI_B} - - - - - - - {t - 2000} {t - 1940} - SKIPDATA",
        # skipped
        v2(ENI_A, HOST_A, "203.0.113.99", 40007, 443, 6, 1, 60, t - 3 * 86400, t - 3 * 86400),
        v2(
            "eni-0ddddddddddddddd4",
            "10.9.0.5",
            "203.0.113.50",
            40008,
            443,
            6,
            1,
            60,
            t - 100,
            t - 40,
        ),  # out of scope
        "2 123456789012 this line is cut",  # corrupt
    ]


def flow_lines_custom(t: int = T) -> list[str]:
    """Custom format: the NAT gateway's ENI records the original packet addresses."""
    return [
        FLOW_HEADER_CUSTOM,
        custom(
            "-", ENI_NAT, NAT_GW, PARTNER_V4, 61000, 443, HOST_A, PARTNER_V4, 3000, 30, t - 7200, 3
        ),
        custom(
            INSTANCE_B,
            ENI_B,
            HOST_B,
            LICENCE_V4,
            40100,
            8443,
            HOST_B,
            LICENCE_V4,
            400,
            4,
            t - 5400,
            2,
        ),
        custom(
            INSTANCE_A,
            ENI_A,
            HOST_A,
            "198.51.100.201",
            8080,
            40200,
            HOST_A,
            "198.51.100.201",
            100,
            1,
            t - 5000,
            19,
        ),  # SYN-ACK: a reply
        custom(
            INSTANCE_A,
            ENI_A,
            "198.51.100.202",
            HOST_A,
            40300,
            443,
            "198.51.100.202",
            HOST_A,
            100,
            1,
            t - 5000,
            2,
            direction="ingress",
        ),
    ]


def query(
    name, qtype, when, answers, src=HOST_A, instance=INSTANCE_A, rcode="NOERROR", vpc=VPC
) -> str:
    return json.dumps(
        {
            "version": "1.100000",
            "account_id": ACCOUNT,
            "region": "us-east-1",
            "vpc_id": vpc,
            "query_timestamp": datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "query_name": name + ".",
            "query_type": qtype,
            "query_class": "IN",
            "rcode": rcode,
            "answers": [{"Rdata": r, "Type": t, "Class": "IN"} for t, r in answers],
            "srcaddr": src,
            "srcport": "53422",
            "transport": "UDP",
            "srcids": {"instance": instance} if instance else {},
        }
    )


def query_lines(t: int = T) -> list[str]:
    cname = ("CNAME", "partner-lb.example.net.")
    return [
        query(PARTNER, "A", t - 10800, [cname, ("A", PARTNER_V4)]),
        query(PARTNER, "AAAA", t - 10800, [cname, ("AAAA", "2001:db8::10")]),
        query(PARTNER, "A", t - 9300, [cname, ("A", PARTNER_V4)], src=HOST_B, instance=INSTANCE_B),
        query(LICENCE, "A", t - 7000, [("A", LICENCE_V4)], src=HOST_B, instance=INSTANCE_B),
        query("missing.example", "A", t - 5000, [], rcode="NXDOMAIN"),
        query("missing.example", "AAAA", t - 5000, [], rcode="NXDOMAIN"),
        # skipped
        query("old.example", "A", t - 3 * 86400, [("A", "203.0.113.99")]),
        query(
            "other.example",
            "A",
            t - 100,
            [("A", "203.0.113.50")],
            src="10.9.0.5",
            instance=None,
            vpc=OTHER_VPC,
        ),
        "{not json",
    ]


# --- S3 layout ------------------------------------------------------------------------------


def stamp(t: int) -> str:
    """The delivery time in an object's name: two hours before the window's end."""
    return datetime.fromtimestamp(t - 7200, UTC).strftime("%Y%m%dT%H%MZ")


def day(t: int) -> str:
    return datetime.fromtimestamp(t - 7200, UTC).strftime("%Y/%m/%d")


def gz(lines: list[str]) -> bytes:
    return gzip.compress(("\n".join(lines) + "\n").encode())


def flow_objects(bad: bool = True, t: int = T) -> dict[str, bytes]:
    """Key -> body of the flow log objects, as S3 delivery names them."""
    prefix = f"AWSLogs/{ACCOUNT}/vpcflowlogs/us-east-1/{day(t)}/"
    base = f"{prefix}{ACCOUNT}_vpcflowlogs_us-east-1_fl-0123456789abcdef0_{stamp(t)}"
    objects = {
        f"{base}_aaaa0001.log.gz": gz(flow_lines_v2(t)),
        f"{base}_aaaa0002.log.gz": gz(flow_lines_custom(t)),
    }
    if bad:
        unknown = [
            FLOW_HEADER_V2 + " brand-new-field",
            v2(ENI_A, HOST_A, LITERAL, 40009, 22, 6, 1, 100, t - 1000, t - 940) + " x",
        ]
        objects[f"{base}_aaaa0003.log.gz"] = gz(unknown)
        whole = gz(
            [
                FLOW_HEADER_V2,
                *[
                    v2(ENI_A, HOST_A, "192.0.2.77", 40010 + i, 22, 6, 1, 1, t - 900, t - 840)
                    for i in range(200)
                ],
            ]
        )
        objects[f"{base}_aaaa0004.log.gz"] = whole[: len(whole) // 2]  # cut short
        objects[f"{base}_aaaa0005.log.gz"] = b"this is not gzip at all"
        objects[f"{prefix}{ACCOUNT}_vpcflowlogs_us-east-1_fl-0_{stamp(t)}_p.log.parquet"] = b"PAR1"
    return objects


def query_objects(t: int = T) -> dict[str, bytes]:
    prefix = f"AWSLogs/{ACCOUNT}/vpcdnsquerylogs/{VPC}/{day(t)}/"
    base = f"{prefix}{ACCOUNT}_vpcdnsquerylogs_{VPC}_{stamp(t)}"
    return {f"{base}_bbbb0001.log.gz": gz(query_lines(t))}


def write_tree(root: Path, objects: dict[str, bytes]) -> Path:
    for key, body in objects.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    return root
