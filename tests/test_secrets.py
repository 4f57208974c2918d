"""No credential reaches any output: a config and discovered host files full of secrets, a scan
of the demo's local estate, every report format, the history database and the console."""

from __future__ import annotations

import asyncio
import io
import re
import sqlite3
import textwrap
from pathlib import Path

import pytest

from auditor.config import AwsConfig, Dependency, load_config
from auditor.context import Limits, RunState
from auditor.formats import FORMATS
from auditor.history import attach_trend, record_run
from auditor.net.service import NET_SERVICE, specs_for
from auditor.output import write_outputs
from auditor.progress import LineProgress
from auditor.redact import redact_url
from auditor.scan import ScanRequest, run_scan

# Every secret is a distinct word found nowhere else, so a hit anywhere is a leak.
CONFIG_SECRETS = {
    "userinfo": "cfgPassZ1x",
    "query": "cfgQueryZ2x",
    "fragment": "cfgFragZ3x",
    "npm path": "cfgNpmTokZ4x",
    "sumo path": "cfgSumoZ5x",
    "loggly path": "cfgLogglyZ6x",
    "datadog path": "cfgDatadogZ7x",
    "aws userinfo": "cfgAwsPassZ8x",
    "aws query": "cfgAwsQueryZ9x",
}
DISCOVERED_SECRETS = {
    "pip userinfo": "discPipPassY1w",
    "pip query": "discPipQueryY2w",
    "npm userinfo": "discNpmPassY3w",
    "npm path": "discNpmTokY4w",
    "npm auth token": "discNpmAuthY5w",
    "fluent-bit path": "discSumoY6w",
    "fluent-bit password": "discFlbPassY7w",
}
SECRETS = {**CONFIG_SECRETS, **DISCOVERED_SECRETS}
S = SECRETS
API = "https://api.payments.demo.example"

CONFIG = f"""\
workload: secrets-test
resolver:
  nameservers: ["2001:db8:10::53"]
timeout: 2
dependencies:
  - name: Private PyPI
    kind: pypi
    url: "https://ci:{S["userinfo"]}@pypi.mirror.demo.example/simple/?token={S["query"]}#{S["fragment"]}"
  - name: npm with a token path
    kind: https
    url: "https://registry.demo.example/t/{S["npm path"]}/"
log_shippers:
  - {{name: Sumo, kind: https-intake, url: "{API}/receiver/v1/http/{S["sumo path"]}"}}
  - {{name: Loggly, kind: https-intake, url: "{API}/inputs/{S["loggly path"]}/tag/http/"}}
  - {{name: Datadog, kind: https-intake, url: "{API}/v1/input/{S["datadog path"]}"}}
discover: true
aws:
  regions: [us-east-1]
  services: [s3]
  endpoint_url: "http://a:{S["aws userinfo"]}@localhost:5000/?X-Amz-Security-Token={S["aws query"]}"
"""

PIP = "pypi.mirror.demo.example/simple/"
HOST_FILES = {
    "etc/pip.conf": f"""\
        [global]
        index-url = https://d:{S["pip userinfo"]}@{PIP}?k={S["pip query"]}
        """,
    "root/.npmrc": f"""\
        registry=https://ci:{S["npm userinfo"]}@registry.demo.example/t/{S["npm path"]}/
        //registry.demo.example/:_authToken={S["npm auth token"]}
        """,
    "etc/fluent-bit/fluent-bit.conf": f"""\
        [OUTPUT]
            Name        http
            Match       *
            Host        api.payments.demo.example
            Port        443
            URI         /receiver/v1/otlp/{S["fluent-bit path"]}/v1/logs
            http_User   shipper
            http_Passwd {S["fluent-bit password"]}
            TLS         On
        """,
}


def _leaks(blob: str) -> list[str]:
    return [what for what, secret in SECRETS.items() if secret.lower() in blob.lower()]


def _pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(str(path)).pages)


