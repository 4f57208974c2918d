"""Vector sinks in TOML and YAML."""

from __future__ import annotations

from pathlib import Path

from tests.discovery.helpers import UDP, messages, run, urls, write


def test_vector_toml_defaults_env_and_udp(tmp_path: Path) -> None:
    write(
        tmp_path,
        "/etc/vector/vector.toml",
        """
        [sinks.dd]
        type = "datadog_logs"
        inputs = ["in"]
        default_api_key = "${DD_API_KEY}"

        [sinks.web]
        type = "http"
        inputs = ["in"]
        uri = "https://${INTAKE_HOST}/v1/logs?api_key=s3cret"

        [sinks.udp]
        type = "socket"
        mode = "udp"
        address = "udp.example.com:514"

        [sinks.loki]
        type = "loki"
        endpoint = "http://loki.example.com:3100"

        [sinks.cw]
        type = "aws_cloudwatch_logs"
        group_name = "g"
    """,
    )
    result = run(tmp_path, {"INTAKE_HOST": "intake.example.com", "AWS_REGION": "us-west-2"})
    assert urls(result) == [
        ("https-intake", "https://http-intake.logs.datadoghq.com/", 2),
        ("https-intake", "https://intake.example.com/v1/logs", 9),
        ("http", "http://loki.example.com:3100", 18),
        ("https-intake", "https://logs.us-west-2.amazonaws.com/", 21),
    ]
    assert messages(result) == [f"UDP socket sink at line 14 {UDP}"]
    assert "s3cret" not in repr(result)


def test_vector_yaml_bad_document(tmp_path: Path) -> None:
    write(tmp_path, "/etc/vector/vector.yaml", "sinks:\n  a: [unclosed\n")
    result = run(tmp_path)
    assert result.targets == []
    assert len(result.problems) == 1
    assert result.problems[0].message.startswith("malformed at line 3: invalid YAML")


def test_vector_yaml_alias_bomb_is_skipped_and_the_rest_is_read(tmp_path: Path) -> None:
    bomb = ['x0: &x0 "lol"'] + [
        f"x{n}: &x{n} [{', '.join([f'*x{n - 1}'] * 9)}]" for n in range(1, 10)
    ]
    write(tmp_path, "/etc/vector/vector.yaml", "\n".join(bomb) + "\n")
    write(tmp_path, "/etc/rsyslog.conf", "*.* @@central.example.com:514\n")
    result = run(tmp_path)
    assert urls(result) == [("syslog-tcp", "central.example.com:514", 1)]
    assert len(result.problems) == 1
    assert result.problems[0].source == str(tmp_path / "etc/vector/vector.yaml")
    assert result.problems[0].message.startswith("malformed at line ")
    assert "YAML too large: aliases expand to more than" in result.problems[0].message


def test_vector_yaml_datadog_endpoint_and_http_uri(tmp_path: Path) -> None:
    write(
        tmp_path,
        "/etc/vector/vector.yaml",
        """
        sinks:
          dd:
            type: datadog_logs
            endpoint: "https://dd-proxy.example.com:8443/?dd-api-key=s3cret"
          web:
            type: http
            uri: http://${HOST}/logs
        """,
    )
    result = run(tmp_path, {"HOST": "collector.example.com"})
    assert urls(result) == [
        ("https-intake", "https://dd-proxy.example.com:8443/", 4),
        ("http", "http://collector.example.com/logs", 7),
    ]
    assert "s3cret" not in repr(result)
