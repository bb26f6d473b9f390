"""The claims table: Holm by hand, the verdict rule, the provenance refusal, the effect on synthetic
runs whose answer is known, and the notebook on a synthetic result tree."""

import gzip
import json
import math
import subprocess

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, claims_rows

from afa import claims, stats, summary
from afa import runs as afa_runs

PROV = {"afa_version": "0.1.0", "commit": "1111111aaaa", "dirty": False, "objective_sha": "sha-one"}


def test_holm_matches_a_hand_computation():
    # sorted: 0.005 x4 = 0.02, 0.01 x3 = 0.03, 0.03 x2 = 0.06, 0.04 x1 = 0.04 -> raised to 0.06 (monotone)
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    adjusted = stats.holm([0.01, float("nan"), 0.04, 0.6])  # NaN: no test, not in the family (m = 3)
    assert adjusted[[0, 2, 3]] == pytest.approx([0.03, 0.08, 0.6]) and math.isnan(adjusted[1])
    assert stats.holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])  # capped at 1
    assert stats.holm([]).size == 0
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        stats.holm([0.2, 1.5])


@pytest.mark.parametrize("effect, lo, hi, p, p_below, seeds, direction, expected", [
    (0.02, 0.01, 0.03, 0.01, 0.9, 5, 1, ("holds", "holds")),
    # significantly the other way: significantly below the minimal effect too
    (-0.02, -0.03, -0.01, 0.01, 0.001, 5, 1, ("does not hold (smaller than the minimal effect 0.005)",) * 2),
    (-0.02, -0.03, -0.01, 0.01, 0.9, 5, -1, ("holds", "holds")),  # a claim that AFA's value is lower
    # a tight interval around nothing: shown smaller than the minimal effect, though not different from 0
    (0.001, -0.002, 0.004, 0.5, 0.01, 5, 1, ("does not hold (smaller than the minimal effect 0.005)",) * 2),
    # the interval lies below the minimal effect, but the Holm-adjusted test does not show it: no verdict
    # rests on an unadjusted interval any more
    (0.001, -0.002, 0.004, 0.5, 0.2, 5, 1, ("inconclusive", "inconclusive")),
    # significantly above 0, significantly below the minimal effect: a real but too small effect
    (0.002, 0.001, 0.003, 0.001, 0.001, 5, 1, ("does not hold (smaller than the minimal effect 0.005)",) * 2),
    (0.01, -0.01, 0.03, 0.3, 0.8, 5, 1, ("inconclusive", "inconclusive")),
    (0.02, 0.01, 0.03, 0.01, 0.9, 3, 1, ("inconclusive (3 seeds < 5)", "holds")),  # the seed floor
    (0.02, 0.01, 0.03, 0.01, 0.9, 1, 1, ("inconclusive (1 seed < 5)", "holds")),
    (0.02, 0.01, 0.03, float("nan"), 0.9, 5, 1, ("inconclusive (no p-value)", "inconclusive")),
    # at the minimal effect exactly, and one rounding step under it (0.01 on a 1/500 grid, as summed
    # by numpy): the interval reaches it either way
    (0.006, 0.002, 0.005, 0.01, 0.9, 5, 1, ("holds", "holds")),
    (0.006, 0.002, 0.004999999999999999, 0.01, 0.9, 5, 1, ("holds", "holds")),
    (0.006, 0.002, 0.00499, 0.01, 0.9, 5, 1, ("inconclusive", "inconclusive")),
])
def test_verdict_rule(effect, lo, hi, p, p_below, seeds, direction, expected):
    assert claims.verdict(effect, lo, hi, p, p_below, seeds, direction, min_effect=0.005) == expected


def test_the_rounding_case_of_the_review_reaches_the_minimal_effect():
    """Claim 6's DeepWordBug cell had ci_high 0.009999999999999998, 0.01 on its 1/500 grid: under a
    minimal effect of 0.01 the interval reaches it."""
    assert claims.reaches(0.009999999999999998, 0.01) and claims.reaches(0.01, 0.01)
    assert not claims.reaches(0.0099, 0.01)


def test_decide_applies_holm_per_family_over_both_tests_before_the_verdict():
    head = dict(claim="1", setting="s", metric="accuracy", metric_kind="accuracy", direction=1, seeds=5, examples="100")
    # three secondary cells: the first alone would hold (p 0.01); its family holds six tests (two a
    # cell), so Holm makes it 0.06
    cells = [claims.cell(**head, column="live", effect=0.05, ci_low=0.01, ci_high=0.09, p=p, se=0.02, df=4.0)
             for p in (0.01, 0.5, 0.9)]
    cells.append(claims.cell(**head, column="control", effect=0.05, ci_low=0.01, ci_high=0.09, p=0.02, se=0.02, df=4.0))
    cells.append(claims.cell(**head, column="paper_literal", verdict="not run (no afa_paper runs)"))
    cells.append(claims.cell(**{**head, "setting": "primary"}, column="live", effect=0.05, ci_low=0.01, ci_high=0.09,
                             p=0.01, se=0.02, df=4.0))
    t = claims.decide(pd.DataFrame(cells), {"accuracy": 0.005}, [{"claim": "1", "setting": "primary", "column": "live"}])
    assert t.family.tolist() == ["secondary"] * 3 + ["control", "", "primary"]
    assert t.p_holm[0] == pytest.approx(0.06) and t.verdict[0] == "inconclusive"
    # the primary cell is a family of its own: two tests, p 0.01 -> 0.02, and it holds
    assert t.p_holm[5] == pytest.approx(0.02) and t.verdict[5] == "holds"
    # the control is its own family: p 0.02 -> 0.04 over its two tests, a false positive
    assert t.p_holm[3] == pytest.approx(0.04) and t.false_positive[3] is True and t.verdict[3] == "holds"
    assert t.verdict[4] == "not run (no afa_paper runs)" and math.isnan(t.p_holm[4])
    # the test against the minimal effect: effect 0.05, se 0.02, min 0.005 -> t = 2.25 upward, p near 1
    assert t.p_below_min[0] == pytest.approx(stats_t_cdf((0.05 - 0.005) / 0.02, 4))
    with pytest.raises(ValueError, match=r"claims.primary names .*'setting': 'nowhere'.* which is no cell of this table"):
        claims.decide(pd.DataFrame(cells), {"accuracy": 0.005}, [{"claim": "1", "setting": "nowhere", "column": "live"}])


