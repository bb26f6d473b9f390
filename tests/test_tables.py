"""The seed table and the versus-baseline table on runs whose numbers are known by hand."""

import pandas as pd
import pytest

from afa.tables import load_runs, seed_table, versus_baseline

PER_EXAMPLE = {  # file -> per-example values (ids a..d)
    "b1": [1, 0, 0, 1], "b2": [1, 0, 1, 0], "a1": [1, 1, 0, 1], "a2": [1, 1, 1, 1],
}


def per_example(file, metric):
    return pd.Series(PER_EXAMPLE[file], index=list("abcd"), name=metric)


@pytest.fixture
def runs():
    return pd.DataFrame([
        {"dataset": "d", "method": "baseline", "seed": 1, "acc": 0.50, "file": "b1"},
        {"dataset": "d", "method": "baseline", "seed": 2, "acc": 0.50, "file": "b2"},
        {"dataset": "d", "method": "afa", "seed": 1, "acc": 0.75, "file": "a1"},
        {"dataset": "d", "method": "afa", "seed": 2, "acc": 1.00, "file": "a2"},
        {"dataset": "d", "method": "afa", "seed": 3, "acc": 0.00, "file": "a2"},  # no baseline seed 3: unpaired
    ])


def test_seed_table(runs):
    t = seed_table(runs[runs.seed < 3], ["dataset", "method"], ["acc"], scale=100, digits=1).set_index("method")
    assert t.loc["baseline", "acc"] == "50.0 ± 0.0 [50.0, 50.0]" and t.loc["afa", "acc_mean"] == pytest.approx(0.875)
    assert t.loc["afa", "seeds"] == 2


def test_versus_baseline_pairs_by_seed_and_bootstraps_examples(runs):
    row = versus_baseline(runs, ["dataset"], ["acc"], per_example, ("correct",), scale=100, digits=1,
                          resamples=500).iloc[0]
    assert row.method == "afa" and row.seeds_paired == 2  # seed 3 has no baseline to pair with
    assert row.acc_diff == "+37.5" and row.acc_wins == "2/2"
    assert row.acc_t_p == "0.205"  # differences 25 and 50 points: t = 3, 1 df
    # per example, means over seeds: afa (1, 1, .5, 1), baseline (1, 0, .5, .5): mean difference 0.375
    assert row.correct_boot.startswith("+37.5 [")


def test_load_runs(tmp_path):
    f = tmp_path / "r.json"
    f.write_text('{"method": "afa", "seed": "2", "acc": 0.5}')
    runs = load_runs([str(f)])
    assert runs.seed.tolist() == [2] and runs.file.tolist() == [str(f)]
    with pytest.raises(ValueError, match="no result files"):
        load_runs([])
