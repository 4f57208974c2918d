"""Rendering benchmark: every report format from one result of N findings (default 20,000).

    .venv/bin/python bench/render_reports.py [--findings 20000] [--repeat 3] [--out DIR]

Prints, per format, the best wall time of `--repeat` renders and its ratio to two baselines
measured in the same process: serialising the result as JSON (what `report.json` costs) and
WeasyPrint laying out a trivial one-page document (its fixed cost). With Debian's Chromium
present it also opens the HTML and times the findings filter: a status change (all rows
re-evaluated) and a text query, measured in the page from the input event to the end of the
next frame. Budgets: HTML under 5 s, PDF under 30 s.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from auditor.formats import FORMATS
from tests.reports.sample_results import large_result

BUDGET_S = {"html": 5.0, "pdf": 30.0}
CHROMIUM = "/usr/bin/chromium"


def best_of(repeat: int, func: Callable[[], object]) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = func()
        best = min(best, time.perf_counter() - start)
    return best, out


def trivial_pdf() -> bytes:
    from weasyprint import HTML

    return HTML(string="<html><body><h1>Baseline</h1><p>One page.</p></body></html>").write_pdf()


def filter_timings(html_path: Path) -> dict[str, float] | None:
    if not os.access(CHROMIUM, os.X_OK):
        return None
    from playwright.sync_api import sync_playwright

    args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        # The benchmark injects its timing code; the report's CSP would forbid that.
        page = browser.new_page(viewport={"width": 1400, "height": 900}, bypass_csp=True)
        start = time.perf_counter()
        page.goto(html_path.as_uri())
        page.wait_for_load_state("load")
        load_s = time.perf_counter() - start
        measure = """async ([id, value, isText]) => {
            const el = document.getElementById(id);
            const t0 = performance.now();
            if (isText) { el.value = value; el.dispatchEvent(new Event('input')); }
            else { el.value = value; el.dispatchEvent(new Event('change')); }
            const shown = document.getElementById('shown');
            const before = shown.textContent;
            // text input is debounced by 150 ms: wait until the count changes
            while (isText && shown.textContent === before) {
                await new Promise(r => setTimeout(r, 5));
            }
            await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
            return [performance.now() - t0, shown.textContent];
        }"""
        status_ms, shown_fail = page.evaluate(measure, ["f-status", "fail", False])
        reset_ms, _ = page.evaluate(measure, ["f-status", "", False])
        text_ms, shown_text = page.evaluate(measure, ["f-text", "svc3", True])
        browser.close()
    return {
        "load_s": load_s,
        "status_ms": status_ms,
        "reset_ms": reset_ms,
        "text_ms": text_ms,
        "shown_fail": float(shown_fail),
        "shown_text": float(shown_text),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="keep the rendered files here")
    args = parser.parse_args()

    start = time.perf_counter()
    result = large_result(args.findings)
    print(
        f"built a result of {len(result['findings'])} findings in "
        f"{time.perf_counter() - start:.2f} s"
    )

    json_s, _ = best_of(args.repeat, lambda: FORMATS["json"].render(result))
    pdf0_s, _ = best_of(args.repeat, trivial_pdf)
    print(f"baseline json (report.json)      {json_s:7.3f} s")
    print(f"baseline trivial WeasyPrint page  {pdf0_s:7.3f} s")
    print(f"{'format':7} {'best s':>8} {'x json':>8} {'x trivial pdf':>14} {'size':>11}  budget")
    out_dir = args.out or Path(tempfile.mkdtemp(prefix="v6audit-bench-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    failed = False
    for name in ("html", "pdf", "junit", "sarif", "md"):
        fmt = FORMATS[name]
        repeat = 1 if name == "pdf" else args.repeat
        secs, data = best_of(repeat, lambda fmt=fmt: fmt.render(result))
        path = out_dir / fmt.filename
        path.write_bytes(data)  # type: ignore[arg-type]
        budget = BUDGET_S.get(name)
        verdict = ""
        if budget is not None:
            ok = secs < budget
            failed |= not ok
            verdict = f"{'ok' if ok else 'OVER'} (< {budget:g} s)"
        print(
            f"{name:7} {secs:8.3f} {secs / json_s:8.1f} {secs / pdf0_s:14.1f} "
            f"{len(data):>11,}  {verdict}"  # type: ignore[arg-type]
        )
    timings = filter_timings(out_dir / FORMATS["html"].filename)
    if timings is None:
        print(f"filter responsiveness: skipped ({CHROMIUM} absent)")
    else:
        print(
            f"chromium: page load {timings['load_s']:.2f} s; status filter "
            f"{timings['status_ms']:.0f} ms ({timings['shown_fail']:.0f} rows shown), reset "
            f"{timings['reset_ms']:.0f} ms, text filter {timings['text_ms']:.0f} ms incl. the "
            f"150 ms debounce ({timings['shown_text']:.0f} rows shown)"
        )
    print(f"outputs in {out_dir}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
