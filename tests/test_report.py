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


LONG_TABLE = '''# %% [markdown]
# # Figure and table
# How it was made: a paragraph the reader needs after, not before, the results.

# %% [markdown]
# A second paragraph of method.

# %% tags=["parameters"]
n = 3

# %%
import pandas as pd

pd.DataFrame({"row": range(n)})

# %% [markdown]
# ## Per seed
'''


def test_the_html_puts_results_before_the_introduction_and_shows_every_row(tmp_path):
    (tmp_path / "t.py").write_text(LONG_TABLE)
    render(tmp_path / "t.py", tmp_path / "t.ipynb", tmp_path / "t.html", {"n": 150})
    html = (tmp_path / "t.html").read_text()
    title, table, about = html.index("Figure and table"), html.index("<table"), html.index('id="About-this-page"')
    method, per_seed = html.index("How it was made"), html.index("Per seed")
    assert title < table < per_seed < about < method and html.index("A second paragraph") > about
    assert html.index('href="#About-this-page"') < table  # the pointer at the top links the moved text
    assert "<td>149</td>" in html and "<td>...</td>" not in html  # pandas would elide rows past 60
    nb = (tmp_path / "t.ipynb").read_text()
    assert nb.index("How it was made") < nb.index("pd.DataFrame")  # the notebook keeps its own order


def test_a_page_without_a_table_or_figure_keeps_its_order(tmp_path):
    import nbformat

    from afa.report import results_first

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# T\nintro"), nbformat.v4.new_code_cell("1")])
    assert results_first(nb) == nb
