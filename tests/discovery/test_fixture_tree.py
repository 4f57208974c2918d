"""The fixture tree end to end: every source, with provenance, problems and no secrets."""

from __future__ import annotations

import shutil
from pathlib import Path

from auditor.discovery import DiscoveryResult, discover
from tests.discovery.helpers import FIXTURE_ROOT, UDP, log_target, problem, target

FIXTURE_ENV = {
    "HOME": "/home/app",
    "PIP_INDEX_URL": "https://token:abc@pypi.env.example.com/simple",
    "PIP_EXTRA_INDEX_URL": "https://pypi.org/simple/ https://wheels.example.org/simple",
    "FLUENTD_AGGREGATOR_2": "aggregator-2.logging.example.com",
    "npm_config_registry": "https://npm.env.example.com/",
}

# short names keep the tables below one target per entry
_t, _log, _p = target, log_target, problem

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


def discover_fixture(root: Path = FIXTURE_ROOT) -> DiscoveryResult:
    return discover(root=root, env=FIXTURE_ENV, search_paths=[root / "srv/app"])


def test_fixture_tree_finds_every_dependency_with_provenance() -> None:
    result = discover_fixture()
    assert result.targets == EXPECTED_TARGETS
    assert result.problems == EXPECTED_PROBLEMS


def test_fixture_tree_never_leaks_credentials() -> None:
    text = repr(discover_fixture())
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

    result = discover_fixture(root)

    broken = {
        "/etc/docker/daemon.json",
        "/etc/vector/vector.toml",
        "/etc/npmrc",
        "/etc/rsyslog.conf",
    }
    expected = [
        target(
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
