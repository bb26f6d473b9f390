"""The run table (afa.runs): which runs a configuration trains, which page reads which of their files,
and each run's resolved settings. tests/test_overlays.py checks it against the DAG of every
committed configuration; here, its rules one at a time on the sample configuration."""

import copy
import json
import re

import pytest
from conftest import REPO

from afa import config_check
from afa.runs import RunTable

BASE = config_check.check(base=REPO / "config/config.yaml", schema=REPO / "config/schema.yaml")


def config(**changes):
    c = copy.deepcopy(BASE)
    c.update(changes)
    return c


def keys(runs):
    return [(r.dataset, r.model, r.method, r.seed) for r in runs]


def test_the_sample_trains_each_dataset_s_methods_at_the_global_seeds_and_one_control_seed():
    t = RunTable(BASE)
    got = [(r.dataset, r.method, r.seed, kind) for r, kind in t.runs()]
    assert got[:6] == [("sst2", m, s, "grid") for m in ("baseline", "afa", "afa_paper") for s in (1, 2)]
    assert got[6:10] == [("imdb", m, s, "grid") for m in ("baseline", "afa") for s in (1, 2)]
    assert got[-1] == ("sst2", "baseline", 3, "control")  # control_datasets null: the accuracy claims' datasets
    assert len(got) == len(set(got)) == 11  # AG News is the test suite's (tests/test_workflow.py), not command 1's


def test_the_narrowest_list_wins_per_model_then_per_dataset_then_global_and_per_method_seeds_beat_all():
    c = config(datasets=["sst2"], models=["scratch", "minilm"], seeds=[1, 2, 3],
               per_dataset={"sst2": {"methods": ["baseline", "afa"], "seeds": [1, 2]}},
               per_model={"minilm": {"seeds": [7], "methods": ["baseline"]}},
               per_method={"afa": {"seeds": [9]}}, claims={"control_seeds": []})
    got = set(keys(r for r, _ in RunTable(c).runs()))
    assert got == {("sst2", "scratch", "baseline", 1), ("sst2", "scratch", "baseline", 2),
                   ("sst2", "scratch", "afa", 9), ("sst2", "minilm", "baseline", 7)}


def test_ablation_runs_are_trained_only_when_a_page_reads_them():
    """An ablation method is read by the claims table (a K variant of a column) or the ablations page
    (a swept parameter with two values or more); any other is not trained at all."""
    ms = {**BASE["method_settings"], "afa_k1": {**BASE["method_settings"]["afa"], "K": 1},
          "afa_odd": {**BASE["method_settings"]["afa"], "K": 1, "eps": 0.5}}
    c = config(datasets=["sst2"], method_settings=ms, ablations={"methods": ["afa_k1", "afa_odd"], "parameters": []})
    t = RunTable(c)
    kinds = {k: kind for (k, kind) in ((keys([r])[0], kind) for r, kind in t.runs())}
    assert kinds[("sst2", "scratch", "afa_k1", 1)] == "ablation"
    assert not any(m == "afa_odd" for _, _, m, _ in kinds)
    # the claims table reads the K variant's accuracy and train metrics, not its deletion
    assert ("sst2", "scratch", "afa_k1", 1) in keys(t.read("claims", "accuracy"))
    assert ("sst2", "scratch", "afa_k1", 1) not in keys(t.read("claims", "deletion"))
    assert "ablations" not in t.pages()  # K swept as a claims K variant, but ablations.parameters is empty


def test_the_control_runs_are_the_baseline_at_the_control_seeds_of_the_models_that_train_one():
    c = config(datasets=["sst2", "imdb"], models=["scratch", "minilm"], per_dataset={},
               per_model={"minilm": {"methods": ["afa"]}},
               claims={"control_seeds": [11, 12], "control_datasets": ["sst2"]})
    t = RunTable(c)
    assert keys(t.control()) == [("sst2", "scratch", "baseline", 11), ("sst2", "scratch", "baseline", 12)]
    assert keys(RunTable({**c, "claims": {**c["claims"], "control_models": ["minilm"]}}).control()) == []
    aligned = t.read("claims", "alignment")
    assert [r.rationales for r in aligned if r.seed >= 11] == ["sst_phrases", "sst_phrases"]


