"""The `accounts` section and the organisation view: ranking, streaming merge, HTML, PDF."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from auditor.errors import ConfigError
from auditor.merge import MergeError, expand_inputs, merge_inputs, merge_results
from auditor.result import validate_result
from tests.reports.org_results import organisation


def test_accounts_are_ranked_worst_first_with_their_own_figures() -> None:
    merged = merge_results(organisation())
    rows = merged["accounts"]
    assert [r["account"] for r in rows] == ["111111111111", "222222222222", "333333333333"]
    prod, staging, sandbox = rows
    assert (prod["stage"], staging["stage"], sandbox["stage"]) == (0, 1, 2)
    assert prod["name"] == "prod"
    assert prod["scores"] == {"dual_stack": 50.0, "ipv6_only": 50.0}
    assert prod["blockers"] == 1  # the failing VPC blocks stage 1
    assert staging["blockers"] == 2  # two load balancers block stage 2
    assert staging["public_ipv4"] == {"count": 4, "monthly_usd": 14.6}  # 2 findings x 2 EIPs
    assert sandbox["errors"] == 0
    validate_result(merged)


def test_the_streamed_merge_equals_the_merge_in_memory(tmp_path: Path) -> None:
    for i, result in enumerate(organisation()):
        (tmp_path / f"r{i}.json").write_text(json.dumps(result))
    out = io.StringIO()
    header, count = merge_inputs([str(tmp_path / "*.json")], out)
    streamed = json.loads(out.getvalue())
    in_memory = merge_results(
        organisation(), names=[str(tmp_path / f"r{i}.json") for i in range(3)]
    )
    assert count == 3
    for key in ("scores", "stage", "cost", "accounts", "counts", "findings"):
        assert streamed[key] == in_memory[key], key
    assert header["findings"] == []
    validate_result(streamed)


def test_merge_inputs_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(MergeError, match="matches no result"):
        expand_inputs([str(tmp_path / "none-*.json")])
    bad = tmp_path / "bad.json"
    result = organisation()[0]
    result["findings"][0]["fingerprint"] = 1
    bad.write_text(json.dumps(result))
    with pytest.raises(MergeError, match=r"bad.json: findings\[0\] lacks"):
        merge_inputs([str(bad)], io.StringIO())
    del result["schema_version"]
    bad.write_text(json.dumps(result))
    with pytest.raises(ConfigError, match=r"bad\.json.*schema_version"):  # exit 2, names the file
        merge_inputs([str(bad)], io.StringIO())


def test_html_shows_the_accounts_table_and_heat_map() -> None:
    from reports.html_report import render

    html = render(merge_results(organisation()))
    assert 'id="accounts"' in html and 'class="sortable"' in html
    table = html[html.index('id="accounts"') :]
    assert table.index("111111111111") < table.index("222222222222") < table.index("333333333333")
    heat = html[html.index('class="heat"') : html.index('id="accounts"')]
    # stage 1 row: prod is blocked there, staging and sandbox reached it
    assert heat.count('class="next"') == 3  # each account's next stage
    assert heat.count('class="reached"') == 0 + 1 + 2


def test_a_single_account_has_no_organisation_view() -> None:
    from reports.html_report import render

    assert 'id="accounts"' not in render(organisation()[0])


def test_pdf_shows_accounts_by_stage_and_the_furthest_behind() -> None:
    pypdf = pytest.importorskip("pypdf")
    from reports.pdf_report import render

    pdf = render(merge_results(organisation()))
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert "Accounts by stage" in text
    assert "The 3 accounts furthest behind" in text
    behind = text[text.index("furthest behind") :]
    assert behind.index("111111111111") < behind.index("333333333333")
