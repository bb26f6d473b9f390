"""Render a notebook: jupytext percent .py -> papermill (with parameters) -> .ipynb and HTML.

Both files are written to temporary paths and moved into place only when execution succeeds. The
HTML is for readers: results, not code. It leaves out every code cell's input (the .ipynb beside it
keeps them, and the page's first line names both), and tables show their text whole (pandas would
cut a cell at 50 characters, a verdict mid-word).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from afa.io import atomic_path


def render(notebook: Path, out_ipynb: Path, out_html: Path | None, parameters: dict, kernel: str = "python3") -> None:
    import jupytext
    import nbformat
    import papermill
    from nbconvert import HTMLExporter

    nb = jupytext.read(notebook)
    # first, a line naming the code, and (hidden) pandas set to show table cells whole
    nb.cells[:0] = [nbformat.v4.new_markdown_cell(
                        f"*Rendered from `{Path(notebook).as_posix()}`; its code is in `{Path(out_ipynb).name}` "
                        "beside this page.*"),
                    nbformat.v4.new_code_cell('import pandas as pd\npd.set_option("display.max_colwidth", None)')]
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": "Python 3", "language": "python"}
    nb.metadata.setdefault("language_info", {"name": "python"})
    with tempfile.TemporaryDirectory() as d, atomic_path(out_ipynb) as tmp:
        src = Path(d) / "source.ipynb"
        nbformat.write(nb, src)
        papermill.execute_notebook(str(src), str(tmp), parameters=parameters, kernel_name=kernel,
                                   progress_bar=False, cwd=str(Path.cwd()))
        if out_html:
            body, _ = HTMLExporter(exclude_input=True, exclude_input_prompt=True,
                                   exclude_output_prompt=True).from_filename(str(tmp))
            with atomic_path(out_html) as h:
                h.write_text(body)
