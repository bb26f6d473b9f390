"""Render a notebook: jupytext percent .py -> papermill (with parameters) -> .ipynb and HTML.

Both files are written to temporary paths and moved into place only when execution succeeds.
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
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": "Python 3", "language": "python"}
    nb.metadata.setdefault("language_info", {"name": "python"})
    with tempfile.TemporaryDirectory() as d, atomic_path(out_ipynb) as tmp:
        src = Path(d) / "source.ipynb"
        nbformat.write(nb, src)
        papermill.execute_notebook(str(src), str(tmp), parameters=parameters, kernel_name=kernel,
                                   progress_bar=False, cwd=str(Path.cwd()))
        if out_html:
            body, _ = HTMLExporter().from_filename(str(tmp))
            with atomic_path(out_html) as h:
                h.write_text(body)
