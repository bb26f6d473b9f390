"""The Snakemake workflow: config validation before any job runs, and a real end-to-end run."""

import csv
import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import REPO, claims_rows
from test_index_page import check_page

from afa.evaluation.attack_settings import SELECTION, check_settings

PARTS = ["Snakefile", "workflow", "config", "notebooks", "env", "profiles"]


@pytest.fixture
def workdir(tmp_path):
    for part in PARTS:
        src = REPO / part
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / part)
    return tmp_path


def snakemake(workdir, overrides: dict, *args):
    (workdir / "override.yaml").write_text(yaml.safe_dump(overrides))
    # targets and flags go first: --configfile takes every value after it
    return subprocess.run(["snakemake", *args, "--cores", "2", "--configfile", "override.yaml"],
                          cwd=workdir, capture_output=True, text=True, timeout=1500)


def with_afa(**over):
    base = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["method_settings"]["afa"]
    return {"method_settings": {"baseline": {"objective": "baseline"}, "afa": {**base, **over}}}


@pytest.mark.parametrize("overrides, message", [
    (with_afa(K=0), "0 is less than the minimum of 1"),
    (with_afa(eps=1.5), "1.5 is greater than the maximum of 1"),
    (with_afa(**{"lambda": -0.1}), "-0.1 is less than the minimum of 0"),
    (with_afa(reward="fool"), "'fool' is not one of ['detect', 'deceive', 'confidence_drop', 'none']"),
    ({"datasets": ["sst3"]}, "'sst3' is not one of ['sst2', 'imdb', 'agnews', 'eraser_movies', 'sst_phrases']"),
    ({"models": ["bert"]}, "models lists 'bert', which model_settings does not define"),
    ({"data": {"source": "hub"}}, "dataset 'sst_phrases' has no hub source"),
    ({"data": {"source": "ftp"}}, "'ftp' is not one of ['sample', 'mirror', 'hub']"),
    ({"data": {"source": "sample", "validation_sentence_fraction": 1}}, "1 is greater than or equal to the maximum of 1"),
    ({"per_dataset": {"sst2": {"methods": ["afa_typo"]}}}, "per_dataset.sst2.methods lists 'afa_typo'"),
    ({"per_model": {"bert": {"seeds": [1]}}}, "per_model has an entry for 'bert', which model_settings does not define"),
    ({"per_model": {"scratch": {"methods": ["afa_typo"]}}}, "per_model.scratch.methods lists 'afa_typo'"),
    ({"per_model": {"scratch": {"threads": 0}}}, "0 is less than the minimum of 1"),
    ({"per_method": {"afa_typo": {"seeds": [1]}}}, "per_method has an entry for 'afa_typo', which method_settings"),
    ({"per_dataset": {"sst-2": {"seeds": [1]}}}, "'sst-2' is not one of ['sst2', 'imdb', 'agnews', 'eraser_movies', 'sst_phrases']"),
    ({"alignment": {"pairs": [{"rationales": "sst2", "trained_on": "sst2"}]}}, "'sst2' is not one of ['eraser_movies', 'sst_phrases']"),
    ({"robustness": {"recipes": ["textbugger"]}}, "'textbugger' is not one of ['deepwordbug', 'pwws', 'pruthi'"),
    ({"robustness": {"n": 0}}, "0 is less than the minimum of 1"),
    ({"probe": {"masking_for_baseline": "mask"}}, "'mask' is not one of ['replace', 'delete', 'unigram']"),
    ({"method_overrides": {"imdb": {"afa_typo": {"K": 1}}}}, "method_overrides.imdb has an entry for 'afa_typo'"),
    ({"method_overrides": {"imdb": {"afa": {"disc": {"attention": "flash"}}}}}, "'flash' is not one of ['eager', 'fused']"),
    ({"method_overrides": {"imdb": {"afa": {"K": 0}}}}, "0 is less than the minimum of 1"),
    ({"claims": {"live": "afa_typo"}}, "claims.live is 'afa_typo', which method_settings does not define"),
    ({"claims": {"control_seeds": [2]}}, "claims.control_seeds [2] are also seeds of 'sst2'"),
    ({"claims": {"control_seeds": [-1]}}, "-1 is less than the minimum of 0"),
    # misspelt keys and names: each stops before any job, naming where it is
    ({"train": {"epoch": 1}}, "config: train: Additional properties are not allowed ('epoch' was unexpected)"),
    ({"model_settings": {"scratch": {"kind": "scratch", "d_modle": 32}}},
     "config: model_settings.scratch: Additional properties are not allowed ('d_modle' was unexpected)"),
    ({"model_settings": {"minilm": {"kind": "hf", "name_or_path": "x", "train": {"lr": 1e-5, "batchsize": 8}}}},
     "config: model_settings.minilm.train: Additional properties are not allowed ('batchsize' was unexpected)"),
    (with_afa(lamda=0.5), "config: method_settings.afa: Additional properties are not allowed ('lamda' was unexpected)"),
    ({"method_overrides": {"imdb": {"afa": {"entropy_wieght": 0}}}},
     "config: method_overrides.imdb.afa: Additional properties are not allowed ('entropy_wieght' was unexpected)"),
    ({"train_overrides": {"sst2": {"epochs": 2, "ptience": 1}}},
     "config: train_overrides.sst2: Additional properties are not allowed ('ptience' was unexpected)"),
    ({"per_method": {"afa": {"train_overrides": {"imdb": {"max_trian": 5}}}}},
     "config: per_method.afa.train_overrides.imdb: Additional properties are not allowed ('max_trian' was unexpected)"),
    ({"deletion": {"overrides": {"sst2": {"levels": [0, 3]}}}},
     "config: deletion.overrides.sst2.levels.0: 0 is not valid under any of the given schemas"),
    ({"deletion": {"model_overrides": {"scratch": {"random_draw": 1}}}},
     "config: deletion.model_overrides.scratch: Additional properties are not allowed ('random_draw' was unexpected)"),
    ({"deletion": {"model_overrides": {"scratchy": {"random_draws": 1}}}},
     "config: deletion.model_overrides lists 'scratchy', which model_settings does not define"),
    ({"threads": {"trian": 1}}, "config: threads: Additional properties are not allowed ('trian' was unexpected)"),
    ({"resources": {"train": {"mem": 100}}}, "config: resources.train: Additional properties are not allowed ('mem' was unexpected)"),
    ({"robustness": {"methods": ["afaa"]}}, "config: robustness.methods lists 'afaa', which method_settings does not define"),
    ({"robustness": {"models": ["scratchy"]}}, "config: robustness.models lists 'scratchy', which model_settings does not define"),
    ({"claims": {"control_models": ["scratchy"]}}, "config: claims.control_models lists 'scratchy', which model_settings does not define"),
    ({"ablations": {"models": ["scratchy"]}}, "config: ablations.models lists 'scratchy', which model_settings does not define"),
])
def test_bad_config_stops_before_any_job(workdir, overrides, message):
    r = snakemake(workdir, overrides, "-n")
    assert r.returncode != 0
    assert message in r.stdout + r.stderr
    assert not (workdir / "results").exists()


