"""npm: npmrc registries and npm_config_registry."""

from __future__ import annotations

from pathlib import Path

from tests.discovery.helpers import messages, run, target, write


def test_npmrc_registries(tmp_path: Path) -> None:
    write(
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
    result = run(tmp_path, {"NPM_HOST": "corp.example.com"})
    assert result.targets == [
        target(
            "npm registry npm.example.com",
            "npm",
            "/root/.npmrc",
            2,
            url="https://npm.example.com/",
            root=tmp_path,
        ),
        target(
            "npm registry @corp corp.example.com",
            "npm",
            "/root/.npmrc",
            3,
            url="https://corp.example.com/npm/",
            root=tmp_path,
        ),
    ]
    assert messages(result) == ["line 4: ${NOT_SET} is not set; registry skipped"]
    assert "abcdef" not in repr(result)
