"""The front page of a results folder: verdicts in words first, the claims table whole, no script,
no network request; laid out in a real browser (headless Chromium) at 1280 px."""

import os
import shutil

import pandas as pd
import pytest

from afa import index_page

ROW = {"claim_text": "", "metric_kind": "accuracy", "direction": 1, "method": "afa", "se": 0.01, "df": 4,
       "examples": 100, "commits": "abc1234", "note": "", "p_below_min": 0.5}


def table():
    rows = [
        {"claim": "1 accuracy", "setting": "sst2 dev / scratch", "metric": "accuracy", "column": "paper_literal",
         "effect": 0.02, "ci_low": 0.011, "ci_high": 0.03, "p": 0.001, "p_holm": 0.004, "p_below_holm": 1.0,
         "seeds": 10, "family": "primary", "verdict": "holds"},
        {"claim": "2 rationale alignment", "setting": "ERASER movies val", "metric": "AUPRC", "column": "live",
         "metric_kind": "auprc", "effect": -0.04, "ci_low": -0.05, "ci_high": -0.03, "p": 0.001, "p_holm": 0.01,
         "p_below_holm": 0.002, "seeds": 5, "family": "secondary",
         "verdict": "does not hold (smaller than the minimal effect 0.01)"},
        {"claim": "3 faithfulness", "setting": "sst2 dev / scratch", "metric": "comprehensiveness", "column": "live",
         "metric_kind": "comprehensiveness", "effect": 0.01, "ci_low": -0.01, "ci_high": 0.03, "p": 0.3,
         "p_holm": 1.0, "p_below_holm": 1.0, "seeds": 5, "family": "primary", "verdict": "inconclusive"},
        {"claim": "1 accuracy", "setting": "agnews test", "metric": "accuracy", "column": "live", "effect": None,
         "ci_low": None, "ci_high": None, "p": None, "p_holm": None, "p_below_holm": None, "seeds": 0,
         "family": None, "verdict": "not testable here (no train split offline; " + "a long reason " * 12 + ")"},
        {"claim": "A/A control", "setting": "sst2 dev / scratch", "metric": "accuracy", "column": "control",
         "effect": 0.001, "ci_low": -0.01, "ci_high": 0.01, "p": 0.8, "p_holm": 1.0, "p_below_holm": 1.0,
         "seeds": 10, "family": "control", "verdict": "inconclusive"},
    ]
    return pd.DataFrame([{**ROW, **r} for r in rows])


def test_the_findings_name_each_kind_of_verdict_with_its_cells():
    items = index_page.findings(table())
    assert items[0].startswith("<b>Holds</b> (1 of 3 tested cells): claim 1 accuracy (sst2 dev / scratch, accuracy, "
                               "paper-literal): +2.00 [+1.10, +3.00]")  # accuracy in points
    assert items[1].startswith("<b>Does not hold</b> (1 of 3") and "−0.040 [−0.050, −0.030]" in items[1]
    assert "primary cells among them: claim 3 faithfulness" in items[2]
    assert "not testable here (no train split offline" in items[3]
    assert items[4].endswith("all inconclusive, as they should be.")
    t = table()
    t.loc[4, "verdict"] = "holds"
    assert "1 not inconclusive, where none should be" in index_page.findings(t)[4]


def test_an_unknown_verdict_is_an_error_not_a_silent_row():
    t = table()
    t.loc[0, "verdict"] = "maybe"
    with pytest.raises(ValueError, match="unknown verdict 'maybe'"):
        index_page.findings(t)


def test_the_page_has_every_verdict_whole_no_script_and_no_request_outside(tmp_path):
    html = index_page.page("T", table(), [{"name": "f", "image": "f.png", "caption": _caption(tmp_path),
                                           "notebook": "f.html"}], [])
    for verdict in table().verdict:
        assert f">{verdict}</td>" in html
    assert "<script" not in html and "http://" not in html and "https://" not in html and "//" not in html.replace("://", "")
    assert html.index("What was found") < html.index("claims-table") < html.index("f.png")
    assert "A caption &amp; its second line. <a href='f.html'>" in html  # escaped, joined


def _caption(tmp_path):
    p = tmp_path / "f.rst"
    p.write_text("A caption &\nits second line.\n")
    return p


CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(not CHROMIUM and not os.environ.get("CI"),
                                    reason="Debian's chromium is not installed (.ci/run installs it)")


def check_page(page, screenshot=None):
    """The assertions of issue 33 on a page laid out in Chromium at 1280 x 800: no sideways scroll,
    no cut cell, no code before the results; a front page opens with what was found, then the
    claims table; a notebook shows its first table or figure on the first screen."""
    layout = index_page.browser_check(page, screenshot=screenshot)
    assert layout["scroll_width"] <= layout["view_width"], f"{page} scrolls sideways: {layout}"
    assert not layout["truncated"], f"{page}: cut cells {layout['truncated'][:3]}"
    assert layout["first_result"] is not None, f"{page}: no table or figure"
    assert layout["first_code"] is None or layout["first_code"] > layout["first_result"]
    if layout["found"] is not None:  # a front page
        assert layout["found"] < 800 and layout["found"] < layout["claims_table"] == layout["first_result"]
    else:
        assert layout["first_result"] < 800, f"{page}: no table or figure on the first screen"
    return layout


@needs_chromium
def test_the_page_reads_in_a_real_browser(tmp_path):
    (tmp_path / "f.png").write_bytes(b"")
    out = tmp_path / "index.html"
    out.write_text(index_page.page("T", table(), [], []))
    layout = check_page(out, screenshot=tmp_path / "index.png")
    assert layout["found"] < layout["claims_table"]
    assert (tmp_path / "index.png").read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.png", "index.html", "index.png"]  # the probe's copy is gone


@needs_chromium
def test_a_page_that_scrolls_sideways_or_cuts_a_cell_fails_the_check(tmp_path):
    wide = tmp_path / "wide.html"
    wide.write_text("<html><body><table><tr><td>x...</td></tr></table><div style='width:3000px'>w</div></body></html>")
    layout = index_page.browser_check(wide)
    assert layout["scroll_width"] > layout["view_width"] and layout["truncated"] == ["x..."]


REPO_PAPER = __import__("conftest").REPO / "results" / "paper"
# the other committed front pages (results/README.md's table): the discriminator study's page
FRONT_PAGES = ["discriminator/discriminator.html"]


@needs_chromium
@pytest.mark.parametrize("page", sorted(p.name for p in REPO_PAPER.glob("*.html")))
def test_every_committed_page_of_the_replication_reads_in_a_browser(page):
    check_page(REPO_PAPER / page)


@needs_chromium
@pytest.mark.parametrize("page", FRONT_PAGES)
def test_the_other_results_folders_front_pages_read_in_a_browser(page):
    check_page(REPO_PAPER.parent / page)
