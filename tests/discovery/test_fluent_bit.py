"""fluent-bit: classic and YAML outputs."""

from __future__ import annotations

from pathlib import Path

from tests.discovery.helpers import UDP, messages, run, urls, write


def test_fluent_bit_tls_on_off_defaults_and_includes(tmp_path: Path) -> None:
    write(
        tmp_path,
        "/etc/fluent-bit/fluent-bit.conf",
        """
        @INCLUDE /etc/fluent-bit/extra.conf
        [OUTPUT]
            Name  http
            Host  plain.example.com

        [OUTPUT]
            Name  http
            Host  secure.example.com
            tls   on
            uri   /logs

        [OUTPUT]
            Name   datadog
            apikey xyz

        [OUTPUT]
            Name   datadog
            Host   http-intake.logs.us5.datadoghq.com
            TLS    off

        [OUTPUT]
            Name   splunk
            Host   hec.example.com
            Port   8088
            TLS    On

        [OUTPUT]
            Name   syslog
            Host   syslog.example.com
            Mode   tcp

        [OUTPUT]
            Name   cloudwatch_logs
            region ap-southeast-2

        [OUTPUT]
            Name   http
            Host   ${LOG_HOST}

        [OUTPUT]
            Name   http
            Host   bad-port.example.com
            Port   eighty
    """,
    )
    write(
        tmp_path,
        "/etc/fluent-bit/extra.conf",
        """
        [OUTPUT]
            Name  es
            Host  es.example.com
    """,
    )
    result = run(tmp_path)
    assert urls(result) == [
        ("http", "http://es.example.com:9200/", 3),
        ("http", "http://plain.example.com/", 4),
        # fluent-bit's http output keeps port 80 unless Port is set, TLS or not
        ("https-intake", "https://secure.example.com:80/logs", 8),
        ("https-intake", "https://http-intake.logs.datadoghq.com/api/v2/logs", 13),
        ("http", "http://http-intake.logs.us5.datadoghq.com:443/api/v2/logs", 18),
        ("https-intake", "https://hec.example.com:8088/services/collector/event", 23),
        ("syslog-tcp", "syslog.example.com:514", 29),
        ("https-intake", "https://logs.ap-southeast-2.amazonaws.com/", 34),
    ]
    assert result.targets[0].source == str(tmp_path / "etc/fluent-bit/extra.conf")
    assert messages(result) == [
        "line 38: ${LOG_HOST} is not set; output skipped",
        "line 43: port 'eighty' is not a number; output skipped",
    ]


def test_fluent_bit_yaml_tls_booleans(tmp_path: Path) -> None:
    write(
        tmp_path,
        "/etc/fluent-bit/fluent-bit.yaml",
        """
        pipeline:
          outputs:
            - name: http
              host: off.example.com
              port: 8080
              tls: off
            - name: http
              host: on.example.com
              port: 443
              tls: "on"
            - name: syslog
              host: udp.example.com
    """,
    )
    result = run(tmp_path, {"HOST_FROM_ENV": "unused"})
    assert urls(result) == [
        ("http", "http://off.example.com:8080/", 4),
        ("https-intake", "https://on.example.com/", 8),
    ]
    assert messages(result) == [f"UDP syslog forwarding at line 12 {UDP}"]


def test_fluent_bit_malformed_classic(tmp_path: Path) -> None:
    write(tmp_path, "/etc/fluent-bit/fluent-bit.conf", "Name http\n[OUTPUT]\n")
    assert messages(run(tmp_path)) == ["malformed at line 1: entry outside a section"]
