"""The library stands apart from the pipeline: AFA's modules import nothing from the pipeline's, so a
researcher's `from afa import ...` never drags in the replication's data, models or workflow code."""

import ast

from conftest import REPO

SRC = REPO / "src" / "afa"
# AFA as a library: the maths, its settings and state, the Trainer, Hugging Face helpers, and the
# layers and token helpers they share
LIBRARY = {"objective", "discriminator", "generator", "method", "hf", "trainer", "settings", "layers", "tokens", "io"}


def afa_imports(module: str) -> set[str]:
    """The afa modules `module` imports, at any depth of its code (lazy imports included)."""
    found = set()
    for node in ast.walk(ast.parse((SRC / f"{module}.py").read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "afa":
            parts = node.module.split(".")
            found |= {parts[1]} if len(parts) > 1 else {alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("afa.")}
    return found


def test_the_library_modules_import_only_library_modules():
    for module in sorted(LIBRARY):
        outside = afa_imports(module) - LIBRARY
        assert not outside, f"afa.{module} imports pipeline modules {sorted(outside)}"


def test_the_check_sees_an_import_of_the_pipeline(tmp_path, monkeypatch):
    (tmp_path / "fake.py").write_text("def f():\n    from afa.models import build\n    import afa.data\n")
    monkeypatch.setattr(__import__(__name__), "SRC", tmp_path)
    assert afa_imports("fake") == {"models", "data"}


def test_one_attention_row_reader_and_one_pre_dropout_hook():
    """`pooled_row` is the only head-average of a pooled row, `track_attention` the only hook."""
    for path in SRC.rglob("*.py"):
        text = path.read_text()
        if path.name != "layers.py":
            assert ".mean(1) * attention_mask" not in text, f"{path}: reads a row itself; use afa.layers.pooled_row"
        if path.name != "hf.py":
            assert "register_forward_pre_hook" not in text, f"{path}: hooks attention itself; use afa.hf.track_attention"
