"""CloudWatch agent: the CloudWatch Logs endpoint of agent configs with a `logs` section."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from auditor.discovery.collector import Collector, at
from auditor.discovery.model import LOG_SHIPPER, Hit, Item, Malformed, Note
from auditor.discovery.registry import source
from auditor.discovery.text import aws_logs_url, endpoint_url, json_line, load_json, url_label

AGENT_DIR = "/opt/aws/amazon-cloudwatch-agent/etc"
MAIN_FILE = f"{AGENT_DIR}/amazon-cloudwatch-agent.json"


def _region(data: Any) -> str | None:
    agent = data.get("agent") if isinstance(data, dict) else None
    region = agent.get("region") if isinstance(agent, dict) else None
    return region.strip() if isinstance(region, str) and region.strip() else None


def fallback_region(coll: Collector) -> str | None:
    """The region of files without their own: the main file's, else the environment's.
    The main file is read under the same size cap as every file (and reported by its scan)."""
    text = coll.peek(at(coll.root, MAIN_FILE))
    main_region: str | None = None
    if text is not None:
        try:
            main_region = _region(json.loads(text))
        except ValueError:
            main_region = None
    return main_region or coll.env.get("AWS_REGION") or coll.env.get("AWS_DEFAULT_REGION")


def parse_agent_config(text: str, fallback: str | None) -> Iterator[Item]:
    """The CloudWatch Logs endpoint of an agent config that has a `logs` section."""
    data = load_json(text)
    if not isinstance(data, dict):
        raise Malformed(1, "expected a JSON object")
    logs = data.get("logs")
    if not isinstance(logs, dict):
        return
    override = logs.get("endpoint_override")
    if isinstance(override, str) and override.strip():
        url = endpoint_url(override.strip())
        if url:
            line = json_line(text, "endpoint_override")
            yield Hit(f"CloudWatch Logs {url_label(url)}", "https-intake", line, url=url)
        return
    logs_line = json_line(text, "logs")
    region = _region(data) or fallback
    if region:
        yield Hit(f"CloudWatch Logs {region}", "https-intake", logs_line, url=aws_logs_url(region))
    else:
        yield Note(
            f"line {logs_line}: logs are shipped to CloudWatch Logs in the instance's region, "
            "which is not known here (set agent.region or AWS_REGION)"
        )


@source(
    name="cloudwatch",
    category=LOG_SHIPPER,
    order=100,
    paths=(MAIN_FILE, f"{AGENT_DIR}/amazon-cloudwatch-agent.d/*.json"),
)
def parse(coll: Collector, text: str, path: Path) -> Iterator[Item]:
    return parse_agent_config(text, coll.memo("cloudwatch.region", lambda: fallback_region(coll)))
