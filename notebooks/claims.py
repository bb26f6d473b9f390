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
# # The paper's claims, one row each
#
# arXiv 2512.20661 claims (abstract) that AFA, against the same model trained without it:
# 1. **accuracy** is higher on SST-2 (dev), IMDB (test) and AG News (test);
# 2. **attention agrees better with rationales**: ERASER movie reviews (human rationales) and, as a
#    proxy, SST's word sentiment labels on SST dev;
# 3. **attention is more faithful**: deleting AFA's top-attention tokens costs its prediction more
#    (ERASER comprehensiveness);
# 4. **larger K helps long texts more than short ones** (IMDB reviews against SST-2 sentences);
# 5. on an **LLM** accuracy rises by 12.6 % (the model and the task are not named);
# 6. **robustness** to adversarial edits: no claim; an open question, tested in the same way.
#
# **Effect**: AFA minus the baseline, per seed both ran (seed s of both shares the data order and the
# initial draw), the mean paired difference over the examples every run of the cell scored; the
# mean over seeds, with a 95 % t interval and p on S - 1 degrees of freedom whose standard error
# also carries the example draw all seeds share (`afa.stats.seed_effect`: the seed is the unit of
# inference; calibrated by simulation at 5 and 10 seeds, tests/test_stats.py). **p < min**: the
# one-sided p that the effect is smaller than the minimal effect of interest (config
# `claims.min_effect`). **Families**: one primary cell per claim (config `claims.primary`, fixed
# before these results), the other claim cells, the decomposition (below) and the A/A control; Holm
# within each family over both tests of every cell.
#
# **Verdict** (`afa.claims.verdict`, fixed before any result was read): *holds* when the Holm p
# against 0 is below 0.05, the effect is in the claimed direction and the interval reaches the
# minimal effect; *does not hold* when the Holm p of "smaller than the minimal effect" is below
# 0.05; *inconclusive* otherwise. Fewer than 5 seeds: at most *inconclusive*, with what the rule alone
# would say beside it. *not run*: the runs are not among the inputs (why is given);
# *not testable here*: the data or an evaluation it needs is missing where this ran (config
# `claims.not_testable` gives a dataset's reason, `claims.column_not_testable` an extra column's on a
# dataset, e.g. afa_exact's on IMDB). Every dataset a claim names gets its row.
#
# **Columns**: the paper-literal reading (`[MASK]` replacement, `detect` reward) and the live default
# (README: the live-signal study), named by config `claims`; config `claims.extra_columns` adds a
# column against the baseline in the rows where its method trained (entropy_only, afa_exact), and
# `claims.contrasts` a column of one method minus another (D's own part of the live effect: the live
# default minus entropy_only, the same bonus without D). An extra column of an AFA variant is a claim
# column (secondary); a control's (config `claims.controls`: entropy_only) and the contrasts test no
# claim of the paper: they are the **decomposition**, a family of their own, whose verdicts read
# *positive (in the claim's direction)* and *smaller than the minimal effect* instead of *holds* and
# *does not hold* (the same rule), counted apart from the claims'. **A/A control**: the baseline's control
# seeds against its other seeds, through the same effect, p and Holm (its own family); it must not
# be called significant. **Provenance**: every row lists the code of its results; a row never mixes
# results (or models) made by different objective code: the notebook stops, naming the files.

# %% tags=["parameters"]
accuracy_files = []       # `afa accuracy` JSONs (the .predictions.csv beside each is read), control seeds included
deletion_files = []       # `afa deletion` JSONs
alignment_files = []      # `afa alignment` JSONs (the .examples.jsonl.gz beside each is read)
robustness_files = []     # `afa robustness` JSONs (the .csv beside each is read)
train_metric_files = []   # train_metrics.json of the runs: the provenance of the code that trained them
live = "afa"              # config claims.live
paper_literal = "afa_paper"   # config claims.paper_literal
extra_columns = {}        # config claims.extra_columns: column -> method, against the baseline where it trained
contrasts = {}            # config claims.contrasts: column -> [method, reference], method minus reference
decomposition = []        # claims.controls and the contrasts: columns that test no claim (their own family)
control_seeds = []        # config claims.control_seeds: baseline seeds of the A/A control
same_objective = []       # config claims.same_objective: objective_sha groups shown to train identical runs
not_testable = {}         # config claims.not_testable: dataset -> why its rows cannot be run here
column_not_testable = {}  # config claims.column_not_testable: column -> dataset -> why that column is not trained there
recipe_chosen_on = {}     # config claims.recipe_chosen_on: "<dataset>/<model>" -> the split that chose its recipe
method_settings = {}      # config method_settings (claim 4 looks for the columns' K variants)
method_overrides = {}     # config method_overrides: a dataset's patches of a method's settings
model_kinds = {}          # model name -> kind (config model_settings): kind llm is claim 5
model_settings = {}       # config model_settings: runs trained as another model of the same name are refused
model_overrides = {}      # config model_overrides: a dataset's patches of a model's settings
min_effect = {"accuracy": 0.005, "auprc": 0.01, "comprehensiveness": 0.01, "attack_accuracy": 0.01}
primary = []              # config claims.primary: the primary cell of each claim ({claim, setting, column})
out_csv = "claims.csv"
aa_csv = "aa_splits.csv"  # every A/A split's cells (the machinery on baseline against baseline)