def test_probe_seeds_narrow_the_probe_s_runs_per_dataset():
    c = config(probe={**BASE["probe"], "seeds": {"sst2": [2]}})
    assert keys(RunTable(c).read("probe_table", "probe")) == [("sst2", "scratch", m, 2) for m in ("baseline", "afa", "afa_paper")]
    assert RunTable(config(lexicons={})).read("probe_table", "probe") == []
    assert "probe_table" not in RunTable(config(lexicons={})).pages()


def test_robustness_reads_the_runs_its_block_selects_and_the_claims_read_the_claims_methods_among_them():
    c = config(robustness={**BASE["robustness"], "methods": ["afa", "afa_paper"]})
    t = RunTable(c)
    assert {r.method for r in t.read("robustness_table", "robustness")} == {"afa", "afa_paper"}
    assert {r.method for r in t.read("claims", "robustness")} == {"afa", "afa_paper"}
    assert "robustness_table" not in RunTable(config(robustness={})).pages()


def test_files_fill_each_run_s_wildcards():
    t = RunTable(BASE)
    files = t.files("rationale_table", "alignment", "eval/{rationales}/{dataset}/{model}/{method}/seed{seed}.json")
    assert files[0] == "eval/sst_phrases/sst2/scratch/baseline/seed1.json"
    assert files[-1] == "eval/eraser_movies/imdb/scratch/afa/seed2.json"
    with pytest.raises(KeyError, match="no report page 'claim' .*pages: claims, main_table"):
        t.read("claim", "accuracy")


def test_train_settings_resolve_every_override_in_one_place():
    c = config(train_overrides={"sst2": {"epochs": 5, "lr": 0.1}},
               per_method={"afa": {"train_overrides": {"sst2": {"lr": 0.2}}}},
               model_overrides={"sst2": {"scratch": {"dropout": 0.1}}},
               method_overrides={"sst2": {"afa": {"K": 1}}})
    t = RunTable(c)
    s = t.train_settings("sst2", "scratch", "afa")
    assert s["train"]["epochs"] == 5 and s["train"]["lr"] == 0.2  # the method's own beats the dataset's
    assert s["model"]["dropout"] == 0.1 and s["method"]["K"] == 1
    assert t.train_settings("sst2", "scratch", "baseline")["train"]["lr"] == 0.1
    imdb = t.train_settings("imdb", "scratch", "afa")
    assert imdb["model"]["dropout"] == BASE["model_settings"]["scratch"]["dropout"] and imdb["method"]["K"] == 3
    minilm = t.train_settings("sst2", "minilm", "baseline")
    assert minilm["model"]["train"]["epochs"] == 5  # the dataset's overrides beat the model's own train block
    assert t.model_settings("smollm2")["name_or_path"] == "results/sample/resources/llm"


def test_max_length_and_threads_come_from_the_model_s_own_entry_first():
    c = config(per_model={"minilm": {"max_length": {"sst2": 128}, "threads": 2}}, threads={"train": 1})
    t = RunTable(c)
    assert (t.max_length("sst2", "minilm"), t.max_length("sst2", "scratch")) == (128, 64)
    assert (t.threads("minilm"), t.threads("scratch")) == (2, 1)


@pytest.mark.parametrize("change, message", [
    ({"methods": ["baseline", "afaa"]}, "config: methods lists 'afaa', which method_settings does not define"),
    ({"per_dataset": {"sst2": {"models": ["scrath"]}}}, "config: per_dataset.sst2.models lists 'scrath'"),
    ({"per_model": {"scrath": {"seeds": [1]}}}, "config: per_model has an entry for 'scrath'"),
    ({"ablations": {"methods": ["afa_k9"]}}, "config: ablations.methods lists 'afa_k9'"),
    ({"method_overrides": {"sst2": {"afaa": {"K": 1}}}}, "config: method_overrides.sst2 has an entry for 'afaa'"),
    ({"robustness": {"methods": ["afaa"]}}, "config: robustness.methods lists 'afaa'"),
    ({"claims": {"live": "afaa"}}, "config: claims.live is 'afaa', which method_settings does not define"),
    ({"claims": {"extra_columns": {"entropy_only": "entropy_onyl"}}},
     "config: claims.extra_columns.entropy_only is 'entropy_onyl', which method_settings does not define"),
    ({"claims": {"contrasts": {"d_part": ["afa", "entropy"]}}}, "config: claims.contrasts.d_part is 'entropy'"),
    ({"claims": {"controls": ["entropy_only"]}}, "config: claims.controls lists 'entropy_only', which claims.extra_columns"),
    ({"claims": {"column_not_testable": {"afa_exat": {"imdb": "too slow"}}}},
     "config: claims.column_not_testable names column 'afa_exat', which claims.extra_columns does not name"),
    ({"claims": {"control_seeds": [2]}}, r"config: claims.control_seeds \[2\] are also seeds of 'sst2'"),
    ({"max_length": {"sst2": 64}}, "config: max_length has no entry for dataset 'imdb'"),
])
def test_a_misspelt_name_is_one_line_naming_its_key_before_any_run(change, message):
    with pytest.raises(ValueError, match=message):
        RunTable(config(**change))


