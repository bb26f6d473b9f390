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
# Cells are mean ± standard deviation over seeds (percent, except queries). Every number comes from
# the `evaluate_robustness` rule of this run.

# %% tags=["parameters"]
result_files = []   # JSON files written by `afa robustness`
out_csv = "robustness_table.csv"

# %%
import json

import pandas as pd

results = [json.load(open(f)) for f in result_files]
if not results:
    raise ValueError("no result files were given to this notebook (parameter result_files)")
METRICS = ["clean_accuracy", "accuracy_under_attack", "attack_success_rate", "mean_words_perturbed", "mean_queries"]
runs = pd.DataFrame([{**{k: r[k] for k in ("dataset", "model", "method")}, "seed": int(r["seed"]), "recipe": recipe,
                      **{k: s[k] for k in METRICS + ["n", "skipped", "failed", "succeeded"]}}
                     for r in results for recipe, s in r["recipes"].items()])
runs.sort_values(["dataset", "model", "recipe", "method", "seed"]).reset_index(drop=True)


# %%
def mean_std(scale):
    def fmt(x):
        x = x.dropna() * scale
        if not len(x):
            return "n/a"
        return f"{x.mean():.1f} ± {x.std(ddof=1):.1f}" if len(x) > 1 else f"{x.mean():.1f}"
    return fmt


table = (runs.groupby(["dataset", "model", "recipe", "method"])
         .agg(clean_accuracy=("clean_accuracy", mean_std(100)),
              accuracy_under_attack=("accuracy_under_attack", mean_std(100)),
              attack_success_rate=("attack_success_rate", mean_std(100)),
              words_perturbed=("mean_words_perturbed", mean_std(100)),
              queries=("mean_queries", mean_std(1)),
              seeds=("seed", "nunique"), n=("n", "first"))
         .reset_index())
table.to_csv(out_csv, index=False)
table
