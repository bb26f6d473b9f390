"""The README's two commands stay true: CI runs the second, and the env files name no version
of their own (pyproject.toml is the one place versions are pinned)."""

import re
import tomllib

import yaml
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


def test_conda_envs_install_this_package_with_existing_extras():
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    files = list((REPO / "env").glob("*.yml")) + [REPO / "environment.yml"]
    assert len(files) == 4
    for f in files:
        env = yaml.safe_load(f.read_text())
        pip = [d for d in env["dependencies"] if isinstance(d, dict)][0]["pip"]
        conda_pkgs = [d for d in env["dependencies"] if isinstance(d, str)]
        assert all(p.split("=")[0] in ("python", "pip") for p in conda_pkgs), f"{f}: pins outside pyproject"
        (spec,) = pip
        m = re.fullmatch(r"-e (\.\.?)(?:\[([\w,]+)\])?", spec)
        assert m, f"{f}: pip entry {spec!r} must install this package"
        assert (f.parent / m.group(1) / "pyproject.toml").exists()
        for extra in filter(None, (m.group(2) or "").split(",")):
            assert extra in extras, f"{f}: unknown extra {extra}"


def test_every_rule_declares_a_conda_env_that_exists():
    for smk in (REPO / "workflow" / "rules").glob("*.smk"):
        text = smk.read_text()
        n_rules = len(re.findall(r"^rule \w+:", text, re.M))
        envs = re.findall(r'conda:\n\s+"([^"]+)"', text)
        assert len(envs) == n_rules, f"{smk.name}: every rule needs conda:"
        for env in envs:
            assert (smk.parent / env).resolve().exists(), f"{smk.name}: {env} missing"
