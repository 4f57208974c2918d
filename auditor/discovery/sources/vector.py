"""Vector: the destinations of `sinks` in `vector.toml` and `vector.yaml`."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from auditor.discovery.collector import Collector
from auditor.discovery.model import LOG_SHIPPER, Hit, Item, Malformed, Unresolved
from auditor.discovery.registry import source
from auditor.discovery.text import (
    Lookup,
    address,
    aws_logs_url,
    endpoint_url,
    expand,
    split_hostport,
    str_list,
    udp_note,
    unset_note,
    url_hit,
    yaml_document,
)

LineOf = Callable[[str, str | None], int | None]
_ENDPOINT_SINKS = ("elasticsearch", "loki", "splunk_hec_logs", "splunk_hec", "splunk_hec_events")


def sink_targets(
    sink_id: str, cfg: Mapping[str, Any], line_of: LineOf, lookup: Lookup
) -> Iterator[Item]:
    """Targets of one sink; `line_of(key, value)` finds where a key (or a list value) is."""
    typ = cfg.get("type")
    name = f"vector sink {sink_id}"

    def s(key: str) -> str | None:
        value = cfg.get(key)
        if value is None:
            return None
        return expand(str(value), lookup, line=line_of(key, str(value))).strip()

    def intake(key: str) -> list[Hit]:
        """The HTTP(S) intake whose URL is in `key`, if it is one."""
        raw = s(key)
        hit = url_hit(name, raw, line_of(key, cfg.get(key))) if raw else None
        return [hit] if hit else []

    try:
        if typ == "http":
            yield from intake("uri")
        elif typ in _ENDPOINT_SINKS:
            raw_endpoints = str_list(cfg.get("endpoints")) or str_list(cfg.get("endpoint"))
            key = "endpoints" if "endpoints" in cfg else "endpoint"
            for raw in raw_endpoints:
                line = line_of(key, raw)
                hit = url_hit(name, expand(raw, lookup, line=line).strip(), line)
                if hit:
                    yield hit
        elif typ == "datadog_logs":
            if s("endpoint"):
                yield from intake("endpoint")
            else:
                site = s("site") or lookup("DD_SITE") or "datadoghq.com"
                line = line_of("site", cfg.get("site")) if "site" in cfg else None
                url = f"https://http-intake.logs.{site}/"
                yield Hit(name, "https-intake", line or line_of("type", typ), url=url)
        elif typ in ("socket", "vector", "papertrail"):
            key = "endpoint" if typ == "papertrail" else "address"
            raw = s(key)
            line = line_of(key, cfg.get(key))
            mode = (s("mode") or "tcp").lower() if typ == "socket" else "tcp"
            if mode == "udp":
                yield udp_note("socket sink", line)
                return
            if not raw or mode != "tcp":
                return
            raw = re.sub(r"^[a-z][a-z0-9+.-]*://", "", raw).rstrip("/")
            parsed = split_hostport(raw)
            if parsed:
                kind = "syslog-tls" if typ == "papertrail" else "tcp"
                yield Hit(name, kind, line, address=address(*parsed))
        elif typ == "aws_cloudwatch_logs":
            endpoint = s("endpoint")
            region = s("region") or lookup("AWS_REGION") or lookup("AWS_DEFAULT_REGION")
            if endpoint:
                url = endpoint_url(endpoint)
                line = line_of("endpoint", cfg.get("endpoint"))
            elif region:
                url = aws_logs_url(region)
                line = line_of("region", cfg.get("region")) if "region" in cfg else None
            else:
                url, line = None, None
            if url:
                yield Hit(name, "https-intake", line or line_of("type", typ), url=url)
    except Unresolved as exc:
        yield unset_note(exc, f"sink {sink_id}")


def _toml_line_finder(text: str, sink_id: str) -> LineOf:
    lines = text.splitlines()
    sid = re.escape(sink_id)
    header = re.compile(rf"\s*\[\s*sinks\s*\.\s*(?:\"{sid}\"|'{sid}'|{sid})\s*\]")
    start = next((i for i, ln in enumerate(lines) if header.match(ln)), None)

    def line_of(key: str, value: str | None) -> int | None:
        begin = start if start is not None else 0
        if value is not None:
            for quote in ('"', "'"):
                needle = f"{quote}{value}{quote}"
                for i in range(begin, len(lines)):
                    if needle in lines[i]:
                        return i + 1
        key_re = re.compile(rf"\s*{re.escape(key)}\s*=")
        for i in range(begin, len(lines)):
            if i > begin and start is not None and lines[i].lstrip().startswith("["):
                break
            if key_re.match(lines[i]):
                return i + 1
        return start + 1 if start is not None else None

    return line_of


def parse_toml(text: str, env: Mapping[str, str]) -> Iterator[Item]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        why = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise Malformed(int(m[1]) if m else None, f"invalid TOML ({why})") from None
    sinks = data.get("sinks")
    if isinstance(sinks, dict):
        for sink_id, cfg in sinks.items():
            if isinstance(cfg, dict):
                yield from sink_targets(sink_id, cfg, _toml_line_finder(text, sink_id), env.get)


def parse_yaml(text: str, path: Path, env: Mapping[str, str]) -> Iterator[Item]:
    doc = yaml_document(text, str(path))
    sinks = doc.data.get("sinks") if isinstance(doc.data, dict) else None
    if not isinstance(sinks, dict):
        return
    for sink_id, cfg in sinks.items():
        if not isinstance(cfg, dict):
            continue
        where = ("sinks", sink_id)

        def line_of(
            key: str, value: str | None, cfg: dict[str, Any] = cfg, where: tuple = where
        ) -> int | None:
            if key not in cfg:
                return doc.lines.get(where)
            items = cfg[key]
            if isinstance(items, list) and value is not None:
                for index, item in enumerate(items):
                    if not isinstance(item, dict | list) and str(item) == value:
                        return doc.lines.get((*where, key, index))
            return doc.lines.get((*where, key))

        yield from sink_targets(str(sink_id), cfg, line_of, env.get)


@source(
    name="vector",
    category=LOG_SHIPPER,
    order=70,
    paths=("/etc/vector/vector.toml", "/etc/vector/vector.yaml", "/etc/vector/vector.yml"),
)
def parse(coll: Collector, text: str, path: Path) -> Iterator[Item]:
    if path.suffix == ".toml":
        return parse_toml(text, coll.env)
    return parse_yaml(text, path, coll.env)
