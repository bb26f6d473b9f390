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
metric_files = []   # JSON files written by `afa accuracy` (the .predictions.csv beside each is read too)
out_csv = "main_table.csv"
bootstrap_resamples = 10000
bootstrap_seed = 0

# %%
from afa.tables import accuracy_values, load_runs, seed_table, versus_baseline

runs = load_runs(metric_files)
runs.sort_values(["dataset", "model", "method", "seed"])[["dataset", "model", "method", "seed", "accuracy", "macro_f1", "n"]]

# %%
KEYS = ["dataset", "model"]
table = seed_table(runs, KEYS + ["method"], ["accuracy", "macro_f1"], scale=100, digits=1)
table = table.merge(runs.groupby(KEYS + ["method"]).n.first().rename("n_test").reset_index())
table[[c for c in table.columns if not c.endswith("_mean")]]

# %% [markdown]
# ## Each method against the baseline (accuracy points)
# `accuracy_diff`: mean over shared seeds of method minus baseline; `accuracy_t_p`: paired t-test
# p-value (n/a below two seeds or for a constant difference); `accuracy_wins`: seeds where the
# method is better; `correct_boot`: paired bootstrap over test examples, difference [95 % CI] p.

# %%
paired = versus_baseline(runs, KEYS, ["accuracy"], accuracy_values, ("correct",), scale=100, digits=2,
                         resamples=bootstrap_resamples, seed=bootstrap_seed)
paired

# %%
out = table.merge(paired, on=KEYS + ["method"], how="left") if len(paired) else table
out.to_csv(out_csv, index=False)
out[[c for c in out.columns if not c.endswith("_mean")]]