# %%
import json

import pandas as pd

from afa import claims, tables
from afa.data import get_spec

COLUMNS = {"paper_literal": paper_literal, "live": live}  # every row has these two


def columns(runs):
    """A row's columns against the baseline: the two of every row, and each extra one whose method trained in it."""
    return {**COLUMNS, **{c: m for c, m in extra_columns.items() if m in set(runs.method)}}


def versus(head, runs, values, **kw):
    """The row's cells: each column against the baseline (claims.compare), then each contrast whose two
    methods trained in the row, its method against its reference, paired by seed."""
    present = columns(runs)
    out = claims.compare(head, runs, present, values, **kw)
    for dataset in sorted(set(runs.dataset)):
        out += claims.untestable(head, dataset, present, extra_columns, column_not_testable)
    for c, (method, reference) in contrasts.items():
        if {method, reference} <= set(runs.method):
            out += claims.compare(head, runs, {c: method}, values, baseline=reference)
    return out


acc, dele, align, rob = (claims.load(f, train_metric_files, same_objective)
                         for f in (accuracy_files, deletion_files, alignment_files, robustness_files))
if acc.empty and dele.empty and align.empty and rob.empty:
    raise ValueError("no result files were given to this notebook (parameters accuracy_files, deletion_files, "
                     "alignment_files, robustness_files are empty)")
for runs in (acc, dele, align, rob):
    if len(runs):
        claims.check_settings(runs, method_settings, method_overrides, model_settings, model_overrides)
LLM = {m for m, kind in model_kinds.items() if kind == "llm"}
cells = []


def report_split(dataset):
    return f"{dataset} {get_spec(dataset).mirror_splits['test']}"


def missing(head, dataset, setting, what):
    """The row of a dataset the claim names but no input covers: not testable here (config
    claims.not_testable's reason) or not run."""
    why = (f"not testable here ({not_testable[dataset]})" if dataset in not_testable
           else f"not run (no {what} on {dataset} among the inputs)")
    return claims.absent({**head, "setting": setting}, COLUMNS, why)


def training(runs):
    """How a row's models were trained (their train_metrics.json): the epoch budget and the epochs
    they ran, so a row whose models had one epoch (MiniLM on SST-2's 67 k phrases, a CPU budget)
    says so beside its numbers; and which split chose the recipe (config claims.recipe_chosen_on)."""
    chosen = sorted({recipe_chosen_on[k] for k in {f"{d}/{m}" for d, m in zip(runs.dataset, runs.model)}
                     if k in recipe_chosen_on})
    return "; ".join([epochs(runs)] + [f"recipe: {c}" for c in chosen])


def epochs(runs):
    metrics = [json.load(open(f)) for f in runs.train_file if f]
    budget = {m.get("train", {}).get("epochs") for m in metrics} - {None}
    if not budget:
        return "not recorded"
    ran = sorted({len(m.get("history", [])) for m in metrics})
    if budget == {1}:
        return "1 epoch"
    return (f"up to {max(budget)} epochs, the best on validation kept "
            f"(ran {ran[0] if len(ran) == 1 else f'{ran[0]}-{ran[-1]}'})")


def inventory(kind, runs, keys):
    return [{"evaluation": kind, **dict(zip(keys, k)), "seeds": " ".join(map(str, sorted(g.seed)))}
            for k, g in runs.groupby(keys)] if len(runs) else []


