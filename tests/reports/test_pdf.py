"""report.pdf: the facts of the executive summary are in the text, the pages render, the page
count follows the content, and `v6audit report` reproduces the scan's PDF byte for byte."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest

from auditor.cli import main
from auditor.formats import FORMATS
from auditor.output import write_outputs
from reports.pdf_report import APPENDIX_LIMIT, render
from tests.reports.sample_results import large_result

pypdf = pytest.importorskip("pypdf")


def _pages(data: bytes) -> list[str]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return [" ".join((p.extract_text() or "").split()) for p in reader.pages]


@pytest.fixture(scope="module")
def sample_pdf() -> bytes:
    from tests.reports.sample_results import load_sample

    return render(load_sample())


def test_summary_facts_in_the_text(sample_pdf: bytes) -> None:
    pages = _pages(sample_pdf)
    cover, summary = pages[0], pages[1]
    assert "payments-api" in cover and "Q4 2026" in cover and "2026-11-02" in cover
    assert "Executive summary" in summary
    assert "payments-api is at stage 1 of 4 (Dual-stack foundation)" in summary
    assert "IPv6-only readiness is 50.5 out of 100" in summary
    assert "up 6.5 since the previous run (2026-10-03)" in summary
    assert "up 19.5 since a quarter ago (2026-07-05)" in summary
    assert "dual-stack health is 67.9 out of 100" in summary
    assert "$25.55" in summary and "$306.60 a year" in summary
    assert "Top 4 blockers to stage 2" in summary
    for title in (
        "Load balancers are dual-stack",
        "Own names publish a real AAAA",
        "Every AAAA of an own name answers on its port",
        "AWS service endpoints answer dual-stack",
    ):
        assert title in summary
    assert "<script>alert(1)</script>" in summary  # shown as text
    assert "Trend over the last 5 runs" in summary
    assert "Roadmap" in pages[2] and "Stage 4: IPv6-only native" in pages[2]
    assert "Appendix: checks" in pages[3]


def test_page_count_follows_the_content(sample_pdf: bytes, tmp_path: Path) -> None:
    pages = _pages(sample_pdf)
    # cover, summary (one page), roadmap, appendix (checks + findings)
    assert len(pages) == 5
    assert "Executive summary" in pages[1] and "Roadmap" not in pages[1]
    assert all(f"Page {i + 1} of 5" in p for i, p in enumerate(pages) if i)
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm is absent (apt-get install poppler-utils)")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(sample_pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "40", str(pdf), str(tmp_path / "p")], check=True)
    images = sorted(tmp_path.glob("p-*.png"))
    assert len(images) == 5 and all(i.stat().st_size > 2_000 for i in images)


def test_first_run_without_history(sample: dict) -> None:
    sample.pop("history")
    text = " ".join(_pages(render(sample)))
    assert "first recorded run of payments-api" in text
    assert "since the previous run" not in text


def test_large_result_keeps_the_appendix_bounded() -> None:
    result = large_result(3_000)
    pages = _pages(render(result))
    text = " ".join(pages)
    action = sum(f["status"] in ("fail", "error", "warn") for f in result["findings"])
    omitted = action - APPENDIX_LIMIT
    assert omitted > 0
    assert f"{omitted} more findings that need action are not listed here" in text
    assert "report.html" in text and "report.json" in text
    assert len(pages) <= 12
    assert "Executive summary" in pages[1]
    # 40 accounts: the organisation page comes before the roadmap
    assert "Accounts by stage" in pages[2] and "Roadmap" in pages[3]


def test_report_command_reproduces_the_scan_pdf(sample: dict, tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_outputs(sample, [FORMATS["json"], FORMATS["pdf"]], str(out))
    again = tmp_path / "again.pdf"
    assert main(["report", str(out / "report.json"), "--format", "pdf", "-o", str(again)]) == 0
    assert again.read_bytes() == (out / "report.pdf").read_bytes()