def stats_t_cdf(x, df):
    from scipy import stats as sps

    return float(sps.t.cdf(x, df))


def test_provenance_refuses_a_row_mixing_objective_code():
    other = {**PROV, "objective_sha": "sha-two", "commit": "2222222bbbb"}
    ok = claims.check_provenance("1 accuracy", {"a.json": PROV, "b.json": {**PROV, "commit": "3333333cccc"}})
    assert ok == {"objective_sha": "sha-one", "commits": ["1111111aaaa", "3333333cccc"], "dirty": False}
    with pytest.raises(claims.ProvenanceError, match=r"claims row '1 accuracy'.*sha-one in a.json.*sha-two in b.json"):
        claims.check_provenance("1 accuracy", {"a.json": PROV, "b.json": other})
    # a file without provenance cannot be shown to match: it is its own value
    with pytest.raises(claims.ProvenanceError, match="unknown in old.json"):
        claims.check_provenance("1 accuracy", {"a.json": PROV, "old.json": None})
    assert claims.check_provenance("r", {"old.json": None, "older.json": {}})["objective_sha"] == "unknown"


def runs_frame(values: dict, provenance=None):
    """(method, seed) -> per-example Series, as the rows `claims.compare` reads."""
    rows = [{"method": m, "seed": s, "file": f"{m}/seed{s}.json", "provenance": (provenance or {}).get((m, s), PROV),
             "train_file": "", "train_provenance": None, "values": v} for (m, s), v in values.items()]
    return pd.DataFrame(rows)


HEAD = dict(claim="1 accuracy", claim_text="t", setting="sst2 dev / scratch", metric="accuracy",
            metric_kind="accuracy", direction=1)


def test_effect_is_the_known_shift_and_pairs_examples_by_id():
    rng = np.random.default_rng(0)
    ids = [str(i) for i in range(400)]
    values, gains = {}, [16, 18, 20, 22, 24]  # answers AFA gets right that the baseline missed, of 400
    for s, gain in zip(range(1, 6), gains):
        base = pd.Series(rng.integers(0, 2, 400).astype(float), index=ids)
        afa = base.copy()
        afa.iloc[rng.choice(np.flatnonzero(base.to_numpy() == 0), gain, replace=False)] = 1
        values[("baseline", s)] = base
        values[("afa", s)] = afa.sample(frac=1, random_state=s)  # another order: pairing is by id
    values[("afa", 1)] = pd.concat([values[("afa", 1)], pd.Series([1.0], index=["only-afa"])])  # scored by one side
    (cell,) = claims.compare(HEAD, runs_frame(values), {"live": "afa"}, lambda r: r.values)
    assert cell["effect"] == pytest.approx(0.05) and cell["seeds"] == 5 and cell["examples"] == "400"
    assert 0.03 < cell["ci_low"] < 0.05 < cell["ci_high"] < 0.07 and cell["p"] < 0.001 and cell["df"] == 4
    assert cell["objective_sha"] == "sha-one" and cell["verdict"] == ""


def test_effect_is_a_t_over_the_per_seed_effects_on_the_examples_every_run_scored():
    """Per-seed shifts with no spread over examples: the interval is the t interval of the per-seed
    means (4 degrees of freedom for 5 seeds), wider than their range, not a bootstrap's percentile
    of five values. An example one run did not score is left out of every seed."""
    from scipy import stats as sps

    ids = [str(i) for i in range(100)]
    base = pd.Series(np.zeros(100), index=ids)
    shifts = [0.0, 0.1, 0.02, 0.05, 0.08]
    pairs = [(base + s, base) for s in shifts]
    pairs[0] = (pairs[0][0].drop("7"), base)
    e = claims.paired_effect(pairs)
    half = sps.t.ppf(0.975, 4) * np.std(shifts, ddof=1) / np.sqrt(5)
    assert e["effect"] == pytest.approx(np.mean(shifts)) and e["df"] == 4 and e["examples"] == "99"
    assert (e["ci_low"], e["ci_high"]) == pytest.approx((np.mean(shifts) - half, np.mean(shifts) + half))
    assert e["ci_low"] < min(shifts) and e["ci_high"] > max(shifts)
    with pytest.raises(ValueError, match="shares no example id"):
        claims.paired_effect([(pd.Series([1.0], index=["a"]), pd.Series([1.0], index=["b"]))])


