"""What the README and docs/results.md say of the results, generated from the result CSVs (`afa
claims-summary`): "Where the replication stands" and the claims table from results/paper/claims.csv,
the mechanism probe's headline from probe_table.csv, and docs/results.md's one table per page
(`RESULTS_BLOCKS`). tests/test_readme.py fails when a page's blocks differ from what these functions
make of the committed CSVs, so no number there is typed by hand.

Layer: report (beside afa.claims, whose table it reads).
"""

from __future__ import annotations

import re

import pandas as pd

from afa import claims


def _num(x: float, digits: int) -> str:
    return f"{x:+.{digits}f}".replace("-", "−")


def _effect(r, ci: bool = True) -> str:
    scale, digits = (100, 2) if r["metric_kind"] in claims.POINTS else (1, 3)
    e = _num(scale * r["effect"], digits)
    return f"{e} [{_num(scale * r['ci_low'], digits)}, {_num(scale * r['ci_high'], digits)}]" if ci else e


def _p(p: float) -> str:
    return "1" if p >= 0.995 else f"{p:.2f}" if p >= 0.01 else "< 0.01"


def _cell(r) -> str:
    if not r["p"] == r["p"]:
        return r["verdict"].split(" (")[0]  # not run / not testable here: claims.html gives why
    text = f"{_effect(r)}, Holm p {_p(r['p_holm'])} (≠ 0), {_p(r['p_below_holm'])} (< min): {r['verdict']}"
    return f"**{text}** (primary)" if r.get("family") == "primary" else text


DATASET_NAMES = {"sst2": "SST-2", "imdb": "IMDB", "agnews": "AG News"}

VERDICTS = ("holds", "does not hold", "inconclusive", "not run", "not testable here")
# the decomposition family's words for "holds" and "does not hold" (afa.claims.DECOMPOSITION_WORDS)
DECOMPOSITION_VERDICTS = ("positive", "smaller than the minimal effect")


def verdict_kind(verdict: str) -> str:
    """A claims verdict's kind, one of VERDICTS or DECOMPOSITION_VERDICTS (the text after it says why)."""
    for kind in VERDICTS + DECOMPOSITION_VERDICTS:
        if str(verdict).startswith(kind):
            return kind
    raise ValueError(f"claims table: unknown verdict {verdict!r} (expected one of {', '.join(VERDICTS)})")


def decomposition_sentence(table: pd.DataFrame) -> str:
    """The decomposition family in one sentence ('' without one): its cells decided either way."""
    d = table[(table.get("family", pd.Series("", index=table.index)) == "decomposition") & table.p.notna()]
    if not len(d):
        return ""
    kind = pd.Series([verdict_kind(v) for v in d.verdict], index=d.index)
    decided = d[kind != "inconclusive"]
    columns = ", ".join(sorted({c.replace("_", "-") for c in d.column}))
    text = (f"The decomposition ({columns}: a control and differences between methods, which test no claim of the "
            f"paper; a Holm family of its own, {len(d)} cells): ")
    if not len(decided):
        return text + "every cell is inconclusive."
    return text + f"{len(d) - len(decided)} inconclusive; " + "; ".join(
        f"{r['claim']} ({r['setting']}, {r['metric']}, {r['column'].replace('_', '-')}): {_effect(r)}, {r['verdict']}"
        for _, r in decided.iterrows()) + "."


def readme_table(table: pd.DataFrame, columns=("paper_literal", "live")) -> str:
    """The claims table as README markdown: one line per claim row, a cell per column (accuracy in
    points, x100; `columns`, then any other the table has: config claims.extra_columns and contrasts),
    the primary cells in bold; the A/A control rows below."""
    t = table.fillna({"verdict": "", "family": ""})
    columns = [*columns, *(c for c in pd.unique(t.column) if c not in columns and c != "control")]
    rows = ["| claim | setting | metric | " + " | ".join(columns) + " |", "|---|---|---|" + "---|" * len(columns)]
    claim_cells = t[t.column != "control"]
    for key, g in claim_cells.groupby(["claim", "setting", "metric"], sort=False):
        by = {r["column"]: r for _, r in g.iterrows()}
        rows.append("| " + " | ".join(key) + " | " + " | ".join(_cell(by[c]) if c in by else "" for c in columns) + " |")
    control = t[t.column == "control"]
    if len(control):
        rows += ["", "| A/A control | setting | metric | baseline against baseline |", "|---|---|---|---|"]
        rows += [f"| {r['method']} | {r['setting']} | {r['metric']} | {_cell(r)} |" for _, r in control.iterrows()]
    return "\n".join(rows)