pd.DataFrame(inventory("accuracy", acc, ["dataset", "model", "method"]) + inventory("deletion", dele, ["dataset", "model", "method"])
             + inventory("alignment", align, ["rationales", "dataset", "model", "method"])
             + inventory("robustness", rob, ["dataset", "model", "method"]))

# %% [markdown]
# ## 1. Accuracy
# Per-example correctness on the report split (`evaluate_accuracy`), LLM targets left to claim 5.

# %%
def correct(run):
    return tables.accuracy_values(run.file)


HEAD1 = {"claim": "1 accuracy", "claim_text": "AFA beats the baseline's accuracy", "metric": "accuracy",
         "metric_kind": "accuracy", "direction": 1}
mine = acc[acc.dataset.isin(claims.ACCURACY_DATASETS) & ~acc.model.isin(LLM)] if len(acc) else acc
for (dataset, model), runs in mine.groupby(["dataset", "model"]):
    cells += versus({**HEAD1, "setting": f"{report_split(dataset)} / {model}", "training": training(runs)}, runs, correct,
                    control_seeds=control_seeds)
for dataset in claims.ACCURACY_DATASETS:
    if not (mine.dataset == dataset).any():
        cells += missing(HEAD1, dataset, report_split(dataset), "accuracy results")

# %% [markdown]
# ## 2. Rationale alignment
# Per-example AUPRC of the attention row's word scores against the rationale (`evaluate_alignment`;
# chance and position-only references are in `rationale_table`). SST's word labels are a proxy, not
# human rationales, and most SST dev rationale words are one-word phrases of SST-2's train split,
# labelled there: the row "words never labelled in training" ranks only the other words
# (`unseen_auprc`, `afa/evaluation/alignment.py`), so a model cannot score by having been told
# each word's sentiment.

# %%
HEAD2 = {"claim": "2 rationale alignment", "claim_text": "AFA's attention agrees better with rationales",
         "metric": "AUPRC", "metric_kind": "auprc", "direction": 1}
KIND = {"eraser_movies": "ERASER movies val, human rationales", "sst_phrases": "SST dev word labels (proxy)"}
for (rationales, dataset, model), runs in (align.groupby(["rationales", "dataset", "model"]) if len(align) else []):
    cells += versus({**HEAD2, "setting": f"{KIND.get(rationales, rationales)} / trained on {dataset} / {model}",
                     "training": training(runs)},
                    runs, lambda r: tables.alignment_values(r.file, "auprc"), control_seeds=control_seeds)
for rationales in KIND:
    if align.empty or not (align.rationales == rationales).any():
        cells += missing(HEAD2, rationales, KIND[rationales], "alignment results")
UNSEEN = {**HEAD2, "metric": "AUPRC over the words never a labelled one-word train phrase"}
sst = align[align.rationales == "sst_phrases"] if len(align) else align
for (dataset, model), runs in (sst.groupby(["dataset", "model"]) if len(sst) else []):
    setting = f"{KIND['sst_phrases']}, words never labelled in training / trained on {dataset} / {model}"
    if runs.get("unseen_auprc", pd.Series([None])).isna().any():
        cells += claims.absent({**UNSEEN, "setting": setting}, COLUMNS, "not run (alignment files without unseen_* "
                               "scores: written before they existed, or a train split without one-word phrases)")
        continue
    cells += versus({**UNSEEN, "setting": setting, "training": training(runs)}, runs,
                    lambda r: tables.alignment_values(r.file, "unseen_auprc"), control_seeds=control_seeds)
if sst.empty:
    cells += claims.absent({**UNSEEN, "setting": "SST dev, words never labelled in training"}, COLUMNS,
                           "not run (no SST alignment results among the inputs)")

# %% [markdown]
# ## 3. Faithfulness
# Per-example comprehensiveness (`evaluate_deletion`): the drop in the predicted class's probability
# when the top-attention tokens are deleted, averaged over ERASER's bins (1, 5, 10, 20, 50 % of the
# tokens) where every run of the row has them, else over all of the run's levels (the metric says which).

# %%
HEAD3 = {"claim": "3 faithfulness", "claim_text": "deleting AFA's top-attention tokens hurts more",
         "metric_kind": "comprehensiveness", "direction": 1}


def comprehensiveness(runs):
    """The metric's name and per-run values: ERASER's bins where every run of `runs` has them."""
    eraser = all(isinstance(e, dict) for e in runs.get("eraser", pd.Series([None] * len(runs))))
    return (f"comprehensiveness, AOPC over {'ERASER bins' if eraser else 'all levels'}",
            lambda r: tables.deletion_values(r.file, eraser=eraser))


