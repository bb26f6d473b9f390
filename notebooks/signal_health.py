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
# # Figure: signal health over training
#
# Whether AFA's policy gradient has anything to learn from, read from each run's `dynamics.jsonl`
# (one batch every `log_every` target steps, and the epoch means at each epoch's end):
#
# - **D accuracy** on originals and all `M` masked copies: near 1.0 every mask earns the same
#   reward, near 0.5 the reward is noise; either way `r - b` carries no signal;
# - **sd of r - b** over the `M` masks of an example (mean over examples): the advantage the
#   policy gradient is made of; 0 means L_adv is 0 whatever D does;
# - **identical masks**: share of examples whose `M` mask sets coincide (`K` at least the number of
#   maskable tokens, or attention so peaked that sampling always draws the same tokens): no
#   contrast between masks, no gradient;
# - **attention entropy** of the policy (nats); below the 0.5-nat guide the row is on one or two
#   tokens (perplexity e^0.5 = 1.6);
# - **polar mass**: share of the policy on sentiment-bearing words (SST word labels, train
#   sentences only), baseline runs included: the mechanism AFA should move;
# - **policy term vs entropy bonus** (table only): L_adv is the REINFORCE term -mean[(r - b) log q]
#   minus the bonus beta H(pi) (`entropy_weight`); the table splits a logged L_adv into the two
#   (policy term = L_adv + beta H). The policy term's value is minus the covariance of advantage and
#   log q over an example's masks: 0 when every mask earns the same reward or is as likely as any
#   other (a uniform pi); the bonus pulls pi towards uniform, so a run whose L_adv is the bonus
#   alone has attention that the adversary no longer shapes.
#
# Curves are means over seeds with a min-max band; open markers are epoch means.

# %% tags=["parameters"]
metric_files = []   # train_metrics.json of each run (the dynamics.jsonl beside each is read)
out_csv = "signal_health.csv"
out_png = "signal_health.png"

# %%
import json
from pathlib import Path

import matplotlib
from IPython.display import Image

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.lines import Line2D

SIGNALS = {"disc_acc": "D accuracy", "adv_sd": "sd of r - b", "identical_masks": "identical masks",
           "attn_entropy": "attention entropy (nats)", "polar_mass": "polar mass"}
AFA_ONLY = {"disc_acc", "adv_sd", "identical_masks"}
KEYS = ["dataset", "model", "method", "seed"]

if not metric_files:
    raise ValueError("no train metric files were given to this notebook (parameter metric_files)")
runs, lines = [], []
for f in metric_files:
    run = Path(f).parent  # .../models/<dataset>/<model>/<method>/seed<seed>
    m = json.loads(Path(f).read_text())
    key = dict(zip(KEYS, (run.parts[-4], run.parts[-3], run.parts[-2], int(run.name[4:]))))
    runs.append({**key, "objective": m["method"]["objective"], "masking": m["method"].get("masking"),
                 "reward": m["method"].get("reward"), "beta": m["method"].get("entropy_weight", 0.0),
                 **{k: m[k] for k in ("val_acc", "steps", "wall_s")}})
    lines += [{**key, **json.loads(line)} for line in open(run / "dynamics.jsonl") if line.strip()]
runs = pd.DataFrame(runs)
dyn = (pd.DataFrame(lines).reindex(columns=[*KEYS, "step", "epoch_end", "L_adv", *SIGNALS])
       .merge(runs[[*KEYS, "beta"]], on=KEYS, how="left"))
dyn["entropy_bonus"] = dyn.beta.where(dyn.L_adv.notna()) * dyn.attn_entropy  # a baseline has no L_adv to split
dyn["policy_term"] = dyn.L_adv + dyn.entropy_bonus
dyn["epoch_end"] = dyn.epoch_end.eq(True)
logged, epochs = dyn[~dyn.epoch_end], dyn[dyn.epoch_end]


# %% [markdown]
# ## Per run
#
# Early and late are the first and the last third of a run's logged lines (at least one each, so a
# run logged twice compares its two lines; a run shorter than `log_every` falls back on its epoch
# means). Entropy and polar mass give the first and the last logged value, the policy term and the
# entropy bonus their means over the logged lines; the table goes to the CSV, and its means over
# seeds below.

