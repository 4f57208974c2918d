"""Docker: daemon.json registries and the registries Dockerfiles pull from."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.discovery.sources.docker import image_registry
from tests.discovery.helpers import messages, run, urls, write


def test_daemon_json_mirrors_and_insecure_registries(tmp_path: Path) -> None:
    write(
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
    assert urls(run(tmp_path)) == [
        ("oci-registry", "https://m1.example.com/v2/", 2),
        ("oci-registry", "https://m2.example.com:5000/v2/", 2),
        ("oci-registry", "https://secure-ish.example.com/v2/", 5),
        ("oci-registry", "http://[2001:db8::5]:5000/v2/", 6),
    ]


def test_daemon_json_not_an_object(tmp_path: Path) -> None:
    write(tmp_path, "/etc/docker/daemon.json", "[]\n")
    assert messages(run(tmp_path)) == ["malformed at line 1: expected a JSON object"]


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
    assert image_registry(ref) == registry


def test_dockerfile_multi_stage_args_and_stage_references(tmp_path: Path) -> None:
    app = tmp_path / "app"
    write(
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
    result = run(tmp_path, search=[app])
    assert urls(result) == [
        ("oci-registry", "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/v2/", 4),
        ("oci-registry", "https://quay.io/v2/", 12),
        ("oci-registry", "https://mcr.microsoft.com/v2/", 15),
    ]
    assert messages(result) == [
        "line 11: FROM uses $UNSET without a default; skipped",
        "line 19: FROM uses $LATE without a default; skipped",
    ]


def test_dockerfile_escape_directive_and_continuations(tmp_path: Path) -> None:
    app = tmp_path / "app"
    write(
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
    assert urls(run(tmp_path, search=[app])) == [
        ("oci-registry", "https://mcr.microsoft.com/v2/", 2),
        ("oci-registry", "https://example.azurecr.io/v2/", 5),
    ]
