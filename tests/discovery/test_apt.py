"""apt: one-line sources.list and deb822 .sources."""

from __future__ import annotations

from pathlib import Path

from tests.discovery.helpers import messages, problem, run, urls, write


def test_apt_one_line_variants(tmp_path: Path) -> None:
    write(
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
    assert urls(run(tmp_path)) == [
        ("apt", "http://archive.ubuntu.com/ubuntu/dists/noble/InRelease", 1),
        ("apt", "https://repo.example.com/flat/InRelease", 3),
        ("apt", "https://repo.example.com/tree/sub/dir/InRelease", 4),
        ("https", "https://mirrors.example.com/list.txt", 7),
    ]


def test_apt_malformed_list_is_skipped_but_others_are_read(tmp_path: Path) -> None:
    write(
        tmp_path,
        "/etc/apt/sources.list",
        "deb http://deb.debian.org/debian bookworm main\ndeb http://broken.example.com\n",
    )
    write(
        tmp_path,
        "/etc/apt/sources.list.d/ok.list",
        "deb http://ok.example.com/debian bookworm main\n",
    )
    result = run(tmp_path)
    assert urls(result) == [("apt", "http://ok.example.com/debian/dists/bookworm/InRelease", 1)]
    assert result.problems == [
        problem(
            "/etc/apt/sources.list",
            "malformed at line 2: expected 'deb [options] URI suite [component...]'",
            root=tmp_path,
        )
    ]


def test_deb822_multiple_uris_folded_and_disabled(tmp_path: Path) -> None:
    write(
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
    assert urls(run(tmp_path)) == [
        ("apt", "http://us-east-1.ec2.archive.ubuntu.com/ubuntu/dists/noble/InRelease", 2),
        ("apt", "http://us-east-1.ec2.archive.ubuntu.com/ubuntu/dists/noble-updates/InRelease", 2),
        ("apt", "http://security.ubuntu.com/ubuntu/dists/noble/InRelease", 3),
        ("apt", "http://security.ubuntu.com/ubuntu/dists/noble-updates/InRelease", 3),
        ("apt", "https://src.example.com/ubuntu/dists/noble/InRelease", 16),
    ]


def test_deb822_paragraph_without_suites_is_malformed(tmp_path: Path) -> None:
    write(
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
    result = run(tmp_path)
    assert result.targets == []
    assert messages(result) == ["malformed at line 1: paragraph without Types, URIs or Suites"]