def standing(table: pd.DataFrame) -> str:
    """The numbers of the README's "Where the replication stands", from the table alone: the claim
    cells (the A/A control and the decomposition apart, the latter in a sentence of its own)."""
    t = table[(table.column != "control") & (table.get("family", pd.Series("", index=table.index)) != "decomposition")]
    tested = t[t.p.notna()]
    kind = pd.Series([verdict_kind(v).replace("does not hold", "does not") for v in tested.verdict],
                     index=tested.index)
    count = {v: int((kind == v).sum()) for v in ("holds", "does not", "inconclusive")}
    untested = t[t.p.isna()]
    acc = tested[tested.metric == "accuracy"]
    lines = [f"{len(tested)} cells of the claims table are tested ({int((tested.family == 'primary').sum())} "
             f"primary, one per claim of the paper, named before these results; {int((tested.family == 'secondary').sum())} "
             f"secondary), with the seed as the unit of inference and Holm within each family: "
             f"{count['holds']} hold, {count['does not']} do not hold and {count['inconclusive']} are inconclusive; "
             f"{len(untested)} are not run or not testable here (each says why)."]
    prim = tested[tested.family == "primary"]
    if len(prim):
        lines.append("Primary cells: " + "; ".join(
            f"{r['claim']} ({r['setting']}, {r['column'].replace('_', '-')}): {_effect(r)}, {r['verdict']}"
            for _, r in prim.iterrows()) + ".")
    decided = tested[~kind.eq("inconclusive")]
    if len(decided):
        lines.append("Every cell that is not inconclusive: " + "; ".join(
            f"{r['claim']} ({r['setting']}, {r['metric']}, {r['column'].replace('_', '-')}): {_effect(r)}, {r['verdict']}"
            for _, r in decided.iterrows()) + ".")
    if len(acc) and not (kind[acc.index] == "holds").any():
        top = acc.loc[acc.ci_high.idxmax()]
        lines.append(f"No accuracy gain is detected in any of the {len(acc)} accuracy cells; the intervals allow up to "
                     f"{_num(100 * top.ci_high, 2)} points ({top['setting']}, {top['column'].replace('_', '-')}).")
    return " ".join(lines + [decomposition_sentence(table)]).strip()


# The probe row the README quotes: the live column's D on SST-2 from scratch, the claims grid's final
# runs, K 3 (the live default), polar vs POS-matched neutral mask, the `detect` reward AFA trains with
PROBE_HEADLINE = {"dataset": "sst2", "model": "scratch", "method": "afa", "group": "all", "reward": "detect", "K": 3,
                  "comparison": "polar_vs_neutral"}
# issue 32, part 2: the column whose D met the discriminator study's bar and was held fixed, said beside
# the live one where the probe table has its final runs
PROBE_HELD = {**PROBE_HEADLINE, "method": "afa_strong_d"}


def _probe_row(probe: pd.DataFrame, where: dict, required: bool = True):
    hit = probe
    for key, value in where.items():
        hit = hit[hit[key] == value]
    if len(hit) != 1 and (required or len(hit)):
        raise ValueError(f"probe table: {len(hit)} rows match {where}, expected 1")
    return hit.iloc[0] if len(hit) else None


def _on_average(r) -> str:
    return ("no preference on average is shown" if r["p"] >= 0.05
            else f"on average the reward prefers the {'polar' if r['mean_diff_mean'] > 0 else 'neutral'} mask")


