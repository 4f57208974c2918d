"""The config loader: defaults, every key of the design page, and one-line errors with lines."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from auditor.config import Config, load_config
from auditor.errors import ConfigError

FULL = """\
workload: payments-api
nat64_prefix: auto            # or a prefix such as 64:ff9b::/96
resolver:
  nameservers: []
timeout: 5
concurrency: 200
dns:
  names: [api.example.com, www.example.com]
dependencies:
  - {name: PyPI, kind: pypi, url: https://pypi.org/simple/}
  - {name: Docker Hub, kind: oci-registry, url: https://registry-1.docker.io/v2/}
  - {name: apt, kind: apt, url: http://deb.debian.org/debian/dists/bookworm/InRelease}
  - {name: GitHub, kind: git, url: https://github.com/org/repo.git}
  - {name: generic, kind: https, url: https://example.com/health}
log_shippers:
  - {name: Datadog, kind: https-intake, url: https://http-intake.logs.datadoghq.com/}
  - {name: Papertrail, kind: syslog-tls, address: logs.papertrailapp.com:12345}
  - {name: rsyslog, kind: syslog-tcp, address: logs.internal.example:514}
imds: auto
discover: true
aws:
  regions: [us-east-1]
  profile: null
  accounts: []
  services: [s3, sqs, logs, ecr, sts]
  endpoint_url: null
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "v6audit.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_design_page_example_loads(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, FULL))
    assert cfg.workload == "payments-api"
    assert cfg.nat64_prefix == "auto"
    assert cfg.dns_names == ("api.example.com", "www.example.com")
    assert [d.name for d in cfg.dependencies] == ["PyPI", "Docker Hub", "apt", "GitHub", "generic"]
    assert cfg.dependencies[1].kinds == ("oci-registry",)
    assert cfg.log_shippers[1].address == "logs.papertrailapp.com:12345"
    assert cfg.log_shippers[1].category == "log_shipper"
    assert cfg.dependencies[0].source.endswith("v6audit.yaml:10")
    assert cfg.aws.services == ("s3", "sqs", "logs", "ecr", "sts")
    assert cfg.aws.endpoint_url is None


def test_empty_file_and_no_file_give_defaults(tmp_path: Path) -> None:
    assert load_config(None) == Config()
    cfg = load_config(write(tmp_path, ""))
    assert cfg.concurrency == 200 and cfg.timeout == 5.0 and cfg.imds == "auto"


def test_well_known_and_network_specific_nat64_prefixes(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "nat64_prefix: 64:ff9b::/96")).nat64_prefix == "64:ff9b::/96"
    cfg = load_config(write(tmp_path, "nat64_prefix: 2001:db8:64::/96"))
    assert cfg.nat64_prefix == "2001:db8:64::/96"


@pytest.mark.parametrize(
    ("text", "line", "key", "words"),
    [
        ("workload: x\ntimout: 5\n", 2, "timout", "did you mean 'timeout'"),
        ("timeout: fast\n", 1, "timeout", "must be a number"),
        ("concurrency: 0\n", 1, "concurrency", "between 1 and 10000"),
        ("concurrency: 2.5\n", 1, "concurrency", "integer"),
        ("nat64_prefix: 64:ff9b::/95\n", 1, "nat64_prefix", "RFC 6052"),
        ("nat64_prefix: 10.0.0.0/8\n", 1, "nat64_prefix", "not an IPv6 prefix"),
        ("resolver:\n  nameservers: [169.254.169.253]\n", 2, "resolver.nameservers[0]", "IPv4"),
        ("dns:\n  names: [ok.example, 'bad name']\n", 2, "dns.names[1]", "not a DNS name"),
        (
            "dependencies:\n  - {name: a, kind: pypi, url: ftp://x/}\n",
            2,
            "dependencies[0].url",
            "http(s) URL",
        ),
        (
            "dependencies:\n  - {name: a, kind: pypy, url: https://x/}\n",
            2,
            "dependencies[0].kind",
            "did you mean 'pypi'",
        ),
        (
            "dependencies:\n  - name: a\n    kind: pypi\n    url: https://a/\n"
            "  - name: a\n    kind: npm\n    url: https://b/\n",
            5,
            "dependencies[1].name",
            "duplicate name 'a' (first at line 2)",
        ),
        (
            "log_shippers:\n  - {name: s, kind: syslog-tcp, address: 'logs:99999'}\n",
            2,
            "log_shippers[0].address",
            "host:port",
        ),
        ("log_shippers:\n  - {name: s, kind: syslog-tcp}\n", 2, "log_shippers[0]", "address"),
        ("imds: maybe\n", 1, "imds", "auto, true or false"),
        ("aws:\n  regions: [us-east-1, mars-1]\n", 2, "aws.regions[1]", "region"),
        ("aws:\n  accounts:\n    - role_arn: nope\n", 3, "aws.accounts[0].role_arn", "role ARN"),
        ("aws:\n  endpoint_url: localhost:5000\n", 2, "aws.endpoint_url", "URL"),
        ("workload: a\nworkload: b\n", 2, "workload", "duplicate key"),
        ("dns: [a]\n", 1, "dns", "must be a mapping"),
    ],
)
def test_bad_config_names_file_line_and_key(
    tmp_path: Path, text: str, line: int, key: str, words: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    err = info.value
    assert (err.path, err.line, err.key) == (str(path), line, key)
    assert words in str(err)
    assert str(err).startswith(f"{path}:{line}: {key}: ")
    assert "\n" not in str(err)


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, "workload: x\ndns:\n  names: [a, b\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.line is not None and info.value.line >= 3
    assert "invalid YAML" in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.yaml")


def test_ca_bundle_is_resolved_beside_the_config(tmp_path: Path) -> None:
    from tests.net.helpers import make_pki

    pki = make_pki(tmp_path / "pki", ["x.lab.test"])
    (tmp_path / "ca.pem").write_bytes(Path(pki.ca_pem).read_bytes())
    cfg = load_config(write(tmp_path, "tls:\n  ca_bundle: ca.pem\n"))
    assert cfg.ca_bundle == str(tmp_path / "ca.pem")
    with pytest.raises(ConfigError, match="not a readable file") as info:
        load_config(write(tmp_path, "tls:\n  ca_bundle: missing.pem\n"))
    assert info.value.line == 2 and info.value.key == "tls.ca_bundle"


def test_effective_config_hides_credentials(tmp_path: Path) -> None:
    cfg = load_config(
        write(
            tmp_path,
            """\
        dependencies:
          - {name: private, kind: pypi, url: "https://user:s3cret@pypi.example.com/simple/"}
        aws:
          accounts:
            - {role_arn: "arn:aws:iam::123456789012:role/v6audit", external_id: hush}
        """,
        )
    )
    dumped = str(cfg.to_dict())
    assert "s3cret" not in dumped and "hush" not in dumped
    assert "https://***@pypi.example.com/simple/" in dumped


def test_cli_overrides_replace_config_values(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, "aws:\n  regions: [us-east-1]\n  profile: a\n"))
    changed = cfg.with_overrides(
        regions=("eu-west-1", "eu-central-1"), profile=None, concurrency=7, timeout=None
    )
    assert changed.aws.regions == ("eu-west-1", "eu-central-1")
    assert changed.aws.profile == "a"
    assert changed.concurrency == 7 and changed.timeout == cfg.timeout
