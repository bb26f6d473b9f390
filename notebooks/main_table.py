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
# IMDB and AG News. Each cell below is the mean ± standard deviation over seeds of accuracy (and
# macro-F1) on the report split (SST-2 dev, IMDB test, AG News test). The paired difference is
# AFA minus baseline within the same seed (same data order and initial weights draw), averaged
# over seeds. Every number comes from the `evaluate_accuracy` rule of this run.

# %% tags=["parameters"]
metric_files = []   # JSON files written by `afa evaluate`
out_csv = "main_table.csv"

# %%
import json

import pandas as pd

rows = [json.load(open(f)) for f in metric_files]
if not rows:
    raise ValueError("no metric files were given to this notebook (parameter metric_files)")
runs = pd.DataFrame(rows)
runs["seed"] = runs["seed"].astype(int)
runs.sort_values(["dataset", "model", "method", "seed"])[["dataset", "model", "method", "seed", "accuracy", "macro_f1", "n"]]

# %%
def mean_std(x):
    return f"{100 * x.mean():.1f} ± {100 * x.std(ddof=1):.1f}" if len(x) > 1 else f"{100 * x.mean():.1f}"


table = (runs.groupby(["dataset", "model", "method"])
         .agg(accuracy=("accuracy", mean_std), macro_f1=("macro_f1", mean_std), seeds=("seed", "nunique"),
              n_test=("n", "first"))
         .reset_index())
table

# %% [markdown]
# ## Paired difference, each method minus the baseline (accuracy points, same seed)

# %%
diffs = []
for (dataset, model), g in runs.groupby(["dataset", "model"]):
    base = g[g.method == "baseline"].set_index("seed")["accuracy"]
    for method, h in g[g.method != "baseline"].groupby("method"):
        d = (h.set_index("seed")["accuracy"] - base).dropna()
        diffs.append({"dataset": dataset, "model": model, "method": method,
                      "diff_vs_baseline": mean_std(d) if len(d) else "n/a", "seeds_paired": len(d),
                      "wins": int((d > 0).sum()), "losses": int((d < 0).sum())})
paired = pd.DataFrame(diffs)
paired

# %%
out = table.merge(paired, on=["dataset", "model", "method"], how="left") if len(paired) else table
out.to_csv(out_csv, index=False)
out