def probe_headline(probe: pd.DataFrame) -> str:
    """Whether the live discriminator's reward prefers masking the polar words, and, where the probe
    table has its runs, the held discriminator's (`afa_strong_d`)."""
    r = _probe_row(probe, PROBE_HEADLINE)
    text = (f"The mechanism probe on the claims grid's final SST-2 runs (live column, {r['seeds']} seeds, K 3, "
            f"validation sentences): the discriminator's `detect` reward is higher for masking the polar words "
            f"than POS-matched neutral ones in a share {r['share']} of sentences; the mean reward difference, "
            f"in units of its sd, is {r['effect_size']} (p {_p(r['p'])}): {_on_average(r)}.")
    held = _probe_row(probe, PROBE_HELD, required=False)
    if held is not None:
        text += (f" With the discriminator that met the discriminator study's bar held fixed (`afa_strong_d`, "
                 f"{held['seeds']} seeds), the share is {held['share']} and the effect size {held['effect_size']} "
                 f"(p {_p(held['p'])}): {_on_average(held)}.")
    return text


def recipe_choice(table: pd.DataFrame, chain: list[str], within: float = 0.5) -> tuple[str, pd.Series]:
    """config/sst2_recipe.yaml's rule, fixed before its runs: per candidate (`model`), the mean best-epoch
    validation accuracy over all its runs (points); the earliest candidate of `chain` within `within`
    points of the best wins. Returns the pick and the means in chain order."""
    means = 100 * table.groupby("model").val_acc.mean().reindex(chain)
    if means.isna().any():
        raise ValueError(f"recipe choice: no runs of {', '.join(means[means.isna()].index)}")
    close = means[means >= means.max() - within - 1e-9]
    return next(m for m in chain if m in close.index), means


# docs/statistics.md's examples: the live-signal study's runs of the paper-literal reading, the live
# default and the baseline (results/studies/signal/signal_health.csv)
SIGNAL_EXAMPLES = {"afa_replace_detect": "paper-literal (`replace` + `detect`)",
                   "afa_delete_detect_beta03": "live default (`delete` + `detect`, beta 0.3)", "baseline": "baseline"}
SIGNAL_COLUMNS = {"disc_acc_late": "disc_acc", "adv_sd_late": "adv_sd", "identical_masks_late": "identical_masks",
                  "attn_entropy_last": "attn_entropy (end)", "polar_mass_last": "polar_mass (end)"}


