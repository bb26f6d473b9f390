"""Render a notebook: jupytext percent .py -> papermill (with parameters) -> .ipynb and HTML.

Both files are written to temporary paths and moved into place only when execution succeeds. The
HTML is for readers: results first, then how they were made (as showyourwork's pages do). It
leaves out every code cell's input (the .ipynb beside it keeps them, and the page's first line names
both); the notebook's introduction, everything above its first table or figure but the title, moves
below the results under "About this page"; tables show their text whole (pandas would cut a cell at
50 characters, a verdict mid-word).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from afa.io import atomic_path


# Every cell's text whole and every column; tables of up to 250 rows whole (a longer one, a per-seed
# listing, shows its first and last 10 rows and its size, and its CSV has it all)
PANDAS_DISPLAY = """import pandas as pd
pd.set_option("display.max_colwidth", None)
pd.set_option("display.max_columns", None)
pd.set_option("display.max_rows", 250)
pd.set_option("display.min_rows", 20)
pd.set_option("display.show_dimensions", True)"""


def render(notebook: Path, out_ipynb: Path, out_html: Path | None, parameters: dict, kernel: str = "python3") -> None:
    import jupytext
    import nbformat
    import papermill
    from nbconvert import HTMLExporter

    nb = jupytext.read(notebook)
    # first, a line naming the code, and (hidden) pandas set to show tables whole (PANDAS_DISPLAY)
    nb.cells[:0] = [nbformat.v4.new_markdown_cell(
                        f"*Rendered from `{Path(notebook).as_posix()}`; its code is in `{Path(out_ipynb).name}` "
                        "beside this page.*"),
                    nbformat.v4.new_code_cell(PANDAS_DISPLAY)]
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": "Python 3", "language": "python"}
    nb.metadata.setdefault("language_info", {"name": "python"})
    with tempfile.TemporaryDirectory() as d, atomic_path(out_ipynb) as tmp:
        src = Path(d) / "source.ipynb"
        nbformat.write(nb, src)
        papermill.execute_notebook(str(src), str(tmp), parameters=parameters, kernel_name=kernel,
                                   progress_bar=False, cwd=str(Path.cwd()))
        if out_html:
            body, _ = HTMLExporter(exclude_input=True, exclude_input_prompt=True,
                                   exclude_output_prompt=True).from_notebook_node(results_first(nbformat.read(tmp, 4)))
            with atomic_path(out_html) as h:
                h.write_text(body)


ABOUT = "About this page"


def _shows_result(cell) -> bool:
    return cell.cell_type == "code" and any(
        "text/html" in o.get("data", {}) or "image/png" in o.get("data", {}) for o in cell.get("outputs", []))


def results_first(nb):
    """A copy of the executed notebook `nb` for its HTML page: the title (the first markdown cell's
    leading `#` lines) and the line naming the code stay on top; the rest of the prose above the
    first table or figure moves to the end, under "About this page", and a line at the top points
    there. A notebook that shows no table or figure is left as it is."""
    import copy

    import nbformat

    nb = copy.deepcopy(nb)
    first = next((i for i, c in enumerate(nb.cells) if _shows_result(c)), None)
    if first is None:
        return nb
    head, moved, titled = [], [], False
    for c in nb.cells[:first]:
        if c.cell_type != "markdown" or c.source.startswith("*Rendered from"):
            head.append(c)
            continue
        lines = c.source.splitlines()
        n = 0 if titled else next((i for i, line in enumerate(lines) if not line.startswith("#")), len(lines))
        titled = titled or n > 0
        if n:
            head.append(nbformat.v4.new_markdown_cell("\n".join(lines[:n])))
        rest = "\n".join(lines[n:]).strip()
        if rest:
            moved.append(rest)
    if not moved:
        return nb
    pointer = nbformat.v4.new_markdown_cell(f"*What it shows and how it was made: [{ABOUT}](#{ABOUT.replace(' ', '-')}), below the results.*")
    nb.cells = head + [pointer] + nb.cells[first:] + [nbformat.v4.new_markdown_cell(f"## {ABOUT}\n\n" + "\n\n".join(moved))]
    return nb
