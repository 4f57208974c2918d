"""report.html in headless Chromium (Debian's, driven by Playwright): it loads nothing, logs no
error, filters, and shows a `<script>` resource name as text without running it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from reports.html_report import render
from tests.reports.sample_results import XSS_NAME

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.browser

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
if not os.access(CHROMIUM, os.X_OK):
    pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, sample: dict, tmp_path: Path):
    path = tmp_path / "report.html"
    path.write_text(render(sample), encoding="utf-8")
    pg = browser.new_page(viewport={"width": 1400, "height": 900})
    problems: list[str] = []
    requests: list[str] = []
    dialogs: list[str] = []
    pg.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: problems.append(str(e)))
    pg.on("request", lambda r: requests.append(r.url))

    def on_dialog(d) -> None:  # type: ignore[no-untyped-def]
        dialogs.append(d.message)
        d.dismiss()

    pg.on("dialog", on_dialog)
    pg.goto(path.as_uri())
    pg.wait_for_load_state("load")
    pg.problems, pg.requests, pg.dialogs, pg.file = problems, requests, dialogs, path
    yield pg
    pg.close()


def _visible(pg) -> int:  # type: ignore[no-untyped-def]
    return pg.locator("#findings tbody tr:not([hidden])").count()


def test_loads_nothing_and_logs_no_error(page, sample: dict, tmp_path: Path) -> None:
    assert page.problems == []
    assert page.requests == [page.file.as_uri()]
    assert _visible(page) == len(sample["findings"])
    assert page.locator("#shown").inner_text() == str(len(sample["findings"]))
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    keep = os.environ.get("V6AUDIT_SCREENSHOT_DIR")
    if keep:
        shutil.copy(shot, Path(keep) / "report.png")


def test_filters_count_rows(page, sample: dict) -> None:
    findings = sample["findings"]
    page.select_option("#f-status", "fail")
    assert _visible(page) == sum(f["status"] == "fail" for f in findings)
    page.select_option("#f-family", "dns")
    assert _visible(page) == sum(f["status"] == "fail" and f["family"] == "dns" for f in findings)
    page.click("#f-reset")
    page.select_option("#f-severity", "critical")
    assert _visible(page) == sum(f["severity"] == "critical" for f in findings)
    page.click("#f-reset")
    page.check("#f-blockers")
    assert _visible(page) == len(sample["stage"]["blockers"])
    assert page.locator("#shown").inner_text() == str(len(sample["stage"]["blockers"]))
    page.click("#f-reset")
    page.fill("#f-text", "docker")  # debounced: wait until the count settles
    sync_api.expect(page.locator("#shown")).to_have_text("1")
    assert _visible(page) == 1
    page.fill("#f-text", "no such thing anywhere")
    page.wait_for_selector("#no-match", state="visible")
    assert _visible(page) == 0


def test_evidence_on_demand(page) -> None:
    row = page.locator("#findings tbody tr", has_text="Docker Hub")
    inner = row.locator("details.ev .inner")
    assert inner.locator("pre").count() == 0
    row.locator("details.ev summary").click()
    sync_api.expect(inner).to_have_attribute("data-filled", "1")
    text = inner.inner_text()
    assert '"class": "nat64"' in text and "64:ff9b::/96" in text
    assert "How to fix: Ask the provider for IPv6" in text
    suppressed = page.locator("#findings tbody tr.suppressed")
    suppressed.locator("details.ev summary").click()
    sync_api.expect(suppressed.locator(".inner")).to_contain_text(
        "Suppressed until 2027-03-31 by netops: Legacy admin access"
    )


def test_script_in_a_resource_name_shows_as_text_and_never_runs(page) -> None:
    cell = page.locator("#findings td.subj", has_text=XSS_NAME)
    assert cell.count() == 1
    assert XSS_NAME in cell.inner_text()
    assert page.dialogs == []
    # Only the report's own two script elements exist.
    assert page.locator("script").count() == 2