@pytest.fixture
def host_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "host"
    for rel, text in HOST_FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    monkeypatch.setenv("HOME", "/root")
    for var in (
        "PIP_INDEX_URL",
        "PIP_EXTRA_INDEX_URL",
        "npm_config_registry",
        "NPM_CONFIG_REGISTRY",
    ):
        monkeypatch.delenv(var, raising=False)
    return root


def test_no_secret_reaches_any_output(tmp_path: Path, host_root: Path, capsys) -> None:
    from auditor.cli.common import print_summary
    from auditor.demo.network import DemoNetwork

    config_path = tmp_path / "v6audit.yaml"
    config_path.write_text(CONFIG)
    config = load_config(config_path)
    console = io.StringIO()

    async def main() -> dict:
        network = DemoNetwork(config)
        state = RunState(config=config, limits=Limits(config.concurrency))
        state.services[NET_SERVICE] = await network.start()
        try:
            request = ScanRequest(
                config=config,
                state=state,
                only=["dep.reachable", "log.reachable"],
                discovery_root=host_root,
            )
            outcome = await run_scan(request, LineProgress(console))
        finally:
            await network.aclose()
        return outcome.result

    result = asyncio.run(main())
    declared = {f["evidence"].get("declared_at", "") for f in result["findings"]}
    # The scan really used the secret-laden targets: configured and discovered ones.
    assert any("pip.conf" in d for d in declared) and any(".npmrc" in d for d in declared)
    assert any("fluent-bit.conf" in d for d in declared)

    out = tmp_path / "out"
    out.mkdir()
    db = tmp_path / "history.db"
    attach_trend(result, db)
    written = write_outputs(result, list(FORMATS.values()), str(out))
    record_run(db, result)
    print_summary(result, written, [])
    console.write(capsys.readouterr().err)

    assert len(written) == 6
    outputs = {Path(p).name: Path(p).read_bytes().decode("utf-8", "replace") for p in written}
    outputs["report.pdf (text)"] = _pdf_text(out / "report.pdf")
    with sqlite3.connect(db) as conn:
        outputs["history.db"] = "\n".join(
            " ".join(map(str, row)) for row in conn.execute("SELECT * FROM runs")
        )
    outputs["history.db (bytes)"] = db.read_bytes().decode("latin-1")
    outputs["console"] = console.getvalue()
    assert "report.json" in outputs["console"] and "log.reachable: " in outputs["console"]
    leaks = {name: found for name, text in outputs.items() if (found := _leaks(text))}
    assert leaks == {}
    by_name = {f["evidence"].get("dependency"): f for f in result["findings"]}
    assert by_name["Private PyPI"]["status"] == "pass"  # probed with its real URL
    assert by_name["Private PyPI"]["target"]["url"] == (
        "https://***@pypi.mirror.demo.example/simple/?token=***#***"
    )
    assert by_name["Sumo"]["evidence"]["attempts"][0]["url"].endswith("/receiver/v1/http/***")
    # The config echo keeps the shape of what was configured, credentials masked.
    echoed = result["config"]
    assert echoed["aws"]["endpoint_url"] == "http://***@localhost:5000/?X-Amz-Security-Token=***"
    assert "real_url" not in echoed["dependencies"][0]