for (dataset, model), runs in (dele.groupby(["dataset", "model"]) if len(dele) else []):
    metric, values = comprehensiveness(runs)
    cells += versus({**HEAD3, "setting": f"{report_split(dataset)} / {model}", "metric": metric,
                     "training": training(runs)},
                    runs, values, control_seeds=control_seeds)
# the paper's faithfulness claim is ERASER's comprehensiveness on ERASER's movie reviews
if dele.empty or not (dele.dataset == "eraser_movies").any():
    cells += missing({**HEAD3, "metric": "comprehensiveness"}, "eraser_movies", report_split("eraser_movies"),
                     "deletion results")

# %% [markdown]
# ## 4. Larger K on long vs short texts
# Per column: its method's K variants (methods whose settings differ from it in K only); the effect
# is (largest K minus smallest K) on IMDB minus the same on SST-2, accuracy, each paired by seed; the
# two come from different examples, so their standard errors add in quadrature, with the smaller
# of their degrees of freedom (`afa.claims.interaction`).

# %%
HEAD4 = {"claim": "4 larger K, long texts", "claim_text": "larger K helps long texts more than short ones",
         "setting": f"{claims.LONG} minus {claims.SHORT}", "metric": "accuracy gain of the largest K over the smallest",
         "metric_kind": "accuracy", "direction": 1}
cells += claims.k_claim(HEAD4, acc[~acc.model.isin(LLM)] if len(acc) else acc, COLUMNS, method_settings, correct)

# %% [markdown]
# ## 5. LLM
# The paper's +12.6 % names neither model nor task, nor whether it is points or a relative gain.
# Here: accuracy of the targets of kind `llm` (config `model_settings`), the same test as claim 1.

# %%
HEAD5 = {"claim": "5 LLM", "claim_text": "AFA raises an LLM's accuracy (+12.6 %)", "metric": "accuracy",
         "metric_kind": "accuracy", "direction": 1}
mine = acc[acc.model.isin(LLM)] if len(acc) else acc
for (dataset, model), runs in mine.groupby(["dataset", "model"]):
    new = versus({**HEAD5, "setting": f"{report_split(dataset)} / {model}", "training": training(runs)},
                 runs, correct, control_seeds=control_seeds)
    base = runs[(runs.method == claims.BASELINE) & ~runs.seed.isin(control_seeds)].accuracy.mean()
    for c in new:
        if not c["verdict"]:
            c["note"] = (f"{100 * c['effect']:+.1f} points = {100 * c['effect'] / base:+.1f} % of the baseline's "
                         f"{100 * base:.1f}; the paper: +12.6 %")
    cells += new
if mine.empty:
    cells += claims.absent({**HEAD5, "setting": "an LLM"}, COLUMNS,
                           f"not run (no runs of a model of kind llm ({', '.join(sorted(LLM)) or 'none defined'}) "
                           "among the inputs; config/llm.yaml trains them)")

# %% [markdown]
# ## 6. Robustness (open question)
# Per recipe, per example: still classified right after the attack (accuracy under attack;
# `evaluate_robustness`). The paper makes no robustness claim; the direction tested is AFA higher.

# %%
HEAD6 = {"claim": "6 robustness (open)", "claim_text": "AFA is harder to attack (no claim in the paper)",
         "metric_kind": "attack_accuracy", "direction": 1}
for (dataset, model), runs in (rob.groupby(["dataset", "model"]) if len(rob) else []):
    for recipe in sorted({k for r in runs.recipes for k in r}):
        cells += versus({**HEAD6, "setting": f"{report_split(dataset)} / {model}",
                         "metric": f"accuracy under attack, {recipe}", "training": training(runs)},
                        runs, lambda r, x=recipe: tables.attack_values(r.file)[x])
if rob.empty:
    cells += claims.absent({**HEAD6, "setting": "report splits", "metric": "accuracy under attack"}, COLUMNS,
                           "not run (no robustness results among the inputs)")

# %% [markdown]
# ## A/A control
# The baseline's control seeds (config `claims.control_seeds`) against its other seeds, through the
# same effect, p and Holm (their own family), for each per-example metric of claims 1-3 that the
# control seeds were evaluated on: accuracy, AUPRC against the rationales, comprehensiveness. Both
# sides are the baseline, so the true effect is 0: a Holm p below 0.05 here (`false_positive`) would
# say the test finds what is not there, and the control's interval is the size of an effect that
# seed-to-seed noise alone produces in that metric.

