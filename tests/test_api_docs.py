"""The API reference: built from the docstrings by pdoc, warnings as errors (as CI builds it), and
every public name of the library and the evaluation API documented."""

import dataclasses
import importlib
import inspect
import subprocess
import sys

import pytest

# the modules a researcher uses: the library and the evaluations as functions of a model
API = ["afa.settings", "afa.method", "afa.trainer", "afa.hf", "afa.layers", "afa.tokens", "afa.objective",
       "afa.discriminator", "afa.generator", "afa.evaluate", "afa.evaluation.accuracy", "afa.evaluation.deletion",
       "afa.evaluation.alignment"]


def public(module):
    mod = importlib.import_module(module)
    for name, obj in vars(mod).items():
        if not name.startswith("_") and getattr(obj, "__module__", None) == module and (
                inspect.isfunction(obj) or inspect.isclass(obj)):
            yield name, obj
            if inspect.isclass(obj):
                yield from ((f"{name}.{k}", v) for k, v in vars(obj).items()
                            if not k.startswith("_") and inspect.isfunction(v))


@pytest.mark.parametrize("module", API)
def test_every_public_name_has_a_docstring(module):
    assert inspect.getdoc(importlib.import_module(module)), f"{module} has no module docstring"
    missing = [name for name, obj in public(module) if not (obj.__doc__ or "").strip()]
    assert not missing, f"{module}: no docstring for {missing}"


def test_the_settings_document_every_field():
    from afa import AFAConfig, DiscConfig
    from afa.settings import GeneratorConfig

    for cls in (AFAConfig, DiscConfig, GeneratorConfig):
        doc = inspect.getdoc(cls)
        for field in (f.name for f in dataclasses.fields(cls)):
            assert f"- `{'lambda' if field == 'lambda_' else field}` (default" in doc, (cls.__name__, field)


def test_the_api_reference_builds_with_warnings_as_errors(tmp_path):
    r = subprocess.run([sys.executable, "-W", "error::UserWarning", "-m", "pdoc", "-o", str(tmp_path), *API],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    page = (tmp_path / "afa" / "settings.html").read_text()
    assert "AFAConfig" in page and "entropy_weight" in page and "against attention collapse" in page
    assert (tmp_path / "afa" / "evaluation" / "deletion.html").exists()