def test_the_tsv_is_one_line_per_trained_run_with_its_readers_and_settings():
    t = RunTable(BASE)
    lines = t.tsv().splitlines()
    header = lines[0].split("\t")
    assert header[:5] == ["dataset", "model", "method", "seed", "kind"] and header[-1] == "settings"
    rows = [dict(zip(header, line.split("\t"))) for line in lines[1:]]
    assert len(rows) == len(t.runs()) and all(len(line.split("\t")) == len(header) for line in lines)
    first = rows[0]
    assert first["accuracy"] == "claims,main_table" and first["probe"] == "probe_table"
    assert json.loads(first["settings"]) == t.train_settings("sst2", "scratch", "baseline")
    control = rows[-1]
    assert control["kind"] == "control" and control["deletion"] == "claims" and control["probe"] == ""


def test_no_rule_file_selects_runs_itself():
    """Run selection lives in afa.runs alone: no rule file reads the keys that select runs."""
    selecting = re.compile(r"""config(\[|\.get\()["'](datasets|models|methods|seeds|per_dataset|per_model|per_method|"""
                           r"""lexicons|claims|ablations)["']""")
    found = [f"{p.name}: {m.group(0)}" for p in (REPO / "workflow").rglob("*.smk") for m in selecting.finditer(p.read_text())]
    found += [f"{p.name}: {name}" for p in (REPO / "workflow").rglob("*.smk")
              for name in re.findall(r"\b(combos|per_model|control_seeds\]\s+for|ablation_combos)\(", p.read_text())]
    assert not found, found


def test_every_evaluation_of_a_run_gets_its_rule_from_the_registry():
    """No rule file writes out an evaluation's rule, except the discriminator study's (its cells are not
    runs); every other registered evaluation has the rule outputs evaluate.smk's loop needs."""
    from afa.evaluation import EVALUATIONS

    written = {name for p in (REPO / "workflow").rglob("*.smk") for name in re.findall(r"^rule evaluate_(\w+):", p.read_text(), re.M)}
    assert written == {"disc_study"}
    assert {name for name, ev in EVALUATIONS.items() if ev.rule_outputs is None} == {"disc_study"}


def test_the_claims_read_their_extra_columns_and_contrasts_methods():
    c = config(claims={**BASE["claims"], "extra_columns": {"exact": "afa_delete_detect"},
                       "contrasts": {"d_part": ["afa", "afa_unigram_detect"]}})
    assert {"afa_delete_detect", "afa_unigram_detect"} <= set(RunTable(c).claims_methods())


def test_an_overlay_clears_the_extra_columns_with_null_not_with_an_empty_mapping(tmp_path):
    """An empty mapping merges into the one before it and clears nothing (snakemake's overlays, and
    config_check's, merge recursively): config/claims_finished.yaml resets them with null."""
    named = tmp_path / "named.yaml"
    named.write_text("claims: {extra_columns: {exact: afa_delete_detect}, contrasts: {d_part: [afa, afa_unigram_detect]}}\n")
    for reset, cleared in (("{}", False), ("null", True)):
        overlay = tmp_path / "reset.yaml"
        overlay.write_text(f"claims: {{extra_columns: {reset}, contrasts: {reset}}}\n")
        c = config_check.check([named, overlay], base=REPO / "config/config.yaml", schema=REPO / "config/schema.yaml")
        methods = set(RunTable(c).claims_methods())
        assert ({"afa_delete_detect", "afa_unigram_detect"} & methods == set()) is cleared


