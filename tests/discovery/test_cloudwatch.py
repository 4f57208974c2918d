"""CloudWatch agent: the CloudWatch Logs endpoint and its region."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.discovery import collector
from tests.discovery.helpers import messages, run, urls, write

_CW = "/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json"
_CW_D = "/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.d"


def test_cloudwatch_region_sources(tmp_path: Path) -> None:
    write(tmp_path, _CW, '{"agent": {"region": "cn-north-1"},\n "logs": {}}\n')
    write(tmp_path, f"{_CW_D}/a.json", '{\n  "logs": {"logs_collected": {}}\n}\n')
    write(tmp_path, f"{_CW_D}/b.json", '{"agent": {"region": "eu-north-1"}, "logs": {}}')
    write(tmp_path, f"{_CW_D}/c.json", '{"metrics": {}}')
    assert urls(run(tmp_path)) == [
        ("https-intake", "https://logs.cn-north-1.amazonaws.com.cn/", 2),
        ("https-intake", "https://logs.eu-north-1.amazonaws.com/", 1),
    ]


def test_cloudwatch_without_region(tmp_path: Path) -> None:
    write(tmp_path, _CW, '{\n  "logs": {"logs_collected": {}}\n}\n')
    result = run(tmp_path)
    assert result.targets == []
    assert messages(result) == [
        "line 2: logs are shipped to CloudWatch Logs in the instance's region, which is not "
        "known here (set agent.region or AWS_REGION)"
    ]
    assert urls(run(tmp_path, {"AWS_DEFAULT_REGION": "sa-east-1"})) == [
        ("https-intake", "https://logs.sa-east-1.amazonaws.com/", 2)
    ]


def test_cloudwatch_bad_json(tmp_path: Path) -> None:
    write(tmp_path, _CW, '{\n  "agent": {"region": "us-east-1"},\n  "logs": {,}\n}\n')
    result = run(tmp_path)
    assert result.targets == []
    assert messages(result) == [
        "malformed at line 3: invalid JSON (Expecting property name enclosed in double quotes)"
    ]


def test_oversized_agent_file_is_refused_like_any_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The main file is skipped with a note, and its region is not used for the others."""
    monkeypatch.setattr(collector, "MAX_FILE_BYTES", 256)
    padding = ", ".join(f'"m{i}": {{}}' for i in range(40))
    main = '{"agent": {"region": "eu-west-3"}, "logs": {}, "metrics": {' + padding + "}}"
    write(tmp_path, _CW, main)
    write(tmp_path, f"{_CW_D}/a.json", '{"logs": {}}\n')
    result = run(tmp_path)
    assert result.targets == []
    assert messages(result) == [
        "skipped: larger than 256 bytes",
        "line 1: logs are shipped to CloudWatch Logs in the instance's region, which is not "
        "known here (set agent.region or AWS_REGION)",
    ]
    assert result.problems[0].source == str(tmp_path / _CW.lstrip("/"))
