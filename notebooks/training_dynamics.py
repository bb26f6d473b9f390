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
# # Figure: training dynamics (discriminator accuracy, reward, attention entropy)
#
# What AFA's adversarial game does during training, read from each run's `dynamics.jsonl` (running
# means over `log_every` target steps, written by the `train` rule): the discriminator's accuracy
# on originals vs masked copies (near 100 % = D saturated: every mask gets the same reward and the
# policy gradient vanishes; near 50 % = D is lost), the mean reward of the masked copies, L_adv, and
# the entropy of the attention row (nats; lower = sharper attention), baseline runs included for the
# last. Curves are means over seeds.

# %% tags=["parameters"]
metric_files = []   # train_metrics.json of each run (the dynamics.jsonl beside each is read)
out_csv = "training_dynamics.csv"
out_png = "training_dynamics.png"

# %%
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

if not metric_files:
    raise ValueError("no train metric files were given to this notebook (parameter metric_files)")
frames = []
for f in metric_files:
    run = Path(f).parent  # .../models/<dataset>/<model>/<method>/seed<seed>
    rows = [json.loads(line) for line in open(run / "dynamics.jsonl") if line.strip()]
    steps = [r for r in rows if not r.get("epoch_end")]
    d = pd.DataFrame(steps or rows)  # a run shorter than log_every steps has only its epoch summaries
    d["dataset"], d["model"], d["method"], d["seed"] = run.parts[-4], run.parts[-3], run.parts[-2], int(run.name[4:])
    frames.append(d)
dyn = pd.concat(frames, ignore_index=True)
PANELS = [(c, t) for c, t in (("disc_acc", "discriminator accuracy"), ("reward", "mean reward"), ("L_adv", "L_adv"),
                              ("attn_entropy", "attention entropy (nats)")) if c in dyn]
dyn.groupby(["dataset", "model", "method"])[[c for c, _ in PANELS]].agg(["first", "last"]).round(3)

# %%
groups = list(dyn.groupby(["dataset", "model"]))
fig, axes = plt.subplots(len(groups), len(PANELS), figsize=(4 * len(PANELS), 3 * len(groups)), squeeze=False)
for row, ((dataset, model), g) in zip(axes, groups):
    for ax, (col, title) in zip(row, PANELS):
        for i, (method, h) in enumerate(g.groupby("method")):
            s = h.groupby("step")[col].mean().dropna()
            if len(s):
                ax.plot(s.index, s.values, color=f"C{i}", label=method)
        ax.set_title(f"{dataset} / {model}: {title}", fontsize=9)
        ax.set_xlabel("target step")
    row[0].legend(fontsize=7)
fig.tight_layout()
fig.savefig(out_png, dpi=110)

# %%
summary = (dyn.assign(third=lambda d: pd.cut(d.step / d.groupby(["dataset", "model", "method", "seed"]).step.transform("max"),
                                           [0, 1 / 3, 2 / 3, 1], labels=["early", "middle", "late"]))
           .groupby(["dataset", "model", "method", "third"], observed=True)[[c for c, _ in PANELS]].mean().round(4).reset_index())
summary.to_csv(out_csv, index=False)
summary
