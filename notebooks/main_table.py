# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Main table: accuracy on the report split, baseline vs AFA
#
# Paper claim (arXiv 2512.20661, abstract): AFA improves accuracy over the baseline on SST-2,
# IMDB and AG News. Each cell is mean ± std [95 % t-interval] over seeds of accuracy (and
# macro-F1) on the report split (SST-2 dev, IMDB test, AG News test, ERASER movies val). Against
# the baseline: the paired t-test over seeds (seed s of both methods shares the data order and
# the initial weight draw) and a paired bootstrap over test examples of the accuracy difference
# (each example's correctness averaged over the shared seeds; see `afa/stats.py`). Every number
# comes from the `evaluate_accuracy` rule of this run.

# %% tags=["parameters"]
metric_files = []   # JSON files written by `afa evaluate` (the .predictions.csv beside each is read too)
out_csv = "main_table.csv"
bootstrap_resamples = 10000
bootstrap_seed = 0

# %%
import json

import pandas as pd

from afa import stats

rows = [{**json.load(open(f)), "file": f} for f in metric_files]
if not rows:
    raise ValueError("no metric files were given to this notebook (parameter metric_files)")
runs = pd.DataFrame(rows)
runs["seed"] = runs["seed"].astype(int)
runs.sort_values(["dataset", "model", "method", "seed"])[["dataset", "model", "method", "seed", "accuracy", "macro_f1", "n"]]

# %%
KEYS = ["dataset", "model", "method"]
table = []
for key, g in runs.groupby(KEYS):
    acc, f1 = stats.summary(g.accuracy), stats.summary(g.macro_f1)
    table.append({**dict(zip(KEYS, key)), "accuracy": stats.fmt(acc), "macro_f1": stats.fmt(f1),
                  "accuracy_mean": acc["mean"], "accuracy_ci_low": acc["ci_low"], "accuracy_ci_high": acc["ci_high"],
                  "seeds": len(g), "n_test": int(g.n.iloc[0])})
table = pd.DataFrame(table)
table[KEYS + ["accuracy", "macro_f1", "seeds", "n_test"]]

# %% [markdown]
# ## Each method against the baseline (accuracy points)
# `diff` is the mean over shared seeds of method minus baseline; `t_p` the paired t-test's p-value
# (n/a below two seeds); `boot_diff [CI]` and `boot_p` the paired bootstrap over test examples.

# %%
def correctness(files):
    """examples x seeds 0/1 matrix, rows in id order."""
    cols = [pd.read_csv(f.replace(".json", ".predictions.csv"), dtype={"id": str}).set_index("id")["correct"]
            for f in files]
    return pd.concat(cols, axis=1)


diffs = []
for (dataset, model), g in runs.groupby(["dataset", "model"]):
    base = g[g.method == "baseline"].set_index("seed")
    for method, h in g[g.method != "baseline"].groupby("method"):
        h = h.set_index("seed")
        shared = sorted(set(base.index) & set(h.index))
        if not shared:
            continue
        t = stats.paired_ttest(h.accuracy[shared], base.accuracy[shared])
        a = correctness(list(h.file[shared])).mean(axis=1)
        ab = pd.concat([a, correctness(list(base.file[shared])).mean(axis=1)], axis=1).dropna()
        boot = stats.paired_bootstrap(ab.iloc[:, 0].values, ab.iloc[:, 1].values, bootstrap_resamples, bootstrap_seed)
        d = (h.accuracy[shared] - base.accuracy[shared])
        diffs.append({"dataset": dataset, "model": model, "method": method, "seeds_paired": len(shared),
                      "diff": f"{100 * t['mean_diff']:+.2f}", "t_p": "n/a" if t["p_value"] != t["p_value"] else f"{t['p_value']:.3f}",
                      "wins": int((d > 0).sum()), "losses": int((d < 0).sum()),
                      "boot_diff": f"{100 * boot['mean_diff']:+.2f} [{100 * boot['ci_low']:+.2f}, {100 * boot['ci_high']:+.2f}]",
                      "boot_p": f"{boot['p_value']:.3f}"})
paired = pd.DataFrame(diffs)
paired

# %%
out = table.merge(paired, on=KEYS, how="left") if len(paired) else table
out.to_csv(out_csv, index=False)
out[[c for c in out.columns if not c.startswith("accuracy_")]]
