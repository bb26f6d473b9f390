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
# # Ablations: one hyper-parameter of AFA at a time
#
# The paper analyses K (tokens masked), eps (the share of random masks), lambda (the weight of
# L_adv) and the discriminator's size. A swept parameter is a set of methods of `method_settings`
# whose settings equal the live method's in everything but that parameter (`afa.tables.sweep_variants`;
# `disc.layers` is the discriminator's number of blocks). Per value: accuracy on the report split
# and the best validation accuracy of training, mean [95 % t-interval] over seeds, and the paired
# difference to the live method's own value (the same seeds: seed s shares the data order and
# initial draw), mean [95 % t-interval] over seeds, left empty where the two trained on different
# numbers of rows (`n_train`: IMDB's K runs use a 5,000-review subset, the live default the full
# split, so their difference would be the data's as much as K's). The baseline's report accuracy is the dashed
# line. Nothing here chooses a value: the report split is shown to compare with the paper's
# figures; a choice would read the validation column only.

# %% tags=["parameters"]
accuracy_files = []      # JSON files written by `afa accuracy` for the sweeps' methods and the baseline
train_metric_files = []  # train_metrics.json of the same runs (best validation accuracy)
method_settings = {}     # config method_settings: which methods form a sweep
live = "afa"             # the method every sweep varies
sweeps = ["K", "eps", "lambda", "disc.layers"]
out_csv = "ablations.csv"
out_png = "ablations.png"

# %%
import json
from pathlib import Path

import matplotlib
from IPython.display import Image

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from afa import stats
from afa.tables import load_runs, sweep_variants

runs = load_runs(accuracy_files)
# models/<dataset>/<model>/<method>/seed<N>/train_metrics.json
metrics = {tuple(Path(f).parts[-5:-2]) + (int(Path(f).parts[-2][4:]),): json.load(open(f)) for f in train_metric_files}
for column, field in (("val_acc", "val_acc"), ("n_train", "n_train")):
    runs[column] = [metrics.get((r.dataset, r.model, r.method, r.seed), {}).get(field, np.nan) for r in runs.itertuples()]
KEYS = ["dataset", "model"]
pd.set_option("display.max_colwidth", None)  # the reasons a sweep did not run, whole


def interval(values) -> dict:
    s = stats.summary(values)
    return {"mean": s["mean"], "low": s["ci_low"], "high": s["ci_high"], "seeds": s["n"]}


rows, missing = [], []
for key in sweeps:
    variants = sweep_variants(method_settings, live, key)
    for (dataset, model), g in runs.groupby(KEYS):
        found = g[g.method.isin(variants)]
        if found.method.nunique() < 2:
            continue
        ref = found[found.method == live].set_index("seed")
        for method, h in found.groupby("method"):
            h = h.set_index("seed")
            shared = sorted(set(h.index) & set(ref.index))
            row = {"parameter": key, "dataset": dataset, "model": model, "value": variants[method],
                   "label": str(variants[method]), "method": method, "default": method == live,
                   "n_train": "/".join(str(int(n)) for n in sorted(h.n_train.dropna().unique()))}
            for metric in ("accuracy", "val_acc"):
                row.update({f"{metric}_{k}": v for k, v in interval(100 * h[metric].dropna()).items()})
            # a variant trained on a subset (per_method train_overrides) is not paired with the default:
            # the difference would be the train size's as much as the setting's
            same_data = set(h.n_train.dropna()) == set(ref.n_train.dropna())
            if method != live and len(shared) >= 2 and same_data:
                d = interval(100 * (h.accuracy[shared] - ref.accuracy[shared]))
                row.update({"diff_vs_default": d["mean"], "diff_low": d["low"], "diff_high": d["high"]})
            rows.append(row)
    if not any(r["parameter"] == key for r in rows):
        grid = ", ".join(f"{m} ({key} {v})" for m, v in variants.items()) or "none"
        missing.append({"parameter": key, "why": f"not run: fewer than two values of {key} among the runs "
                                                 f"(method_settings vary it in: {grid})"})
table = pd.DataFrame(rows, columns=["parameter", "dataset", "model", "value", "label", "method", "default", "n_train"]
                     + [f"{m}_{k}" for m in ("accuracy", "val_acc") for k in ("mean", "low", "high", "seeds")]
                     + ["diff_vs_default", "diff_low", "diff_high"])
baseline = {k: interval(100 * g.accuracy) for k, g in runs[runs.method == "baseline"].groupby(KEYS)}
pd.DataFrame(missing, columns=["parameter", "why"])

# %% [markdown]
# ## Every swept value (accuracy in points)

# %%
table.to_csv(out_csv, index=False)
table.round(2)

# %% [markdown]
# ## One figure per swept parameter
# Report-split accuracy (solid) and best validation accuracy (dotted) against the parameter's value,
# mean and 95 % t-interval over seeds; the live method's value is the filled marker; dashed: the
# baseline's report accuracy.

# %%
params = list(dict.fromkeys(table.parameter))
panels = {p: list(table[table.parameter == p].groupby(KEYS)) for p in params}
width = max((len(v) for v in panels.values()), default=1)
fig, axes = plt.subplots(max(len(params), 1), width, figsize=(4.5 * width, 3.4 * max(len(params), 1)), squeeze=False)
for i, p in enumerate(params):
    for j, ((dataset, model), g) in enumerate(panels[p]):
        ax = axes[i][j]
        g = g.sort_values("value")
        x = np.arange(len(g))
        for metric, style, label in (("accuracy", "-o", "report split"), ("val_acc", ":s", "validation")):
            mean = g[f"{metric}_mean"].to_numpy()
            err = np.vstack([mean - g[f"{metric}_low"].to_numpy(), g[f"{metric}_high"].to_numpy() - mean])
            ax.errorbar(x, mean, yerr=np.nan_to_num(err), fmt=style, capsize=3, label=label, mfc="white")
            live_at = g.default.to_numpy(dtype=bool)
            ax.plot(x[live_at], mean[live_at], "o", color="k", zorder=5)
        if (dataset, model) in baseline:
            ax.axhline(baseline[(dataset, model)]["mean"], ls="--", color="grey", label="baseline (report)")
        ax.set_xticks(x, list(g.label))
        ax.set_xlabel(p)
        ax.set_ylabel("accuracy (%)")
        ax.set_title(f"{p}: {dataset} / {model}")
        ax.legend(fontsize=7)
    for j in range(len(panels[p]), width):
        axes[i][j].axis("off")
if not params:
    axes[0][0].text(0.5, 0.5, "no swept parameter among the runs", ha="center", va="center")
    axes[0][0].axis("off")
fig.tight_layout()
fig.savefig(out_png, dpi=120)
Image(out_png)  # the saved file itself, on the page
