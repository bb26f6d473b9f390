"""Rendered notebooks are for readers: results without code, tables whole."""

from afa.report import render

NOTEBOOK = '''# %% [markdown]
# # A table
# The verdict below is long.

# %% tags=["parameters"]
verdict = "x"

# %%
import pandas as pd

pd.DataFrame({"verdict": [verdict]})
'''


def test_the_html_shows_results_and_whole_cells_but_no_code(tmp_path):
    (tmp_path / "table.py").write_text(NOTEBOOK)
    long = "does not hold (smaller than the minimal effect 0.01), " * 4
    render(tmp_path / "table.py", tmp_path / "table.ipynb", tmp_path / "table.html", {"verdict": long})
    html = (tmp_path / "table.html").read_text()
    assert long.strip() in html  # pandas would cut it at 50 characters
    assert "A table" in html and "table.ipynb" in html  # the markdown stays, and the page names its code
    assert "pd.DataFrame" not in html and "import pandas" not in html and "tags=" not in html
    assert "pd.DataFrame" in (tmp_path / "table.ipynb").read_text()  # the notebook keeps the code