def test_compare_refuses_mixed_provenance_and_says_what_did_not_run():
    ids = ["0", "1", "2"]
    one = pd.Series([1.0, 0.0, 1.0], index=ids)
    values = {("baseline", 1): one, ("afa", 1): one, ("afa_paper", 2): one}
    with pytest.raises(claims.ProvenanceError, match=r"afa/seed1.json"):
        claims.compare(HEAD, runs_frame(values, {("afa", 1): {**PROV, "objective_sha": "sha-two"}}),
                       {"live": "afa"}, lambda r: r.values)
    cells = claims.compare(HEAD, runs_frame(values), {"live": "afa", "paper_literal": "afa_paper", "x": "afa_x"},
                           lambda r: r.values)
    assert cells[1]["verdict"] == "not run (no seed shared with baseline (afa_paper: [2], baseline: [1]))"
    assert cells[2]["verdict"] == "not run (no afa_x runs)"


def test_control_pairs_seeds_in_order_and_says_when_too_few():
    rng = np.random.default_rng(1)
    ids = [str(i) for i in range(300)]
    values = {("baseline", s): pd.Series(rng.integers(0, 2, 300).astype(float), index=ids) for s in (1, 2, 3)}
    c = claims.control(HEAD, runs_frame(values), [3], lambda r: r.values)
    assert c["method"] == "baseline seeds [3] vs [1, 2]" and c["seeds"] == 1
    assert c["effect"] == pytest.approx((values[("baseline", 3)] - values[("baseline", 1)]).mean())
    assert c["note"].startswith("too few seeds")
    assert claims.control(HEAD, runs_frame(values), [7], lambda r: r.values)["verdict"].startswith("not run")


def test_interaction_of_two_independent_effects():
    from scipy import stats as sps

    long, short = ({"effect": 0.05, "se": 0.01, "df": 4.0, "seeds": 5, "examples": "200"},
                   {"effect": 0.01, "se": 0.01, "df": 3.0, "seeds": 4, "examples": "800"})
    d = claims.interaction(long, short)
    se, q = math.hypot(0.01, 0.01), sps.t.ppf(0.975, 3)  # the smaller df: conservative
    assert d["effect"] == pytest.approx(0.04) and (d["ci_low"], d["ci_high"]) == pytest.approx((0.04 - q * se, 0.04 + q * se))
    assert d["p"] == pytest.approx(2 * sps.t.sf(0.04 / se, 3)) and d["se"] == pytest.approx(se) and d["df"] == 3
    assert d["seeds"] == 4 and d["examples"] == "200 / 800"


def test_k_variants_differ_from_the_method_in_K_only():
    afa = {"objective": "afa", "K": 3, "masking": "delete", "reward": "detect"}
    settings = {"baseline": {"objective": "baseline"}, "afa": afa, "afa_k1": {**afa, "K": 1},
                "afa_k8": {**afa, "K": 8}, "afa_paper": {**afa, "masking": "replace"}}
    assert claims.k_variants(settings, "afa") == {"afa": 3, "afa_k1": 1, "afa_k8": 8}
    assert claims.k_variants(settings, "afa_paper") == {"afa_paper": 3}
    assert claims.k_variants(settings, "missing") == {}


def test_runs_trained_under_other_settings_are_refused(tmp_path):
    train = tmp_path / "models/sst2/scratch/afa/seed1/train_metrics.json"
    train.parent.mkdir(parents=True)
    train.write_text(json.dumps({"method": {"objective": "afa", "masking": "replace", "K": 3, "extra": 1}}))
    runs = pd.DataFrame([{"dataset": "sst2", "method": "afa", "seed": 1, "train_file": str(train)}])
    claims.check_settings(runs, {"afa": {"objective": "afa", "masking": "replace", "K": 3}})  # extra keys: fine
    with pytest.raises(ValueError, match=r"seed1/train_metrics.json \(method.masking: 'replace' there, 'delete' now\)"):
        claims.check_settings(runs, {"afa": {"objective": "afa", "masking": "delete", "K": 3}})


def test_a_datasets_method_overrides_are_the_settings_its_runs_are_checked_against(tmp_path):
    """method_overrides.<dataset>.<method>: that dataset's runs trained with the patched settings pass,
    the other datasets' runs are held to method_settings as they stand."""
    disc = {"layers": 1, "d_model": 64}
    settings = {"afa": {"objective": "afa", "K": 3, "disc": disc}}
    overrides = {"imdb": {"afa": {"disc": {"attention": "fused"}}}}
    rows = []
    for dataset, trained_disc in (("imdb", {**disc, "attention": "fused"}), ("sst2", disc)):
        train = tmp_path / f"models/{dataset}/scratch/afa/seed1/train_metrics.json"
        train.parent.mkdir(parents=True)
        train.write_text(json.dumps({"method": {"objective": "afa", "K": 3, "disc": trained_disc}}))
        rows.append({"dataset": dataset, "method": "afa", "seed": 1, "train_file": str(train)})
    runs = pd.DataFrame(rows)
    claims.check_settings(runs, settings, overrides)
    with pytest.raises(ValueError, match=r"imdb/scratch/afa/seed1/train_metrics.json \(method.disc: .*'fused'.* there"):
        claims.check_settings(runs, settings)  # without the overrides the IMDB run's D differs
    with pytest.raises(ValueError, match=r"sst2/scratch/afa/seed1/train_metrics.json"):
        claims.check_settings(runs, settings, {"sst2": overrides["imdb"]})