# %%
def thirds(g):
    g = g.sort_values("step")
    n = -(-len(g) // 3)
    early, late = g.head(n), g.tail(n)
    return pd.Series({"disc_acc_early": early.disc_acc.mean(), "disc_acc_late": late.disc_acc.mean(),
                      "adv_sd_mean": g.adv_sd.mean(), "adv_sd_late": late.adv_sd.mean(),
                      "identical_masks_mean": g.identical_masks.mean(),
                      "identical_masks_late": late.identical_masks.mean(),
                      "attn_entropy_first": g.attn_entropy.iloc[0], "attn_entropy_last": g.attn_entropy.iloc[-1],
                      "polar_mass_first": g.polar_mass.iloc[0], "polar_mass_last": g.polar_mass.iloc[-1],
                      "policy_term_mean": g.policy_term.mean(), "entropy_bonus_mean": g.entropy_bonus.mean(),
                      "log_lines": len(g)})


# a run shorter than log_every logged no batch: its epoch means stand in
has_lines = epochs.set_index(KEYS).index.isin(logged.set_index(KEYS).index)
source = pd.concat([logged, epochs[~has_lines]])
table = runs.merge(source.groupby(KEYS).apply(thirds, include_groups=False).reset_index(), on=KEYS, how="left")
table["log_lines"] = table.log_lines.astype("Int64")
table = table[["dataset", "model", "method", "masking", "reward", "seed", "disc_acc_early", "disc_acc_late",
               "adv_sd_mean", "adv_sd_late", "identical_masks_mean", "identical_masks_late", "attn_entropy_first",
               "attn_entropy_last", "polar_mass_first", "polar_mass_last", "policy_term_mean", "entropy_bonus_mean",
               "val_acc", "steps", "wall_s", "log_lines"]]
table = table.sort_values(["dataset", "model", "method", "seed"])
table.round(4).to_csv(out_csv, index=False)
summary = (table.groupby(["dataset", "model", "method"], dropna=False)
           .agg(seeds=("seed", "size"), **{c: (c, "mean") for c in table.columns[6:]}).round(3))

# %%
# one colour per method across every panel, baseline first; the legend is shared
methods = sorted(runs.method.unique(), key=lambda m: (m != "baseline", m))
colour = {m: plt.cm.tab10(i % 10) for i, m in enumerate(methods)}
afa_runs = runs[runs.objective == "afa"]
with_afa = set(zip(afa_runs.dataset, afa_runs.model))
d_runs = afa_runs[afa_runs.reward != "confidence_drop"]
with_d = set(zip(d_runs.dataset, d_runs.model))


def why_empty(col, column):
    if col in AFA_ONLY and column not in with_afa:
        return "no AFA run"
    if col == "disc_acc" and column not in with_d:
        return "no D (confidence_drop reward)"
    return "no lexicon" if col == "polar_mass" else "not logged"


def seed_band(d, col):  # per method and step, over the seeds that logged it
    return d.groupby(["method", "step"])[col].agg(["mean", "min", "max"]).dropna()


columns = list(runs.groupby(["dataset", "model"]).groups)
fig, axes = plt.subplots(len(SIGNALS), len(columns), figsize=(max(5.5, 3.6 * len(columns) + 0.6), 2.2 * len(SIGNALS)),
                         squeeze=False, sharex="col", layout="constrained")
for j, column in enumerate(columns):
    col_logged, col_epochs, col_runs = (d[(d.dataset == column[0]) & (d.model == column[1])]
                                        for d in (logged, epochs, runs))
    last = col_runs.steps.max()
    # with few log lines every method sits at the same steps: set them a little apart
    present = [m for m in methods if m in set(col_runs.method)]
    dodge = {m: 0.008 * last * (k - (len(present) - 1) / 2) for k, m in enumerate(present)}
    for i, (col, title) in enumerate(SIGNALS.items()):
        ax = axes[i, j]
        steps, ends = seed_band(col_logged, col), seed_band(col_epochs, col)
        if steps.empty and ends.empty:
            note = why_empty(col, column)
            print(f"{column[0]} / {column[1]}, {title}: {note}")
            ax.text(0.5, 0.5, note, transform=ax.transAxes, ha="center", va="center", color="0.4")
            ax.set_yticks([])
            continue
        for method in present:
            if method in steps.index:
                s = steps.loc[method]
                x = s.index + dodge[method]
                ax.plot(x, s["mean"], "o-", ms=3, lw=1.2, color=colour[method])
                if len(s) > 1:
                    ax.fill_between(x, s["min"], s["max"], color=colour[method], alpha=0.2, lw=0)
                else:
                    ax.vlines(x, s["min"], s["max"], color=colour[method], lw=0.8)
            if method in ends.index:
                e = ends.loc[method]
                spread = [e["mean"] - e["min"], e["max"] - e["mean"]] if (e["max"] > e["min"]).any() else None
                ax.errorbar(e.index + dodge[method], e["mean"], yerr=spread, fmt="s", ms=5, mfc="none",
                            color=colour[method], capsize=2, lw=0.8)
        for y in {"disc_acc": (0.5, 1.0), "attn_entropy": (0.5,)}.get(col, ()):
            ax.axhline(y, color="0.5", ls="--", lw=0.8)
    axes[0, j].set_xlim(0, last * 1.06)
for ax, column in zip(axes[0], columns):
    ax.set_title(f"{column[0]} / {column[1]}", fontsize=10)
for ax, title in zip(axes[:, 0], SIGNALS.values()):
    ax.set_ylabel(title, fontsize=9)
for ax in axes[-1]:
    ax.set_xlabel("target step")
for ax in axes.flat:
    ax.tick_params(labelsize=8)
n_seeds = runs.groupby("method").seed.nunique()
handles = [Line2D([], [], color=colour[m], marker="o", ms=3,
                  label=f"{m} ({n_seeds[m]} seed{'' if n_seeds[m] == 1 else 's'})") for m in methods]
handles += [Line2D([], [], color="0.3", marker="o", ms=3, label="logged batch: seed mean, band or bar min-max"),
            Line2D([], [], color="0.3", marker="s", mfc="none", ls="none", label="epoch mean (bar: min-max)")]
fig.legend(handles=handles, loc="outside lower center", ncol=max(1, int(fig.get_figwidth() // 2.6)), fontsize=8,
           frameon=False)
fig.savefig(out_png, dpi=110)
Image(out_png)  # the saved file itself, on the page

# %%
# the figure's numbers per dataset, model and method, seed means (per run: out_csv), after the figure so
# that the figure opens the page however many rows the table grows
print(summary.to_string())