def test_config_value_reaching_a_shell_is_quoted(workdir):
    evil = str(workdir / "m; touch PWNED")
    r = snakemake(workdir, {"datasets": ["sst2"], "data": {"source": "mirror", "mirror": evil}},
                  "results/sample/data/sst2/source.json")
    assert r.returncode != 0
    assert not (workdir / "PWNED").exists()
    assert "m; touch PWNED does not exist (config: data.mirror)" in r.stdout + r.stderr
    assert not (workdir / "results/sample/data/sst2/source.json").exists()


def test_a_yaml_error_in_the_base_config_names_file_line_and_column(workdir):
    with open(workdir / "config" / "config.yaml", "a") as f:
        f.write("extra: {open: [1, 2}\n")
    line = len((workdir / "config" / "config.yaml").read_text().splitlines())
    r = snakemake(workdir, {}, "-n")
    assert r.returncode != 0
    assert f"config/config.yaml:{line}:" in r.stderr + r.stdout and "not valid YAML" in r.stderr + r.stdout
    assert not (workdir / "results").exists()


@pytest.mark.parametrize("text, message", [
    ("train: {epochs: 1\n  bad: [\n", "afa check-config: error: bad.yaml:2:6: not valid YAML (expected ',' or '}', but got ':')"),
    (None, "afa check-config: error: bad.yaml: no such config file"),
    ("train: {epoch: 1}\n", "afa check-config: error: config: train: Additional properties are not allowed ('epoch' was unexpected)"),
    ("- a\n- b\n", "afa check-config: error: bad.yaml: a config file must map keys to values, got a list"),
])
def test_afa_check_config_names_the_file_line_or_key_of_a_bad_overlay(workdir, text, message):
    """snakemake parses --configfile itself, before the workflow's code runs: a syntax error there
    names no file and a missing file is a traceback. `afa check-config` says which, in one line."""
    if text is not None:
        (workdir / "bad.yaml").write_text(text)
    r = subprocess.run(["afa", "check-config", "--configfile", "bad.yaml"], cwd=workdir, capture_output=True, text=True)
    assert r.returncode == 1
    assert r.stderr.strip() == message


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has CUDA")
def test_a_cuda_device_this_machine_lacks_stops_before_any_job(workdir):
    r = snakemake(workdir, {"model_settings": {"minilm": {"kind": "hf", "name_or_path": "x", "train": {"device": "cuda:1"}}}}, "-n")
    assert r.returncode != 0
    assert "config: model_settings.minilm.train.device is 'cuda:1' but this torch is built without CUDA" in r.stdout + r.stderr
    assert not (workdir / "results").exists()


@pytest.mark.parametrize("outdir", ["my results", "inj$(touch PWNED)x", "it's `touch PWNED`"])
def test_an_outdir_with_shell_characters_runs_as_written_and_runs_nothing_else(workdir, outdir):
    """Every path reaches the shell quoted: the train job (which also gets the lexicon, a path under
    outdir) runs, writes under that very folder, and no command hidden in the name runs."""
    target = f"{outdir}/models/sst2/scratch/baseline/seed1/train_metrics.json"
    r = snakemake(workdir, {"outdir": outdir, "datasets": ["sst2"], "data": {"source": "sample", "max_train": 100},
                            "train": {"epochs": 1}}, target)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "--lexicon " + shlex.quote(f"{outdir}/data/sst_phrases/lexicon.json") in r.stdout + r.stderr
    assert (workdir / target).exists()
    assert not list(workdir.rglob("PWNED"))