def test_runs_of_another_model_recipe_under_the_same_name_are_refused(tmp_path):
    """model_overrides.sst2.scratch (a recipe chosen for SST-2 alone): SST-2 runs of the old recipe are
    refused, IMDB's old-recipe runs pass; the model's train block and weight path are not compared."""
    scratch = {"kind": "scratch", "dropout": 0.3, "positions": "sinusoidal", "train": {"epochs": 3}}
    rows = []
    for dataset in ("sst2", "imdb"):
        train = tmp_path / f"models/{dataset}/scratch/afa/seed1/train_metrics.json"
        train.parent.mkdir(parents=True)
        train.write_text(json.dumps({"method": {"objective": "afa"}, "model": {"kind": "scratch", "dropout": 0.3,
                                                                            "positions": "sinusoidal"}}))
        rows.append({"dataset": dataset, "model": "scratch", "method": "afa", "seed": 1, "train_file": str(train)})
    runs, methods = pd.DataFrame(rows), {"afa": {"objective": "afa"}}
    claims.check_settings(runs, methods, None, {"scratch": scratch}, None)
    with pytest.raises(ValueError, match=r"sst2/scratch/afa/seed1/train_metrics.json \(model.dropout: 0.3 there, 0.1 "
                                         r"now, model.positions: 'sinusoidal' there, 'learned' now\)$"):
        claims.check_settings(runs, methods, None, {"scratch": scratch},
                              {"sst2": {"scratch": {"dropout": 0.1, "positions": "learned"}}})


def test_patched_settings_change_one_nested_key_and_leave_the_inputs_alone():
    base = {"K": 3, "disc": {"layers": 1, "dropout": 0.1}}
    out = afa_runs.patched(base, {"K": 5, "disc": {"attention": "fused"}})
    assert out == {"K": 5, "disc": {"layers": 1, "dropout": 0.1, "attention": "fused"}}
    assert base == {"K": 3, "disc": {"layers": 1, "dropout": 0.1}}
    assert afa_runs.run_method_settings({"afa": base}, None, "imdb", "afa") == base
    assert afa_runs.run_method_settings({"afa": base}, {"imdb": {"afa": {"K": 1}}}, "sst2", "afa") == base


def test_k_claim_is_the_long_texts_gain_minus_the_short_ones():
    # K 1 -> 3 gains 0.1 on IMDB and nothing on SST-2, in every seed and example: the interaction is 0.1
    settings = {"afa": {"objective": "afa", "K": 3}, "afa_k1": {"objective": "afa", "K": 1}}
    ids = [str(i) for i in range(50)]
    rows = []
    for dataset, gain in (("imdb", 0.1), ("sst2", 0.0)):
        for method, g in (("afa_k1", 0.0), ("afa", gain)):
            for s in range(1, 6):
                rows.append({"dataset": dataset, "model": "scratch", "method": method, "seed": s,
                             "file": f"{dataset}/{method}/seed{s}.json", "provenance": PROV, "train_file": "",
                             "train_provenance": None, "values": pd.Series(0.5 + g, index=ids)})
    head = {**HEAD, "claim": "4", "setting": "imdb minus sst2"}
    (cell,) = claims.k_claim(head, pd.DataFrame(rows), {"live": "afa"}, settings, lambda r: r.values)
    assert cell["effect"] == pytest.approx(0.1) and cell["setting"] == "imdb minus sst2 / scratch"
    assert cell["seeds"] == 5 and cell["note"] == "imdb: K 1 -> 3 +0.1000; sst2: K 1 -> 3 +0.0000"
    # SST-2 at one K only: not run, naming what method_settings define
    (cell,) = claims.k_claim(head, pd.DataFrame([r for r in rows if not (r["dataset"] == "sst2" and r["method"] == "afa_k1")]),
                             {"live": "afa"}, settings, lambda r: r.values)
    assert cell["verdict"].startswith("not run (needs afa at two K or more") and "afa_k1 (K 1)" in cell["verdict"]


def test_k_claim_compares_k_only_on_one_train_size(tmp_path):
    """A K variant may train on a seeded subset of the long texts (per_method.train_overrides); the
    note names the train rows, and two K trained on different sizes are not compared."""
    settings = {"afa": {"objective": "afa", "K": 3}, "afa_k1": {"objective": "afa", "K": 1}}
    ids = [str(i) for i in range(20)]

    def rows(imdb_sizes):
        out = []
        for dataset in ("imdb", "sst2"):
            for method in ("afa_k1", "afa"):
                n = imdb_sizes[method] if dataset == "imdb" else 60000
                f = tmp_path / f"{dataset}_{method}_{n}.json"
                f.write_text(json.dumps({"n_train": n}))
                out += [{"dataset": dataset, "model": "scratch", "method": method, "seed": s, "file": f"{dataset}/{method}/{s}",
                         "provenance": PROV, "train_file": str(f), "train_provenance": None,
                         "values": pd.Series(0.5 + (0.1 if method == "afa" else 0), index=ids)} for s in range(1, 6)]
        return pd.DataFrame(out)

    head = {**HEAD, "claim": "4", "setting": "imdb minus sst2"}
    (cell,) = claims.k_claim(head, rows({"afa_k1": 5000, "afa": 5000}), {"live": "afa"}, settings, lambda r: r.values)
    assert cell["note"] == "imdb: K 1 -> 3 +0.1000 (5,000 train rows); sst2: K 1 -> 3 +0.1000 (60,000 train rows)"
    (cell,) = claims.k_claim(head, rows({"afa_k1": 5000, "afa": 20000}), {"live": "afa"}, settings, lambda r: r.values)
    assert cell["verdict"] == "not run (imdb: K 1 and K 3 trained on different train sizes (5000, 20000))"


# --- the notebook on a synthetic result tree ----------------------------------------------------------

AFA = {"objective": "afa", "K": 3, "masking": "delete", "reward": "detect", "entropy_weight": 0.3}
METHOD_SETTINGS = {"baseline": {"objective": "baseline"}, "afa": AFA,
                   "afa_paper": {**AFA, "masking": "replace", "entropy_weight": 0.0}}


