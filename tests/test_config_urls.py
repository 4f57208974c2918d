"""Bad URLs, hosts and CA bundles in a config end the scan with exit 2 and one line naming the
file, the line and the key, through the command line as a user runs it."""

from __future__ import annotations

from pathlib import Path

import pytest

DEP = "dependencies:\n  - name: a\n    kind: https\n    url: {url}\n"

CASES = [
    # (what, config text, line, key, words in the message)
    (
        "bad port with userinfo",
        DEP.format(url="'https://u:pw@h.example:bad/'"),
        4,
        "dependencies[0].url",
        "'https://***@h.example:bad/' has an invalid port",
    ),
    (
        "port out of range",
        DEP.format(url="'https://h.example:70000/'"),
        4,
        "dependencies[0].url",
        "has an invalid port",
    ),
    (
        "port zero",
        DEP.format(url="'https://h.example:0/'"),
        4,
        "dependencies[0].url",
        "has an invalid port",
    ),
    (
        "unclosed IPv6 bracket",
        DEP.format(url="'https://[2001:db8::1/simple/'"),
        4,
        "dependencies[0].url",
        "is not a valid URL",
    ),
    (
        "bracketed non-address",
        DEP.format(url="'https://[not-v6]/'"),
        4,
        "dependencies[0].url",
        "is not a valid URL",
    ),
    (
        "space in the host",
        DEP.format(url="'https://exa mple.com/'"),
        4,
        "dependencies[0].url",
        "white space",
    ),
    (
        "invalid host characters",
        DEP.format(url="'https://bad!host.example/'"),
        4,
        "dependencies[0].url",
        "has an invalid host 'bad!host.example' (not a DNS name or an IP address)",
    ),
    (
        "empty label",
        DEP.format(url="'https://a..example/'"),
        4,
        "dependencies[0].url",
        "(not a DNS name or an IP address)",
    ),
    (
        "label too long",
        DEP.format(url=f"'https://{'x' * 64}.example/'"),
        4,
        "dependencies[0].url",
        "(not a DNS name or an IP address)",
    ),
    (
        "aws endpoint with a bad bracket",
        "aws:\n  endpoint_url: 'http://[::1:5000/'\n",
        2,
        "aws.endpoint_url",
        "is not a valid URL",
    ),
    (
        "address with a bad host",
        "log_shippers:\n  - {name: s, kind: tcp, address: 'b@d!:514'}\n",
        2,
        "log_shippers[0].address",
        "is not host:port",
    ),
]


@pytest.mark.parametrize(("what", "text", "line", "key", "words"), CASES, ids=[c[0] for c in CASES])
def test_bad_urls_exit_2_with_file_line_and_key(
    cli, tmp_path: Path, what: str, text: str, line: int, key: str, words: str
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    proc = cli("scan", "-c", str(bad), "--no-history")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"v6audit: error: {bad}:{line}: {key}: "), lines[0]
    assert words in lines[0]
    assert "internal error" not in lines[0] and "pw@" not in lines[0]


def test_good_urls_still_load(tmp_path: Path) -> None:
    from auditor.config import load_config

    path = tmp_path / "ok.yaml"
    path.write_text(
        "dependencies:\n"
        "  - {name: a, kind: https, url: 'https://[2001:db8::1]:8443/x'}\n"
        "  - {name: b, kind: https, url: 'https://192.0.2.1/'}\n"
        "  - {name: c, kind: https, url: 'https://bücher.example/'}\n"
        "  - {name: d, kind: https, url: 'https://u:p@h.example/?k=v'}\n"
        "log_shippers:\n"
        "  - {name: e, kind: tcp, address: '[2001:db8::2]:514'}\n"
        "  - {name: f, kind: tcp, address: 'logs.example:514'}\n"
    )
    cfg = load_config(path)
    assert [d.url for d in cfg.dependencies][-1] == "https://***@h.example/?k=***"
    assert cfg.dependencies[-1].real_url == "https://u:p@h.example/?k=v"


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "holds no PEM certificate"),
        (b"\x30\x82\x01\x0a binary DER, not PEM", "holds no PEM certificate"),
        (
            b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
            "is not a valid PEM CA bundle",
        ),
    ],
    ids=["empty", "der", "broken-pem"],
)
def test_ca_bundle_that_is_not_pem_exits_2(cli, tmp_path: Path, content: bytes, words: str) -> None:
    (tmp_path / "ca.pem").write_bytes(content)
    bad = tmp_path / "bad.yaml"
    bad.write_text("workload: x\ntls:\n  ca_bundle: ca.pem\n")
    proc = cli("scan", "-c", str(bad), "--no-history")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"v6audit: error: {bad}:3: tls.ca_bundle: "), lines[0]
    assert words in lines[0]


def test_a_pem_ca_bundle_loads(tmp_path: Path) -> None:
    from auditor.config import load_config

    from .net.helpers import make_pki

    pki = make_pki(tmp_path, ["x.lab.test"])
    path = tmp_path / "ok.yaml"
    path.write_text(f"tls:\n  ca_bundle: {pki.ca_pem}\n")
    assert load_config(path).ca_bundle == str(pki.ca_pem)


def test_a_discovered_url_that_is_not_valid_is_reported_not_probed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Discovered targets pass the same checks as configured ones: one bad URL on the host is
    a warning naming its file and line; it cannot break the probes of the others."""
    from auditor.config import Config
    from auditor.scan import with_discovered

    for var in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "npm_config_registry"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", "/root")
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "pip.conf").write_text(
        "[global]\nindex-url = https://u:pw@pypi.example:bad/simple/\n"
    )
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / ".npmrc").write_text("registry=https://npm.example/\n")
    config, problems = with_discovered(Config(), tmp_path)
    assert [d.url for d in config.dependencies] == ["https://npm.example/"]
    bad = [p for p in problems if "pypi.example" in p["message"]]
    assert len(bad) == 1 and bad[0]["source"] == f"{tmp_path}/etc/pip.conf:2"
    assert "has an invalid port; not probed" in bad[0]["message"]
    assert "pw" not in bad[0]["message"]
