"""Every format is declared, renders an empty run as well as a full one, and queries nothing."""

from __future__ import annotations

import io
import socket

import pytest

from auditor.formats import FORMATS, parse_formats
from auditor.result import build_result


def test_six_formats_declared() -> None:
    assert {n: f.filename for n, f in FORMATS.items()} == {
        "json": "report.json",
        "html": "report.html",
        "pdf": "report.pdf",
        "junit": "report.junit.xml",
        "sarif": "report.sarif",
        "md": "report.md",
    }
    assert [f.name for f in parse_formats("json,html,pdf,junit,sarif,md")] == list(FORMATS)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a renderer opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize("name", list(FORMATS))
def test_every_format_renders_an_empty_run(name: str, no_network: None) -> None:
    empty = build_result(
        workload="empty",
        findings=[],
        checks=[],
        started_at="2026-11-02T09:00:00Z",
        finished_at="2026-11-02T09:00:01Z",
    )
    data = FORMATS[name].render(empty)
    assert data
    if name == "pdf":
        pypdf = pytest.importorskip("pypdf")
        text = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages)
        assert "Nothing is known to block stage 1" in " ".join(text.split())


@pytest.mark.parametrize("name", list(FORMATS))
def test_every_format_renders_the_sample_without_network(
    name: str, sample: dict, no_network: None
) -> None:
    data = FORMATS[name].render(sample)
    assert data == FORMATS[name].render(sample)  # deterministic: no clock, no random ids
    text = " ".join(_text(name, data).split())
    assert sample["workload"] in text
    first = next(
        f for f in sample["findings"] if f["fingerprint"] == sample["stage"]["blockers"][0]
    )
    title = next(c["title"] for c in sample["checks"] if c["id"] == first["check_id"])
    assert title in text if name == "pdf" else first["check_id"] in text  # the first blocker
    if name in ("md", "pdf"):  # pages for people list what needs attention
        shown = [f for f in sample["findings"] if f["status"] == "fail" and not f["suppressed"]]
    else:
        shown = sample["findings"]
    key = "message" if name == "pdf" else "check_id"
    assert [f[key] for f in shown if " ".join(f[key].split()) not in text] == []


def _text(name: str, data: bytes) -> str:
    if name != "pdf":
        return data.decode("utf-8")
    pypdf = pytest.importorskip("pypdf")
    return " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages)


@pytest.mark.parametrize("name", list(FORMATS))
def test_every_format_shows_the_vantage_and_explains_the_classes(
    name: str, sample: dict, no_network: None
) -> None:
    from auditor.model import CLASS_EXPLAINED

    sample["vantage"] = "dual-stack"
    finding = next(f for f in sample["findings"] if (f["evidence"] or {}).get("class"))
    finding["evidence"]["class"] = "differs"
    text = " ".join(_text(name, FORMATS[name].render(sample)).split())
    assert "dual-stack" in text
    if name not in ("json", "junit"):  # data formats: the vantage as a field, no prose
        assert " ".join(CLASS_EXPLAINED["differs"].split()) in text.replace("\\", "")
