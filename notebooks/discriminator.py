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
# **meets_bar**, the bar of issue 32 (part 2 trains AFA with a D that meets it), in two stages
# (`afa.evaluation.disc_study.meets_bar`; docs/evaluations.md), at AFA's K (3):
# - the **screen**, on D's first seeds (`stage` screen): d of polar over neutral above 0.3, its
#   one-sided p (`p_greater`) below 0.05 unadjusted, D's accuracy over its last updates between 0.6 and
#   0.95 (neither blind nor saturated); where texts are cut (IMDB at 256) the same again on the sentences
#   below the cut (`below_max_length`): a deleted copy of a cut text is shorter than any real one, so
#   only there can length not make the preference. A polar and a neutral copy have the same length,
#   so on SST-2 (never cut at 64 tokens) length cannot make it;
# - the **confirmation**, on new seeds of every cell the screen let through (`stage` confirm,
#   config disc_study.confirm): the same bar on those seeds alone, with Holm's adjustment over the
#   readings screened in (`p_holm`). 3 seeds give a t with 2 degrees of freedom: Holm over every
#   reading of the study on them would need a t near 19, so the screen spends no error rate and the
#   new seeds, independent of it, carry the test (the simulation is in tests/test_disc_study.py).
# A variant the study could not run on a dataset is a row of its own whose `not_testable` says why
# (its measured cost).

# %% tags=["parameters"]
result_files = []   # JSON files written by `afa disc_study` (the .examples.jsonl.gz beside each is read too)
out_csv = "discriminator.csv"
out_png = "discriminator.png"
not_testable = {}   # config disc_study.not_testable: "<dataset>/<variant>" -> why its cells were not run here
confirm_seeds = []  # config disc_study.confirm.seeds: D's seeds of the bar's second stage (the rest screen)

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from afa.tables import DISC_CELL, disc_study_table

runs, table = disc_study_table(result_files, confirm_seeds)
CELL = DISC_CELL
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
# uniform cell exists; the screen's seeds (the confirmation's rows are in the table). The dotted line is
# the bar, 0.3.

# %%
shown = table[table.policy == ("uniform" if (table.policy == "uniform").any() else table.policy.iloc[0])]
shown = shown[(shown.K == shown.K.max()) & (shown.group == "all") & (shown.stage == "screen")]
datasets, budgets = sorted(shown.dataset.unique()), sorted(shown.steps.unique())
fig, axes = plt.subplots(len(datasets), len(budgets), figsize=(4.5 * len(budgets), 3.4 * len(datasets)),
                         squeeze=False, sharey=True, layout="constrained")
# one colour per masking on every panel (a dataset may lack one: SST-2 has no refill), one legend for all
colour = {m: plt.cm.tab10(i % 10) for i, m in enumerate(sorted(shown.masking.unique()))}
for ax in axes.flat:
    ax.set_visible(False)  # a dataset read at fewer budgets leaves its other panels empty
for (dataset, steps), g in shown.groupby(["dataset", "steps"]):
    ax = axes[datasets.index(dataset)][budgets.index(steps)]
    ax.set_visible(True)
    maskings, variants = sorted(g.masking.unique()), sorted(g.variant.unique())
    width = 0.8 / len(maskings)
    for j, m in enumerate(maskings):
        h = g[g.masking == m].set_index("variant").reindex(variants)
        x = np.arange(len(variants)) + (j - (len(maskings) - 1) / 2) * width
        d = h.get("polar_vs_neutral_d", pd.Series(np.nan, index=h.index))
        err = [d - h.get("polar_vs_neutral_d_low", d), h.get("polar_vs_neutral_d_high", d) - d]
        ax.errorbar(x, d, yerr=err, fmt="o", color=colour[m], capsize=2)
    ax.axhline(0, color="grey", lw=0.8)
    ax.axhline(0.3, color="grey", lw=0.8, ls=":")
    ax.set_xticks(range(len(variants)), variants)
    ax.set_title(f"{dataset}, {steps} updates, K={g.K.iloc[0]}")
    ax.set_ylabel("effect size d, polar vs neutral")
    ax.yaxis.set_tick_params(labelleft=True)
fig.legend(handles=[Line2D([], [], color=c, marker="o", ls="none", label=m) for m, c in colour.items()],
           title="masking", fontsize=8, loc="outside right upper")
fig.savefig(out_png, dpi=120)

# %% [markdown]
# ## Per seed
# D's accuracy over its last updates and the seconds per update, per cell and seed; for the generator
# masking, the held-out top-10 accuracy of the G it masked with (G is retrained in each session that
# runs generator cells and is not bitwise the same across sessions: two sessions' Gs are two draws).

# %%
runs.sort_values(CELL + ["seed"])[CELL + ["seed", "stage", "disc_acc", "s_per_step", "generator_top_k"]].round(4)
