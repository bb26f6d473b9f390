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

from afa import stats

rows = [{**json.load(open(f)), "file": f} for f in result_files]
if not rows:
    raise ValueError("no result files were given to this notebook (parameter result_files)")
runs = pd.DataFrame(rows)
runs["seed"] = runs["seed"].astype(int)
KEYS = ["rationales", "dataset", "model", "method"]
METRICS = ["auprc", "token_f1", "iou_f1"]
runs.sort_values(KEYS + ["seed"])[KEYS + ["seed"] + METRICS + ["random_auprc", "n", "skipped", "rationale_coverage"]]

# %%
table = []
for key, g in runs.groupby(KEYS):
    row = dict(zip(KEYS, key))
    for m in METRICS:
        s = stats.summary(g[m])
        row[m] = stats.fmt(s, scale=1, digits=3)
        row[m + "_mean"] = s["mean"]
    row.update(random_auprc=round(g.random_auprc.mean(), 3), seeds=len(g), examples=int(g.n.iloc[0]),
               coverage=round(g.rationale_coverage.mean(), 3))
    table.append(row)
table = pd.DataFrame(table).rename(columns={"dataset": "trained_on"})
table[[c for c in table.columns if not c.endswith("_mean")]]

# %% [markdown]
# ## Each method against the baseline

# %%
def per_example(files, metric):
    cols = []
    for f in files:
        with gzip.open(f.replace(".json", ".examples.jsonl.gz"), "rt") as fh:
            cols.append(pd.Series({e["id"]: e[metric] for e in map(json.loads, fh)}))
    return pd.concat(cols, axis=1).mean(axis=1)


diffs = []
for (rationales, dataset, model), g in runs.groupby(["rationales", "dataset", "model"]):
    base = g[g.method == "baseline"].set_index("seed")
    for method, h in g[g.method != "baseline"].groupby("method"):
        h = h.set_index("seed")
        shared = sorted(set(base.index) & set(h.index))
        if not shared:
            continue
        row = {"rationales": rationales, "trained_on": dataset, "model": model, "method": method, "seeds_paired": len(shared)}
        for m in METRICS:
            t = stats.paired_ttest(h[m][shared], base[m][shared])
            row[f"{m}_diff"] = f"{t['mean_diff']:+.3f}"
            row[f"{m}_t_p"] = "n/a" if t["p_value"] != t["p_value"] else f"{t['p_value']:.3f}"
        for m in ("auprc", "token_f1"):  # IOU-F1 is a dataset-level score: no per-example values
            a = per_example(list(h.file[shared]), m)
            ab = pd.concat([a, per_example(list(base.file[shared]), m)], axis=1).dropna()  # examples both scored
            boot = stats.paired_bootstrap(ab.iloc[:, 0].values, ab.iloc[:, 1].values, bootstrap_resamples, bootstrap_seed)
            row[f"{m}_boot"] = f"{boot['mean_diff']:+.3f} [{boot['ci_low']:+.3f}, {boot['ci_high']:+.3f}] p={boot['p_value']:.3f}"
        diffs.append(row)
paired = pd.DataFrame(diffs)
paired

# %%
out = table.merge(paired, on=["rationales", "trained_on", "model", "method"], how="left") if len(paired) else table
out.to_csv(out_csv, index=False)
out[[c for c in out.columns if not c.endswith("_mean")]]