@pytest.mark.slow
def test_ag_news_four_classes_train_and_are_scored_from_the_sample(workdir):
    """README command 1 leaves AG News out to stay short (config/config.yaml); its 4-class path runs here:
    the sample's AG News split prepared, a baseline and an AFA run trained, accuracy and deletion scored."""
    over = {"datasets": ["agnews"], "seeds": [1], "data": {"source": "sample", "max_train": 200, "max_test": 80},
            "train": {"epochs": 1}, "threads": {"train": 1}, "claims": {"control_seeds": []}}
    targets = [f"results/sample/eval/{e}/agnews/scratch/{m}/seed1.json" for e in ("accuracy", "deletion")
               for m in ("baseline", "afa")]
    r = snakemake(workdir, over, *targets)
    assert r.returncode == 0, r.stderr[-3000:]
    for m in ("baseline", "afa"):
        acc = json.loads((workdir / f"results/sample/eval/accuracy/agnews/scratch/{m}/seed1.json").read_text())
        assert acc["n"] == 80 and 0 <= acc["accuracy"] <= 1
        preds = list(csv.DictReader(open(workdir / f"results/sample/eval/accuracy/agnews/scratch/{m}/seed1.predictions.csv")))
        assert {int(row["label"]) for row in preds} <= {0, 1, 2, 3} and len({row["label"] for row in preds}) > 2


@pytest.mark.parametrize("lost", ["tokenizer", "afa_model.json"])
def test_a_run_file_deleted_by_hand_trains_the_run_again(workdir, lost):
    """An evaluation reads the run's tokenizer/ and afa_model.json as well as its weights: with one
    gone, an evaluation run again retrains the run first, instead of failing on the missing file.
    (While every result is up to date, snakemake leaves a missing intermediate file missing, as it
    does the models that results/paper's report renders without.)"""
    small = {"datasets": ["sst2"], "data": {"source": "sample", "max_train": 100}, "train": {"epochs": 1}}
    target = "results/sample/eval/accuracy/sst2/scratch/baseline/seed1.json"
    assert snakemake(workdir, small, target).returncode == 0
    path = workdir / "results/sample/models/sst2/scratch/baseline/seed1" / lost
    shutil.rmtree(path) if path.is_dir() else path.unlink()
    r = snakemake(workdir, small, target, "-n", "--forcerun", "evaluate_accuracy")
    assert r.returncode == 0, r.stderr[-2000:]
    assert re.search(r"^rule train:\n(    .*\n)*?    reason: Missing output files: .*" + re.escape(lost), r.stdout, re.M), r.stdout


def test_every_evaluation_has_one_name_for_module_command_rule_and_settings(workdir):
    """afa/evaluation/<name>.py, `afa <name>`, rule evaluate_<name>, config block <name>, for every
    registered evaluation, whether its rule is written out or made from the registry."""
    import importlib

    from afa.evaluation import EVALUATIONS

    r = snakemake(workdir, {}, "-n", "-p", "--forceall")
    assert r.returncode == 0, r.stderr[-3000:]
    jobs = set(re.findall(r"^rule (\w+):", r.stdout, re.M))
    schema = yaml.safe_load((REPO / "config" / "schema.yaml").read_text())["properties"]
    for name, ev in EVALUATIONS.items():
        assert hasattr(importlib.import_module(f"afa.evaluation.{name}"), "evaluate"), name
        assert f"evaluate_{name}" in jobs, f"the sample DAG runs no evaluate_{name}"
        assert re.search(rf"^Shell command: (\S+=\S+ )*afa {name} --run", r.stdout, re.M), f"no job calls `afa {name}`"
        assert bool(ev.settings) == (name in schema), f"config block {name!r} and --settings disagree"


TOY_EVALUATION = '''"""A throwaway evaluation: what it was given (the registry test's)."""
from afa.io import write_result


def evaluate(run_dir, data_dir, out_json, table, settings, meta):
    table.write_text("n_settings\\n%d\\n" % len(settings))
    write_result(out_json, {**meta, "settings": settings, "data": str(data_dir), "weights": sorted(p.name for p in run_dir.iterdir())})
'''


