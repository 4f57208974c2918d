"""The `traffic:` config section: the contract's example loads; mistakes name file, line, key."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.config import load_config
from auditor.errors import ConfigError

EXAMPLE = """\
traffic:
  since: 7d
  resolver_query_logs:
    - {log_group: /aws/route53resolver/queries, region: us-east-1}
    - {s3: "s3://logs-bucket/AWSLogs/123456789012/vpcdnsquerylogs/"}
    - {path: ./querylogs/}
  flow_logs:
    - {log_group: /vpc/flow-logs}
    - {s3: "s3://logs-bucket/AWSLogs/123456789012/vpcflowlogs/"}
    - {path: ./flowlogs/}
  host_sockets: true
  scope: {vpc_ids: [], subnet_ids: [], eni_ids: [], instance_ids: [], cidrs: []}
  probe: true
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "v6audit.yaml"
    path.write_text(text)
    return path


def test_contract_example_loads(tmp_path: Path) -> None:
    traffic = load_config(write(tmp_path, EXAMPLE)).traffic
    assert traffic.since_seconds == 7 * 86400
    assert [(s.kind, s.region) for s in traffic.resolver_query_logs] == [
        ("log_group", "us-east-1"),
        ("s3", None),
        ("path", None),
    ]
    assert traffic.resolver_query_logs[2].location == str(tmp_path / "querylogs")
    assert traffic.flow_logs[1].location == "s3://logs-bucket/AWSLogs/123456789012/vpcflowlogs/"
    assert traffic.host_sockets and traffic.probe and traffic.scope.empty
    assert traffic.enabled


def test_no_section_means_no_traffic(tmp_path: Path) -> None:
    traffic = load_config(write(tmp_path, "workload: x\n")).traffic
    assert not traffic.enabled and traffic.since == "7d"


@pytest.mark.parametrize(
    ("since", "seconds"), [("12h", 43200), ("30m", 1800), ("90s", 90), ("1d", 86400)]
)
def test_since_units(tmp_path: Path, since: str, seconds: int) -> None:
    text = f"traffic:\n  since: {since}\n"
    assert load_config(write(tmp_path, text)).traffic.since_seconds == seconds


@pytest.mark.parametrize(
    ("text", "line", "key", "words"),
    [
        ("traffic:\n  sinse: 7d\n", 2, "traffic.sinse", "did you mean 'since'"),
        ("traffic:\n  since: 7w\n", 2, "traffic.since", "7d, 12h, 30m or 90s"),
        ("traffic:\n  since: 0s\n", 2, "traffic.since", "more than 0s"),
        ("traffic:\n  since: 7\n", 2, "traffic.since", "not a duration"),
        (
            "traffic:\n  flow_logs:\n    - {s3: 'https://bucket/x'}\n",
            3,
            "traffic.flow_logs[0].s3",
            "s3://bucket/prefix",
        ),
        (
            "traffic:\n  flow_logs:\n    - {path: a, s3: 's3://b/x'}\n",
            3,
            "traffic.flow_logs[0]",
            "exactly one of",
        ),
        (
            "traffic:\n  flow_logs:\n    - {log_group: g, format: '${version} ${nope}'}\n",
            3,
            "traffic.flow_logs[0].format",
            "not a flow log field",
        ),
        (
            "traffic:\n  resolver_query_logs:\n    - {log_group: g, format: x}\n",
            3,
            "traffic.resolver_query_logs[0].format",
            "unknown key",
        ),
        (
            "traffic:\n  scope:\n    vpc_ids: [vpc-zz]\n",
            3,
            "traffic.scope.vpc_ids[0]",
            "not an id",
        ),
        (
            "traffic:\n  scope:\n    cidrs: [10.0.0.0/33]\n",
            3,
            "traffic.scope.cidrs[0]",
            "not a CIDR",
        ),
        ("traffic:\n  host_sockets: yes please\n", 2, "traffic.host_sockets", "true or false"),
        (
            "traffic:\n  flow_logs:\n    - {path: x, region: us-east-1}\n",
            3,
            "traffic.flow_logs[0].region",
            "no region",
        ),
    ],
)
def test_mistakes_name_line_and_key(
    tmp_path: Path, text: str, line: int, key: str, words: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    assert info.value.line == line
    assert info.value.key == key
    assert words in info.value.detail


def test_custom_format_for_cloudwatch_is_kept(tmp_path: Path) -> None:
    text = (
        "traffic:\n  flow_logs:\n    - {log_group: g, format: '${version} ${srcaddr} ${dstaddr}'}\n"
    )
    (source,) = load_config(write(tmp_path, text)).traffic.flow_logs
    assert source.format == "${version} ${srcaddr} ${dstaddr}"
