"""The README's two commands stay true: CI runs the second."""

import re
from conftest import REPO


def readme_commands():
    text = (REPO / "README.md").read_text()
    return re.findall(r"```(?:bash|sh)\n(.*?)```", text, re.S)[:2]


def test_readme_starts_with_run_and_test_commands():
    run, test = readme_commands()
    assert "snakemake" in run and "pip install torch==2.13.0" in run
    assert "pytest" in test and "pip install torch==2.13.0" in test


def test_ci_runs_the_readme_test_command():
    _, test = readme_commands()
    install_and_test = test.strip().splitlines()[-1].split("&& ", 2)[-1]  # after venv creation/activation
    assert install_and_test in (REPO / ".ci" / "run").read_text()
