"""Sources declare themselves: the ten built-in ones, and a new one is one declaration."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.discovery import DiscoveredTarget, registry
from auditor.discovery.collector import Collector
from auditor.discovery.model import DEPENDENCY, LOG_SHIPPER, Hit, Item
from auditor.discovery.registry import load_sources, source
from tests.discovery.helpers import run, write


def test_the_ten_sources_in_their_order() -> None:
    assert [(s.name, s.category) for s in load_sources()] == [
        ("apt", DEPENDENCY),
        ("yum", DEPENDENCY),
        ("pip", DEPENDENCY),
        ("npm", DEPENDENCY),
        ("docker", DEPENDENCY),
        ("fluent-bit", LOG_SHIPPER),
        ("vector", LOG_SHIPPER),
        ("fluentd", LOG_SHIPPER),
        ("rsyslog", LOG_SHIPPER),
        ("cloudwatch", LOG_SHIPPER),
    ]


def test_a_new_source_is_one_declaration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "SOURCES", dict(registry.SOURCES))

    @source(
        name="example",
        category=DEPENDENCY,
        order=5,
        paths=("/etc/example/*.conf", "~/.example"),
        project_files=("example.txt",),
    )
    def parse(coll: Collector, text: str, path: Path) -> Iterator[Item]:
        for n, line in enumerate(text.splitlines(), 1):
            yield Hit(f"example {line}", "http", n, url=f"https://{line}/")

    write(tmp_path, "/etc/example/a.conf", "a.example.com\n")
    write(tmp_path, "/home/u/.example", "home.example.com\n")
    write(tmp_path, "/srv/p/example.txt", "project.example.com\n")
    result = run(tmp_path, {"HOME": "/home/u"}, [tmp_path / "srv"])

    def expected(host: str, rel: str, line: int) -> DiscoveredTarget:
        source = str(tmp_path / rel)
        return DiscoveredTarget(
            f"example {host}", "http", DEPENDENCY, source, line, url=f"https://{host}/"
        )

    assert result.targets == [
        expected("a.example.com", "etc/example/a.conf", 1),
        expected("home.example.com", "home/u/.example", 1),
        expected("project.example.com", "srv/p/example.txt", 1),
    ]


def test_a_source_name_is_declared_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "SOURCES", dict(registry.SOURCES))
    load_sources()
    with pytest.raises(ValueError, match=r"'apt' declared in auditor\.discovery\.sources\.apt and"):
        source(name="apt", category=DEPENDENCY, order=1)(lambda coll, text, path: ())
