"""JUnit XML and SARIF validated against their schemas; Markdown against a golden file."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from reports import junit_report, markdown_report, sarif_report
from tests.reports.sample_results import XSS_NAME

HERE = Path(__file__).parent
GOLDEN = HERE / "golden" / "sample.md"


# --- JUnit -----------------------------------------------------------------------------------


def _junit_schema():  # type: ignore[no-untyped-def]
    etree = pytest.importorskip("lxml.etree")
    return etree.XMLSchema(etree.parse(str(HERE / "junit.xsd")))


def test_junit_validates_against_the_xsd(sample: dict) -> None:
    from lxml import etree

    schema = _junit_schema()
    doc = etree.fromstring(junit_report.render(sample).encode("utf-8"))
    assert schema.validate(doc), schema.error_log


def test_junit_xsd_rejects_a_wrong_document() -> None:
    from lxml import etree

    schema = _junit_schema()
    bad = etree.fromstring(b'<testsuites><testsuite name="x"><testcase/></testsuite></testsuites>')
    assert not schema.validate(bad)  # testsuite@tests and testcase@name are required


def test_junit_one_case_per_check_and_resource(sample: dict) -> None:
    root = ET.fromstring(junit_report.render(sample))
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == len(sample["findings"])
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {f["check_id"] for f in sample["findings"]}
    unsuppressed_fail = sum(
        f["status"] == "fail" and not f["suppressed"] for f in sample["findings"]
    )
    assert root.get("failures") == str(unsuppressed_fail)
    assert root.get("errors") == "1"
    failures = root.findall(".//failure")
    assert len(failures) == unsuppressed_fail
    elb = next(
        c for c in suites["aws.elb.dualstack"].findall("testcase") if c.find("failure") is not None
    )
    assert XSS_NAME not in elb.get("name")  # the name is the ARN, the message is the finding's
    assert (
        elb.find("failure").get("message")
        == "The load balancer is IPv4-only: set IpAddressType to dualstack."
    )
    assert "How to fix:" in elb.find("failure").text
    # suppressed failure and skip are skipped, with the reason
    skipped = [c.find("skipped").get("message") for c in cases if c.find("skipped") is not None]
    assert any(m.startswith("suppressed until 2027-03-31 by netops") for m in skipped)
    assert any("Not running on EC2" in m for m in skipped)
    assert suites["dep.reachable"].get("failures") == "1"


def test_junit_survives_control_characters(sample: dict) -> None:
    sample["findings"][0]["message"] = "bad \x00\x07 bytes"
    ET.fromstring(junit_report.render(sample))  # still well-formed XML


# --- SARIF -----------------------------------------------------------------------------------


def _sarif_validator() -> jsonschema.Draft7Validator:
    schema = json.loads((HERE / "sarif-2.1.0-subset.schema.json").read_text())
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())


def test_sarif_validates_against_the_schema(sample: dict) -> None:
    doc = json.loads(sarif_report.render(sample))
    errors = sorted(_sarif_validator().iter_errors(doc), key=str)
    assert not errors, errors[0]


def test_sarif_schema_rejects_keys_sarif_does_not_define(sample: dict) -> None:
    doc = json.loads(sarif_report.render(sample))
    doc["runs"][0]["results"][0]["severity"] = "high"
    assert not _sarif_validator().is_valid(doc)


def test_sarif_rules_results_fingerprints_and_locations(sample: dict) -> None:
    run = json.loads(sarif_report.render(sample))["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted(c["id"] for c in sample["checks"])
    crit = next(r for r in rules if r["id"] == "aws.subnet.dns64")
    assert crit["properties"]["security-severity"] == "9.5"
    assert crit["defaultConfiguration"]["level"] == "error"
    results = run["results"]
    expected = [f for f in sample["findings"] if f["status"] in ("fail", "error", "warn")]
    assert len(results) == len(expected)
    assert {r["partialFingerprints"]["v6auditFingerprint/v1"] for r in results} == {
        f["fingerprint"] for f in expected
    }
    for r in results:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        loc = r["locations"][0]
        assert loc["physicalLocation"]["artifactLocation"]["uri"] == "v6audit.yaml"
        assert loc["physicalLocation"]["region"]["startLine"] >= 1
        assert loc["logicalLocations"][0]["name"]
    apt = next(r for r in results if "mirror.example.net" in r["message"]["text"])
    assert apt["locations"][0]["physicalLocation"]["region"]["startLine"] == 14
    sup = [r for r in results if "suppressions" in r]
    assert len(sup) == 1 and sup[0]["suppressions"][0]["status"] == "accepted"
    nat64 = [r for r in results if r["properties"].get("class") == "nat64"]
    assert nat64 and all(r["level"] == "warning" for r in nat64)
    inv = run["invocations"][0]
    assert inv["executionSuccessful"] is False  # the run reported an error
    assert len(inv["toolExecutionNotifications"]) == 2


# --- Markdown --------------------------------------------------------------------------------


def test_markdown_matches_the_golden_file(sample: dict) -> None:
    text = markdown_report.render(sample)
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8"), (
        "report.md changed; if intended, rerun with UPDATE_GOLDEN=1 and review the diff"
    )


def test_markdown_escapes_estate_text(sample: dict) -> None:
    text = markdown_report.render(sample)
    assert XSS_NAME not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    failing = next(f for f in sample["findings"] if f["status"] == "fail")
    failing["message"] = "pipe | and *bold* and [link](x) and\nnewline"
    line = next(ln for ln in markdown_report.render(sample).splitlines() if "pipe" in ln)
    assert "pipe \\| and \\*bold\\* and \\[link\\](x) and newline" in line


@pytest.mark.parametrize("module", [junit_report, sarif_report, markdown_report])
def test_same_result_same_bytes(module, sample: dict) -> None:  # type: ignore[no-untyped-def]
    assert module.render(sample) == module.render(json.loads(json.dumps(sample)))


HOSTILE = "a|b `tick` <script>x</script>\n[link](http://x) ![img](y) *em* <b>"


def test_markdown_escapes_every_field_it_prints(sample: dict) -> None:
    from markdown_it import MarkdownIt

    sample["workload"] = HOSTILE
    sample["stage"]["name"] = sample["stage"]["next_name"] = HOSTILE
    for f in sample["findings"]:
        f["message"] = f["remediation"] = HOSTILE
        if f["resource"]:
            f["resource"]["id"] = f["resource"]["name"] = HOSTILE
        f["check_id"] = f["check_id"] + "`|" + HOSTILE
        f["family"] = HOSTILE
    for c in sample["checks"]:
        c["id"] = c["id"] + "`|" + HOSTILE
        c["title"] = c["remediation"] = HOSTILE
    for e in sample["errors"]:
        e["source"] = e["message"] = HOSTILE
    sample["sources"] = [{"name": HOSTILE}]
    sample["tool"]["version"] = HOSTILE
    text = markdown_report.render(sample)

    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    inline = [c for t in tokens for c in (t.children or ())]
    # nothing from the result became a link, an image or HTML (the page's own emphasis stays)
    assert not {t.type for t in inline} & {"link_open", "image"}
    html = {t.content.strip() for t in tokens + inline if t.type in ("html_block", "html_inline")}
    ours = {"<details>", "</details>", "<sub>", "</sub>", "</summary>"}
    assert {h for h in html if not h.startswith("<details><summary>Findings")} <= ours, html
    # a code span holds only a plain identifier, never the hostile text
    assert all(
        c.content.isprintable() and "|" not in c.content and "<" not in c.content
        for c in inline
        if c.type == "code_inline"
    )
    # every table keeps its columns: no row split or merged by a "|" or a newline
    tables: list[list[int]] = []
    for t in tokens:
        if t.type == "table_open":
            tables.append([])
        elif t.type == "tr_open":
            tables[-1].append(0)
        elif t.type in ("td_open", "th_open"):
            tables[-1][-1] += 1
    assert len(tables) >= 3 and all(len(set(rows)) == 1 for rows in tables), tables
    assert "a\\|b" in text and "&lt;script&gt;" in text and "<script>" not in text
    assert "[link](http://x)" not in text and "\\*em\\*" in text
