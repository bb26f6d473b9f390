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
# # Table and figure: which discriminator can see *which* tokens were masked?
#
# AFA's reward can only teach attention the task if the discriminator D's output depends on which
# tokens a mask hides, not only on whether something was masked. The `evaluate_disc_study` rule
# (`afa/evaluation/disc_study.py`) trains each D variant alone, exactly as AFA trains it (1:1 on
# originals and masked copies of the train split, a fixed budget of updates the same for every
# variant), with masks from a fixed policy (`uniform`: K maskable tokens at random; `attention`:
# AFA's sampler on a trained baseline's attention row), then runs the mechanism probe
# (`afa/evaluation/probe.py`) with it on validation sentences.
#
# Per cell (dataset, D variant, masking, policy, probe K), over D's seeds:
# - **D accuracy**: its running accuracy over its last updates (`disc_acc`), and on the probe's
#   unmasked sentences and random copies;
# - **polar vs neutral** (the test, `detect` reward): share of sentences where masking K polar
#   words earns more than masking K POS-matched neutral ones, and the paired effect size d, with a
#   95 % interval with the seed as the unit (`afa.stats.seed_effect`, the claims table's procedure);
# - **random vs none**: the reward for masking at all (the length-only control under `delete`,
#   where a copy is K tokens shorter); **tail vs random**: holes against length at equal length;
#   **random vs random**: the A/A control (50 % up to noise);
# - **s/step**: wall seconds per D update (its reward pass, the masking, its update), one thread.
#
# Each D is probed after each budget of its training (`steps`: the disc_study block's probe_at and
# steps), so a cell is read at every budget, not only at one chosen for cost.
#
# **meets_bar**, the bar of issue 32 (part 2 trains AFA with a D that meets it), in the claims table's
# way of deciding (`afa.claims`; docs/statistics.md):
# - the effect: d of polar over neutral at AFA's K (3) above 0.3, and larger than 0 by a one-sided
#   test (`p_greater`) that survives Holm's adjustment over the family of every row the bar is read on
#   (each dataset x variant x masking x policy x budget at that K, all sentences): the study reads
#   dozens of cells, and an unadjusted 5 % would pass one in twenty by chance (the rule fixed on
#   2026-12-06, with 20 of the SST-2 cells in and before the w512, MiniLM and IMDB ones);
# - D's accuracy over its last updates between 0.6 and 0.95 (neither blind nor saturated);
# - the length-only control: a polar and a neutral copy have the same length, so on a dataset whose
#   texts are never cut (SST-2 at 64 tokens) length cannot make the preference. Where texts are cut
#   (IMDB at 256) a deleted copy of a cut text is shorter than any real one, so the bar must hold again
#   on the sentences below the cut (`below_max_length`, same test, same family size), where length
#   says nothing. Random vs none is the reward for masking at all; where lengths match it is D's
#   detection, which the accuracy bound already asks for.
# A variant the study could not run on a dataset is a row of its own whose `not_testable` says why
# (its measured cost).

# %% tags=["parameters"]
result_files = []   # JSON files written by `afa disc_study` (the .examples.jsonl.gz beside each is read too)
out_csv = "discriminator.csv"
out_png = "discriminator.png"
not_testable = {}   # config disc_study.not_testable: "<dataset>/<variant>" -> why its cells were not run here

# %%
import gzip
import json

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from afa.evaluation.disc_study import meets_bar
from afa.evaluation.probe import wins
from afa.stats import seed_effect
from afa.tables import load_runs

# one row per cell, seed and budget: a file holds its D's probe after each budget (`budgets`: the
# disc_study block's probe_at and steps, one training)
runs = load_runs(result_files)
runs = pd.DataFrame([{**r, **b, "steps": b["train"]["steps"]} for r in runs.to_dict("records") for b in r["budgets"]])
CELL = ["dataset", "model", "variant", "masking", "policy", "steps"]
REWARD = "detect"
runs["s_per_step"] = [t["seconds_per_step"] for t in runs["train"]]
runs["disc_acc"] = [t["disc_acc"] for t in runs["train"]]


def examples(file, steps):
    with gzip.open(file.replace(".json", ".examples.jsonl.gz"), "rt") as fh:
        return [e for e in map(json.loads, fh) if e["skipped"] is None and e["steps"] == steps]


ROWS = {"polar_vs_neutral": ("polar", "neutral"), "random_vs_none": ("random", "none"),
        "tail_vs_random": ("tail", "random"), "random_vs_random": ("random", "random2")}
# (cell, length group, K, comparison, seed) -> per-sentence reward differences, indexed by sentence id;
# groups: "all", and where texts are cut (IMDB) the probe's at_max_length / below_max_length, so that
# a D reading the cut (a deleted copy of a cut text is shorter than any real one) shows apart
diffs = {}
groups = {}  # cell -> the length groups its sentences fall in
probe_acc = []
for _, r in runs.iterrows():
    for e in examples(r["file"], r["steps"]):
        groups.setdefault(tuple(r[CELL]), set()).add(e["length"])
        for group in ("all", e["length"]):
            for name, (first, second) in ROWS.items():
                diffs.setdefault((*r[CELL], group, e["K"], name, r.seed), {})[e["id"]] = (
                    e["rewards"][REWARD][first] - e["rewards"][REWARD][second])
    for k in r["per_K"]:
        if "discriminator" in k:
            d = k["discriminator"]
            probe_acc.append({**r[CELL], "seed": r.seed, "K": k["K"], "acc_unmasked": d["accuracy_unmasked"],
                              "acc_random": d["accuracy_masked"]["random"]})
