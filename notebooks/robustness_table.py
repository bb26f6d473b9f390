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
# # Table: robustness to adversarial edits (TextAttack 0.3.11), AFA vs baseline
#
# Each run's `evaluate_robustness` job attacks the same n examples of the report split with each
# recipe: DeepWordBug (character edits), PWWS (WordNet synonyms), Pruthi (one typo-like character
# edit) and `textfooler_offline` (TextFooler's structure on GloVe neighbours with an antonym guard,
# POS and MiniLM sentence-similarity constraints; see README). Per recipe:
#
# - **clean accuracy**: the model is right on the unedited example;
# - **accuracy under attack**: still right after the attack (higher = more robust);
# - **attack success rate**: flipped / originally right (lower = more robust);
# - **words perturbed**: mean fraction of the words changed, over successful attacks;
# - **queries**: mean model queries per attacked example (query budget in the config).
#
# Cells are mean ± std [95 % CI] over seeds (percent, except queries), with paired tests against the
# baseline below. Every number comes from the `evaluate_robustness` rule of this run.

# %% tags=["parameters"]
result_files = []   # JSON files written by `afa robustness`
out_csv = "robustness_table.csv"
bootstrap_resamples = 10000
bootstrap_seed = 0

# %%
import json

import pandas as pd

from afa.tables import attack_values, seed_table, versus_baseline

results = [json.load(open(f)) for f in result_files]
if not results:
    raise ValueError("no result files were given to this notebook (parameter result_files)")
METRICS = ["clean_accuracy", "accuracy_under_attack", "attack_success_rate", "mean_words_perturbed", "mean_queries"]
runs = pd.DataFrame([{**{k: r[k] for k in ("dataset", "model", "method")}, "seed": int(r["seed"]), "recipe": recipe,
                      "file": f"{f}::{recipe}",
                      **{k: s[k] for k in METRICS + ["n", "skipped", "failed", "succeeded"]}}
                     for f, r in zip(result_files, results) for recipe, s in r["recipes"].items()])
runs.sort_values(["dataset", "model", "recipe", "method", "seed"]).reset_index(drop=True)


# %%
KEYS = ["dataset", "model", "recipe", "method"]
table = seed_table(runs, KEYS, METRICS[:4], scale=100, digits=1)
table = table.merge(seed_table(runs, KEYS, ["mean_queries"], digits=1)[KEYS + ["mean_queries"]], on=KEYS)
table = table.merge(runs.groupby(KEYS).n.first().reset_index(), on=KEYS)
table[[c for c in table.columns if not c.endswith("_mean")]]

# %% [markdown]
# ## AFA against the baseline
# Paired over seeds (t-test p, wins) and, for accuracy under attack, a paired bootstrap over the
# attacked examples of "still right after the attack", averaged over the shared seeds.

# %%
def per_example(file, metric):
    path, recipe = file.split("::")
    return attack_values(path)[recipe]


paired = versus_baseline(runs, ["dataset", "model", "recipe"], ["accuracy_under_attack", "attack_success_rate"],
                         per_example, ("robust",), scale=100, digits=1, resamples=bootstrap_resamples, seed=bootstrap_seed)
out = table.merge(paired, on=KEYS, how="left") if len(paired) else table
out.to_csv(out_csv, index=False)
paired
