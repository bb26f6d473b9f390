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
# models. Metrics: AUPRC (average precision), token F1 of the top-k words (k = rationale length),
# ERASER's IOU-F1 (micro, threshold 0.5). Cells: mean ± std [95 % t-interval] over seeds. Against
# the baseline: paired t-test over seeds and paired bootstrap over examples (per-example AUPRC and
# token F1 averaged over the shared seeds).
#
# Below each model's rows, scorers that never read the text, on the same words (mean over its runs):
# `chance` is random scores: AUPRC their exact expected AP (on short sentences far above the
# rationale rate), token F1 the rationale rate (its exact expectation), IOU-F1 the mean of seeded
# draws; `position_first` ranks earlier words higher, `position_last` later ones (attention often
# leans on positions, so this is what an attention row must beat to show it follows content).
#
# `unseen_auprc`: AUPRC over the words that are never a one-word phrase of the train split the model
# learnt from (SST-2 labels most single words one by one, so the proxy rewards memorised word labels;
# null where training labels no single word); `unseen_share`: the share of the rationale words there.

# %% tags=["parameters"]
result_files = []   # JSON files written by `afa alignment` (the .examples.jsonl.gz beside each is read too)
out_csv = "rationale_table.csv"
bootstrap_resamples = 10000
bootstrap_seed = 0

# %%

import pandas as pd

from afa.evaluation.alignment import DEFAULTS, baselines
from afa.tables import alignment_examples, alignment_values, load_runs, seed_table, versus_baseline


def with_baselines(run):
    """Runs written before the chance and position fields existed get them from their per-example masks."""
    if pd.notna(run.get("chance_auprc")):
        return run
    s = {**DEFAULTS, **run["settings"]}
    masks = [e["mask"] for e in alignment_examples(run["file"])]
    return {**run, **baselines(masks, s["iou_threshold"], s["chance_draws"], s["chance_seed"])}


runs = pd.DataFrame([with_baselines(r) for r in load_runs(result_files).to_dict("records")])
for field in ("unseen_auprc", "unseen_chance_auprc", "unseen_rationale_share"):  # null: nothing labelled in training
    runs[field] = pd.to_numeric(runs[field], errors="coerce") if field in runs else float("nan")
KEYS = ["rationales", "dataset", "model", "method"]
METRICS = ["auprc", "token_f1", "iou_f1"]
REFERENCES = {"chance": {"auprc": "chance_auprc", "token_f1": "positive_rate", "iou_f1": "chance_iou_f1",
                         "unseen_auprc": "unseen_chance_auprc"},
              **{name: {m: f"{name}_{m}" for m in METRICS} for name in ("position_first", "position_last")}}
runs.sort_values(KEYS + ["seed"])[KEYS + ["seed"] + METRICS + ["unseen_auprc", "chance_auprc", "positive_rate", "n",
                                                             "skipped", "rationale_coverage"]]

# %%
table = seed_table(runs, KEYS, METRICS + ["unseen_auprc"])
extra = runs.groupby(KEYS).agg(examples=("n", "first"), coverage=("rationale_coverage", "mean"),
                               unseen_share=("unseen_rationale_share", "mean")).round(3).reset_index()
table = table.merge(extra, on=KEYS)
references = []
for key, g in runs.groupby(KEYS[:-1]):
    for name, fields in REFERENCES.items():
        means = {m: g[f].mean() for m, f in fields.items()}
        shown = {m: f"{v:.3f}" if v == v else "n/a" for m, v in means.items()}
        references.append({**dict(zip(KEYS[:-1], key)), "method": name, **shown,
                           **{f"{m}_mean": v for m, v in means.items()}, "seeds": g.seed.nunique(),
                           "examples": g.n.iloc[0], "coverage": round(g.rationale_coverage.mean(), 3),
                           "unseen_share": round(g.unseen_rationale_share.mean(), 3)})
# a stable sort keeps each model's rows above its reference rows
table = pd.concat([table, pd.DataFrame(references)]).sort_values(KEYS[:-1], kind="stable")
table = table.rename(columns={"dataset": "trained_on"}).reset_index(drop=True)
table[[c for c in table.columns if not c.endswith("_mean")]]

# %% [markdown]
# ## Each method against the baseline
# `<metric>_diff`, `_t_p`, `_wins`: paired over seeds; `<metric>_boot`: paired bootstrap over
# examples of per-example AUPRC and token F1 (IOU-F1 is a dataset-level score).

# %%
paired = versus_baseline(runs, ["rationales", "dataset", "model"], METRICS, alignment_values, ("auprc", "token_f1"),
                         resamples=bootstrap_resamples, seed=bootstrap_seed).rename(columns={"dataset": "trained_on"})
paired

# %%
out = table.merge(paired, on=["rationales", "trained_on", "model", "method"], how="left") if len(paired) else table
out.to_csv(out_csv, index=False)
out[[c for c in out.columns if not c.endswith("_mean")]]
