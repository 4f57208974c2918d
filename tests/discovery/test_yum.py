"""yum/dnf .repo files and their variables."""

from __future__ import annotations

from pathlib import Path

from tests.discovery.helpers import messages, run, urls, write


def test_yum_baseurls_vars_disabled_and_metalink(tmp_path: Path) -> None:
    write(tmp_path, "/etc/yum/vars/awsdomain", "amazonaws.com\n")
    write(tmp_path, "/etc/dnf/vars/awsregion", "eu-central-1\n")
    write(
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
    result = run(tmp_path, {"DNF_VAR_releasever": "2"})
    assert urls(result) == [
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
    assert messages(result) == ["line 7: $basearch kept literally in the URL"]


def test_yum_entry_before_section_is_malformed(tmp_path: Path) -> None:
    write(tmp_path, "/etc/yum.repos.d/bad.repo", "baseurl=https://x.example.com/\n[x]\n")
    result = run(tmp_path)
    assert result.targets == []
    assert messages(result) == ["malformed at line 1: entry before any [section]"]
