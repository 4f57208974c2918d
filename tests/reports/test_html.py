"""report.html without a browser: self-contained, escaped, complete, reproducible."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser

from reports.html_report import render
from tests.reports.sample_results import XSS_NAME


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[tuple[dict, str]] = []
        self._in_script: dict | None = None
        self._buf: list[str] = []

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "script":
            self._in_script, self._buf = attrs, []

    def handle_data(self, data):  # type: ignore[no-untyped-def]
        if self._in_script is not None:
            self._buf.append(data)

    def handle_endtag(self, tag):  # type: ignore[no-untyped-def]
        if tag == "script" and self._in_script is not None:
            self.scripts.append((self._in_script, "".join(self._buf)))
            self._in_script = None


def _parse(html: str) -> _Collect:
    p = _Collect()
    p.feed(html)
    return p


def test_no_external_resource_at_all(sample: dict) -> None:
    html = render(sample)
    parsed = _parse(html)
    for tag, attrs in parsed.tags:
        for attr in ("src", "srcset", "data", "poster", "action", "formaction"):
            assert attr not in attrs or not attrs[attr], (tag, attrs)
        if tag == "link":
            raise AssertionError(f"a <link> loads something: {attrs}")
    assert not re.search(r"url\(|@import", html, re.I)
    # http(s) may appear in text (probed URLs) and in links to the checks' references (a
    # navigation the reader chooses), never in an attribute that loads something.
    refs = {r for c in sample["checks"] for r in c["references"]}
    for tag, attrs in parsed.tags:
        for name, value in attrs.items():
            if value and re.match(r"\s*https?:", value):
                assert (tag, name) in {("a", "href"), ("svg", "xmlns")}, (tag, name, value)
                assert tag != "a" or value in refs


def test_csp_forbids_loads_and_allows_only_our_script(sample: dict) -> None:
    parsed = _parse(render(sample))
    csp = next(
        a["content"] for t, a in parsed.tags if a.get("http-equiv") == "Content-Security-Policy"
    )
    assert "default-src 'none'" in csp
    code = [body for attrs, body in parsed.scripts if attrs.get("type") != "application/json"]
    assert len(code) == 1
    digest = base64.b64encode(hashlib.sha256(code[0].encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp


def test_script_in_a_resource_name_is_text(sample: dict) -> None:
    html = render(sample)
    assert XSS_NAME not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    parsed = _parse(html)
    assert len(parsed.scripts) == 2  # the evidence block and the report's own script


def test_every_finding_is_a_row_with_its_filters_and_evidence(sample: dict) -> None:
    parsed = _parse(render(sample))
    rows = [a for t, a in parsed.tags if t == "tr" and "data-s" in a]
    assert len(rows) == len(sample["findings"])
    assert sorted(r["data-s"] for r in rows) == sorted(f["status"] for f in sample["findings"])
    assert sum(r["data-b"] == "1" for r in rows) == len(sample["stage"]["blockers"])
    assert sum("suppressed" in r.get("class", "") for r in rows) == 1
    blob = next(body for attrs, body in parsed.scripts if attrs.get("id") == "details-data")
    details = json.loads(blob)
    assert len(details["rows"]) == len(sample["findings"])
    # row i of the table is row i of the details, whatever the sort order
    assert [r[1] for r in details["rows"]] == [r["data-s"] for r in rows]
    assert {"nat64", "broken"} <= {r[6].get("class") for r in details["rows"]}
    assert set(details["remediation"]) == {c["id"] for c in sample["checks"]}


def test_evidence_block_cannot_be_closed_by_data(sample: dict) -> None:
    sample["findings"][0]["evidence"] = {"x": "</script><script>alert(2)</script><!--"}
    html = render(sample)
    blob = html.split('id="details-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in blob and ">" not in blob
    assert "</script><script>alert(2)" not in html
    rows = json.loads(blob)["rows"]
    assert {"x": "</script><script>alert(2)</script><!--"} in [r[6] for r in rows]


def test_sections_present_and_trend_only_with_history(sample: dict) -> None:
    html = render(sample)
    for heading in (
        "Scores",
        "Stage 1 of 4",
        "The path to stage 2",
        "Scores by family",
        "Public IPv4 cost",
        "Trend",
        "Findings",
        "Problems during the run",
        "Run",
    ):
        assert f">{heading}" in html, heading
    assert "$25.55" in html and "$306.60 a year" in html
    assert '<svg class="trend"' in html
    sample.pop("history")
    assert '<svg class="trend"' not in render(sample)


def test_same_result_same_bytes(sample: dict) -> None:
    assert render(sample) == render(json.loads(json.dumps(sample)))