@pytest.mark.slow
def test_an_evaluation_is_its_module_and_one_registry_entry(workdir, tmp_path_factory):
    """A copy of the package with one new module, its settings class and one registry entry, and nothing
    else (the config schema's `toy:` block comes from the class): the DAG gets evaluate_toy, `afa toy`
    runs it, its settings block reaches it (checked: a bad value stops the workflow), and its result,
    table and benchmark are written."""
    pkg = tmp_path_factory.mktemp("pkg")
    shutil.copytree(REPO / "src" / "afa", pkg / "afa", ignore=shutil.ignore_patterns("__pycache__"))
    (pkg / "afa" / "evaluation" / "toy.py").write_text(TOY_EVALUATION)
    options = pkg / "afa" / "evaluation" / "options.py"
    options.write_text(options.read_text() + '\n\n@dataclass\nclass Toy:\n    """A throwaway."""\n\n'
                       '    k: int = setting(1, "a number", type="integer", minimum=0)\n')
    init = pkg / "afa" / "evaluation" / "__init__.py"
    text = init.read_text()
    assert text.rstrip().endswith("]}")
    entry = ('    Evaluation("toy", "a throwaway", outputs=(("--table", "a CSV"),), settings=options.Toy,\n'
             '               call=lambda m, a: m.evaluate(a.run, a.data, a.out, a.table, a.settings, a.meta),\n'
             '               rule_outputs=(".toy.csv",)),\n]}\n')
    init.write_text(text.rstrip()[:-2] + entry)
    over = {"datasets": ["sst2"], "data": {"source": "sample", "max_train": 200, "max_test": 50},
            "train": {"epochs": 1, "batch_size": 32}, "threads": {"train": 1}}
    env = {**os.environ, "PYTHONPATH": str(pkg)}
    (workdir / "override.yaml").write_text(yaml.safe_dump({**over, "toy": {"k": -1}}))
    bad = subprocess.run(["snakemake", "-n", "--cores", "1", "--configfile", "override.yaml"], cwd=workdir,
                         capture_output=True, text=True, timeout=300, env=env)
    assert bad.returncode == 1 and "config: toy.k: -1 is less than the minimum of 0" in bad.stdout + bad.stderr
    over = {**over, "toy": {"k": 3}}
    (workdir / "override.yaml").write_text(yaml.safe_dump(over))
    r = subprocess.run(["snakemake", "results/sample/eval/toy/sst2/scratch/baseline/seed1.json", "--cores", "2",
                        "--configfile", "override.yaml"], cwd=workdir, capture_output=True, text=True,
                       timeout=1500, env={**os.environ, "PYTHONPATH": str(pkg)})
    assert r.returncode == 0, r.stderr[-3000:]
    assert "rule evaluate_toy:" in r.stdout + r.stderr
    stem = workdir / "results/sample/eval/toy/sst2/scratch/baseline/seed1"
    result = json.loads(stem.with_suffix(".json").read_text())
    assert result["settings"] == {"k": 3} and result["seed"] == "1" and "model.safetensors" in result["weights"]
    assert Path(str(stem) + ".toy.csv").read_text() == "n_settings\n1\n"
    assert (workdir / "results/sample/benchmarks/evaluate_toy/sst2/scratch/baseline/seed1.tsv").exists()


