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
# # Table: mechanism probe, does each reward prefer masking sentiment-bearing tokens?
#
# AFA can only move attention towards the words that carry the label if its reward pays more for
# masking them. The `evaluate_probe` rule takes held-out sentences (the validation split), masks K
# polar tokens (SST word labels), K neutral tokens with the same part-of-speech tags, and two draws
# of K random tokens, with the run's own masking mode, and scores every copy with each reward the run
# has: `detect` and `deceive` from its discriminator D (AFA runs), `confidence_drop` from the target
# (every run; a baseline's copies use `probe.masking_for_baseline`). Rows (`afa/evaluation/probe.py`):
#
# - **polar_vs_neutral**: the test. Same count, POS tags and length; only which words differ;
# - **polar_vs_random**, **neutral_vs_random**: against an unselected K-token mask, same length;
# - **random_vs_random**: the A/A control; 50 % up to noise, whatever the reward;
# - **random_vs_none**: the length-only control: K random tokens masked (`delete`: a copy exactly K
#   tokens shorter) against the sentence itself, the reward for masking at all;
# - **tail_vs_random**: the last K tokens against K random ones, same count and length: a D that
#   reads the holes deletion leaves scores the random copy higher, one that reads length alone does not.
#
# **group**: every row over `all` sentences and, where some sentences fill the run's max_length
# (IMDB's reviews at 256 tokens, never SST-2's), over `at_max_length` (cut by the tokenizer) and
# `below_max_length` apart: a deleted copy of a cut text is shorter than every cut original, which a
# D can learn from length alone. Result files written before the split have `all` only.
#
# Per row: **share** of sentences where the first copy earns the higher reward (ties count half),
# **mean difference** of the rewards and the paired **effect size** d = mean / sd of the
# differences. Cells are the mean over seeds with a 95 % interval with the seed as the unit of
# inference (`afa.stats.seed_effect`, as the claims table: a t on S - 1 degrees of freedom whose
# standard error carries the sentence draw every seed shares; every seed scores the same sentences
# with the same masks); the effect size is the mean of the seeds' own d, each seed's differences
# divided by their sd. `p` is the two-sided p of a mean reward difference of 0, before any correction across
# rows (the share's interval answers "no preference in how many sentences" on its own). The per-seed values follow. `detect` and `deceive` read the same logit in
# opposite directions, so their shares are complements.

# %% tags=["parameters"]
result_files = []   # JSON files written by `afa probe` (the .examples.jsonl.gz beside each is read too)
out_csv = "probe_table.csv"
bootstrap_resamples = 10000   # the per-seed intervals (over one run's sentences) come with the result files
bootstrap_seed = 0

# %%
import gzip
import json

import numpy as np
import pandas as pd

from afa.evaluation.probe import wins
from afa.stats import seed_effect
from afa.tables import load_runs

runs = load_runs(result_files)
RUN = ["dataset", "model", "method"]
runs.sort_values(RUN + ["seed"])[RUN + ["seed", "run_kind", "masking", "sentences"]]

# %% [markdown]
# ## Per seed
# Each run's own rows: the value and its 95 % bootstrap interval over that run's sentences.

# %%
per_seed = pd.DataFrame([{**{k: r[k] for k in RUN + ["seed", "masking"]}, "group": "all", **row}
                         for _, r in runs.iterrows() for row in r["rows"]])
if per_seed.empty:
    raise ValueError("no probe rows: every sentence of every run was skipped (see per_K.skipped in the result files)")
KEYS = RUN + ["masking", "group", "reward", "K", "comparison"]
ORDER = list(dict.fromkeys(per_seed.comparison))  # the probe's order: the test first, the controls last
per_seed["comparison"] = pd.Categorical(per_seed.comparison, ORDER, ordered=True)
per_seed = per_seed.sort_values(KEYS + ["seed"]).reset_index(drop=True)


FORMAT = {"share": ".3f", "mean_diff": ".3g", "effect_size": ".2f"}  # reward differences span orders of magnitude


def cell(value, low, high, spec):
    if value != value:
        return "n/a"
    return f"{value:{spec}}" if low != low else f"{value:{spec}} [{low:{spec}}, {high:{spec}}]"  # one seed: no interval


shown = per_seed[KEYS + ["seed", "n"]].copy()
for m in ("share", "mean_diff", "effect_size"):
    shown[m] = [cell(v, lo, hi, FORMAT[m]) for v, lo, hi in zip(per_seed[m], per_seed[m + "_low"], per_seed[m + "_high"])]
shown

# %% [markdown]
# ## Over seeds
# Mean over seeds, 95 % interval with the seed as the unit (`afa.stats.seed_effect`).

