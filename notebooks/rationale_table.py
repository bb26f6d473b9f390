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
# # Table: rationale alignment of the attention row, baseline vs AFA
#
# Paper claim (arXiv 2512.20661, abstract): AFA's attention agrees better with human rationales.
# The `evaluate_alignment` rule scores each model's attention row A_{n,:} (summed over the model
# tokens of each word) against word-level rationales: ERASER movie reviews (human evidence) scored
# with models trained on IMDB and/or on ERASER's own train split, and SST sentences (word sentiment
# labels turned into a mask, a proxy; rule in `afa/evaluation/alignment.py`) scored with SST-2
# models. Metrics: AUPRC (average precision; `random` is its expectation for random scores, the
# rationale rate), token F1 of the top-k words (k = rationale length), ERASER's IOU-F1 (micro,
# threshold 0.5). Cells: mean ± std [95 % t-interval] over seeds. Against the baseline: paired
# t-test over seeds and paired bootstrap over examples (per-example AUPRC and token F1 averaged over
# the shared seeds).

# %% tags=["parameters"]
result_files = []   # JSON files written by `afa align` (the .examples.jsonl.gz beside each is read too)
out_csv = "rationale_table.csv"
bootstrap_resamples = 10000
bootstrap_seed = 0

# %%
import gzip
import json

import pandas as pd

from afa.tables import load_runs, seed_table, versus_baseline

runs = load_runs(result_files)
KEYS = ["rationales", "dataset", "model", "method"]
METRICS = ["auprc", "token_f1", "iou_f1"]
runs.sort_values(KEYS + ["seed"])[KEYS + ["seed"] + METRICS + ["random_auprc", "n", "skipped", "rationale_coverage"]]

# %%
table = seed_table(runs, KEYS, METRICS)
extra = runs.groupby(KEYS).agg(random_auprc=("random_auprc", "mean"), examples=("n", "first"),
                               coverage=("rationale_coverage", "mean")).round(3).reset_index()
table = table.merge(extra, on=KEYS).rename(columns={"dataset": "trained_on"})
table[[c for c in table.columns if not c.endswith("_mean")]]

# %% [markdown]
# ## Each method against the baseline
# `<metric>_diff`, `_t_p`, `_wins`: paired over seeds; `<metric>_boot`: paired bootstrap over
# examples of per-example AUPRC and token F1 (IOU-F1 is a dataset-level score).

# %%
def per_example(file, metric):
    with gzip.open(file.replace(".json", ".examples.jsonl.gz"), "rt") as fh:
        return pd.Series({e["id"]: e[metric] for e in map(json.loads, fh)})


paired = versus_baseline(runs, ["rationales", "dataset", "model"], METRICS, per_example, ("auprc", "token_f1"),
                         resamples=bootstrap_resamples, seed=bootstrap_seed).rename(columns={"dataset": "trained_on"})
paired

# %%
out = table.merge(paired, on=["rationales", "trained_on", "model", "method"], how="left") if len(paired) else table
out.to_csv(out_csv, index=False)
out[[c for c in out.columns if not c.endswith("_mean")]]
