"""Tests for auditor.discovery: the fixture tree end to end, then each parser on its own."""

from __future__ import annotations

import shutil
import socket
import textwrap
from pathlib import Path

import pytest

from auditor.discovery import (
    DiscoveredTarget,
    DiscoveryProblem,
    DiscoveryResult,
    _image_registry,
    discover,
)

FIXTURE_ROOT = Path(__file__).parent / "fixtures" / "discovery" / "root"
UDP = "is not probeable (only TCP or TLS can be proven)"

FIXTURE_ENV = {
    "HOME": "/home/app",
    "PIP_INDEX_URL": "https://token:abc@pypi.env.example.com/simple",
    "PIP_EXTRA_INDEX_URL": "https://pypi.org/simple/ https://wheels.example.org/simple",
    "FLUENTD_AGGREGATOR_2": "aggregator-2.logging.example.com",
    "npm_config_registry": "https://npm.env.example.com/",
}


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Discovery reads files only: any socket use fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("discovery must not use the network")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def _t(
    name: str,
    kind: str,
    source: str,
    line: int | None,
    *,
    url: str | None = None,
    address: str | None = None,
    category: str = "dependency",
    root: Path = FIXTURE_ROOT,
) -> DiscoveredTarget:
    src = source if source.startswith("env:") else str(root / source.lstrip("/"))
    return DiscoveredTarget(name, kind, category, src, line, url=url, address=address)


def _log(name: str, kind: str, source: str, line: int | None, **kw: str) -> DiscoveredTarget:
    return _t(name, kind, source, line, category="log_shipper", **kw)  # type: ignore[arg-type]


def _p(source: str, message: str, root: Path = FIXTURE_ROOT) -> DiscoveryProblem:
    return DiscoveryProblem(str(root / source.lstrip("/")), message)