def result(root, kind, meta, body, prov=PROV):
    path = root / "eval" / kind / "/".join(meta[k] for k in ("rationales", "dataset", "model", "method") if k in meta)
    path = path / f"seed{meta['seed']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**meta, **body, "provenance": prov}))
    return path


def synthetic_tree(root, bad_sha=False):
    """SST-2, 5 seeds + control seeds 6-10 of the baseline: `afa` gets 60 more of 400 right in every
    seed, `afa_paper` is the baseline exactly; IMDB with 2 seeds; deletion, alignment, robustness."""
    rng = np.random.default_rng(0)
    files = {"accuracy_files": [], "deletion_files": [], "alignment_files": [], "robustness_files": [],
             "train_metric_files": []}
    n = 400
    for dataset, seeds in (("sst2", range(1, 6)), ("imdb", range(1, 3))):
        for seed in [*seeds, *(range(6, 11) if dataset == "sst2" else [])]:
            base = rng.integers(0, 2, n)
            # afa_paper: the baseline with a few answers swapped each way, a seed-dependent effect
            # of -1, 0 or +1 in 400 around nothing (seed-level variance, so se and df are real)
            paper = base.copy()
            up = int(rng.integers(3, 6))
            paper[rng.choice(np.flatnonzero(base == 0), up, replace=False)] = 1
            paper[rng.choice(np.flatnonzero(base == 1), up + int(rng.integers(-1, 2)), replace=False)] = 0
            methods = {"baseline": base} if seed > 5 else {"baseline": base, "afa_paper": paper}
            if seed <= 5:
                better = base.copy()
                better[rng.choice(np.flatnonzero(base == 0), 60, replace=False)] = 1
                methods["afa"] = better
            for method, correct in methods.items():
                meta = {"dataset": dataset, "model": "scratch", "method": method, "seed": str(seed)}
                prov = {**PROV, "objective_sha": "sha-two"} if bad_sha and (dataset, method, seed) == ("sst2", "afa", 3) else PROV
                f = result(root, "accuracy", meta, {"accuracy": float(correct.mean()), "n": n}, prov)
                pd.DataFrame({"id": range(n), "label": 1, "pred": correct, "correct": correct}).to_csv(
                    str(f).replace(".json", ".predictions.csv"), index=False)
                files["accuracy_files"].append(str(f))
                train = root / "models" / dataset / "scratch" / method / f"seed{seed}" / "train_metrics.json"
                train.parent.mkdir(parents=True, exist_ok=True)
                # SST-2's models ran 2 or 3 of 3 epochs, IMDB's had one (as MiniLM on SST-2 has)
                epochs, ran = (3, 2 + seed % 2) if dataset == "sst2" else (1, 1)
                train.write_text(json.dumps({"method": METHOD_SETTINGS[method], "provenance": PROV,
                                             "train": {"epochs": epochs}, "history": [{}] * ran}))
                files["train_metric_files"].append(str(train))
                # the control seeds (6-10, baseline) get the per-example evaluations of claims 2 and 3 too
                if dataset != "sst2" or method == "afa_paper":
                    continue
                gain = 0.1 if method == "afa" else 0.0
                comp = (rng.random(n) * 0.2 + gain).round(6).tolist()
                block = {"per_example": {"comprehensiveness": comp, "sufficiency": comp, "id": list(range(n))}}
                files["deletion_files"].append(str(result(root, "deletion", meta, {**block, "eraser": block, "levels": []})))
                f = result(root, "alignment", {**meta, "rationales": "sst_phrases"}, {"auprc": 0.4, "unseen_auprc": 0.3})
                # on the words training never labelled, AFA gains nothing; every 10th example has none
                unseen = np.random.default_rng(seed).random(n) * 0.5
                with gzip.open(str(f).replace(".json", ".examples.jsonl.gz"), "wt") as g:
                    for i in range(n):
                        g.write(json.dumps({"id": i, "auprc": float(rng.random() * 0.5 + gain),
                                            "unseen_auprc": None if i % 10 == 0 else float(unseen[i])}) + "\n")
                files["alignment_files"].append(str(f))
                if seed > 5:
                    continue
                f = result(root, "robustness", meta, {"n": 50, "recipes": {"pwws": {}}})
                status = ["failed" if rng.random() < 0.2 + 3 * gain else "succeeded" for _ in range(50)]
                pd.DataFrame({"recipe": "pwws", "id": range(50), "status": status}).to_csv(str(f).replace(".json", ".csv"), index=False)
                files["robustness_files"].append(str(f))
    return files


def render(tmp_path, files, **extra):
    params = {**files, "live": "afa", "paper_literal": "afa_paper", "control_seeds": [6, 7, 8, 9, 10],
              "method_settings": METHOD_SETTINGS, "model_kinds": {"scratch": "scratch", "smollm2": "llm"},
              "out_csv": str(tmp_path / "claims.csv"),
              "primary": [{"claim": "1 accuracy", "setting": "sst2 dev / scratch", "column": "paper_literal"}], **extra}
    return subprocess.run(["afa", "render", "--notebook", str(REPO / "notebooks" / "claims.py"),
                           "--out", str(tmp_path / "claims.ipynb"), "--html", str(tmp_path / "claims.html"),
                           "--parameters", json.dumps(params)], capture_output=True, text=True, cwd=tmp_path)


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("claims")
    r = render(tmp, synthetic_tree(tmp), not_testable={"agnews": "no train split offline"})
    assert r.returncode == 0, r.stderr[-3000:]
    assert (tmp / "claims.html").stat().st_size > 0
    return claims_rows(tmp / "claims.csv")


