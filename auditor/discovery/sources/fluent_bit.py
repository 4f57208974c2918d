"""fluent-bit: `[OUTPUT]` sections of the classic format (with `@INCLUDE`, `@SET`) and
`pipeline.outputs` of the YAML format.

No Python library reads the classic format, so its sections are read here; YAML goes through
`auditor/yamlfile.py`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

from auditor.discovery.collector import MAX_INCLUDE_DEPTH, Collector
from auditor.discovery.model import LOG_SHIPPER, Hit, Item, Malformed, Note, Skip, Unresolved
from auditor.discovery.registry import source
from auditor.discovery.text import (
    Lookup,
    address,
    aws_logs_url,
    chain,
    endpoint_url,
    expand,
    http_url,
    scalar_text,
    truthy,
    udp_note,
    unset_note,
    url_label,
    yaml_document,
)

# plugin: (default host, default port, key holding the path, default path, default TLS)
_FB_HTTP: dict[str, tuple[str, int, str | None, str, bool]] = {
    "http": ("127.0.0.1", 80, "uri", "/", False),
    "es": ("127.0.0.1", 9200, "path", "/", False),
    "loki": ("127.0.0.1", 3100, "uri", "/loki/api/v1/push", False),
    "splunk": ("127.0.0.1", 8088, None, "/services/collector/event", False),
    "datadog": ("http-intake.logs.datadoghq.com", 443, None, "/api/v2/logs", True),
    "opentelemetry": ("127.0.0.1", 80, "logs_uri", "/v1/logs", False),
}
# plugin: default port, for TCP outputs that are not syslog
_FB_TCP = {"forward": 24224, "tcp": 5170}

Props = dict[str, tuple[str, int]]


def output_targets(
    props: Mapping[str, tuple[str, int]], src: str | None, lookup: Lookup
) -> Iterator[Item]:
    """Target of one output; `props` maps lower-case keys to (value, line)."""
    if "name" not in props:
        return
    plugin = props["name"][0].strip().lower()
    name_line = props["name"][1]

    def val(key: str, default: str | None = None) -> str | None:
        if key not in props:
            return default
        value, line = props[key]
        return expand(value, lookup, bare=False, line=line).strip()

    def line_of(*keys: str) -> int:
        for key in keys:
            if key in props:
                return props[key][1]
        return name_line

    def port(default: int) -> int:
        text = val("port", str(default)) or str(default)
        if not text.isdigit():
            raise Skip(f"line {line_of('port')}: port {text!r} is not a number; output skipped")
        return int(text)

    label = f"fluent-bit output {plugin}"
    try:
        if plugin in _FB_HTTP:
            d_host, d_port, path_key, d_path, d_tls = _FB_HTTP[plugin]
            host = val("host", d_host) or d_host
            tls = truthy(val("tls", "on" if d_tls else "off"))
            path = (val(path_key, d_path) if path_key else d_path) or "/"
            url = http_url(tls, host, port(d_port), path)
            kind = "https-intake" if tls else "http"
            yield Hit(f"{label} {host}", kind, line_of("host"), url=url, source=src)
        elif plugin == "syslog":
            host = val("host", "127.0.0.1") or "127.0.0.1"
            mode = (val("mode", "udp") or "udp").lower()
            line = line_of("host")
            if mode == "udp":
                yield udp_note("syslog forwarding", line, src)
                return
            kind = "syslog-tls" if mode == "tls" else "syslog-tcp"
            yield Hit(f"{label} {host}", kind, line, address=address(host, port(514)), source=src)
        elif plugin in _FB_TCP:
            host = val("host", "127.0.0.1") or "127.0.0.1"
            addr = address(host, port(_FB_TCP[plugin]))
            yield Hit(f"{label} {host}", "tcp", line_of("host"), address=addr, source=src)
        elif plugin == "cloudwatch_logs":
            endpoint = val("endpoint")
            region = val("region")
            url = endpoint_url(endpoint) if endpoint else None
            if url is None and region:
                url = aws_logs_url(region)
            if url:
                name = f"{label} {region or url_label(url)}"
                line = line_of("endpoint", "region")
                yield Hit(name, "https-intake", line, url=url, source=src)
    except Unresolved as exc:
        yield unset_note(exc, "output", src)
    except Skip as exc:
        yield Note(str(exc), src)


def _classic_sections(
    coll: Collector, path: Path, text: str, variables: dict[str, str], depth: int = 0
) -> list[tuple[str, str, Props]]:
    """Sections as (NAME, source, {key: (value, line)}), includes followed."""
    sections: list[tuple[str, str, Props]] = []
    current: Props | None = None
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("@"):
            directive, _, arg = line.partition(" ")
            arg = arg.strip()
            if directive.upper() == "@SET":
                key, _, value = arg.partition("=")
                variables[key.strip()] = value.strip()
            elif directive.upper() == "@INCLUDE":
                if depth >= MAX_INCLUDE_DEPTH:
                    raise Malformed(n, "@INCLUDE nested too deep", str(path))
                for inc in coll.includes(path, arg):
                    inc_text = coll.read(inc)
                    if inc_text is not None:
                        sections += _classic_sections(coll, inc, inc_text, variables, depth + 1)
            continue
        if line.startswith("["):
            if not line.endswith("]"):
                raise Malformed(n, "unterminated section header", str(path))
            current = {}
            sections.append((line[1:-1].strip().upper(), str(path), current))
            continue
        if current is None:
            raise Malformed(n, "entry outside a section", str(path))
        parts = line.split(None, 1)
        current[parts[0].lower()] = (parts[1].strip() if len(parts) > 1 else "", n)
    return sections


def parse_classic(coll: Collector, text: str, path: Path) -> Iterator[Item]:
    """Classic `[OUTPUT]` sections (with `@INCLUDE` and `@SET`)."""
    variables: dict[str, str] = {}
    sections = _classic_sections(coll, path, text, variables)
    lookup = chain(variables.get, coll.env.get)
    for name, src, props in sections:
        if name == "OUTPUT":
            yield from output_targets(props, src if src != str(path) else None, lookup)


def parse_yaml(text: str, path: Path, env: Mapping[str, str]) -> Iterator[Item]:
    """YAML format: `pipeline.outputs`, with the top-level `env` section as variables."""
    doc = yaml_document(text, str(path))
    top = doc.data if isinstance(doc.data, dict) else {}
    env_section = top.get("env")
    variables: dict[str, str] = {}
    if isinstance(env_section, dict):
        variables = {key: scalar_text(value) for key, value in env_section.items()}
    lookup = chain(variables.get, env.get)
    pipeline = top.get("pipeline")
    outputs = pipeline.get("outputs") if isinstance(pipeline, dict) else None
    if not isinstance(outputs, list):
        return
    for index, output in enumerate(outputs):
        if not isinstance(output, dict):
            continue
        props: Props = {}
        for key, value in output.items():
            line = doc.line(("pipeline", "outputs", index, key)) or 0
            props[key.lower()] = (scalar_text(value), line)
        yield from output_targets(props, None, lookup)


@source(
    name="fluent-bit",
    category=LOG_SHIPPER,
    order=60,
    paths=(
        "/etc/fluent-bit/fluent-bit.conf",
        "/fluent-bit/etc/fluent-bit.conf",
        "/etc/td-agent-bit/td-agent-bit.conf",
        "/etc/fluent-bit/fluent-bit.yaml",
        "/etc/fluent-bit/fluent-bit.yml",
    ),
)
def parse(coll: Collector, text: str, path: Path) -> Iterator[Item]:
    if path.suffix in (".yaml", ".yml"):
        return parse_yaml(text, path, coll.env)
    return parse_classic(coll, text, path)