# %%
HEAD0 = {"claim": "A/A control", "claim_text": "baseline against baseline (true effect 0)", "direction": 1}


def control(runs, head, values):
    if len(runs) and runs[runs.method == claims.BASELINE].seed.isin(control_seeds).any():
        cells.append(claims.control({**HEAD0, **head, "training": training(runs)}, runs, control_seeds, values))


for (dataset, model), runs in (acc.groupby(["dataset", "model"]) if len(acc) else []):
    control(runs, {"setting": f"{report_split(dataset)} / {model}", "metric": "accuracy", "metric_kind": "accuracy"},
            correct)
for (rationales, dataset, model), runs in (align.groupby(["rationales", "dataset", "model"]) if len(align) else []):
    control(runs, {"setting": f"{KIND.get(rationales, rationales)} / trained on {dataset} / {model}", "metric": "AUPRC",
                   "metric_kind": "auprc"}, lambda r: tables.alignment_values(r.file, "auprc"))
for (dataset, model), runs in (dele.groupby(["dataset", "model"]) if len(dele) else []):
    metric, values = comprehensiveness(runs)
    control(runs, {"setting": f"{report_split(dataset)} / {model}", "metric": metric,
                   "metric_kind": "comprehensiveness"}, values)
if not any(c["column"] == "control" for c in cells):
    cells.append(claims.cell(**HEAD0, setting="", metric="accuracy", metric_kind="accuracy", column="control",
                             method=claims.BASELINE, verdict=(
        "not run (" + ("claims.control_seeds is empty" if not control_seeds
                       else f"no baseline accuracy results of seeds {control_seeds} among the inputs") + ")")))

# %% [markdown]
# ## A/A splits: the machinery's false-positive rate on real runs
# Every split of the baseline's seeds (claim seeds and control seeds together, where the control
# seeds were trained) into two halves (each unordered split once; a seeded 500 when there are more),
# the second half against the first through the same effect, Holm (the split's metrics are one
# family) and verdict as the table. Both halves are the baseline: a *holds* is a false positive, and
# its rate should be at most 5 % for one metric (the family's any-metric rate likewise). A *does not
# hold* is right here (the true effect, 0, is below every minimal effect): its rate is the test's
# power to show an effect smaller than the minimal one. The splits share seeds, so the rates are a
# check, not independent draws (`afa.claims.aa_splits`, `aa_split_table`, `aa_rates`).

# %%
def baseline_values(runs, values):
    base = runs[runs.method == claims.BASELINE]
    return {r.seed: values(r) for r in base.itertuples()}


aa_sets = {}  # (dataset, model) -> metric -> (kind, {seed: values})
for (dataset, model), runs in (acc.groupby(["dataset", "model"]) if len(acc) else []):
    aa_sets.setdefault((dataset, model), {})["accuracy"] = ("accuracy", baseline_values(runs, correct))
for (rationales, dataset, model), runs in (align.groupby(["rationales", "dataset", "model"]) if len(align) else []):
    aa_sets.setdefault((dataset, model), {})[f"AUPRC vs {KIND.get(rationales, rationales)}"] = (
        "auprc", baseline_values(runs, lambda r: tables.alignment_values(r.file, "auprc")))
for (dataset, model), runs in (dele.groupby(["dataset", "model"]) if len(dele) else []):
    metric, values = comprehensiveness(runs)
    aa_sets.setdefault((dataset, model), {})[metric] = ("comprehensiveness", baseline_values(runs, values))
