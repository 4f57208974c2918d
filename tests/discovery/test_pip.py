"""pip: pip.conf, requirements files and PIP_*INDEX_URL."""

from __future__ import annotations

from pathlib import Path

from tests.discovery.helpers import messages, run, urls, write


def test_pip_credentials_are_stripped_everywhere(tmp_path: Path) -> None:
    write(
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
    result = run(tmp_path, env)
    assert urls(result) == [
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
    write(
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
    result = run(tmp_path, env, [app])
    assert urls(result) == [
        ("pypi", "https://idx-a.example.com/simple", 2),
        ("pypi", "https://idx-b.example.com/simple", 3),
        ("pypi", "https://idx-c.example.com/simple", 4),
        ("pypi", "https://idx-d.example.com/simple", 5),
        ("pypi", "https://idx-e.example.com/simple", 7),
    ]
    assert messages(result) == ["line 8: unset variable in index URL; skipped"]
    assert "secret-token" not in repr(result)


def test_pip_conf_from_home_and_pip_config_file(tmp_path: Path) -> None:
    write(tmp_path, "/home/svc/.config/pip/pip.conf", "[global]\nindex-url=https://h.example/s/\n")
    write(tmp_path, "/opt/pip/custom.conf", "[install]\nextra-index-url=https://c.example/s/\n")
    env = {"HOME": "/home/svc", "PIP_CONFIG_FILE": "/opt/pip/custom.conf"}
    assert urls(run(tmp_path, env)) == [
        ("pypi", "https://h.example/s/", 2),
        ("pypi", "https://c.example/s/", 2),
    ]
