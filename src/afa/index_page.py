"""The front door of a results folder: `<outdir>/index.html` (`afa index`, the DAG's last step).

What the reader meets first is what was found, in words generated from `claims.csv` (no number on
the page is typed by hand): which claims hold, which do not, which could not be tested here and why;
then the claims table with every verdict in full; then the key figures, each with its caption (the
same `workflow/report/<name>.rst` files that snakemake's `--report` shows) and a link to the
notebook that made it. One self-contained file: inline CSS, figures by relative path, no script and
no network request, readable at 1280 px without scrolling sideways.

Layer: report (reads afa.summary's formatting; nothing below imports it).
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from afa import summary
from afa.summary import VERDICTS, verdict_kind  # noqa: F401 (one reading of a verdict, shared with the README's)

CSS = """
body { font: 16px/1.5 system-ui, sans-serif; max-width: 1180px; margin: 1.5em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; width: 100%; table-layout: fixed; font-size: 0.86em; }
th, td { border: 1px solid #ddd; padding: 4px 6px; vertical-align: top; overflow-wrap: break-word; hyphens: auto; }
th { background: #f3f3f3; text-align: left; }
tr.primary td { font-weight: 600; } td.holds { background: #e3f4e3; } td.doesnot { background: #fbe5e5; }
td.untested { color: #666; } img { max-width: 100%; height: auto; border: 1px solid #eee; }
figure { margin: 1.2em 0; } figcaption { font-size: 0.92em; color: #333; }
.lede li { margin-bottom: 0.35em; } .muted { color: #666; font-size: 0.9em; }
"""

# claims table columns: (header, width)
COLUMNS = [("claim", "8%"), ("setting", "16%"), ("metric", "12%"), ("column", "7%"), ("seeds", "5%"),
           ("effect [95 % CI]", "14%"), ("Holm p (≠ 0)", "6%"), ("Holm p (< min)", "6%"), ("family", "8%"),
           ("verdict", "18%")]


def _column(r) -> str:
    return "A/A control" if r["column"] == "control" else str(r["column"]).replace("_", "-")


def _where(r) -> str:
    return f"claim {r['claim']} ({r['setting']}, {r['metric']}, {_column(r)})"


def findings(table: pd.DataFrame) -> list[str]:
    """The page's opening list, in plain words: one item per kind of verdict (HTML-escaped), the
    decomposition's cells (which test no claim) in an item of their own."""
    family = table.get("family", pd.Series("", index=table.index))
    t = table[(table.column != "control") & (family != "decomposition")].copy()
    t["kind"] = [verdict_kind(v) for v in t.verdict]
    tested = t[t.kind.isin(VERDICTS[:3])]
    e = html.escape
    items = []
    for kind, label in (("holds", "Holds"), ("does not hold", "Does not hold")):
        hit = tested[tested.kind == kind]
        body = "; ".join(f"{e(_where(r))}: {e(summary._effect(r))}" for _, r in hit.iterrows()) if len(hit) else "none"
        items.append(f"<b>{label}</b> ({len(hit)} of {len(tested)} tested cells): {body}.")
    inc = tested[tested.kind == "inconclusive"]
    prim = inc[inc.family == "primary"]
    text = (f"<b>Inconclusive</b> ({len(inc)} of {len(tested)}): neither test decided at its Holm-adjusted level, "
            "or the cell has fewer than 5 seeds; ")
    text += ("primary cells among them: " + "; ".join(f"{e(_where(r))}: {e(summary._effect(r))}" for _, r in prim.iterrows())
             if len(prim) else "no primary cell among them") + "."
    items.append(text)
    untested = t[~t.kind.isin(VERDICTS[:3])]
    if len(untested):
        # one line per claim and reason: the two columns of a claim usually share it
        reasons = dict.fromkeys((r["claim"], r["setting"], r["verdict"]) for _, r in untested.iterrows())
        items.append(f"<b>Not run or not testable here</b> ({len(untested)} cells): "
                     + "; ".join(f"claim {e(c)} ({e(s)}): {e(v)}" for c, s, v in reasons) + ".")
    if (family == "decomposition").any():
        items.append(f"<b>Decomposition</b>: {e(summary.decomposition_sentence(table))}")
    control = table[table.column == "control"]
    if len(control):
        wrong = control[[verdict_kind(v) != "inconclusive" for v in control.verdict]]
        items.append(f"<b>A/A control</b> (baseline against baseline, {len(control)} cells): "
                     + (f"{len(wrong)} not inconclusive, where none should be: "
                        + "; ".join(e(_where(r)) for _, r in wrong.iterrows()) if len(wrong) else "all inconclusive, as they should be")
                     + ".")
    return items


def claims_rows(table: pd.DataFrame) -> str:
    """The claims table as HTML rows, every verdict whole."""
    e = html.escape
    out = []
    for _, r in table.iterrows():
        kind = verdict_kind(r["verdict"])
        tested = r["p"] == r["p"]
        cells = [r["claim"], r["setting"], r["metric"], _column(r), int(r["seeds"]),
                 summary._effect(r) if tested else "", summary._p(r["p_holm"]) if tested else "",
                 summary._p(r["p_below_holm"]) if tested else "", r["family"] if r["family"] == r["family"] else ""]
        klass = {"holds": "holds", "does not hold": "doesnot", "positive": "holds",
                 "smaller than the minimal effect": "doesnot"}.get(kind, "" if tested else "untested")
        out.append(f'<tr class="{"primary" if r["family"] == "primary" else ""}">'
                   + "".join(f"<td>{e(str(c))}</td>" for c in cells)
                   + f'<td class="{klass}">{e(str(r["verdict"]))}</td></tr>')
    return "\n".join(out)


def _caption(path: Path) -> str:
    """A caption file's text (reStructuredText kept to plain paragraphs), HTML-escaped."""
    return " ".join(html.escape(line.strip()) for line in Path(path).read_text().splitlines() if line.strip())


def page(title: str, table: pd.DataFrame, figures: list[dict], notebooks: list[dict],
         probe: pd.DataFrame | None = None, runs: str | None = None) -> str:
    """The whole page. `figures`: {name, image, caption (a file), notebook}; `notebooks`: {name,
    html, caption}; `runs`: the run table (runs.tsv); paths as the page links them (relative to its folder)."""
    e = html.escape
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{e(title)}</title>"
             f"<meta name='viewport' content='width=device-width, initial-scale=1'><style>{CSS}</style></head><body>",
             f"<h1>{e(title)}</h1>",
             "<p class='muted'>AFA (arXiv 2512.20661) against the same model trained without it. Every number "
             "on this page is read from <a href='claims.csv'>claims.csv</a> by <code>afa index</code>; the method of "
             "inference and the verdict rule are in <a href='claims.html'>claims.html</a>.</p>",
             "<h2 id='found'>What was found</h2><ul class='lede'>"
             + "".join(f"<li>{item}</li>" for item in findings(table)) + "</ul>"]
    if probe is not None:
        try:
            parts.append(f"<p>{e(summary.probe_headline(probe))}</p>")
        except ValueError:
            pass  # a folder whose probe table lacks the headline row (the sample's grid)
    parts.append("<h2 id='claims'>The claims table</h2><p class='muted'>AFA minus the baseline per claim cell; "
                 "accuracy in points. Primary cells (one per claim, named before the results) in bold.</p>"
                 "<table id='claims-table'><colgroup>" + "".join(f"<col style='width:{w}'>" for _, w in COLUMNS)
                 + "</colgroup><thead><tr>" + "".join(f"<th>{e(h)}</th>" for h, _ in COLUMNS) + "</tr></thead><tbody>"
                 + claims_rows(table) + "</tbody></table>")
    if figures:
        parts.append("<h2 id='figures'>Figures</h2>")
        for f in figures:
            parts.append(f"<figure><img src='{e(f['image'])}' alt='{e(f['name'])}'><figcaption>{_caption(f['caption'])} "
                         f"<a href='{e(f['notebook'])}'>The notebook.</a></figcaption></figure>")
    if notebooks:
        parts.append("<h2 id='notebooks'>Every table and figure</h2><ul>" + "".join(
            f"<li><a href='{e(n['html'])}'>{e(n['name'])}</a>: {_caption(n['caption'])}</li>" for n in notebooks)
            + (f"<li><a href='{e(runs)}'>runs.tsv</a>: every run behind these pages, its kind (grid, ablation, "
               "A/A control), the pages that read each of its evaluations and the settings it trained with</li>"
               if runs else "") + "</ul>")
    commits = sorted({c for cs in table.get("commits", pd.Series(dtype=str)).dropna() for c in str(cs).split()})
    parts.append(f"<p class='muted'>Code commits of the runs in the claims table: {e(' '.join(commits)) or 'none'}.</p>"
                 "</body></html>")
    return "\n".join(parts)


def write(out: Path, title: str, claims_csv: Path, figures: list[dict], notebooks: list[dict],
          probe_csv: Path | None = None, runs_tsv: Path | None = None) -> None:
    """`page` of the files, written atomically to `out`; links are made relative to its folder."""
    from os.path import relpath

    from afa.io import atomic_path

    folder = Path(out).parent
    rel = {"image", "notebook", "html"}
    figures = [{k: relpath(v, folder) if k in rel else v for k, v in f.items()} for f in figures]
    notebooks = [{k: relpath(v, folder) if k in rel else v for k, v in n.items()} for n in notebooks]
    probe = pd.read_csv(probe_csv) if probe_csv else None
    runs = relpath(runs_tsv, folder) if runs_tsv else None
    text = page(title, pd.read_csv(claims_csv), figures, notebooks, probe, runs)
    with atomic_path(out) as tmp:
        tmp.write_text(text)


# Run in the page by `browser_check`: what a reader's browser lays out, as one JSON attribute.
_PROBE = """<script>(() => {
  const top = el => el.getBoundingClientRect().top + window.scrollY;
  const firstOf = sel => { const e = document.querySelector(sel); return e ? top(e) : null; };
  // a cell whose text is cut: it overflows, or pandas ended it with '...' (a cell that is only '...'
  // marks rows a long table leaves out, which its page says and its CSV holds)
  const cut = [...document.querySelectorAll('td, th')].filter(c => c.scrollWidth > c.clientWidth + 1 ||
      (/(\\.\\.\\.|\\u2026)$/.test(c.textContent.trim()) && !/^(\\.\\.\\.|\\u2026)$/.test(c.textContent.trim())))
      .map(c => c.textContent);
  document.documentElement.setAttribute('data-layout', JSON.stringify({
    scroll_width: document.documentElement.scrollWidth, view_width: window.innerWidth,
    first_result: firstOf('table, img'), first_code: firstOf('.jp-CodeCell .jp-InputArea, .code_cell .input_area'),
    found: firstOf('#found'), claims_table: firstOf('#claims-table'), truncated: cut}));
})();</script>"""


def browser_check(page: Path, width: int = 1280, height: int = 800, screenshot: Path | None = None,
                  chromium: str = "chromium") -> dict:
    """Lay `page` out in headless Chromium at `width` x `height` and return what the reader sees:
    scroll_width (wider than view_width: the page scrolls sideways), the vertical positions of the
    first table or figure, of the first code, of the findings and of the claims table (None where
    absent), and the text of every table cell that is cut. The probe runs on a copy beside the page
    (so relative figures resolve), which is then removed; `screenshot`: also write a PNG of the first
    screen there."""
    import json
    import subprocess

    page = Path(page)
    copy = page.with_name(f".{page.stem}.layout-check.html")
    copy.write_text(page.read_text().replace("</body>", _PROBE + "</body>"))
    flags = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--window-size={width},{height}", "--virtual-time-budget=5000"]
    try:
        dom = subprocess.run(flags + ["--dump-dom", copy.resolve().as_uri()], capture_output=True, text=True,
                             timeout=120, check=True).stdout
    finally:
        copy.unlink()
    import re

    found = re.search(r'data-layout="([^"]*)"', dom)
    if not found:
        raise RuntimeError(f"{page}: headless Chromium returned no layout (is `{chromium}` installed?)")
    layout = json.loads(html.unescape(found.group(1)))
    if screenshot:
        subprocess.run(flags + [f"--screenshot={Path(screenshot).resolve()}", page.resolve().as_uri()],
                       capture_output=True, timeout=120, check=True)
    return layout