aa_tables = []
for (dataset, model), metrics in aa_sets.items():
    seeds = set.intersection(*(set(v) for _, v in metrics.values()))
    if not set(control_seeds) & seeds or len(seeds) < 4:
        continue  # only where the A/A control was trained: there the baseline has seeds to split
    seeds = sorted(seeds)[: len(seeds) // 2 * 2]
    t = claims.aa_split_table({m: (k, {s: v[s] for s in seeds}) for m, (k, v) in metrics.items()}, min_effect,
                              claims.aa_splits(seeds))
    aa_tables.append(t.assign(setting=f"{report_split(dataset)} / {model}", seeds=len(seeds)))
aa = pd.concat(aa_tables, ignore_index=True) if aa_tables else pd.DataFrame()
if len(aa):
    aa.to_csv(aa_csv, index=False)
    rates = pd.concat([claims.aa_rates(g).assign(setting=k) for k, g in aa.groupby("setting")], ignore_index=True)
else:
    pd.DataFrame(columns=["split", "metric", "verdict"]).to_csv(aa_csv, index=False)
    rates = "no setting has the baseline's control seeds and 4 seeds or more in all"
rates

# %% [markdown]
# ## The table
# Effect: AFA minus the baseline in the metric's own units (accuracy and accuracy under attack in
# points, x100) [95 % interval]; n: seeds / examples per seed; family: primary (config
# `claims.primary`), secondary or decomposition; Holm p: against 0; Holm p < min: that the effect is smaller than the
# minimal effect. Training: the
# models' epoch budget and the epochs they ran (from their train_metrics.json). The rows and
# the numbers behind them (raw p, interval ends, provenance) are in the CSV and the last tables.

# %%
table = claims.decide(pd.DataFrame(cells), min_effect, primary, decomposition=decomposition)
table["training"] = table.get("training", pd.Series("", index=table.index)).fillna("")  # rows without models: none
table.to_csv(out_csv, index=False)
ROW = ["claim", "setting", "training", "metric"]


def effect(r):
    if r.effect != r.effect:
        return ""
    scale, digits = (100, 2) if r.metric_kind in ("accuracy", "attack_accuracy") else (1, 4)
    return f"{scale * r.effect:+.{digits}f} [{scale * r.ci_low:+.{digits}f}, {scale * r.ci_high:+.{digits}f}]"


table["effect [95 % CI]"] = [effect(r) for r in table.itertuples()]
table["n"] = [f"{r.seeds} / {r.examples}" if r.effect == r.effect else "" for r in table.itertuples()]
table["Holm p"] = [f"{p:.4f}" if p == p else "" for p in table.p_holm]
table["Holm p < min"] = [f"{p:.4f}" if p == p else "" for p in table.p_below_holm]
claim_cells = table[table.column != "control"]
SHOWN = ["effect [95 % CI]", "n", "family", "Holm p", "Holm p < min", "verdict"]
wide = claim_cells.pivot(index=ROW, columns="column", values=SHOWN)
SHOWN_COLUMNS = {**COLUMNS, **extra_columns, **{c: " - ".join(pair) for c, pair in contrasts.items()}}
wide = wide.swaplevel(axis=1).reindex(columns=[(c, f) for c in SHOWN_COLUMNS if c in set(claim_cells.column)
                                               for f in SHOWN])
wide.columns = pd.MultiIndex.from_tuples([(f"{c}: {SHOWN_COLUMNS[c]}", f) for c, f in wide.columns])
wide.reindex(pd.unique(claim_cells.set_index(ROW).index))

# %% [markdown]
# ## A/A control: would the test call baseline against baseline a difference?
# `rule_alone`: the verdict the rule would give without the seed floor, as if "the control seeds beat
# the others" were a claim; `false_positive`: Holm p against 0 below 0.05, in either direction. (A
# "does not hold" here is right: the true effect, 0, is below every minimal effect.)

# %%
table[table.column == "control"][["setting", "training", "metric", "method", "effect [95 % CI]", "n", "p", "Holm p",
                                  "Holm p < min", "verdict", "rule_alone", "false_positive", "note"]]

# %% [markdown]
# ## Every cell: raw p, what the rule alone says (without the seed floor), notes

# %%
claim_cells[ROW + ["column", "method", "family", "p", "p_below_min", "Holm p", "Holm p < min", "rule_alone", "note"]]

# %% [markdown]
# ## Provenance of each row
# `objective_sha`: hash of the objective's code (afa.io.OBJECTIVE_CODE: the objective, its state, D,
# the settings, the layers, G) that wrote the evaluation files; `train_objective_sha`: that of the code that trained the models (`unknown`
# where a file predates the provenance field; `not given` without train_metrics.json). `commits`: the
# distinct git commits of the evaluation files; `dirty`: one of them had uncommitted changes.

# %%
PROV = ["commits", "objective_sha", "train_objective_sha", "dirty"]
known = table[table.objective_sha.astype(bool)]
known.groupby(ROW, sort=False)[PROV].first().reindex(pd.unique(table.set_index(ROW).index)).fillna("")