# a probe that kept no sentence (a tiny validation split) has no D accuracies: the columns stay, empty
probe_acc = pd.DataFrame(probe_acc, columns=CELL + ["seed", "K", "acc_unmasked", "acc_random"])


def over_seeds(per_seed: list[pd.Series]) -> dict:
    """Share and effect size of one row over seeds (seed_effect on the sentences every seed has)."""
    share = seed_effect([wins(x) - 0.5 for x in per_seed])
    with np.errstate(all="ignore"):
        d = seed_effect([x / np.std(x, ddof=1) for x in per_seed]) if all(len(x) > 1 for x in per_seed) else None
    out = {"share": share["estimate"] + 0.5, "share_low": share["ci_low"] + 0.5, "share_high": share["ci_high"] + 0.5}
    if d is not None:
        out.update(d=d["estimate"], d_low=d["ci_low"], d_high=d["ci_high"], d_p_greater=d["p_greater"])
    return out


table = []
for (key, g) in runs.groupby(CELL):
    seeds = sorted(g.seed)
    lengths = sorted(groups.get(key, ())) if len(groups.get(key, ())) > 1 else []
    for K in sorted({k["K"] for per_K in g["per_K"] for k in per_K}):
        acc = probe_acc[(probe_acc[CELL] == pd.Series(key, index=CELL)).all(axis=1) & (probe_acc.K == K)]
        for group in ["all"] + lengths:
            row = {**dict(zip(CELL, key)), "group": group, "K": K, "seeds": len(seeds), "disc_acc": g.disc_acc.mean(),
                   "s_per_step": g.s_per_step.mean()}
            if group == "all":  # D's probe accuracies are over all sentences
                row.update(acc_unmasked=acc.acc_unmasked.mean(), acc_random=acc.acc_random.mean())
            for name in ROWS:
                per_seed = [pd.Series(diffs.get((*key, group, K, name, s), {}), dtype=float) for s in seeds]
                if min(len(x) for x in per_seed) == 0:
                    continue
                stats = over_seeds(per_seed)
                row.update({f"{name}_{k}": v for k, v in stats.items()} if name == "polar_vs_neutral"
                           else {f"{name}_share": stats["share"]})
            row["sentences"] = len(diffs.get((*key, group, K, "polar_vs_neutral", seeds[0]), {}))
            table.append(row)
table = pd.DataFrame(table)
table = meets_bar(table, CELL)
# a variant not run on a dataset is a row that says why, not a gap
table["not_testable"] = ""
gaps = pd.DataFrame([{"dataset": key.split("/")[0], "variant": key.split("/")[1], "meets_bar": False, "not_testable": why}
                     for key, why in not_testable.items()], columns=["dataset", "variant", "meets_bar", "not_testable"])
table = pd.concat([table, gaps], ignore_index=True) if len(gaps) else table
table = table.astype({c: "Int64" for c in ("steps", "K", "seeds", "sentences") if c in table})
table.to_csv(out_csv, index=False)
table.round(3)

# %% [markdown]
# ## The test across variants
# Effect size d of polar over POS-matched neutral masks (`detect`) at AFA's K (the probe's largest),
# mean over seeds with its 95 % interval, per D variant and masking: a row of panels per dataset, a
# panel per budget (D's updates); the uniform policy's cells, or the attention policy's where no
# uniform cell exists. The dotted line is the bar, 0.3.

# %%
shown = table[table.policy == ("uniform" if (table.policy == "uniform").any() else table.policy.iloc[0])]
shown = shown[(shown.K == shown.K.max()) & (shown.group == "all")]
datasets, budgets = sorted(shown.dataset.unique()), sorted(shown.steps.unique())
fig, axes = plt.subplots(len(datasets), len(budgets), figsize=(4.5 * len(budgets), 3.4 * len(datasets)),
                         squeeze=False, sharey=True)
for (dataset, steps), g in shown.groupby(["dataset", "steps"]):
    ax = axes[datasets.index(dataset)][budgets.index(steps)]
    maskings, variants = sorted(g.masking.unique()), sorted(g.variant.unique())
    width = 0.8 / len(maskings)
    for j, m in enumerate(maskings):
        h = g[g.masking == m].set_index("variant").reindex(variants)
        x = np.arange(len(variants)) + (j - (len(maskings) - 1) / 2) * width
        d = h.get("polar_vs_neutral_d", pd.Series(np.nan, index=h.index))
        err = [d - h.get("polar_vs_neutral_d_low", d), h.get("polar_vs_neutral_d_high", d) - d]
        ax.errorbar(x, d, yerr=err, fmt="o", label=m, capsize=2)
    ax.axhline(0, color="grey", lw=0.8)
    ax.axhline(0.3, color="grey", lw=0.8, ls=":")
    ax.set_xticks(range(len(variants)), variants)
    ax.set_title(f"{dataset}, {steps} updates, K={g.K.iloc[0]}")
    ax.set_ylabel("effect size d, polar vs neutral")
axes[0][0].legend(title="masking", fontsize=8)
fig.tight_layout()
fig.savefig(out_png, dpi=120)

# %% [markdown]
# ## Per seed
# D's accuracy over its last updates and the seconds per update, per cell and seed.

# %%
runs.sort_values(CELL + ["seed"])[CELL + ["seed", "disc_acc", "s_per_step", "sentences"]].round(4)