EXPECTED_TARGETS = [
    # apt, one-line format
    _t("apt deb.debian.org bookworm", "apt", "/etc/apt/sources.list", 4,
       url="http://deb.debian.org/debian/dists/bookworm/InRelease"),
    _t("apt security.debian.org bookworm-security", "apt", "/etc/apt/sources.list", 6,
       url="https://security.debian.org/debian-security/dists/bookworm-security/InRelease"),
    _t("apt download.docker.com bookworm", "apt", "/etc/apt/sources.list.d/docker.list", 1,
       url="https://download.docker.com/linux/debian/dists/bookworm/InRelease"),
    # apt, deb822: two URIs x two suites, disabled paragraph skipped, folded Signed-By
    _t("apt cdn-aws.deb.debian.org bookworm", "apt", "/etc/apt/sources.list.d/debian.sources", 3,
       url="http://cdn-aws.deb.debian.org/debian/dists/bookworm/InRelease"),
    _t("apt cdn-aws.deb.debian.org bookworm-updates", "apt",
       "/etc/apt/sources.list.d/debian.sources", 3,
       url="http://cdn-aws.deb.debian.org/debian/dists/bookworm-updates/InRelease"),
    _t("apt mirror.example.net bookworm", "apt", "/etc/apt/sources.list.d/debian.sources", 3,
       url="https://mirror.example.net/debian/dists/bookworm/InRelease"),
    _t("apt mirror.example.net bookworm-updates", "apt",
       "/etc/apt/sources.list.d/debian.sources", 3,
       url="https://mirror.example.net/debian/dists/bookworm-updates/InRelease"),
    _t("apt apt.releases.hashicorp.com bookworm", "apt",
       "/etc/apt/sources.list.d/debian.sources", 15,
       url="https://apt.releases.hashicorp.com/dists/bookworm/InRelease"),
    # yum: $releasever from /etc/dnf/vars, $basearch kept; disabled repos skipped
    _t("yum amazonlinux mirrorlist", "https", "/etc/yum.repos.d/amazonlinux.repo", 3,
       url="https://cdn.amazonlinux.com/al2023/core/mirrors/latest/$basearch/mirror.list"),
    _t("yum internal-base", "yum", "/etc/yum.repos.d/internal.repo", 4,
       url="https://repo.internal.example.com/el9/base/x86_64/repodata/repomd.xml"),
    _t("yum internal-base", "yum", "/etc/yum.repos.d/internal.repo", 5,
       url="http://repo-fallback.internal.example.com/el9/base/x86_64/repodata/repomd.xml"),
    # pip: config files, then env, then search paths
    _t("pip index pypi.internal.example.com", "pypi", "/etc/pip.conf", 2,
       url="https://pypi.internal.example.com/simple/"),
    _t("pip extra index download.pytorch.org", "pypi", "/etc/pip.conf", 4,
       url="https://download.pytorch.org/whl/cpu"),
    _t("pip extra index pypi.org", "pypi", "/etc/pip.conf", 5, url="https://pypi.org/simple/"),
    _t("pip extra index gitlab.example.com", "pypi", "/root/.config/pip/pip.conf", 2,
       url="https://gitlab.example.com/api/v4/projects/42/packages/pypi/simple"),
    _t("pip index pypi.env.example.com", "pypi", "env:PIP_INDEX_URL", None,
       url="https://pypi.env.example.com/simple"),
    _t("pip extra index wheels.example.org", "pypi", "env:PIP_EXTRA_INDEX_URL", None,
       url="https://wheels.example.org/simple"),
    _t("pip index test.pypi.org", "pypi", "/srv/app/requirements-dev.txt", 2,
       url="https://test.pypi.org/simple/"),
    _t("pip extra index gitlab.example.com", "pypi", "/srv/app/requirements.txt", 3,
       url="https://gitlab.example.com/api/v4/projects/7/packages/pypi/simple"),
    # npm
    _t("npm registry artifactory.example.com", "npm", "/etc/npmrc", 2,
       url="https://artifactory.example.com/api/npm/npm-remote/"),
    _t("npm registry registry.npmjs.org", "npm", "/root/.npmrc", 1,
       url="https://registry.npmjs.org/"),
    _t("npm registry @acme npm.pkg.github.com", "npm", "/root/.npmrc", 2,
       url="https://npm.pkg.github.com/"),
    _t("npm registry @app npm.app.example.com", "npm", "/home/app/.npmrc", 2,
       url="https://npm.app.example.com/"),
    _t("npm registry npm.env.example.com", "npm", "env:npm_config_registry", None,
       url="https://npm.env.example.com/"),
    _t("npm registry @internal npm.internal.example.com", "npm", "/srv/app/frontend/.npmrc", 1,
       url="https://npm.internal.example.com/"),
    # docker daemon.json
    _t("docker mirror mirror.gcr.io", "oci-registry", "/etc/docker/daemon.json", 4,
       url="https://mirror.gcr.io/v2/"),
    _t("docker mirror docker-mirror.internal.example.com", "oci-registry",
       "/etc/docker/daemon.json", 5, url="https://docker-mirror.internal.example.com:5000/v2/"),
    _t("docker insecure registry registry.build.internal", "oci-registry",
       "/etc/docker/daemon.json", 8, url="http://registry.build.internal:5000/v2/"),
    # Dockerfiles: syntax frontend, ARG-built FROM, stage references, COPY --from=image
    _t("image registry registry-1.docker.io", "oci-registry", "/srv/app/Dockerfile", 1,
       url="https://registry-1.docker.io/v2/"),
    _t("image registry public.ecr.aws", "oci-registry", "/srv/app/Dockerfile", 6,
       url="https://public.ecr.aws/v2/"),
    _t("image registry ghcr.io", "oci-registry", "/srv/app/Dockerfile", 14,
       url="https://ghcr.io/v2/"),
    _t("image registry gcr.io", "oci-registry", "/srv/app/Dockerfile", 19,
       url="https://gcr.io/v2/"),
    _t("image registry quay.io", "oci-registry", "/srv/app/worker/Dockerfile.worker", 1,
       url="https://quay.io/v2/"),
    # fluent-bit classic (with @INCLUDE and @SET) and YAML
    _log("fluent-bit output datadog http-intake.logs.datadoghq.eu", "https-intake",
         "/etc/fluent-bit/outputs/datadog.conf", 4,
         url="https://http-intake.logs.datadoghq.eu/api/v2/logs"),
    _log("fluent-bit output syslog siem.example.com", "syslog-tls",
         "/etc/fluent-bit/outputs/syslog.conf", 4, address="siem.example.com:6514"),
    _log("fluent-bit output http logs.internal.example.com", "https-intake",
         "/etc/fluent-bit/fluent-bit.conf", 17,
         url="https://logs.internal.example.com:8443/ingest/v1"),
    _log("fluent-bit output http audit-collector.internal.example.com", "http",
         "/etc/fluent-bit/fluent-bit.conf", 26,
         url="http://audit-collector.internal.example.com:8080/"),
    _log("fluent-bit output loki loki.monitoring.example.com", "https-intake",
         "/etc/fluent-bit/fluent-bit.yaml", 14,
         url="https://loki.monitoring.example.com/loki/api/v1/push"),
    _log("fluent-bit output es vpc-logs-abc123.us-east-1.es.amazonaws.com", "https-intake",
         "/etc/fluent-bit/fluent-bit.yaml", 19,
         url="https://vpc-logs-abc123.us-east-1.es.amazonaws.com/"),
    _log("fluent-bit output forward 2001:db8:10::20", "tcp", "/etc/fluent-bit/fluent-bit.yaml",
         26, address="[2001:db8:10::20]:24224"),
    # vector
    _log("vector sink datadog", "https-intake", "/etc/vector/vector.toml", 11,
         url="https://http-intake.logs.datadoghq.eu/"),
    _log("vector sink search", "https-intake", "/etc/vector/vector.toml", 17,
         url="https://es-1.search.example.com:9200"),
    _log("vector sink search", "https-intake", "/etc/vector/vector.toml", 18,
         url="https://es-2.search.example.com:9200"),
    _log("vector sink archive", "tcp", "/etc/vector/vector.toml", 25,
         address="archive.example.com:9000"),
    _log("vector sink splunk", "https-intake", "/etc/vector/vector.yaml", 5,
         url="https://splunk-hec.example.com:8088"),
    _log("vector sink cloudwatch", "https-intake", "/etc/vector/vector.yaml", 12,
         url="https://logs.eu-west-1.amazonaws.com/"),
    _log("vector sink papertrail", "syslog-tls", "/etc/vector/vector.yaml", 20,
         address="logs4.papertrailapp.com:12345"),
    # fluentd (<source> forward is an input and ignored)
    _log("fluentd forward aggregator-1.logging.example.com", "tcp", "/etc/fluent/fluentd.conf", 16,
         address="aggregator-1.logging.example.com:24224"),
    _log("fluentd forward aggregator-2.logging.example.com", "tcp", "/etc/fluent/fluentd.conf", 20,
         address="aggregator-2.logging.example.com:24224"),
    _log("fluentd http audit.example.com", "https-intake", "/etc/fluent/fluentd.conf", 32,
         url="https://audit.example.com/api/v1/ingest"),
    _log("fluentd remote_syslog syslog.example.com", "syslog-tcp", "/etc/fluent/fluentd.conf", 37,
         address="syslog.example.com:514"),
    _log("fluentd remote_syslog logs5.papertrailapp.com", "syslog-tls",
         "/etc/fluent/conf.d/papertrail.conf", 3, address="logs5.papertrailapp.com:23456"),
    # rsyslog
    _log("rsyslog forward central-log.example.com", "syslog-tcp", "/etc/rsyslog.conf", 11,
         address="central-log.example.com:1514"),
    _log("rsyslog forward logs2.papertrailapp.com", "syslog-tls",
         "/etc/rsyslog.d/50-papertrail.conf", 6, address="logs2.papertrailapp.com:34567"),
    _log("rsyslog forward siem-ingest.example.com", "syslog-tls", "/etc/rsyslog.d/60-forward.conf",
         4, address="siem-ingest.example.com:6514"),
    _log("rsyslog forward 2001:db8::514", "syslog-tcp", "/etc/rsyslog.d/60-forward.conf", 16,
         address="[2001:db8::514]:10514"),
    # CloudWatch agent
    _log("CloudWatch Logs us-east-1", "https-intake",
         "/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json", 7,
         url="https://logs.us-east-1.amazonaws.com/"),
    _log("CloudWatch Logs vpce-0123456789abcdef0-abcdefgh.logs.us-east-1.vpce.amazonaws.com",
         "https-intake",
         "/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.d/file_vpce.json", 3,
         url="https://vpce-0123456789abcdef0-abcdefgh.logs.us-east-1.vpce.amazonaws.com/"),
]  # fmt: skip

