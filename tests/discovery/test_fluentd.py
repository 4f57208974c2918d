"""fluentd outputs."""

from __future__ import annotations

from pathlib import Path

from tests.discovery.helpers import messages, problem, run, urls, write


def test_fluentd_outputs(tmp_path: Path) -> None:
    write(
        tmp_path,
        "/etc/td-agent/td-agent.conf",
        """
        <source>
          @type forward
          port 24224
        </source>
        <label @OUT>
          <match **>
            @type forward
            <server>
              host fwd.example.com   # primary
            </server>
            <server>
              host "#{ENV.fetch('FWD2', 'fwd2.example.com')}"
              port 24230
            </server>
            <secondary>
              @type remote_syslog
              host rs.example.com
              port 6514
              tls true
            </secondary>
          </match>
        </label>
        @include /etc/td-agent/conf.d/*.conf
    """,
    )
    write(
        tmp_path,
        "/etc/td-agent/conf.d/http.conf",
        """
        <match web.**>
          @type http
          endpoint "http://#{ENV['WEB_SINK']}/ingest"
        </match>
        <match gone.**>
          @type http
          endpoint "https://#{ENV['NOT_SET']}/x"
        </match>
    """,
    )
    result = run(tmp_path, {"WEB_SINK": "web-sink.example.com:9880"})
    assert urls(result) == [
        ("tcp", "fwd.example.com:24224", 9),
        ("tcp", "fwd2.example.com:24230", 12),
        ("syslog-tls", "rs.example.com:6514", 17),
        ("http", "http://web-sink.example.com:9880/ingest", 3),
    ]
    assert result.targets[-1].source == str(tmp_path / "etc/td-agent/conf.d/http.conf")
    assert result.problems == [
        problem(
            "/etc/td-agent/conf.d/http.conf",
            "line 7: ${NOT_SET} is not set; output skipped",
            root=tmp_path,
        )
    ]


def test_fluentd_unclosed_tag(tmp_path: Path) -> None:
    write(tmp_path, "/etc/fluent/fluentd.conf", "<match **>\n  @type forward\n")
    assert messages(run(tmp_path)) == ["malformed at line 1: <match> is never closed"]