def test_targets_probe_the_real_url_and_show_the_redacted_one() -> None:
    real = f"https://u:{S['userinfo']}@pypi.mirror.demo.example/t/{S['npm path']}/simple/?a=1"
    dep = Dependency(name="x", kinds=("pypi",), url=real)
    assert dep.url == "https://***@pypi.mirror.demo.example/t/***/simple/?a=***"
    assert S["userinfo"] not in repr(dep)
    assert specs_for(dep)[0].url == real
    aws = AwsConfig(endpoint_url=f"http://a:{S['aws userinfo']}@localhost:5000/")
    assert aws.endpoint_url == "http://***@localhost:5000/"
    assert aws.real_endpoint_url == f"http://a:{S['aws userinfo']}@localhost:5000/"
    assert S["aws userinfo"] not in repr(aws)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://u:p@h.example:8443/x?a=1&flag#f", "https://***@h.example:8443/x?a=***&***#***"),
        (
            "https://endpoint1.collection.us2.sumologic.com/receiver/v1/http/ZaV==",
            "https://endpoint1.collection.us2.sumologic.com/receiver/v1/http/***",
        ),
        (
            "https://endpoint1.collection.sumologic.com/receiver/v1/otlp/Tok/v1/logs",
            "https://endpoint1.collection.sumologic.com/receiver/v1/otlp/***/v1/logs",
        ),
        (
            "https://logs-01.loggly.com/inputs/T-1/tag/http/",
            "https://logs-01.loggly.com/inputs/***/tag/http/",
        ),
        (
            "https://logs-01.loggly.com/bulk/T-1/tag/bulk/",
            "https://logs-01.loggly.com/bulk/***/tag/bulk/",
        ),
        ("https://npm.example/t/TOK/", "https://npm.example/t/***/"),
        (
            "https://http-intake.logs.datadoghq.com/v1/input/KEY",
            "https://http-intake.logs.datadoghq.com/v1/input/***",
        ),
        ("https://pypi.fury.io/TOK/acme/", "https://pypi.fury.io/***/acme/"),
        ("https://dl.cloudsmith.io/TOK/org/repo/", "https://dl.cloudsmith.io/***/org/repo/"),
        ("https://dl.cloudsmith.io/public/org/repo/", "https://dl.cloudsmith.io/public/org/repo/"),
        ("https://packagecloud.io/priv/TOK/org/repo", "https://packagecloud.io/priv/***/org/repo"),
        ("https://hooks.slack.com/services/T0/B0/X", "https://hooks.slack.com/services/***"),
        ("https://discord.com/api/webhooks/1/TOK", "https://discord.com/api/webhooks/1/***"),
        ("https://api.telegram.org/bot1:TOK/send", "https://api.telegram.org/bot***/send"),
        (
            "https://webhook.logentries.com/noformat/logs/TOK",
            "https://webhook.logentries.com/noformat/logs/***",
        ),
        ("https://pypi.org/simple/", "https://pypi.org/simple/"),
        ("http://u:p@h:bad/", "http://***@h:bad/"),  # malformed URLs are redacted, never raise
        ("http://u:p@[::1/", "http://***@[::1/"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert redact_url(shown) == shown  # redacting twice changes nothing


def test_config_errors_never_echo_a_secret(cli, tmp_path: Path) -> None:
    cases = {
        "url": 'dependencies:\n  - {name: a, kind: https, url: "https://u:zzSecret1@h.example:99999/?k=zzSecret2"}\n',
        "scheme": 'dependencies:\n  - {name: a, kind: https, url: "ftp://u:zzSecret1@h.example/?k=zzSecret2"}\n',
        "address": 'log_shippers:\n  - {name: a, kind: tcp, address: "u:zzSecret1@h.example"}\n',
        "aws": 'aws:\n  endpoint_url: "http://u:zzSecret1@[::1/?k=zzSecret2"\n',
    }
    for what, text in cases.items():
        bad = tmp_path / f"{what}.yaml"
        bad.write_text(text)
        proc = cli("scan", "-c", str(bad), "--no-history")
        assert proc.returncode == 2, (what, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert re.search(r"zzSecret", proc.stderr + proc.stdout) is None, proc.stderr
        assert f"{bad}:2:" in proc.stderr, proc.stderr


def test_a_suppression_naming_the_real_url_matches_the_redacted_target() -> None:
    from datetime import date

    from auditor.model import Finding, Status, Target
    from auditor.suppressions import SuppressionRule

    real = f"https://api.example/receiver/v1/http/{S['sumo path']}"
    finding = Finding(Status.FAIL, "x", target=Target(url=redact_url(real)), check_id="log.x")
    for resource in (real, redact_url(real)):
        rule = SuppressionRule("log.*", "known", date(2999, 1, 1), resource=resource)
        assert rule.matches(finding)
    other = SuppressionRule("log.*", "k", date(2999, 1, 1), resource="https://api.example/")
    assert not other.matches(finding)