def test_notebook_verdicts_on_known_effects(table):
    live = table[("1 accuracy", "sst2 dev / scratch", "live")]
    assert float(live["effect"]) == pytest.approx(60 / 400) and live["seeds"] == "5" and live["verdict"] == "holds"
    # the primary cell: the baseline give or take one answer in 400 a seed, shown smaller than the
    # minimal effect (half a point) within its family of two tests
    paper = table[("1 accuracy", "sst2 dev / scratch", "paper_literal")]
    assert abs(float(paper["effect"])) <= 0.0025 and paper["family"] == "primary" and live["family"] == "secondary"
    assert paper["verdict"] == "does not hold (smaller than the minimal effect 0.5 points)", paper
    assert table[("1 accuracy", "imdb test / scratch", "live")]["verdict"] == "inconclusive (2 seeds < 5)"
    # two seeds: a t on 1 degree of freedom; +15 points is p 0.015, not below 0.05 after Holm
    imdb = table[("1 accuracy", "imdb test / scratch", "live")]
    assert imdb["df"] == "1.0" and imdb["rule_alone"] == "inconclusive" and float(imdb["p_holm"]) > 0.05
    assert table[("3 faithfulness", "sst2 dev / scratch", "live")]["verdict"] == "holds"
    assert "ERASER bins" in table[("3 faithfulness", "sst2 dev / scratch", "live")]["metric"]
    align = table[("2 rationale alignment", "SST dev word labels (proxy) / trained on sst2 / scratch", "live")]
    assert align["verdict"] == "holds"
    assert table[("6 robustness (open)", "sst2 dev / scratch", "live")]["verdict"] == "holds"
    assert table[("6 robustness (open)", "sst2 dev / scratch", "paper_literal")]["verdict"] == "not run (no afa_paper runs)"


def test_notebook_rows_say_how_their_models_were_trained(table):
    """The epoch budget and the epochs run, from the rows' train_metrics.json; rows without runs: blank."""
    assert table[("1 accuracy", "sst2 dev / scratch", "live")]["training"] == \
        "up to 3 epochs, the best on validation kept (ran 2-3)"
    assert table[("1 accuracy", "imdb test / scratch", "paper_literal")]["training"] == "1 epoch"
    assert table[("A/A control", "sst2 dev / scratch", "control", "accuracy")]["training"].startswith("up to 3 epochs")
    assert table[("1 accuracy", "agnews test", "live")]["training"] == ""


def test_notebook_rows_that_did_not_run_say_why(table):
    # every dataset a claim names has its row: AG News (no runs; config gives why), ERASER (no runs)
    assert table[("1 accuracy", "agnews test", "live")]["verdict"] == "not testable here (no train split offline)"
    assert table[("2 rationale alignment", "ERASER movies val, human rationales", "paper_literal")]["verdict"] == \
        "not run (no alignment results on eraser_movies among the inputs)"
    assert table[("3 faithfulness", "eraser_movies val", "live")]["verdict"] == \
        "not run (no deletion results on eraser_movies among the inputs)"
    assert ("1 accuracy", "imdb test", "live") not in table  # IMDB has runs: its row has numbers
    k = table[("4 larger K, long texts", "imdb minus sst2", "live")]["verdict"]
    assert k.startswith("not run (needs afa at two K or more on both imdb and sst2") and "afa (K 3)" in k
    assert "kind llm (smollm2)" in table[("5 LLM", "an LLM", "live")]["verdict"]


def test_notebook_scores_the_words_training_never_labelled_on_their_own(table):
    unseen = table[("2 rationale alignment", "SST dev word labels (proxy), words never labelled in training"
                                             " / trained on sst2 / scratch", "live")]
    # the same seeds' draws on both sides: no effect, on the 360 examples that have unseen scores
    assert float(unseen["effect"]) == pytest.approx(0) and unseen["examples"] == "360"
    assert unseen["verdict"] != "holds" and "never a labelled one-word" in unseen["metric"]


@pytest.mark.parametrize("setting, kind", [("sst2 dev / scratch", "accuracy"),
                                           ("SST dev word labels (proxy) / trained on sst2 / scratch", "auprc"),
                                           ("sst2 dev / scratch", "comprehensiveness")])
def test_notebook_control_is_no_false_positive(table, setting, kind):
    """The A/A control runs for every per-example metric of claims 1-3 its seeds were evaluated on."""
    c = table[("A/A control", setting, "control", kind)]
    assert c["method"] == "baseline seeds [6, 7, 8, 9, 10] vs [1, 2, 3, 4, 5]" and c["seeds"] == "5"
    assert c["false_positive"] == "False" and c["verdict"] != "holds"
    assert float(c["ci_low"]) < 0 < float(c["ci_high"])  # both sides are draws of the same baseline
    # the comparisons use seeds 1-5 only: the control seeds never enter a claim cell
    claim = {"accuracy": "1 accuracy", "auprc": "2 rationale alignment", "comprehensiveness": "3 faithfulness"}[kind]
    assert table[(claim, setting, "live")]["seeds"] == "5"
    assert all(row["objective_sha"] in ("sha-one", "") for row in table.values())


def test_notebook_refuses_a_row_mixing_objective_code(tmp_path):
    r = render(tmp_path, synthetic_tree(tmp_path, bad_sha=True))
    assert r.returncode != 0
    err = r.stdout + r.stderr
    assert "claims row '1 accuracy sst2 dev / scratch'" in err and "objective_sha sha-two in" in err
    assert "accuracy/sst2/scratch/afa/seed3.json" in err
    assert not (tmp_path / "claims.csv").exists()