# %%
def examples(file):
    with gzip.open(file.replace(".json", ".examples.jsonl.gz"), "rt") as fh:
        return [e for e in map(json.loads, fh) if e["skipped"] is None]


diffs = {}  # (run keys, group, reward, K, comparison, seed) -> per-sentence differences
for _, r in runs.iterrows():
    rows = {(row.get("group", "all"), row["reward"], row["K"], row["comparison"]): (row["first"], row["second"])
            for row in r["rows"]}
    by_K = {}
    for e in examples(r["file"]):
        by_K.setdefault(e["K"], []).append(e)
    for (group, reward, K, comparison), (first, second) in rows.items():
        kept = [e for e in by_K[K] if group == "all" or e["length"] == group]
        diffs[(r.dataset, r.model, r.method, r.masking, group, reward, K, comparison, r.seed)] = pd.Series(
            [e["rewards"][reward][first] - e["rewards"][reward][second] for e in kept], index=[e["id"] for e in kept],
            dtype=float)


NONE = {"estimate": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"), "p_value": float("nan"), "examples": 0}


def effect(groups):
    """seed_effect over the sentences every seed has a value for; none (a row of one sentence, whose
    effect size has no sd): n/a."""
    common = set.intersection(*(set(x.dropna().index) for x in groups))
    return seed_effect(groups) if common else NONE


def over_seeds(groups):
    """share, mean difference and effect size over seeds: (estimate, low, high) each, and the mean difference's p."""
    share = effect([wins(x) - 0.5 for x in groups])  # the same sentences in every seed: aligned on id
    diff = effect(groups)
    # each seed's differences in units of its own sd: their mean over sentences is that seed's d
    with np.errstate(all="ignore"):
        d = effect([x / np.std(x, ddof=1) for x in groups])
    return {"share": (share["estimate"] + 0.5, share["ci_low"] + 0.5, share["ci_high"] + 0.5),
            "mean_diff": (diff["estimate"], diff["ci_low"], diff["ci_high"]),
            "effect_size": (d["estimate"], d["ci_low"], d["ci_high"]),
            "p": diff["p_value"], "sentences_used": diff["examples"]}


table = []
for key, g in per_seed.groupby(KEYS, observed=True):
    seeds = sorted(g.seed)
    groups = [diffs[(*key, s)] for s in seeds]
    row = {**dict(zip(KEYS, key)), "seeds": len(seeds),
           "sentences": "/".join(str(len(x)) for x in groups) if len({len(x) for x in groups}) > 1 else len(groups[0])}
    stats = over_seeds(groups)
    for m in ("share", "mean_diff", "effect_size"):
        est, lo, hi = stats[m]
        row.update({m: cell(est, lo, hi, FORMAT[m]), f"{m}_mean": est, f"{m}_low": lo, f"{m}_high": hi,
                    f"{m}_per_seed": ", ".join(f"{v:{FORMAT[m]}}" for v in g.sort_values("seed")[m])})
    row["p"] = stats["p"]
    table.append(row)
table = pd.DataFrame(table)
table.to_csv(out_csv, index=False)
table[KEYS + ["share", "mean_diff", "effect_size", "p", "seeds", "sentences", "share_per_seed"]]

# %% [markdown]
# ## The test alone
# Share of sentences where the polar mask earns more than the POS-matched neutral one (50 % = no
# preference), next to the A/A control, per run kind and reward.

# %%
FOCUS = ["polar_vs_neutral", "random_vs_random", "random_vs_none", "tail_vs_random"]
focus = table[table.comparison.isin(FOCUS)]
focus.pivot_table(index=RUN + ["masking", "group", "reward", "K"], columns="comparison", values="share",
                  aggfunc="first", observed=True).reindex(columns=[c for c in FOCUS if c in ORDER])

# %% [markdown]
# ## What D sees on the probe's copies
# Share of unmasked sentences D calls unmasked (z < 0) and of each kind of copy it calls masked
# (z > 0), per AFA run with a discriminator: near 100 % everywhere means the reward saturates. Per
# length group where the sentences have both: a D that reads length is right on cut texts and near
# chance (or worse) on shorter ones.

# %%
def accuracies(d):
    return {"unmasked": d["accuracy_unmasked"], **{f"masked_{c}": v for c, v in d["accuracy_masked"].items()}}


disc = pd.DataFrame([{**{k: r[k] for k in RUN + ["seed", "masking"]}, "K": e["K"], "group": group, "n": d.get("n", e["n"]),
                      **accuracies(d)}
                     for _, r in runs.iterrows() for e in r["per_K"] if "discriminator" in e
                     for group, d in [("all", e["discriminator"]), *e["discriminator"].get("by_length", {}).items()]])
disc.round(3) if len(disc) else "no run with a discriminator"
