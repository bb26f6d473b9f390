"""The ablations notebook: which methods form a sweep, and the numbers it reports for known runs."""

import csv
import json
import subprocess

import pytest
from conftest import REPO

from afa.runs import sweep_variants

AFA = {"objective": "afa", "K": 3, "eps": 0.1, "lambda": 0.5, "disc": {"layers": 1, "d_model": 64}}
SETTINGS = {"baseline": {"objective": "baseline"}, "afa": AFA,
            "afa_k1": {**AFA, "K": 1}, "afa_k5": {**AFA, "K": 5},
            "afa_eps0": {**AFA, "eps": 0.0},
            "afa_disc3": {**AFA, "disc": {"layers": 3, "d_model": 64}},
            "afa_k1_eps0": {**AFA, "K": 1, "eps": 0.0},              # two parameters at once: no sweep's
            "afa_paper": {**AFA, "masking": "replace"}}


def test_a_sweep_is_the_methods_equal_to_the_live_one_but_for_one_parameter():
    assert sweep_variants(SETTINGS, "afa", "K") == {"afa": 3, "afa_k1": 1, "afa_k5": 5}
    assert sweep_variants(SETTINGS, "afa", "eps") == {"afa": 0.1, "afa_eps0": 0.0}
    assert sweep_variants(SETTINGS, "afa", "disc.layers") == {"afa": 1, "afa_disc3": 3}
    assert sweep_variants(SETTINGS, "afa", "lambda") == {"afa": 0.5}
    assert sweep_variants(SETTINGS, "missing", "K") == {}


# accuracy per (method, seed) out of 100 examples; the baseline 80, afa 82, K 1 +3 on afa, K 5 -1
ACC = {"baseline": 80, "afa": 82, "afa_k1": 85, "afa_k5": 81, "afa_eps0": 82}


@pytest.fixture(scope="module")
def ablations(tmp_path_factory):
    root = tmp_path_factory.mktemp("ablations")
    files = {"accuracy_files": [], "train_metric_files": []}
    for method, acc in ACC.items():
        for seed in (1, 2, 3):
            f = root / "eval" / "accuracy" / "sst2" / "scratch" / method / f"seed{seed}.json"
            f.parent.mkdir(parents=True, exist_ok=True)
            noise = seed - 2  # the same seed effect in every method: paired differences are exact
            f.write_text(json.dumps({"dataset": "sst2", "model": "scratch", "method": method, "seed": str(seed),
                                     "accuracy": (acc + noise) / 100, "n": 100}))
            files["accuracy_files"].append(str(f))
            t = root / "models" / "sst2" / "scratch" / method / f"seed{seed}" / "train_metrics.json"
            t.parent.mkdir(parents=True, exist_ok=True)
            t.write_text(json.dumps({"val_acc": (acc - 10 + noise) / 100}))
            files["train_metric_files"].append(str(t))
    params = {**files, "method_settings": SETTINGS, "live": "afa", "sweeps": ["K", "eps", "lambda", "disc.layers"],
              "out_csv": str(root / "ablations.csv"), "out_png": str(root / "ablations.png")}
    r = subprocess.run(["afa", "render", "--notebook", str(REPO / "notebooks" / "ablations.py"),
                        "--out", str(root / "ablations.ipynb"), "--html", str(root / "ablations.html"),
                        "--parameters", json.dumps(params)], capture_output=True, text=True, cwd=root)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (root / "ablations.png").stat().st_size > 0
    return root, list(csv.DictReader(open(root / "ablations.csv")))


def test_each_swept_value_has_its_seed_mean_interval_and_paired_difference(ablations):
    _, rows = ablations
    k = {float(r["value"]): r for r in rows if r["parameter"] == "K"}
    assert sorted(k) == [1, 3, 5]
    for value, method in ((1, "afa_k1"), (3, "afa"), (5, "afa_k5")):
        assert float(k[value]["accuracy_mean"]) == pytest.approx(ACC[method])
        assert float(k[value]["val_acc_mean"]) == pytest.approx(ACC[method] - 10)
        assert int(float(k[value]["accuracy_seeds"])) == 3
    # seeds 1-3 give -1, 0, +1: the t-interval of the mean is 2 +- t(0.975, 2) * 1 / sqrt(3)
    assert float(k[3]["accuracy_high"]) - float(k[3]["accuracy_mean"]) == pytest.approx(4.303 / 3 ** 0.5, rel=1e-3)
    assert float(k[1]["diff_vs_default"]) == pytest.approx(3) and float(k[5]["diff_vs_default"]) == pytest.approx(-1)
    assert float(k[1]["diff_low"]) == pytest.approx(3)  # the same seed effect in both: no spread
    assert k[3]["default"] == "True" and k[3]["diff_vs_default"] == ""
    eps = {float(r["value"]): r["method"] for r in rows if r["parameter"] == "eps"}
    assert eps == {0.0: "afa_eps0", 0.1: "afa"}
    assert not any(r["method"] in ("afa_k1_eps0", "afa_paper", "baseline") for r in rows)


def test_parameters_without_two_values_say_so(ablations):
    root, rows = ablations
    assert {r["parameter"] for r in rows} == {"K", "eps"}
    html = (root / "ablations.html").read_text()
    assert "not run: fewer than two values of lambda among the runs" in html
    assert "afa_disc3 (disc.layers 3)" in html  # defined but not trained here