def test_the_study_s_cells_narrow_per_dataset_and_a_variant_may_have_its_own_budget():
    study = {**BASE["disc_study"], "variants": {"d64": {"d_model": 64}, "w512": {"d_model": 512}},
             "maskings": {"replace": {"masking": "replace"}, "generator": {"masking": "generator"}},
             "steps": 40, "probe_at": [20], "per_dataset": {"imdb": {"variants": ["d64"]}},
             "per_variant": {"d64": {"steps": 100, "probe_at": [20, 40]}}}
    study["per_dataset"]["imdb"]["per_variant"] = {"d64": {"steps": 60}}
    runs = RunTable(config(disc_study=study, lexicons={"sst2": "sst_phrases", "imdb": "sst_phrases"}))
    cells = runs.disc_study()
    assert {(c.dataset, c.variant) for c in cells} >= {("sst2", "d64"), ("sst2", "w512")}
    assert not [c for c in cells if c.dataset == "imdb" and c.variant == "w512"]
    budget = {(c.dataset, c.variant): (s["steps"], s["probe_at"]) for c in cells for s in [runs.disc_study_settings(c)]}
    assert budget == {("sst2", "d64"): (100, [20, 40]), ("sst2", "w512"): (40, [20]), ("imdb", "d64"): (60, [20, 40])}
    assert {c.masking for c in cells if runs.uses_generator(c)} == {"generator"}
    # a dataset's own D settings go over each variant's there, and nowhere else
    study["per_dataset"]["imdb"]["disc"] = {"attention": "fused"}
    runs = RunTable(config(disc_study=study, lexicons={"sst2": "sst_phrases", "imdb": "sst_phrases"}))
    disc = {(c.dataset, c.variant): runs.disc_study_settings(c)["disc"] for c in runs.disc_study()}
    assert disc == {("sst2", "d64"): {"d_model": 64}, ("sst2", "w512"): {"d_model": 512},
                    ("imdb", "d64"): {"d_model": 64, "attention": "fused"}}


def test_the_confirmation_trains_only_the_cells_it_names_at_its_new_seeds():
    study = {**BASE["disc_study"], "variants": {"d64": {"d_model": 64}, "w512": {"d_model": 512}},
             "maskings": {"delete": {"masking": "delete"}}, "seeds": [1, 2],
             "confirm": {"seeds": [4, 5], "cells": ["sst2/d64/delete/uniform"]}}
    runs = RunTable(config(disc_study=study, lexicons={"sst2": "sst_phrases"}))
    seeds = {}
    for c in runs.disc_study():
        seeds.setdefault((c.dataset, c.variant), []).append(c.seed)
    assert seeds == {("sst2", "d64"): [1, 2, 4, 5], ("sst2", "w512"): [1, 2]}
    assert runs.disc_study_stages() == {"screen": [1, 2], "confirm": [4, 5]}


@pytest.mark.parametrize("change, message", [
    ({"per_dataset": {"sst2": {"maskings": ["refil"]}}},
     "config: disc_study.per_dataset.sst2.maskings 'refil', which disc_study.maskings does not define"),
    ({"per_variant": {"d46": {"steps": 5}}}, "config: disc_study.per_variant has an entry for 'd46'"),
    ({"per_variant": {"d64": {"steps": 20}}}, "config: disc_study's probe_at names 20 for variant 'd64' on sst2"),
    ({"per_dataset": {"imdb": {"per_variant": {"d46": {}}}}},
     "config: disc_study.per_dataset.imdb.per_variant has an entry for 'd46'"),
    ({"confirm": {"seeds": [1, 4], "cells": []}}, "config: disc_study.confirm.seeds [1] are also disc_study.seeds"),
    ({"confirm": {"seeds": [4], "cells": ["sst2/d46/delete/uniform"]}},
     "config: disc_study.confirm.cells lists 'sst2/d46/delete/uniform', which is not a cell of the study"),
])
def test_a_misnamed_study_cell_or_a_late_budget_is_one_line(change, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        RunTable(config(disc_study={**BASE["disc_study"], **change}))