EXPECTED_PROBLEMS = [
    _p("/etc/yum.repos.d/amazonlinux.repo", "line 3: $basearch kept literally in the URL"),
    _p("/etc/fluent-bit/outputs/syslog.conf", f"UDP syslog forwarding at line 12 {UDP}"),
    _p("/etc/td-agent/td-agent.conf", f"UDP syslog forwarding at line 3 {UDP}"),
    _p("/etc/rsyslog.conf", f"UDP syslog forwarding at line 12 {UDP}"),
    _p("/etc/rsyslog.d/60-forward.conf", f"UDP syslog forwarding at line 18 {UDP}"),
]


def _discover_fixture(root: Path = FIXTURE_ROOT) -> DiscoveryResult:
    return discover(root=root, env=FIXTURE_ENV, search_paths=[root / "srv/app"])


def test_fixture_tree_finds_every_dependency_with_provenance() -> None:
    result = _discover_fixture()
    assert result.targets == EXPECTED_TARGETS
    assert result.problems == EXPECTED_PROBLEMS


def test_fixture_tree_never_leaks_credentials() -> None:
    text = repr(_discover_fixture())
    for secret in ("s3cr3t", "ci-bot", "hunter2", "token:abc", "token=abc123", "__token__"):
        assert secret not in text


def test_fixture_tree_without_search_paths_skips_project_files() -> None:
    result = discover(root=FIXTURE_ROOT, env=FIXTURE_ENV)
    sources = {t.source for t in result.targets}
    assert not any("/srv/app/" in s for s in sources)
    assert len(result.targets) == len(EXPECTED_TARGETS) - 8