@pytest.mark.slow
def test_sample_dag_end_to_end(workdir):
    """The real DAG on a slice of the embedded sample: data -> train -> evaluate -> rendered table."""
    over = {"datasets": ["sst2"], "seeds": [1, 2], "data": {"source": "sample", "max_train": 200, "max_test": 100},
            "train": {"epochs": 1, "batch_size": 32, "lr": 1.0e-3}, "threads": {"train": 1},
            "alignment": {"pairs": [{"rationales": "sst_phrases", "trained_on": "sst2"}]},
            "deletion": {"max_examples": 60},
            "robustness": {"n": 5, "query_budget": 100}, "lexicons": {"sst2": "sst_phrases"},
            "per_dataset": {"sst2": {"methods": ["baseline", "afa"]}}}  # not every variant: keep it short
    dag = snakemake(workdir, over)
    assert dag.returncode == 0, dag.stderr[-3000:]
    out = workdir / "results" / "sample"
    for f in ("main_table.ipynb", "main_table.html", "main_table.csv",
              "deletion_curves.ipynb", "deletion_curves.html", "deletion_curves.csv", "deletion_curves.png",
              "rationale_table.csv", "rationale_table.html", "attention_heatmaps.png", "attention_heatmaps.html",
              "signal_health.csv", "signal_health.png", "signal_health.html",
              "robustness_table.ipynb", "robustness_table.html", "robustness_table.csv",
              "probe_table.ipynb", "probe_table.html", "probe_table.csv",
              "claims.ipynb", "claims.html", "claims.csv"):
        assert (out / f).stat().st_size > 0
    rows = list(csv.DictReader(open(out / "main_table.csv")))
    assert {(r["dataset"], r["method"]) for r in rows} == {("sst2", "baseline"), ("sst2", "afa")}
    for method in ("baseline", "afa"):
        for seed in (1, 2):
            m = json.loads((out / f"eval/accuracy/sst2/scratch/{method}/seed{seed}.json").read_text())
            assert m["n"] == 100 and 0 <= m["accuracy"] <= 1
            run = out / f"models/sst2/scratch/{method}/seed{seed}"
            assert (run / "model.safetensors").exists() and (run / "dynamics.jsonl").exists()
    assert (out / "models/sst2/scratch/afa/seed1/afa.safetensors").exists()
    deletion = json.loads((out / "eval/deletion/sst2/scratch/afa/seed1.json").read_text())
    levels = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["deletion"]["levels"]
    assert len(deletion["levels"]) == len(levels) and deletion["n"] == 60  # the seeded subset
    assert deletion["eraser"]["per_example"]["id"] == deletion["per_example"]["id"]  # config.yaml has ERASER's bins
    # robustness: the NLTK data rule ran, every run was attacked by every recipe, the table has every cell
    assert json.loads((out / "resources/nltk_data/resources.json").read_text())["stopwords_english"] == 179
    recipes = {"deepwordbug", "pwws", "pruthi", "textfooler_offline"}
    for method in ("baseline", "afa"):
        for seed in (1, 2):
            r = json.loads((out / f"eval/robustness/sst2/scratch/{method}/seed{seed}.json").read_text())
            assert r["n"] == 5 and set(r["recipes"]) == recipes
            assert len(list(csv.DictReader(open(out / f"eval/robustness/sst2/scratch/{method}/seed{seed}.csv")))) == 20
    rows = list(csv.DictReader(open(out / "robustness_table.csv")))
    assert {(r["recipe"], r["method"]) for r in rows} == {(x, m) for x in recipes for m in ("baseline", "afa")}
    assert all(r["seeds"] == "2" and r["n"] == "5" for r in rows)
    # the mechanism probe: every sst2 run (the sample's lexicon is SST's), only the rewards each run has
    for method in ("baseline", "afa"):
        for seed in (1, 2):
            p = json.loads((out / f"eval/probe/sst2/scratch/{method}/seed{seed}.json").read_text())
            assert p["split"] == "validation" and p["sentences"] > 0 and p["rows"]
            assert set(p["rewards"]) == ({"confidence_drop"} if method == "baseline" else {"detect", "deceive", "confidence_drop"})
            assert (out / f"eval/probe/sst2/scratch/{method}/seed{seed}.examples.jsonl.gz").stat().st_size > 0
    rows = list(csv.DictReader(open(out / "probe_table.csv")))
    assert {(r["method"], r["reward"]) for r in rows} == {("baseline", "confidence_drop"), ("afa", "detect"),
                                                         ("afa", "deceive"), ("afa", "confidence_drop")}
    assert all(r["seeds"] == "2" for r in rows) and "random_vs_none" in {r["comparison"] for r in rows}
    # the claims table: the control seed (config.yaml: 3) trained the baseline only, and got the
    # evaluations of claims 1-3 (accuracy, alignment, deletion), not the probe's or the attacks';
    # afa_paper (not trained in this slice) says so; every verdict is capped (2 seeds)
    for f in ("accuracy/sst2", "deletion/sst2", "alignment/sst_phrases/sst2"):
        assert (out / f"eval/{f}/scratch/baseline/seed3.json").exists()
    assert not (out / "models/sst2/scratch/afa/seed3").exists()
    assert not (out / "eval/probe/sst2/scratch/baseline/seed3.json").exists()
    claims = claims_rows(out / "claims.csv")
    live = claims[("1 accuracy", "sst2 dev / scratch", "live")]
    assert live["method"] == "afa" and live["seeds"] == "2" and live["verdict"] == "inconclusive (2 seeds < 5)"
    assert claims[("1 accuracy", "sst2 dev / scratch", "paper_literal")]["verdict"] == "not run (no afa_paper runs)"
    for kind in ("accuracy", "comprehensiveness"):
        control = claims[("A/A control", "sst2 dev / scratch", "control", kind)]
        assert control["method"] == "baseline seeds [3] vs [1, 2]" and control["note"].startswith("too few seeds")
    assert {r["claim"] for r in claims.values()} >= {"1 accuracy", "2 rationale alignment", "3 faithfulness",
                                                     "4 larger K, long texts", "5 LLM", "6 robustness (open)"}
    assert len({r["objective_sha"] for r in claims.values() if r["objective_sha"]}) == 1
    # nothing half-written is left behind
    align = json.loads((out / "eval/alignment/sst_phrases/sst2/scratch/afa/seed2.json").read_text())
    assert align["n"] + align["skipped"] == 100 and 0 <= align["auprc"] <= 1 and 0 <= align["iou_f1"] <= 1
    rationale = {(r["rationales"], r["trained_on"], r["method"]): r for r in csv.DictReader(open(out / "rationale_table.csv"))}
    assert set(rationale) == {("sst_phrases", "sst2", m) for m in ("baseline", "afa", "chance", "position_first",
                                                                   "position_last")}
    assert float(rationale[("sst_phrases", "sst2", "chance")]["auprc"]) > align["positive_rate"]
    assert rationale[("sst_phrases", "sst2", "afa")]["auprc_boot"].count("p=") == 1  # AFA vs baseline was tested
    assert not list(out.rglob("*.tmp*"))
    # the front page is the DAG's last step, and the run ends by naming it
    assert f"The report page: {out.resolve() / 'index.html'}" in dag.stdout
    index = (out / "index.html").read_text()
    assert "What was found" in index and "inconclusive (2 seeds &lt; 5)" in index and "probe_table.html" in index
    if shutil.which("chromium") or os.environ.get("CI"):
        for page in ("index.html", "claims.html", "deletion_curves.html", "probe_table.html"):
            check_page(out / page)  # tests/test_index_page.py: no sideways scroll, cells whole, results first
    # snakemake's own report: every figure and table with its caption, the DAG and the runtimes
    r = subprocess.run(["snakemake", "--report", "report.html", "--configfile", "override.yaml"], cwd=workdir,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (workdir / "report.html").stat().st_size > 100_000

    # a checkout holds what .gitignore lets through: the per-run files, no models, data or logs;
    # profiles/report renders the notebooks from them and trains nothing
    kept = {"train_metrics.json", "dynamics.jsonl"}
    for f in [p for p in (out / "models").rglob("*") if p.is_file() and p.name not in kept]:
        f.unlink()
    for d in ("data", "resources", "logs"):
        shutil.rmtree(out / d)
    tables = ["claims.html", "claims.csv", "main_table.html", "signal_health.png"]
    for f in tables:
        (out / f).unlink()
    r = snakemake(workdir, over, "--profile", "profiles/report")
    assert r.returncode == 0, r.stderr[-3000:]
    assert all((out / f).stat().st_size > 0 for f in tables)
    assert {k: r["verdict"] for k, r in claims_rows(out / "claims.csv").items()} == \
        {k: r["verdict"] for k, r in claims.items()}
    assert not list((out / "models").rglob("*.safetensors")) and not (out / "data").exists()


def test_which_source_is_not_a_prepare_setting(workdir):
    """data.sources picks where a dataset comes from; `afa prepare` must not receive it."""
    over = {"datasets": ["sst2"], "data": {"source": "sample", "sources": {"sst_phrases": "sample"}}}
    r = snakemake(workdir, over, "-n", "-p", "results/sample/data/sst_phrases/train.jsonl.gz")
    assert r.returncode == 0, r.stderr[-2000:]
    prepare = [line for line in (r.stdout + r.stderr).splitlines() if "afa prepare --dataset" in line]
    assert prepare and all("sources" not in line for line in prepare)


def test_a_dataset_can_have_its_own_split_settings(workdir):
    """data.overrides: one dataset's validation share differs, the others keep `data`'s; a key
    prepare does not know is refused by the schema, naming it."""
    over = {"datasets": ["sst2", "imdb"], "data": {"overrides": {"imdb": {"validation_fraction": 0.25}}}}
    r = snakemake(workdir, over, "-n", "-p", "results/sample/data/sst2/train.jsonl.gz",
                  "results/sample/data/imdb/train.jsonl.gz")
    assert r.returncode == 0, (r.stdout + r.stderr)[-2000:]
    settings = {re.search(r"--dataset (\w+)", s).group(1): json.loads(shlex.split(s)[shlex.split(s).index("--settings") + 1])
                for s in (r.stdout + r.stderr).splitlines() if "afa prepare --dataset" in s}
    default = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["data"].get("validation_fraction", 0.1)
    assert settings["imdb"]["validation_fraction"] == 0.25 and settings["sst2"].get("validation_fraction", 0.1) == default
    assert all("overrides" not in s for s in settings.values())
    bad = snakemake(workdir, {"data": {"overrides": {"imdb": {"validation_fractoin": 0.2}}}}, "-n")
    assert bad.returncode != 0 and "validation_fractoin" in bad.stdout + bad.stderr


def test_per_model_gives_one_model_its_own_runs_threads_length_and_evaluations(workdir):
    """An overlay of small models and a costly one: per_model narrows the costly model's methods and
    seeds and sets its train threads and max_length; deletion.model_overrides, robustness.models and
    claims.control_models keep its evaluations short; the small model's runs are as without it."""
    over = {"datasets": ["sst2"], "models": ["scratch", "minilm"], "seeds": [1, 2],
            "per_model": {"minilm": {"methods": ["baseline", "afa"], "seeds": [1], "threads": 2,
                                     "max_length": {"sst2": 32}}},
            "deletion": {"model_overrides": {"minilm": {"random_draws": 2}}},
            "robustness": {"models": ["scratch"]}, "claims": {"control_models": ["scratch"]}}
    r = snakemake(workdir, over, "-n", "-p")
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    shells = (r.stdout + r.stderr).splitlines()
    trains = {tuple(re.search(r"--out \S+/sst2/(\w+)/(\w+)/seed(\d+)", s).groups()): s
              for s in shells if "afa train " in s}
    assert sorted(k for k in trains if k[0] == "minilm") == [("minilm", "afa", "1"), ("minilm", "baseline", "1")]
    # the scratch runs: every method of per_dataset.sst2, both seeds, and the control seed 3 (baseline)
    assert len([k for k in trains if k[0] == "scratch"]) == 3 * 2 + 1
    assert ("minilm", "baseline", "3") not in trains
    for (model, _, _), s in trains.items():
        assert ("OMP_NUM_THREADS=2 afa train" if model == "minilm" else "OMP_NUM_THREADS=1 afa train") in s
        assert ("--max-length 32" if model == "minilm" else "--max-length 64") in s
    deletions = [s for s in shells if "afa deletion " in s]
    assert len(deletions) == 3 * 2 + 2 + 1  # and the A/A control's baseline seed 3 (of scratch only)
    assert all(('"random_draws": 2' in s) == ("/minilm/" in s) for s in deletions)
    attacks = [s for s in shells if "afa robustness " in s]
    assert attacks and not any("/minilm/" in s for s in attacks)
    # robustness.models picks the runs; the attack itself must not get it (it stops on an unknown option)
    for s in attacks:
        settings = json.loads(shlex.split(s)[shlex.split(s).index("--settings") + 1])
        assert not set(settings) & set(SELECTION), settings
        check_settings(settings)


def train_settings(stdout):
    """The --settings of each `afa train` a dry run prints, by (dataset, method)."""
    out = {}
    for s in stdout.splitlines():
        if "afa train " in s:
            words = shlex.split(s[s.index("afa train "):])
            run = re.search(r"/(\w+)/\w+/(\w+)/seed\d+$", words[words.index("--out") + 1]).groups()
            out[run] = json.loads(words[words.index("--settings") + 1])
    return out


def test_method_overrides_patch_one_datasets_runs_key_by_key(workdir):
    """method_overrides.imdb.afa: D's attention fused for the IMDB runs of afa alone; D's other settings
    and every other run's settings stay as method_settings has them."""
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    over = {"datasets": ["sst2", "imdb"], "method_overrides": {"imdb": {"afa": {"disc": {"attention": "fused"}, "K": 5}}}}
    r = snakemake(workdir, over, "-n", "-p", "--forceall")
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    settings = {run: both["method"] for run, both in train_settings(r.stdout).items()}
    base = config["method_settings"]["afa"]
    assert settings[("imdb", "afa")] == {**base, "K": 5, "disc": {**base["disc"], "attention": "fused"}}
    assert settings[("sst2", "afa")] == base
    assert {run: m for run, m in settings.items() if run != ("imdb", "afa")} == \
        {(ds, meth): config["method_settings"][meth] for ds, meth in settings if (ds, meth) != ("imdb", "afa")}


def test_model_overrides_patch_one_datasets_target_alone(workdir):
    """model_overrides.sst2.scratch: SST-2's from-scratch target with learned positions and no dropout;
    IMDB's stays as model_settings has it. A patch of a model the config does not define is one line."""
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    over = {"datasets": ["sst2", "imdb"], "model_overrides": {"sst2": {"scratch": {"positions": "learned", "dropout": 0.0}}}}
    r = snakemake(workdir, over, "-n", "-p", "--forceall")
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    models = {run: both["model"] for run, both in train_settings(r.stdout).items()}
    base = config["model_settings"]["scratch"]
    assert all(m == {**base, "positions": "learned", "dropout": 0.0} for (ds, _), m in models.items() if ds == "sst2")
    assert all(m == base for (ds, _), m in models.items() if ds == "imdb") and len(models) >= 4
    r = snakemake(workdir, {"model_overrides": {"sst2": {"scratch_typo": {"dropout": 0.0}}}}, "-n")
    assert r.returncode != 0 and "model_overrides.sst2 has an entry for 'scratch_typo'" in r.stdout + r.stderr
    r = snakemake(workdir, {"model_overrides": {"sst2": {"scratch": {"positons": "learned"}}}}, "-n")
    assert r.returncode != 0 and "model_overrides.sst2.scratch" in r.stdout + r.stderr and "positons" in r.stdout + r.stderr


def test_the_ablations_notebook_joins_the_dag_when_a_parameter_is_swept(workdir):
    base = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["method_settings"]["afa"]
    plain = snakemake(workdir, {"datasets": ["sst2"]}, "-n")
    assert plain.returncode == 0 and "rule ablations" not in plain.stdout
    swept = {"datasets": ["sst2"], "methods": ["baseline", "afa", "afa_k1"], "per_dataset": {"sst2": {"methods": None}},
             "method_settings": {"afa_k1": {**base, "K": 1}}, "per_method": {"afa_k1": {"seeds": [2]}}}
    r = snakemake(workdir, swept, "-n", "-p", "results/sample/ablations.csv")
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    trained = {re.search(r"--out \S+/sst2/scratch/(\w+/seed\d+)", s).group(1) for s in r.stdout.splitlines() if "afa train " in s}
    assert trained == {"baseline/seed1", "baseline/seed2", "afa/seed1", "afa/seed2", "afa_k1/seed2"}  # per_method: one seed
    render = shlex.split(next(s for s in r.stdout.splitlines() if "afa render --notebook notebooks/ablations.py" in s))
    params = json.loads(render[render.index("--parameters") + 1])
    assert {f.split("/")[-2] for f in params["accuracy_files"]} == {"baseline", "afa", "afa_k1"}
    assert params["sweeps"] == ["K", "eps", "lambda", "disc.layers"] and params["live"] == "afa"


def test_ablation_only_methods_train_and_score_accuracy_alone(workdir):
    """ablations.methods: runs for the ablations notebook and the claims table's K rows only; no
    other evaluation or table asks for them, and a name method_settings lacks stops the DAG."""
    base = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["method_settings"]["afa"]
    over = {"datasets": ["sst2", "imdb"], "per_dataset": {"sst2": {"methods": None}},
            "method_settings": {"afa_k1": {**base, "K": 1}, "afa_eps0": {**base, "eps": 0.0}},
            "ablations": {"methods": ["afa_k1", "afa_eps0"], "datasets": ["sst2"]},
            "per_method": {"afa_k1": {"seeds": [2]}}}
    r = snakemake(workdir, over, "-n", "-p")
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    shells = r.stdout.splitlines()
    ablated = [s for s in shells if re.search(r"/(afa_k1|afa_eps0)/", s) and "afa render" not in s]
    trained = {re.search(r"--out \S+/(\w+)/scratch/(\w+/seed\d+)", s).groups() for s in ablated if "afa train " in s}
    assert trained == {("sst2", "afa_k1/seed2"), ("sst2", "afa_eps0/seed1"), ("sst2", "afa_eps0/seed2")}
    commands = {m.group(1) for s in ablated for m in [re.search(r"(?:^|[\s:])(afa \w+) --", s)] if m}
    assert commands == {"afa train", "afa accuracy"}  # nothing else runs on them ...
    renders = {re.search(r"notebooks/(\w+)\.py", s).group(1): json.loads(shlex.split(s)[shlex.split(s).index("--parameters") + 1])
               for s in shells if "afa render --notebook" in s}
    for name, params in renders.items():
        files = [f for k, v in params.items() if k.endswith("files") for f in v]
        ablation_files = [f for f in files if re.search(r"/(afa_k1|afa_eps0)/", f)]
        # ... and only the ablations notebook and the claims table (afa_k1 is a K variant) read them
        expect = {"ablations": 6, "claims": 2}.get(name, 0)
        assert len(ablation_files) == expect, (name, ablation_files)
    bad = snakemake(workdir, {**over, "ablations": {"methods": ["afa_nope"]}}, "-n")
    assert bad.returncode != 0 and "ablations.methods lists 'afa_nope', which method_settings does not define" in bad.stdout + bad.stderr


def test_a_dataset_can_sweep_its_own_ablation_methods(workdir):
    """ablations.per_dataset: IMDB's costlier runs sweep K alone while SST-2 sweeps every parameter."""
    base = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["method_settings"]["afa"]
    over = {"datasets": ["sst2", "imdb"], "per_dataset": {"sst2": {"methods": None}},
            "method_settings": {"afa_k1": {**base, "K": 1}, "afa_eps0": {**base, "eps": 0.0}},
            "ablations": {"methods": ["afa_k1", "afa_eps0"], "per_dataset": {"imdb": ["afa_k1"]}},
            "per_method": {"afa_k1": {"seeds": [2]}, "afa_eps0": {"seeds": [2]}}}
    r = snakemake(workdir, over, "-n", "-p")
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    trained = {re.search(r"--out \S+/(\w+)/scratch/(\w+/seed\d+)", s).groups() for s in r.stdout.splitlines()
               if "afa train " in s and re.search(r"/(afa_k1|afa_eps0)/", s)}
    assert trained == {("sst2", "afa_k1/seed2"), ("sst2", "afa_eps0/seed2"), ("imdb", "afa_k1/seed2")}
    bad = snakemake(workdir, {**over, "ablations": {"methods": ["afa_k1"], "per_dataset": {"imdb": ["afa_nope"]}}}, "-n")
    assert bad.returncode != 0 and ("ablations.per_dataset.imdb lists 'afa_nope', which method_settings does not define"
                                    in bad.stdout + bad.stderr)


def test_a_method_can_train_on_a_subset_of_one_dataset(workdir):
    """per_method.<m>.train_overrides.<dataset>: IMDB's K ablation on a seeded subset (max_train) above
    the dataset's own train_overrides; the method's SST-2 runs and every other run keep theirs, and a
    bad value is refused by the schema, naming it."""
    base = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["method_settings"]["afa"]
    over = {"datasets": ["sst2", "imdb"], "per_dataset": {"sst2": {"methods": None}},
            "method_settings": {"afa_k1": {**base, "K": 1}}, "ablations": {"methods": ["afa_k1"]},
            "train_overrides": {"imdb": {"epochs": 2, "lr": 0.002}},
            "per_method": {"afa_k1": {"seeds": [2], "train_overrides": {"imdb": {"max_train": 40, "lr": 0.003}}}}}
    r = snakemake(workdir, over, "-n", "-p")
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    train = {run: both["train"] for run, both in train_settings(r.stdout).items()}
    assert train[("imdb", "afa_k1")]["max_train"] == 40 and train[("imdb", "afa_k1")]["lr"] == 0.003
    assert train[("imdb", "afa_k1")]["epochs"] == 2  # the dataset's override beneath the method's
    assert train[("imdb", "afa")]["lr"] == 0.002 and "max_train" not in train[("imdb", "afa")]
    assert train[("sst2", "afa_k1")].get("max_train") is None and train[("sst2", "afa_k1")]["lr"] != 0.003
    bad = snakemake(workdir, {**over, "per_method": {"afa_k1": {"train_overrides": {"imdb": {"max_train": "5k"}}}}}, "-n")
    assert bad.returncode != 0 and "max_train" in bad.stdout + bad.stderr


def test_probe_seeds_pick_which_seeds_of_a_dataset_are_probed(workdir):
    """probe.seeds names a dataset's probed seeds (its other runs are trained and scored, not probed);
    the selection stays in the DAG: the probe's --settings are the probe's own."""
    over = {"datasets": ["sst2"], "seeds": [1, 2], "lexicons": {"sst2": "sst_phrases"},
            "per_dataset": {"sst2": {"methods": ["baseline", "afa"]}}, "probe": {"seeds": {"sst2": [2]}}}
    r = snakemake(workdir, over, "-n", "-p")
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    probes = [s for s in (r.stdout + r.stderr).splitlines() if "afa probe " in s]
    assert sorted(re.search(r"--run \S+/sst2/scratch/(\w+)/seed(\d+)", s).groups() for s in probes) == [
        ("afa", "2"), ("baseline", "2")]
    for s in probes:
        settings = json.loads(shlex.split(s)[shlex.split(s).index("--settings") + 1])
        assert not {"datasets", "seeds"} & set(settings), settings
