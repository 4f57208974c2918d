"""Discovered dependencies in the reports: the HTML's Traffic section (top destinations by
flows, with class) and the PDF's one-paragraph summary; the JSON still fits its schema."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from importlib.resources import files

import pytest

from auditor.model import Finding, Status, Target
from auditor.registry import load_checks
from auditor.result import build_result
from reports import html_report, junit_report, markdown_report, pdf_report, sarif_report

WINDOW = {"start": "2026-11-23T12:00:00Z", "end": "2026-11-30T12:00:00Z"}
ROWS = [  # host, class, status, flows
    ("api.partner.example", "nat64", Status.WARN, 40),
    ("licence.example", "unreachable", Status.FAIL, 12),
    ("cdn.example", "native", Status.PASS, 7),
    ("192.0.2.55", "unreachable", Status.FAIL, 3),
]


def finding(host: str, klass: str, status: Status, flows: int) -> Finding:
    found = Finding(
        status,
        f"{host} was reached over IPv4 {flows} times since {WINDOW['start']}: ...",
        target=Target(host=host, port=443),
        evidence={
            "destination": host,
            "class": klass,
            "observed": {
                "flows": flows,
                "bytes": flows * 1000,
                "packets": flows * 10,
                "ports": [443],
                "first_seen": WINDOW["start"],
                "last_seen": WINDOW["end"],
                "sources": ["eni-0aaaaaaaaaaaaaaa1"],
            },
            "addresses": ["203.0.113.10"],
            "provenance": {"source": "flows", "object": "a.log.gz", "line": 2},
        },
        check_id="traffic.ipv4_dependency",
        family="traffic",
        stage=3,
    )
    found.fingerprint = found.compute_fingerprint()
    return found


@pytest.fixture(scope="module")
def result() -> dict:
    coverage = Finding(
        Status.PASS,
        "Read 10 records",
        evidence={"window": WINDOW, "objects": 1, "records": 10, "skipped": {}},
        check_id="traffic.coverage",
        family="traffic",
    )
    coverage.fingerprint = coverage.compute_fingerprint()
    findings = [coverage, *(finding(*row) for row in ROWS)]
    checks = [c.meta for c in load_checks() if c.id.startswith("traffic.")]
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    return build_result(
        workload="w", findings=findings, checks=checks, started_at=now, finished_at=now
    )


def test_json_fits_the_schema(result: dict) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(files("auditor").joinpath("schema/report.schema.json").read_text())
    jsonschema.validate(json.loads(json.dumps(result)), schema)


def test_html_has_a_traffic_section_ordered_by_flows(result: dict) -> None:
    html = html_report.render(result)
    section = html[html.index('id="h-traffic"') :]
    section = section[: section.index("</section>")]
    assert "4 IPv4 destinations used in the last 7 days; 3 have no IPv6." in section
    positions = [section.index(host) for host, *_ in ROWS]
    assert positions == sorted(positions)
    assert "<td>nat64</td>" in section and "<td>native</td>" in section


def test_pdf_summary_paragraph(result: dict) -> None:
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(io.BytesIO(pdf_report.render(result)))
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    assert "4 IPv4 destinations used in the last 7 days; 3 have no IPv6." in text


def test_every_format_names_the_destinations_to_act_on(result: dict) -> None:
    for renderer in (markdown_report, junit_report, sarif_report):
        text = renderer.render(result)
        text = text.decode() if isinstance(text, bytes) else text
        for host, _klass, status, _flows in ROWS:
            if status is not Status.PASS:
                assert host in text, renderer.__name__