def signal_examples(signal: pd.DataFrame) -> str:
    """The statistics of three runs of the live-signal study, late third of training (end: the last
    log), mean over seeds, as markdown: what a run with and without signal looks like."""
    rows = ["| run | " + " | ".join(SIGNAL_COLUMNS.values()) + " |", "|---|" + "---|" * len(SIGNAL_COLUMNS)]
    for method, label in SIGNAL_EXAMPLES.items():
        g = signal[signal.method == method]
        if not len(g):
            raise ValueError(f"signal_health.csv has no {method!r} rows")
        cells = ["-" if g[c].isna().all() else f"{g[c].mean():.2f}" for c in SIGNAL_COLUMNS]
        rows.append(f"| {label} ({len(g)} seeds) | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def disc_headline(disc: pd.DataFrame) -> str:
    """The discriminator study (results/discriminator/discriminator.csv, notebooks/discriminator.py) in a
    few sentences: its readings (cell x budget, all sentences, AFA's K) on the screen's seeds, which pass
    the screen of issue 32's bar, which of those meet it on the confirmation's new seeds
    (afa.evaluation.disc_study.meets_bar), the largest effect and what was not testable here."""
    from afa.evaluation.disc_study import BAR  # the bar the table was decided by, not a copy of its numbers

    why = disc.get("not_testable", pd.Series("", index=disc.index)).fillna("")
    gaps = disc[why != ""]
    t = disc[(why == "") & (disc.group == "all")]
    t = t[t.K == t.K.max()]
    stage = t.get("stage", pd.Series("screen", index=t.index)).fillna("screen")
    t, confirm = t[stage == "screen"], t[stage == "confirm"]
    if not len(t):
        raise ValueError("discriminator table: no readings at all sentences")
    names = lambda col: ", ".join(sorted(t[col].unique()))  # noqa: E731
    where = lambda r: f"{r.variant}, {r.masking}, {DATASET_NAMES.get(r.dataset, r.dataset)}, {int(r.steps)} updates"  # noqa: E731
    span = lambda s: f"{s[0]}-{s[-1]}" if len(s) > 1 else f"{s[0]}"  # noqa: E731
    n_cells = len(t.groupby(["dataset", "variant", "masking", "policy"]))
    seeds = sorted(set(t.seeds.astype(int)))
    screened = t[t.get("screened_in", pd.Series(False, index=t.index)).fillna(False).astype(bool)]
    best = t.loc[t.polar_vs_neutral_d.idxmax()]
    text = (f"The discriminator study (D alone, trained on copies of the train split masked at random and probed on "
            f"validation at K {int(best.K)}; {n_cells} cells of D variant ({names('variant')}) x masking "
            f"({names('masking')}) on {', '.join(DATASET_NAMES.get(d, d) for d in sorted(t.dataset.unique()))}, "
            f"{span(seeds)} seeds each, {len(t)} readings over the budgets). Its bar has two stages: a screen on "
            f"these seeds (effect size of polar over neutral masks above {BAR['d']}, one-sided p below "
            f"{BAR['alpha']} unadjusted, D accuracy {BAR['acc'][0]}-{BAR['acc'][1]}), then the same on new seeds "
            f"with Holm over the readings screened in. {len(screened)} pass the screen")
    text += f" ({'; '.join(map(where, screened.itertuples()))})." if len(screened) else "."
    if len(screened):
        keys = ["dataset", "variant", "masking", "policy", "steps"]
        got = screened[keys].merge(confirm, on=keys)
        meets = got[got.meets_bar.astype(bool)]
        if len(got):
            text += (f" On the new seeds ({span(sorted(set(confirm.seeds.astype(int))))} per reading), {len(meets)} "
                     f"{'meets' if len(meets) == 1 else 'meet'} the bar: "
                     + "; ".join(f"{where(r)} {_num(r.polar_vs_neutral_d, 2)} [{_num(r.polar_vs_neutral_d_low, 2)}, "
                                 f"{_num(r.polar_vs_neutral_d_high, 2)}], Holm p {_p(r.p_holm)}" for r in got.itertuples()) + ".")
        if len(got) < len(screened):
            text += f" {len(screened) - len(got)} of the readings screened in have no new seeds yet: no verdict on them."
    text += (f" The largest effect on the screen's seeds is {_num(best.polar_vs_neutral_d, 2)} "
             f"[{_num(best.polar_vs_neutral_d_low, 2)}, {_num(best.polar_vs_neutral_d_high, 2)}] ({where(best)}).")
    if len(gaps):
        text += " Not testable here: " + ", ".join(f"{DATASET_NAMES.get(r.dataset, r.dataset)} {r.variant}"
                                                  for r in gaps.itertuples()) + " (the table gives each cost)."
    return text


README_BLOCKS = {"claims-standing": lambda t, p: standing(t), "claims-table": lambda t, p: readme_table(t),
                 "probe-standing": lambda t, p: probe_headline(p)}


def fill_blocks(text: str, blocks: dict[str, str]) -> str:
    """`text` with each block between `<!-- <name> -->` and `<!-- /<name> -->` replaced by its content."""
    for name, content in blocks.items():
        pattern = re.compile(rf"(<!-- {name} -->\n)(?:.*?\n)?(<!-- /{name} -->)", re.S)
        if not pattern.search(text):
            raise ValueError(f"no <!-- {name} --> ... <!-- /{name} --> block")
        text = pattern.sub(lambda m: m.group(1) + content + "\n" + m.group(2), text)
    return text


def readme_blocks(text: str, table: pd.DataFrame, probe: pd.DataFrame, disc: pd.DataFrame | None = None) -> str:
    """`text` (a README) with each generated block made anew from the claims `table` and the `probe` table,
    and its `disc-standing` block, where it has one, from the discriminator study's table `disc`."""
    blocks = {name: make(table, probe) for name, make in README_BLOCKS.items()}
    if "<!-- disc-standing -->" in text:
        if disc is None:
            raise ValueError("the README has a disc-standing block: give the discriminator study's table")
        blocks["disc-standing"] = disc_headline(disc)
    return fill_blocks(text, blocks)


# --- docs/results.md: one generated table per report page of results/paper --------------------------


def _setting(r, split: str | None = "report") -> str:
    """"SST-2 dev / scratch": the dataset, the split (`report`: its report split, from the dataset
    registry; None: none), the model."""
    from afa.data import get_spec

    split = get_spec(r["dataset"]).mirror_splits["test"] if split == "report" else split
    return f"{DATASET_NAMES.get(r['dataset'], r['dataset'])}{' ' + split if split else ''} / {r['model']}"


def _markdown(rows: list[list], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("" if v != v else str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _vs(r, metric: str) -> str:
    """`metric`'s paired difference to the baseline over seeds, with the seeds it won."""
    d = r.get(f"{metric}_diff")
    return "" if d is None or d != d or str(d) == "" else f"{d} ({r[f'{metric}_wins']} seeds)"


def results_accuracy(t: pd.DataFrame) -> str:
    return _markdown([[_setting(r), r["method"], r["accuracy"], r["seeds"], r["n_test"], _vs(r, "accuracy")]
                      for _, r in t.iterrows()],
                     ["setting", "method", "accuracy, mean ± sd [95 % t over seeds]", "seeds", "examples",
                      "minus baseline (seeds higher)"])


def results_deletion(t: pd.DataFrame) -> str:
    return _markdown([[_setting(r), r["method"], r["aopc_comprehensiveness"], r["aopc_comprehensiveness_random"],
                       r["aopc_sufficiency"], r["seeds"], _vs(r, "aopc_comprehensiveness")] for _, r in t.iterrows()],
                     ["setting", "method", "comprehensiveness (AOPC)", "random tokens", "sufficiency", "seeds",
                      "comprehensiveness minus baseline"])


def results_alignment(t: pd.DataFrame) -> str:
    return _markdown([[r["rationales"], f"{r['trained_on']} / {r['model']}", r["method"], r["auprc"], r["token_f1"],
                       r["unseen_auprc"], r["seeds"], r["examples"], _vs(r, "auprc")] for _, r in t.iterrows()],
                     ["rationales", "trained on / model", "method", "AUPRC", "token F1", "AUPRC, words never labelled "
                      "in training", "seeds", "examples", "AUPRC minus baseline"])


def results_robustness(t: pd.DataFrame) -> str:
    return _markdown([[_setting(r), r["recipe"], r["method"], r["clean_accuracy"], r["accuracy_under_attack"],
                       r["seeds"], r["n"], _vs(r, "accuracy_under_attack")] for _, r in t.iterrows()],
                     ["setting", "attack", "method", "clean accuracy", "accuracy under attack", "seeds",
                      "examples", "under attack minus baseline"])


def results_ablations(t: pd.DataFrame) -> str:
    f = lambda m, lo, hi: "" if m != m else f"{m:.1f} [{lo:.1f}, {hi:.1f}]"  # noqa: E731
    g = lambda m, lo, hi: "" if m != m else f"{m:+.2f} [{lo:+.2f}, {hi:+.2f}]"  # noqa: E731
    label = lambda r: f"{r['label']:g}" if isinstance(r["label"], float) else str(r["label"])  # noqa: E731
    return _markdown([[r["parameter"], _setting(r), label(r) + (" (default)" if r["default"] else ""),
                       f(r["accuracy_mean"], r["accuracy_low"], r["accuracy_high"]), r["accuracy_seeds"], r["n_train"],
                       g(r["diff_vs_default"], r["diff_low"], r["diff_high"])] for _, r in t.iterrows()],
                     ["parameter", "setting", "value", "accuracy [95 % t over seeds]", "seeds", "train examples",
                      "minus the default, paired by seed"])


SIGNAL_SHOWN = {"disc_acc_late": "D accuracy, late third", "adv_sd_late": "sd of r - b, late third",
                "attn_entropy_last": "attention entropy at the end (nats)", "polar_mass_last": "polar mass at the end",
                "policy_term_mean": "policy term", "entropy_bonus_mean": "entropy bonus"}


def results_signal(t: pd.DataFrame) -> str:
    rows = []
    for (dataset, model, method), g in t.groupby(["dataset", "model", "method"], sort=False):
        cells = ["" if g[c].isna().all() else f"{g[c].mean():.3g}" for c in SIGNAL_SHOWN]
        rows.append([_setting({"dataset": dataset, "model": model}, None), method, len(g), *cells])
    return _markdown(rows, ["setting", "method", "seeds", *SIGNAL_SHOWN.values()])


def results_probe(t: pd.DataFrame) -> str:
    """The polar-vs-neutral rows of each run kind at its largest K, all sentences: the `detect` reward
    AFA trains with, and the target's own confidence drop (the only one a baseline has)."""
    hit = t[(t.comparison == "polar_vs_neutral") & (t.group == "all") & t.reward.isin(["detect", "confidence_drop"])]
    hit = hit[hit.K == hit.groupby(["dataset", "model", "method"]).K.transform("max")]
    return _markdown([[_setting(r, "validation"), r["method"], r["reward"], r["K"], r["seeds"], r["sentences"], r["share"],
                       r["effect_size"], f"{r['p']:.2f}"] for _, r in hit.iterrows()],
                     ["setting", "method", "reward", "K", "seeds", "sentences", "share of sentences, polar mask "
                      "rewarded more", "effect size", "p"])


def results_aa(t: pd.DataFrame) -> str:
    from afa.claims import aa_rates

    rows = []
    for setting, g in t.groupby("setting", sort=False):
        for _, r in aa_rates(g).iterrows():
            rows.append([setting, int(g.seeds.iloc[0]), r["metric"], int(r["splits"]), f"{r['holds']:.3f}",
                         f"{r['does not hold']:.3f}", f"{r['inconclusive']:.3f}"])
    return _markdown(rows, ["setting", "seeds", "metric", "splits", "holds (false positive)", "does not hold",
                            "inconclusive"])


# block name -> (the CSV of results/paper it reads, the function that makes the block); the tables
# whose cells are already text (a signed difference, "4/5") are read as text, as the notebook wrote them
RESULTS_BLOCKS = {"results-accuracy": ("main_table.csv", results_accuracy),
                  "results-deletion": ("deletion_curves.csv", results_deletion),
                  "results-alignment": ("rationale_table.csv", results_alignment),
                  "results-robustness": ("robustness_table.csv", results_robustness),
                  "results-ablations": ("ablations.csv", results_ablations),
                  "results-signal": ("signal_health.csv", results_signal),
                  "results-probe": ("probe_table.csv", results_probe),
                  "results-aa": ("aa_splits.csv", results_aa)}


def results_blocks(text: str, folder) -> str:
    """`text` (docs/results.md) with each of its RESULTS_BLOCKS made anew from the CSVs in `folder`."""
    from pathlib import Path

    text_tables = {"main_table.csv", "deletion_curves.csv", "rationale_table.csv", "robustness_table.csv"}
    read = lambda csv: pd.read_csv(Path(folder) / csv, dtype=str, keep_default_na=False) if csv in text_tables \
        else pd.read_csv(Path(folder) / csv)  # noqa: E731
    return fill_blocks(text, {name: make(read(csv)) for name, (csv, make) in RESULTS_BLOCKS.items()
                              if f"<!-- {name} -->" in text})