def test_objective_code_shown_identical_shares_a_row_under_one_label(tmp_path):
    """claims.same_objective: the two shas of the mixed tree, declared one group, render; the row
    names both; a group that holds only one of them leaves the refusal in place."""
    r = render(tmp_path, synthetic_tree(tmp_path, bad_sha=True), same_objective=[["sha-one", "sha-two"]])
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    rows = pd.read_csv(tmp_path / "claims.csv")
    assert set(rows[rows.objective_sha.astype(str).str.contains("sha")].objective_sha) == {"sha-one=sha-two"}
    (tmp_path / "claims.csv").unlink()
    r = render(tmp_path, synthetic_tree(tmp_path, bad_sha=True), same_objective=[["sha-two", "sha-three"]])
    assert r.returncode != 0 and "objective_sha sha-two=sha-three in" in r.stdout + r.stderr


def test_same_objective_relabels_only_the_shas_of_a_group():
    groups = [["aaaa", "bbbb"]]
    assert claims.same_objective({"objective_sha": "bbbb", "commit": "c"}, groups) == {"objective_sha": "aaaa=bbbb", "commit": "c"}
    assert claims.same_objective({"objective_sha": "cccc"}, groups) == {"objective_sha": "cccc"}
    assert claims.same_objective(None, groups) is None


def test_the_readme_summary_counts_verdicts_and_says_only_what_they_say():
    head = dict(claim="1 accuracy", metric="accuracy", metric_kind="accuracy", direction=1, seeds=5, examples="9",
                se=0.01, df=4.0)
    cells = [claims.cell(**head, setting="a", column="live", effect=0.02, ci_low=0.01, ci_high=0.03, p=0.001),
             claims.cell(**head, setting="b", column="live", effect=0.0, ci_low=-0.02, ci_high=0.02, p=0.9),
             claims.cell(**{**head, "seeds": 3}, setting="c", column="live", effect=0.0, ci_low=-0.02, ci_high=0.04, p=0.9),
             claims.cell(**head, setting="d", column="live", verdict="not run (no afa runs)")]
    t = claims.decide(pd.DataFrame(cells), {"accuracy": 0.005}, [{"claim": "1 accuracy", "setting": "b", "column": "live"}])
    text = summary.standing(t)
    assert text.startswith("3 cells of the claims table are tested (1 primary, one per claim of the paper, named "
                           "before these results; 2 secondary)")
    assert "1 hold, 0 do not hold and 2 are inconclusive; 1 are not run" in text
    assert "Primary cells: 1 accuracy (b, live): +0.00 [−2.00, +2.00], inconclusive." in text
    assert "No accuracy gain is detected" not in text  # cell a holds
    t.loc[0, "verdict"] = "inconclusive"
    assert "No accuracy gain is detected in any of the 3 accuracy cells; the intervals allow up to +4.00 points (c, live)" \
        in summary.standing(t)
    md = summary.readme_table(t)
    assert "| 1 accuracy | b | accuracy | | **+0.00 [−2.00, +2.00]" in md.replace("|  |", "| |")
    assert "| 1 accuracy | d | accuracy | | not run |" in md.replace("|  |", "| |")


def test_aa_splits_are_every_unordered_split_into_halves_or_a_seeded_sample():
    splits = claims.aa_splits([4, 1, 3, 2])
    assert splits == [((1, 2), (3, 4)), ((1, 3), (2, 4)), ((1, 4), (2, 3))]
    assert len(claims.aa_splits(range(1, 11))) == math.comb(9, 4)  # 126: C(10, 5) / 2
    big = claims.aa_splits(range(1, 21), max_splits=50, seed=3)
    assert len(big) == len(set(big)) == 50 and big == claims.aa_splits(range(1, 21), max_splits=50, seed=3)
    assert all(sorted(a + b) == list(range(1, 21)) and 1 in a for a, b in big)
    with pytest.raises(ValueError, match="even number of seeds"):
        claims.aa_splits([1, 2, 3])


def test_aa_split_rates_count_false_positives_and_can_find_them():
    """On seeds that are all alike, few splits hold (at most the nominal 5 %); when seeds 6-10 are better by 20 points, the split
    that puts them on one side holds, and the rate counts it."""
    rng = np.random.default_rng(0)
    ids = [str(i) for i in range(300)]

    def runs(shift):
        return {s: pd.Series((rng.random(300) < 0.5 + (shift if s > 5 else 0)).astype(float), index=ids) for s in range(1, 11)}

    splits = claims.aa_splits(range(1, 11))
    null = claims.aa_split_table({"accuracy": ("accuracy", runs(0.0))}, {"accuracy": 0.005}, splits)
    assert len(null) == 126 and claims.aa_rates(null).set_index("metric").loc["accuracy", "holds"] <= 0.05
    shifted = claims.aa_split_table({"accuracy": ("accuracy", runs(0.2))}, {"accuracy": 0.005}, splits)
    assert shifted[shifted["first"] == "1 2 3 4 5"].verdict.iloc[0] == "holds"  # 6-10 against 1-5
    assert 0 < claims.aa_rates(shifted).set_index("metric").loc["accuracy", "holds"] < 0.2