def test_broken_files_are_reported_and_the_rest_is_still_found(tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(FIXTURE_ROOT, root, symlinks=True)
    (root / "etc/docker/daemon.json").write_text('{\n  "registry-mirrors": [\n    "https://x"\n')
    (root / "etc/vector/vector.toml").write_text('[sinks.a]\ntype = "http"\nuri = \n')
    (root / "etc/npmrc").unlink()
    (root / "etc/npmrc").mkdir()  # a directory where a file is expected
    (root / "etc/rsyslog.conf").unlink()
    (root / "etc/rsyslog.conf").symlink_to(root / "does/not/exist")

    result = _discover_fixture(root)

    broken = {
        "/etc/docker/daemon.json",
        "/etc/vector/vector.toml",
        "/etc/npmrc",
        "/etc/rsyslog.conf",
    }
    expected = [
        _t(
            t.name,
            t.kind,
            t.source.removeprefix(str(FIXTURE_ROOT)),
            t.line,
            url=t.url,
            address=t.address,
            category=t.category,
            root=root,
        )
        for t in EXPECTED_TARGETS
        if t.source.removeprefix(str(FIXTURE_ROOT)) not in broken
    ]
    assert result.targets == expected
    problems = {p.source.removeprefix(str(root)): p.message for p in result.problems}
    assert problems["/etc/docker/daemon.json"].startswith("malformed at line 4: invalid JSON")
    assert problems["/etc/vector/vector.toml"].startswith("malformed at line 3: invalid TOML")
    assert problems["/etc/npmrc"] == "unreadable: is a directory, not a file"
    assert problems["/etc/rsyslog.conf"] == "unreadable: broken symbolic link"


# --------------------------------------------------------------------------- helpers


def _write(root: Path, rel: str, text: str) -> Path:
    path = root / rel.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def _run(
    root: Path, env: dict[str, str] | None = None, search: list[Path] | None = None
) -> DiscoveryResult:
    return discover(root=root, env=env or {}, search_paths=search or [])


def _urls(result: DiscoveryResult) -> list[tuple[str, str | None, int | None]]:
    return [(t.kind, t.url or t.address, t.line) for t in result.targets]


def _messages(result: DiscoveryResult) -> list[str]:
    return [p.message for p in result.problems]


def test_empty_root_finds_nothing(tmp_path: Path) -> None:
    assert _run(tmp_path) == DiscoveryResult([], [])


def test_env_defaults_to_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIP_INDEX_URL", "https://pypi.process.example.com/simple/")
    result = discover(root=tmp_path)
    assert ("pypi", "https://pypi.process.example.com/simple/", None) in _urls(result)


def test_duplicates_keep_first_provenance(tmp_path: Path) -> None:
    _write(tmp_path, "/etc/pip.conf", "[global]\nindex-url = https://pypi.org/simple/\n")
    result = _run(tmp_path, {"PIP_INDEX_URL": "https://pypi.org/simple/"})
    assert result.targets == [
        _t(
            "pip index pypi.org",
            "pypi",
            "/etc/pip.conf",
            2,
            url="https://pypi.org/simple/",
            root=tmp_path,
        )
    ]


def test_file_found_twice_is_read_once(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    (tmp_path / "root/.npmrc").symlink_to(tmp_path / "nowhere")
    result = _run(tmp_path, search=[tmp_path / "root"])
    assert result == DiscoveryResult(
        [], [_p("/root/.npmrc", "unreadable: broken symbolic link", root=tmp_path)]
    )


# --------------------------------------------------------------------------- apt


def test_apt_one_line_variants(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "/etc/apt/sources.list",
        """
        deb [ arch=amd64 trusted=yes ] http://archive.ubuntu.com/ubuntu/ noble main # inline
        deb-src http://archive.ubuntu.com/ubuntu noble main
        deb https://repo.example.com/flat ./
        deb https://repo.example.com/tree sub/dir/
        deb cdrom:[Debian 12]/ bookworm main
        deb file:///srv/mirror bookworm main
        deb mirror+https://mirrors.example.com/list.txt noble main
        deb http://localhost:3142/debian bookworm main
    """,
    )
    assert _urls(_run(tmp_path)) == [
        ("apt", "http://archive.ubuntu.com/ubuntu/dists/noble/InRelease", 1),
        ("apt", "https://repo.example.com/flat/InRelease", 3),
        ("apt", "https://repo.example.com/tree/sub/dir/InRelease", 4),
        ("https", "https://mirrors.example.com/list.txt", 7),
    ]


def test_apt_malformed_list_is_skipped_but_others_are_read(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "/etc/apt/sources.list",
        "deb http://deb.debian.org/debian bookworm main\ndeb http://broken.example.com\n",
    )
    _write(
        tmp_path,
        "/etc/apt/sources.list.d/ok.list",
        "deb http://ok.example.com/debian bookworm main\n",
    )
    result = _run(tmp_path)
    assert _urls(result) == [("apt", "http://ok.example.com/debian/dists/bookworm/InRelease", 1)]
    assert result.problems == [
        _p(
            "/etc/apt/sources.list",
            "malformed at line 2: expected 'deb [options] URI suite [component...]'",
            root=tmp_path,
        )
    ]


def test_deb822_multiple_uris_folded_and_disabled(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "/etc/apt/sources.list.d/ubuntu.sources",
        """
        Types: deb
        URIs: http://us-east-1.ec2.archive.ubuntu.com/ubuntu/
         http://security.ubuntu.com/ubuntu/
        Suites: noble noble-updates
        Components: main restricted
        Enabled: yes

        # disabled: must not be probed
        Types: deb
        URIs: http://ddebs.ubuntu.com/
        Suites: noble
        Components: main
        Enabled: no

        Types: deb-src
        URIs: https://src.example.com/ubuntu
        Suites: noble
        Components: main
    """,
    )
    assert _urls(_run(tmp_path)) == [
        ("apt", "http://us-east-1.ec2.archive.ubuntu.com/ubuntu/dists/noble/InRelease", 2),
        ("apt", "http://us-east-1.ec2.archive.ubuntu.com/ubuntu/dists/noble-updates/InRelease", 2),
        ("apt", "http://security.ubuntu.com/ubuntu/dists/noble/InRelease", 3),
        ("apt", "http://security.ubuntu.com/ubuntu/dists/noble-updates/InRelease", 3),
        ("apt", "https://src.example.com/ubuntu/dists/noble/InRelease", 16),
    ]


def test_deb822_paragraph_without_suites_is_malformed(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "/etc/apt/sources.list.d/bad.sources",
        """
        Types: deb
        URIs: http://deb.debian.org/debian

        Types: deb
        URIs: http://deb.debian.org/debian
        Suites: bookworm
    """,
    )
    result = _run(tmp_path)
    assert result.targets == []
    assert _messages(result) == ["malformed at line 1: paragraph without Types, URIs or Suites"]


# --------------------------------------------------------------------------- yum


def test_yum_baseurls_vars_disabled_and_metalink(tmp_path: Path) -> None:
    _write(tmp_path, "/etc/yum/vars/awsdomain", "amazonaws.com\n")
    _write(tmp_path, "/etc/dnf/vars/awsregion", "eu-central-1\n")
    _write(
        tmp_path,
        "/etc/yum.repos.d/mixed.repo",
        """
        [amzn2-core]
        name=Amazon Linux 2 core repository
        mirrorlist=http://amazonlinux.$awsregion.$awsdomain/$releasever/core/latest/mirror.list
        enabled=1

        [epel]
        metalink=https://mirrors.fedoraproject.org/metalink?repo=epel-9&arch=$basearch
        enabled=True

        [multi]
        baseurl=https://a.example.com/repo, https://b.example.com/repo/
         file:///mnt/local/repo
        enabled = 1

        [off]
        baseurl=https://off.example.com/repo
        enabled=0
    """,
    )
    result = _run(tmp_path, {"DNF_VAR_releasever": "2"})
    assert _urls(result) == [
        ("http", "http://amazonlinux.eu-central-1.amazonaws.com/2/core/latest/mirror.list", 3),
        ("https", "https://mirrors.fedoraproject.org/metalink", 7),
        ("yum", "https://a.example.com/repo/repodata/repomd.xml", 11),
        ("yum", "https://b.example.com/repo/repodata/repomd.xml", 11),
    ]
    assert [t.name for t in result.targets] == [
        "yum amzn2-core mirrorlist",
        "yum epel metalink",
        "yum multi",
        "yum multi",
    ]
    assert _messages(result) == ["line 7: $basearch kept literally in the URL"]


def test_yum_entry_before_section_is_malformed(tmp_path: Path) -> None:
    _write(tmp_path, "/etc/yum.repos.d/bad.repo", "baseurl=https://x.example.com/\n[x]\n")
    result = _run(tmp_path)
    assert result.targets == []
    assert _messages(result) == ["malformed at line 1: entry before any [section]"]


# --------------------------------------------------------------------------- pip


def test_pip_credentials_are_stripped_everywhere(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "/root/.pip/pip.conf",
        """
        [global]
        index_url = https://deploy:Sup3rSecret@nexus.example.com/repository/pypi/simple?token=t0k
        [freeze]
        index-url = https://ignored.example.com/simple
    """,
    )
    env = {
        "PIP_EXTRA_INDEX_URL": "https://user:pw0rd@extra-a.example.com/simple "
        "https://extra-b.example.com/simple",
    }
    result = _run(tmp_path, env)
    assert _urls(result) == [
        ("pypi", "https://nexus.example.com/repository/pypi/simple", 2),
        ("pypi", "https://extra-a.example.com/simple", None),
        ("pypi", "https://extra-b.example.com/simple", None),
    ]
    assert [t.name for t in result.targets] == [
        "pip index nexus.example.com",
        "pip extra index extra-a.example.com",
        "pip extra index extra-b.example.com",
    ]
    for secret in ("Sup3rSecret", "deploy", "t0k", "pw0rd"):
        assert secret not in repr(result)


def test_requirements_options(tmp_path: Path) -> None:
    app = tmp_path / "app"
    _write(
        app,
        "requirements.txt",
        """
        # index options in their usual spellings
        -i https://idx-a.example.com/simple
        --index-url=https://idx-b.example.com/simple
        -ihttps://idx-c.example.com/simple
        --extra-index-url \\
            https://${PKG_USER}:${PKG_TOKEN}@idx-d.example.com/simple
        --extra-index-url https://${PKG_HOST}/simple
        --extra-index-url https://${UNSET_HOST}/simple
        requests==2.32.3  # -i https://not-an-option.example.com
        --trusted-host idx-a.example.com
    """,
    )
    env = {"PKG_USER": "me", "PKG_TOKEN": "secret-token", "PKG_HOST": "idx-e.example.com"}
    result = _run(tmp_path, env, [app])
    assert _urls(result) == [
        ("pypi", "https://idx-a.example.com/simple", 2),
        ("pypi", "https://idx-b.example.com/simple", 3),
        ("pypi", "https://idx-c.example.com/simple", 4),
        ("pypi", "https://idx-d.example.com/simple", 5),
        ("pypi", "https://idx-e.example.com/simple", 7),
    ]
    assert _messages(result) == ["line 8: unset variable in index URL; skipped"]
    assert "secret-token" not in repr(result)


def test_pip_conf_from_home_and_pip_config_file(tmp_path: Path) -> None:
    _write(tmp_path, "/home/svc/.config/pip/pip.conf", "[global]\nindex-url=https://h.example/s/\n")
    _write(tmp_path, "/opt/pip/custom.conf", "[install]\nextra-index-url=https://c.example/s/\n")
    env = {"HOME": "/home/svc", "PIP_CONFIG_FILE": "/opt/pip/custom.conf"}
    assert _urls(_run(tmp_path, env)) == [
        ("pypi", "https://h.example/s/", 2),
        ("pypi", "https://c.example/s/", 2),
    ]


# --------------------------------------------------------------------------- npm


def test_npmrc_registries(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "/root/.npmrc",
        """
        # npm config
        registry="https://npm.example.com/"
        @corp:registry = https://${NPM_HOST}/npm/
        @gone:registry=https://${NOT_SET}/npm/
        //npm.example.com/:_authToken=abcdef
        //corp.example.com/npm/:_password=c2VjcmV0
        cache=/tmp/npm
    """,
    )
    result = _run(tmp_path, {"NPM_HOST": "corp.example.com"})
    assert result.targets == [
        _t(
            "npm registry npm.example.com",
            "npm",
            "/root/.npmrc",
            2,
            url="https://npm.example.com/",
            root=tmp_path,
        ),
        _t(
            "npm registry @corp corp.example.com",
            "npm",
            "/root/.npmrc",
            3,
            url="https://corp.example.com/npm/",
            root=tmp_path,
        ),
    ]
    assert _messages(result) == ["line 4: ${NOT_SET} is not set; registry skipped"]
    assert "abcdef" not in repr(result)


# --------------------------------------------------------------------------- docker


def test_daemon_json_mirrors_and_insecure_registries(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "/etc/docker/daemon.json",
        """
        {
          "registry-mirrors": ["https://m1.example.com", "m2.example.com:5000"],
          "insecure-registries": [
            "192.168.0.0/16",
            "https://secure-ish.example.com",
            "[2001:db8::5]:5000",
            "localhost:5000"
          ]
        }
    """,
    )
    assert _urls(_run(tmp_path)) == [
        ("oci-registry", "https://m1.example.com/v2/", 2),
        ("oci-registry", "https://m2.example.com:5000/v2/", 2),
        ("oci-registry", "https://secure-ish.example.com/v2/", 5),
        ("oci-registry", "http://[2001:db8::5]:5000/v2/", 6),
    ]


def test_daemon_json_not_an_object(tmp_path: Path) -> None:
    _write(tmp_path, "/etc/docker/daemon.json", "[]\n")
    assert _messages(_run(tmp_path)) == ["malformed at line 1: expected a JSON object"]


@pytest.mark.parametrize(
    ("ref", "registry"),
    [
        ("python:3.12-slim", "registry-1.docker.io"),
        ("library/python", "registry-1.docker.io"),
        ("bitnami/redis:7.2", "registry-1.docker.io"),
        ("docker.io/library/nginx:1.27", "registry-1.docker.io"),
        ("index.docker.io/library/nginx", "registry-1.docker.io"),
        ("public.ecr.aws/docker/library/alpine:3.20", "public.ecr.aws"),
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:" + "a" * 64,
         "123456789012.dkr.ecr.us-east-1.amazonaws.com"),
        ("localhost/app", "localhost"),
        ("localhost:5000/app:dev", "localhost:5000"),
        ("registry:5000/team/app", "registry:5000"),
        ("[2001:db8::1]:5000/app", "[2001:db8::1]:5000"),
        ("GHCR.IO/Org/app", "ghcr.io"),
    ],
)  # fmt: skip
def test_image_registry(ref: str, registry: str) -> None:
    assert _image_registry(ref) == registry


def test_dockerfile_multi_stage_args_and_stage_references(tmp_path: Path) -> None:
    app = tmp_path / "app"
    _write(
        app,
        "Dockerfile",
        """
        ARG ECR=123456789012.dkr.ecr.eu-west-1.amazonaws.com
        ARG TAG="1.2.3"
        ARG UNSET
        from ${ECR}/base:${TAG} as Builder
        RUN make

        FROM --platform=linux/arm64 builder AS second
        FROM second
        FROM scratch
        FROM localhost:5000/cache:latest
        FROM ${UNSET}/thing:1
        FROM ${UNSET:-quay.io}/org/img@sha256:DIGEST
        COPY --from=0 /a /a
        COPY --from=builder /b /b
        COPY --link --from=mcr.microsoft.com/dotnet/runtime:8.0 /usr/share/dotnet /dotnet
        RUN apt-get update \\
            && apt-get install -y curl
        ARG LATE=late.example.com
        FROM $LATE/img
    """.replace("DIGEST", "ab" * 32),
    )
    result = _run(tmp_path, search=[app])
    assert _urls(result) == [
        ("oci-registry", "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/v2/", 4),
        ("oci-registry", "https://quay.io/v2/", 12),
        ("oci-registry", "https://mcr.microsoft.com/v2/", 15),
    ]
    assert _messages(result) == [
        "line 11: FROM uses $UNSET without a default; skipped",
        "line 19: FROM uses $LATE without a default; skipped",
    ]


def test_dockerfile_escape_directive_and_continuations(tmp_path: Path) -> None:
    app = tmp_path / "app"
    _write(
        app,
        "windows.Dockerfile",
        """
        # escape=`
        FROM `
          mcr.microsoft.com/windows/servercore:ltsc2022
        # a comment inside nothing
        FROM example.azurecr.io/tools:1 `
          AS tools
    """,
    )
    assert _urls(_run(tmp_path, search=[app])) == [
        ("oci-registry", "https://mcr.microsoft.com/v2/", 2),
        ("oci-registry", "https://example.azurecr.io/v2/", 5),
    ]


def test_search_paths_skip_vendored_and_virtualenv_folders(tmp_path: Path) -> None:
    app = tmp_path / "app"
    _write(app, "Dockerfile", "FROM one.example.com/a\n")
    _write(app, "node_modules/pkg/Dockerfile", "FROM skipped.example.com/a\n")
    _write(app, ".git/Dockerfile", "FROM skipped.example.com/b\n")
    _write(app, ".venv/requirements.txt", "-i https://skipped.example.com/simple\n")
    _write(app, "env3/pyvenv.cfg", "home = /usr/bin\n")
    _write(app, "env3/requirements.txt", "-i https://skipped.example.com/simple\n")
    _write(app, "a/b/c/d/e/f/g/Dockerfile", "FROM too-deep.example.com/a\n")
    _write(app, "svc/Containerfile", "FROM two.example.com/a\n")
    _write(app, "svc/pip.conf", "[global]\nindex-url = https://three.example.com/simple\n")
    _write(app, "svc/requirements-prod.txt", "--index-url https://four.example.com/simple\n")
    result = _run(tmp_path, search=[app, tmp_path / "missing"])
    hosts = sorted((t.url or "").split("/")[2] for t in result.targets)
    assert hosts == ["four.example.com", "one.example.com", "three.example.com", "two.example.com"]
    assert result.problems == [
        DiscoveryProblem(str(tmp_path / "missing"), "search path is not a directory")
    ]


# --------------------------------------------------------------------------- fluent-bit


def test_fluent_bit_tls_on_off_defaults_and_includes(tmp_path: Path) -> None:
    _write(
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
    _write(
        tmp_path,
        "/etc/fluent-bit/extra.conf",
        """
        [OUTPUT]
            Name  es
            Host  es.example.com
    """,
    )
    result = _run(tmp_path)
    assert _urls(result) == [
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
    assert _messages(result) == [
        "line 38: ${LOG_HOST} is not set; output skipped",
        "line 43: port 'eighty' is not a number; output skipped",
    ]


def test_fluent_bit_yaml_tls_booleans(tmp_path: Path) -> None:
    _write(
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
    result = _run(tmp_path, {"HOST_FROM_ENV": "unused"})
    assert _urls(result) == [
        ("http", "http://off.example.com:8080/", 4),
        ("https-intake", "https://on.example.com/", 8),
    ]
    assert _messages(result) == [f"UDP syslog forwarding at line 12 {UDP}"]


def test_fluent_bit_malformed_classic(tmp_path: Path) -> None:
    _write(tmp_path, "/etc/fluent-bit/fluent-bit.conf", "Name http\n[OUTPUT]\n")
    assert _messages(_run(tmp_path)) == ["malformed at line 1: entry outside a section"]


# --------------------------------------------------------------------------- vector


def test_vector_toml_defaults_env_and_udp(tmp_path: Path) -> None:
    _write(
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
    result = _run(tmp_path, {"INTAKE_HOST": "intake.example.com", "AWS_REGION": "us-west-2"})
    assert _urls(result) == [
        ("https-intake", "https://http-intake.logs.datadoghq.com/", 2),
        ("https-intake", "https://intake.example.com/v1/logs", 9),
        ("http", "http://loki.example.com:3100", 18),
        ("https-intake", "https://logs.us-west-2.amazonaws.com/", 21),
    ]
    assert _messages(result) == [f"UDP socket sink at line 14 {UDP}"]
    assert "s3cret" not in repr(result)


def test_vector_yaml_bad_document(tmp_path: Path) -> None:
    _write(tmp_path, "/etc/vector/vector.yaml", "sinks:\n  a: [unclosed\n")
    result = _run(tmp_path)
    assert result.targets == []
    assert len(result.problems) == 1
    assert result.problems[0].message.startswith("malformed at line 3: invalid YAML")


def test_unexpected_shapes_do_not_raise(tmp_path: Path) -> None:
    _write(tmp_path, "/etc/vector/vector.yaml", "sinks: [1, 2]\n")
    _write(tmp_path, "/etc/fluent-bit/fluent-bit.yaml", "pipeline:\n  outputs: {a: 1}\n")
    _write(tmp_path, "/etc/vector/vector.toml", 'sinks = "nope"\n')
    _write(tmp_path, "/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json", "[]")
    result = _run(tmp_path)
    assert result.targets == []
    assert _messages(result) == ["malformed at line 1: expected a JSON object"]


# --------------------------------------------------------------------------- fluentd


def test_fluentd_outputs(tmp_path: Path) -> None:
    _write(
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
    _write(
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
    result = _run(tmp_path, {"WEB_SINK": "web-sink.example.com:9880"})
    assert _urls(result) == [
        ("tcp", "fwd.example.com:24224", 9),
        ("tcp", "fwd2.example.com:24230", 12),
        ("syslog-tls", "rs.example.com:6514", 17),
        ("http", "http://web-sink.example.com:9880/ingest", 3),
    ]
    assert result.targets[-1].source == str(tmp_path / "etc/td-agent/conf.d/http.conf")
    assert result.problems == [
        _p(
            "/etc/td-agent/conf.d/http.conf",
            "line 7: ${NOT_SET} is not set; output skipped",
            root=tmp_path,
        )
    ]


def test_fluentd_unclosed_tag(tmp_path: Path) -> None:
    _write(tmp_path, "/etc/fluent/fluentd.conf", "<match **>\n  @type forward\n")
    assert _messages(_run(tmp_path)) == ["malformed at line 1: <match> is never closed"]


# --------------------------------------------------------------------------- rsyslog


def test_rsyslog_legacy_and_rainerscript(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "/etc/rsyslog.d/10-forward.conf",
        """
        $IncludeConfig /etc/rsyslog.d/*.conf
        *.info;mail.none @@(o)relay.example.com:10514;RSYSLOG_ForwardFormat
        auth.* @@[2001:db8::7]
        & @@second.example.com
        /* action(type="omfwd" target="commented.example.com" protocol="tcp") */
        # *.* @@commented2.example.com
        action(type="omfwd"
               Target="tls.example.com"
               Port="6514"
               Protocol="tcp"
               StreamDriver="ossl"
               StreamDriverMode="1")
        action(type="omfwd" target=["lb1.example.com", "lb2.example.com"] protocol="tcp"
               port="1514" template="RSYSLOG_SyslogProtocol23Format")
        action(type="omrelp" target="relp.example.com" port="2514")
        action(type="omfile" file="/var/log/messages")
        $ActionSendStreamDriverMode 1
        *.* @@after-tls.example.com:6514
        mail.* @udp.example.com
    """,
    )
    result = _run(tmp_path)
    assert _urls(result) == [
        ("syslog-tcp", "relay.example.com:10514", 2),
        ("syslog-tcp", "[2001:db8::7]:514", 3),
        ("syslog-tcp", "second.example.com:514", 4),
        ("syslog-tls", "tls.example.com:6514", 7),
        ("syslog-tcp", "lb1.example.com:1514", 13),
        ("syslog-tcp", "lb2.example.com:1514", 13),
        ("tcp", "relp.example.com:2514", 15),
        ("syslog-tls", "after-tls.example.com:6514", 18),
    ]
    assert _messages(result) == [f"UDP syslog forwarding at line 19 {UDP}"]


def test_rsyslog_unclosed_action(tmp_path: Path) -> None:
    _write(tmp_path, "/etc/rsyslog.conf", 'action(type="omfwd"\n target="x.example.com"\n')
    assert _messages(_run(tmp_path)) == ["malformed at line 1: action( is never closed"]


# --------------------------------------------------------------------------- CloudWatch agent

_CW = "/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json"
_CW_D = "/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.d"


def test_cloudwatch_region_sources(tmp_path: Path) -> None:
    _write(tmp_path, _CW, '{"agent": {"region": "cn-north-1"},\n "logs": {}}\n')
    _write(tmp_path, f"{_CW_D}/a.json", '{\n  "logs": {"logs_collected": {}}\n}\n')
    _write(tmp_path, f"{_CW_D}/b.json", '{"agent": {"region": "eu-north-1"}, "logs": {}}')
    _write(tmp_path, f"{_CW_D}/c.json", '{"metrics": {}}')
    assert _urls(_run(tmp_path)) == [
        ("https-intake", "https://logs.cn-north-1.amazonaws.com.cn/", 2),
        ("https-intake", "https://logs.eu-north-1.amazonaws.com/", 1),
    ]


def test_cloudwatch_without_region(tmp_path: Path) -> None:
    _write(tmp_path, _CW, '{\n  "logs": {"logs_collected": {}}\n}\n')
    result = _run(tmp_path)
    assert result.targets == []
    assert _messages(result) == [
        "line 2: logs are shipped to CloudWatch Logs in the instance's region, which is not "
        "known here (set agent.region or AWS_REGION)"
    ]
    assert _urls(_run(tmp_path, {"AWS_DEFAULT_REGION": "sa-east-1"})) == [
        ("https-intake", "https://logs.sa-east-1.amazonaws.com/", 2)
    ]


def test_cloudwatch_bad_json(tmp_path: Path) -> None:
    _write(tmp_path, _CW, '{\n  "agent": {"region": "us-east-1"},\n  "logs": {,}\n}\n')
    result = _run(tmp_path)
    assert result.targets == []
    assert _messages(result) == [
        "malformed at line 3: invalid JSON (Expecting property name enclosed in double quotes)"
    ]
