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
# # Figure: token deletion curves, AFA vs baseline vs random
#
# Paper claim (arXiv 2512.20661, abstract): deleting the tokens AFA attends to most costs more
# accuracy than deleting the baseline's, i.e. AFA's attention is more faithful. For each run the
# `evaluate_deletion` rule deletes the top-k tokens of the model's own attention row (solid) and k
# random tokens (dashed, mean of several draws), for token counts k and fractions of each example's
# tokens. Curves are means over seeds, bands ± one standard deviation. The table gives ERASER's
# aggregates: comprehensiveness (higher = the attended tokens mattered more) and sufficiency
# (lower = the attended tokens alone suffice), averaged over all levels, with seed statistics and
# paired tests against the baseline.

# %% tags=["parameters"]
result_files = []   # JSON files written by `afa deletion`
out_csv = "deletion_curves.csv"
out_png = "deletion_curves.png"
bootstrap_resamples = 10000
bootstrap_seed = 0

# %%
import json

import matplotlib
from IPython.display import Image

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from afa.tables import deletion_block, deletion_values, seed_table, versus_baseline

results = [json.load(open(f)) for f in result_files]
if not results:
    raise ValueError("no result files were given to this notebook (parameter result_files)")
# labels made before pandas sees them: a column of ints and floats would turn 1 into "1.0"
levels = pd.DataFrame([{**{k: r[k] for k in ("dataset", "model", "method", "seed")}, **lv, "level": str(lv["level"])}
                       for r in results for lv in r["levels"]])
order = [str(lv["level"]) for lv in results[0]["levels"]]

# %%
groups = list(levels.groupby(["dataset", "model"]))
fig, axes = plt.subplots(1, len(groups), figsize=(5 * len(groups), 3.6), squeeze=False)
for ax, ((dataset, model), g) in zip(axes[0], groups):
    for i, (method, h) in enumerate(g.groupby("method")):
        color = f"C{i}"
        for col, style, label in (("accuracy_attention", "-", "top attention"), ("accuracy_random", "--", "random")):
            s = h.groupby("level")[col].agg(["mean", "std"]).reindex(order)
            x = range(len(order))
            ax.plot(x, s["mean"], style, color=color, label=f"{method}, {label}")
            ax.fill_between(x, s["mean"] - s["std"].fillna(0), s["mean"] + s["std"].fillna(0), color=color, alpha=0.15)
    ax.set_xticks(range(len(order)), order, rotation=45)
    ax.set_xlabel("tokens deleted (int) or fraction of the example (float)")
    ax.set_ylabel("accuracy")
    ax.set_title(f"{dataset} / {model}")
axes[0][0].legend(fontsize=7)
fig.tight_layout()
fig.savefig(out_png, dpi=120)
Image(out_png)  # the saved file itself, on the page

# %% [markdown]
# ## ERASER aggregates over seeds, and each method against the baseline
# Cells: mean ± std [95 % CI] over seeds. Against the baseline: paired t-test over seeds and a
# paired bootstrap over examples of per-example comprehensiveness and sufficiency. AOPC is the mean
# over ERASER's bins (1, 5, 10, 20, 50 % of the tokens) where a run has them (`aopc_levels`:
# eraser), comparable with published figures; over all of its levels otherwise (`all`).

# %%
METRICS = ["accuracy_full", "aopc_comprehensiveness", "aopc_comprehensiveness_random", "aopc_sufficiency"]


runs = pd.DataFrame([{**{k: r[k] for k in ["dataset", "model", "method", "seed", "accuracy_full"]},
                      **{k: deletion_block(r)[0][k] for k in METRICS[1:]}, "aopc_levels": deletion_block(r)[1], "file": f}
                     for f, r in zip(result_files, results)])
runs["seed"] = runs.seed.astype(int)
table = seed_table(runs, ["dataset", "model", "method"], METRICS)
table[[c for c in table.columns if not c.endswith("_mean")]]

# %%
paired = versus_baseline(runs, ["dataset", "model"], METRICS[1:], deletion_values, ("comprehensiveness", "sufficiency"),
                         resamples=bootstrap_resamples, seed=bootstrap_seed)
out = table.merge(paired, on=["dataset", "model", "method"], how="left") if len(paired) else table
out.to_csv(out_csv, index=False)
paired
