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
# # Figure: attention heat-maps, baseline beside AFA, human rationale marked
#
# The same sentences under each method: every word shaded by its share of the attention row
# A_{n,:} (the last-layer, head-averaged attention of the classification position, summed over
# the word's model tokens), one strip per method on one colour scale per sentence, from the first
# seed both methods share.
# Rationale words (ERASER evidence, or the SST word-label rule of `afa/evaluation/alignment.py`)
# have their labels in red. Sentences are the first `n_examples` of the rationale dataset with
# 8-30 words (ERASER reviews: a 30-word window starting a few words before the first rationale
# span). Data: the per-example files of the `evaluate_alignment` rule.

# %% tags=["parameters"]
example_files = []   # .examples.jsonl.gz files written by `afa alignment`, all methods
n_examples = 6
out_png = "attention_heatmaps.png"

# %%
import gzip
import json
import re

import matplotlib
from IPython.display import Image

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

if not example_files:
    raise ValueError("no example files were given to this notebook (parameter example_files)")
pattern = re.compile(r"alignment/(?P<rationales>[^/]+)/(?P<dataset>[^/]+)/(?P<model>[^/]+)/(?P<method>[^/]+)/seed(?P<seed>\d+)")
files = pd.DataFrame([{**pattern.search(f).groupdict(), "file": f} for f in example_files])
files["seed"] = files.seed.astype(int)


def load(f):
    with gzip.open(f, "rt") as fh:
        return {e["id"]: e for e in map(json.loads, fh)}


def window(e, width=30):
    """(words, scores, mask) of a short sentence, or a window around the first rationale word."""
    if e["words"] <= width:
        return e["tokens"], np.array(e["scores"]), np.array(e["mask"])
    start = max(0, int(np.argmax(e["mask"])) - 5)
    sl = slice(start, start + width)
    return e["tokens"][sl], np.array(e["scores"][sl]), np.array(e["mask"][sl])


panels = []
for (rationales, dataset, model), g in files.groupby(["rationales", "dataset", "model"]):
    seeds = [set(h.seed) for _, h in g.groupby("method")]
    seed = min(set.intersection(*seeds))
    methods = sorted(g.method.unique(), key=lambda m: (m != "baseline", m))
    loaded = {m: load(g[(g.method == m) & (g.seed == seed)].file.iloc[0]) for m in methods}
    ids = [i for i, e in loaded[methods[0]].items() if 8 <= e["words"] <= 30 and all(i in loaded[m] for m in methods)]
    if len(ids) < n_examples:  # long documents: windows
        ids = [i for i in loaded[methods[0]] if all(i in loaded[m] for m in methods)]
    for i in ids[:n_examples]:
        panels.append((f"{rationales} (model trained on {dataset}, {model}, seed {seed}): {i}",
                       [(m, window(loaded[m][i])) for m in methods]))

# %%
fig, axes = plt.subplots(len(panels), 1, figsize=(14, sum(1.2 + 0.3 * len(p[1]) for p in panels)), squeeze=False)
for ax, (title, strips) in zip(axes[:, 0], panels):
    words, _, mask = strips[0][1]
    grid = np.stack([s for _, (_, s, _) in strips])
    grid = grid / max(grid.max(), 1e-12)  # one scale for the panel: the methods' shades compare directly
    ax.imshow(grid, aspect="auto", cmap="Blues", vmin=0, vmax=1)
    ax.set_yticks(range(len(strips)), [m for m, _ in strips], fontsize=8)
    ax.set_xticks(range(len(words)), words, rotation=60, ha="right", fontsize=8)
    for label, m in zip(ax.get_xticklabels(), mask):
        if m:
            label.set_color("red")
            label.set_fontweight("bold")
    ax.set_title(title, fontsize=9, loc="left")
fig.tight_layout()
fig.savefig(out_png, dpi=110)
Image(out_png)  # the saved file itself, on the page

# %% [markdown]
# Share of the attention row on rationale words, per method (all examples of the first shared seed):

# %%
share = []
for (rationales, dataset, model, method, seed), g in files.groupby(["rationales", "dataset", "model", "method", "seed"]):
    ex = load(g.file.iloc[0]).values()
    share.append({"rationales": rationales, "trained_on": dataset, "model": model, "method": method, "seed": seed,
                  "attention_on_rationale": np.mean([np.dot(e["scores"], e["mask"]) / max(sum(e["scores"]), 1e-12) for e in ex]),
                  "rationale_rate": np.mean([np.mean(e["mask"]) for e in ex])})
pd.DataFrame(share).groupby(["rationales", "trained_on", "model", "method"])[["attention_on_rationale", "rationale_rate"]].mean()