def test_extra_columns_and_contrasts_split_the_live_effect_where_their_runs_are(tmp_path):
    """claims.extra_columns: entropy_only against the baseline, in the rows where it trained (SST-2 accuracy
    only here); claims.contrasts: the live default minus entropy_only, D's own part. On a tree where the
    live AFA gets 60 more of 400 right and entropy_only 40 of those 60, the two columns read 40 and 20."""
    files = synthetic_tree(tmp_path)
    for seed in range(1, 6):
        live = pd.read_csv(tmp_path / "eval/accuracy/sst2/scratch/afa" / f"seed{seed}.predictions.csv")
        base = pd.read_csv(tmp_path / "eval/accuracy/sst2/scratch/baseline" / f"seed{seed}.predictions.csv")
        correct = live.correct.to_numpy().copy()
        correct[np.flatnonzero((correct == 1) & (base.correct.to_numpy() == 0))[:20]] = 0
        meta = {"dataset": "sst2", "model": "scratch", "method": "entropy_only", "seed": str(seed)}
        f = result(tmp_path, "accuracy", meta, {"accuracy": float(correct.mean()), "n": 400})
        live.assign(pred=correct, correct=correct).to_csv(str(f).replace(".json", ".predictions.csv"), index=False)
        files["accuracy_files"].append(str(f))
        train = tmp_path / "models/sst2/scratch/entropy_only" / f"seed{seed}" / "train_metrics.json"
        train.parent.mkdir(parents=True, exist_ok=True)
        train.write_text(json.dumps({"method": {**AFA, "reward": "none"}, "provenance": PROV, "train": {"epochs": 3},
                                     "history": [{}] * 3}))
        files["train_metric_files"].append(str(train))
    settings = {**METHOD_SETTINGS, "entropy_only": {**AFA, "reward": "none"}}
    r = render(tmp_path, files, method_settings=settings, extra_columns={"entropy_only": "entropy_only"},
               contrasts={"d_part": ["afa", "entropy_only"]}, decomposition=["entropy_only", "d_part"])
    assert r.returncode == 0, r.stderr[-3000:]
    t = claims_rows(tmp_path / "claims.csv")
    assert float(t[("1 accuracy", "sst2 dev / scratch", "entropy_only")]["effect"]) == pytest.approx(40 / 400)
    d = t[("1 accuracy", "sst2 dev / scratch", "d_part")]
    assert float(d["effect"]) == pytest.approx(20 / 400) and d["method"] == "afa" and d["family"] == "decomposition"
    # a control and a difference test no claim: their own family, and words that claim nothing
    assert t[("1 accuracy", "sst2 dev / scratch", "entropy_only")]["family"] == "decomposition"
    assert not [c for c in t.values() if c["family"] == "decomposition" and c["verdict"].startswith(("holds", "does not"))]
    assert t[("1 accuracy", "sst2 dev / scratch", "live")]["family"] in ("primary", "secondary")
    assert ("1 accuracy", "imdb test / scratch", "entropy_only") not in t  # not trained there: no cell
    assert ("3 faithfulness", "sst2 dev / scratch", "d_part") not in t  # no entropy_only deletion results
    from afa import summary

    assert "| claim | setting | metric | paper_literal | live | entropy_only | d_part |" in summary.readme_table(
        pd.read_csv(tmp_path / "claims.csv"))


def test_a_decomposition_cell_has_its_own_family_and_is_counted_apart_from_the_claims():
    """Columns that test no claim (a control method, a difference of two methods): Holm within their
    own family, so adding them changes no claim cell's p; "positive" / "smaller than the minimal effect"
    for holds / does not hold; the README's counts leave them out and say them in a sentence."""
    from afa import index_page, summary

    def cells(extra):
        base = dict(claim="1 accuracy", setting="s", metric="accuracy", metric_kind="accuracy", seeds=10, se=0.001,
                    df=9, examples=400)
        rows = [claims.cell(**base, column="live", method="afa", effect=0.02, ci_low=0.01, ci_high=0.03, p=0.001)]
        if extra:
            rows += [claims.cell(**base, column="d_part", method="afa", effect=0.03, ci_low=0.02, ci_high=0.04, p=1e-4),
                     claims.cell(**base, column="entropy_only", method="entropy_only", effect=-0.03, ci_low=-0.04,
                                 ci_high=-0.02, p=1e-4)]
        return pd.DataFrame(rows)

    alone = claims.decide(cells(False), {"accuracy": 0.005})
    both = claims.decide(cells(True), {"accuracy": 0.005}, decomposition=["d_part", "entropy_only"])
    assert both.p_holm[0] == alone.p_holm[0] and both.verdict[0] == alone.verdict[0] == "holds"
    assert list(both.family) == ["secondary", "decomposition", "decomposition"]
    assert both.verdict[1] == "positive (in the claim's direction)"
    assert both.verdict[2].startswith("smaller than the minimal effect 0.5 points")
    text = summary.standing(both)
    assert text.startswith("1 cells of the claims table are tested") and "1 hold, 0 do not hold" in text
    assert "The decomposition (d-part, entropy-only" in text and "positive (in the claim's direction)" in text
    assert any(item.startswith("<b>Decomposition</b>") for item in index_page.findings(both))


def test_an_extra_column_not_trainable_on_a_dataset_is_a_not_testable_cell_in_its_rows_not_a_gap():
    head = {"claim": "1 accuracy", "setting": "imdb test / scratch", "metric": "accuracy", "metric_kind": "accuracy"}
    extra = {"afa_exact": "afa_exact", "entropy_only": "entropy_only"}
    why = {"afa_exact": {"imdb": "10 h a run"}}
    cells = claims.untestable(head, "imdb", {"live": "afa"}, extra, why)
    assert [(c["column"], c["method"], c["verdict"]) for c in cells] == [("afa_exact", "afa_exact", "not testable here (10 h a run)")]
    assert claims.untestable(head, "sst2", {"live": "afa"}, extra, why) == []  # trainable there: its runs decide
    assert claims.untestable(head, "imdb", {"afa_exact": "afa_exact"}, extra, why) == []  # the row has runs of it
