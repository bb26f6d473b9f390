"""The two tables every result notebook shows: a metric over seeds, and each method against the baseline.

`runs` is a DataFrame with one row per (…keys, method, seed) run, the metric columns and `file`
(the run's result file, from which `per_example(file, metric)` reads one value per example id;
the readers below are those of each evaluation's files). Statistics are those of `afa.stats`.
"""

from __future__ import annotations

import json

import pandas as pd

from afa import stats
from afa.evaluation import EVALUATIONS
from afa.runs import sweep_variants  # noqa: F401 (notebooks/ablations.py's name for it)


def load_runs(files: list[str]) -> pd.DataFrame:
    """One row per result JSON (its fields, `file`, an integer `seed`); an empty list is an error."""
    if not files:
        raise ValueError("no result files were given to this notebook (its files parameter is empty)")
    runs = pd.DataFrame([{**json.load(open(f)), "file": f} for f in files])
    runs["seed"] = runs["seed"].astype(int)
    return runs


# --- per-example values beside each evaluation's result file, indexed by example id (as str): each
# evaluation's own reader (`values` in its module), through the registry

def accuracy_values(file: str, metric: str = "correct") -> pd.Series:
    """0/1 correctness per example, from the .predictions.csv beside an `afa accuracy` JSON."""
    return EVALUATIONS["accuracy"].read_values(file, metric)


def deletion_values(file: str, metric: str = "comprehensiveness", eraser: bool | None = None) -> pd.Series:
    """Per-example `metric` of an `afa deletion` JSON (afa.evaluation.deletion.values)."""
    from afa.evaluation.deletion import values

    return values(file, metric, eraser)


def deletion_block(result: dict) -> tuple[dict, str]:
    """An `afa deletion` result's AOPC block: ERASER's bins when evaluated at them, else all levels."""
    from afa.evaluation.deletion import block

    return block(result)


def alignment_examples(file: str) -> list[dict]:
    """The per-example rows of the .examples.jsonl.gz beside an `afa alignment` JSON."""
    from afa.evaluation.alignment import examples

    return examples(file)


def alignment_values(file: str, metric: str = "auprc") -> pd.Series:
    """Per-example `metric` of an `afa alignment` JSON (null, e.g. `unseen_auprc` unscoreable: NaN)."""
    return EVALUATIONS["alignment"].read_values(file, metric)


def attack_values(file: str) -> dict[str, pd.Series]:
    """Per recipe, 1 where the example is still classified right after the attack (afa.evaluation.robustness.values)."""
    return EVALUATIONS["robustness"].read_values(file, None)


# --- tables -----------------------------------------------------------------------------------------

def seed_table(runs: pd.DataFrame, keys: list[str], metrics: list[str], scale: float = 1.0, digits: int = 3):
    """Per group: 'mean ± std [95 % CI]' of each metric over seeds, its mean (`<metric>_mean`), seeds."""
    rows = []
    for key, g in runs.groupby(keys):
        row = dict(zip(keys, key if isinstance(key, tuple) else (key,)))
        for m in metrics:
            values = g[m].dropna()  # e.g. words perturbed when no attack succeeded
            s = stats.summary(values) if len(values) else None
            row[m], row[m + "_mean"] = (stats.fmt(s, scale, digits), s["mean"]) if s else ("n/a", float("nan"))
        rows.append({**row, "seeds": len(g)})
    return pd.DataFrame(rows)


def _p(p: float) -> str:
    return "n/a" if p != p else f"{p:.3f}"


def versus_baseline(runs: pd.DataFrame, keys: list[str], metrics: list[str], per_example=None,
                    boot_metrics: tuple = (), scale: float = 1.0, digits: int = 3, resamples: int = 10_000,
                    seed: int = 0, baseline: str = "baseline") -> pd.DataFrame:
    """Each non-baseline method minus the baseline, over the seeds both ran (`keys` exclude method).

    Per metric: mean paired difference, paired t-test p-value, wins/seeds. Per `boot_metrics`: the
    paired bootstrap over examples of the per-example values averaged over those seeds.
    """
    def per_seed_mean(files, metric):
        return pd.concat([per_example(f, metric) for f in files], axis=1).mean(axis=1)

    rows = []
    for key, g in runs.groupby(keys):
        base = g[g.method == baseline].set_index("seed")
        for method, h in g[g.method != baseline].groupby("method"):
            h = h.set_index("seed")
            shared = sorted(set(base.index) & set(h.index))
            if not shared:
                continue
            row = {**dict(zip(keys, key if isinstance(key, tuple) else (key,))), "method": method, "seeds_paired": len(shared)}
            for m in metrics:
                t = stats.paired_ttest(h[m][shared], base[m][shared])
                d = h[m][shared] - base[m][shared]
                row.update({f"{m}_diff": f"{scale * t['mean_diff']:+.{digits}f}", f"{m}_t_p": _p(t["p_value"]),
                            f"{m}_wins": f"{int((d > 0).sum())}/{len(d)}"})
            for m in boot_metrics:
                ab = pd.concat([per_seed_mean(list(h.file[shared]), m), per_seed_mean(list(base.file[shared]), m)],
                               axis=1).dropna()  # examples both methods scored
                b = stats.paired_bootstrap(ab.iloc[:, 0].values, ab.iloc[:, 1].values, resamples, seed)
                row[f"{m}_boot"] = (f"{scale * b['mean_diff']:+.{digits}f} [{scale * b['ci_low']:+.{digits}f}, "
                                    f"{scale * b['ci_high']:+.{digits}f}] p={_p(b['p_value'])}")
            rows.append(row)
    return pd.DataFrame(rows)


# --- the discriminator study (notebooks/discriminator.py) ---------------------------------------------
DISC_CELL = ["dataset", "model", "variant", "masking", "policy", "steps"]  # a reading: a cell at a budget
DISC_ROWS = {"polar_vs_neutral": ("polar", "neutral"), "random_vs_none": ("random", "none"),
             "tail_vs_random": ("tail", "random"), "random_vs_random": ("random", "random2")}


def disc_study_table(result_files: list[str], confirm_seeds=()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The discriminator study's runs (a row per cell, seed and budget) and its table (a row per
    reading, stage, K and length group; afa.evaluation.disc_study.meets_bar's columns added), from the
    `afa disc_study` result files and the examples beside them. D's seeds in `confirm_seeds` are the
    bar's confirmation, read apart from the screen's (the rest)."""
    import gzip

    from afa.evaluation.disc_study import meets_bar, row_effect

    CELL, ROWS, REWARD = DISC_CELL, DISC_ROWS, "detect"

    def examples(file, steps):
        with gzip.open(file.replace(".json", ".examples.jsonl.gz"), "rt") as fh:
            return [e for e in map(json.loads, fh) if e["skipped"] is None and e["steps"] == steps]

    # one row per cell, seed and budget: a file holds its D's probe after each budget (`budgets`: the
    # disc_study block's probe_at and steps, one training)
    runs = load_runs(result_files)
    # a budget's probe fields, under the cell's names (a budget's `masking` is AFA's: "delete" in a refill cell)
    runs = pd.DataFrame([{**r, **b, **{k: r[k] for k in CELL if k in r}, "steps": b["train"]["steps"]}
                         for r in runs.to_dict("records") for b in r["budgets"]])
    mixed = runs.groupby([c for c in CELL if c != "steps"])["refill"].nunique() if "refill" in runs else pd.Series()
    if (mixed > 1).any():  # a file of a refill cell written before the cell's name won over the probe's
        raise ValueError(f"disc study: cell {'/'.join(mixed[mixed > 1].index[0])} holds runs with and without refill; "
                         "a refill cell's result must name its own masking")
    runs["s_per_step"] = [t["seconds_per_step"] for t in runs["train"]]
    runs["disc_acc"] = [t["disc_acc"] for t in runs["train"]]
    # which G a generator cell masked with: G is retrained per session and is not bitwise the same across
    # sessions (machines), so two sessions' Gs of one recipe are two draws (its held-out top-k tells them apart)
    runs["generator_top_k"] = [(t.get("generator") or {}).get("held_out_top_k") for t in runs["train"]]
    # the bar's two stages (meets_bar): the confirmation's seeds are read apart from the screen's
    runs["stage"] = ["confirm" if s in confirm_seeds else "screen" for s in runs.seed.astype(int)]

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
    table = []
    for ((*key, stage), g) in runs.groupby(CELL + ["stage"]):
        key, seeds = tuple(key), sorted(g.seed)
        lengths = sorted(groups.get(key, ())) if len(groups.get(key, ())) > 1 else []
        for K in sorted({k["K"] for per_K in g["per_K"] for k in per_K}):
            acc = probe_acc[(probe_acc[CELL] == pd.Series(key, index=CELL)).all(axis=1) & (probe_acc.K == K)
                            & probe_acc.seed.isin(seeds)]
            for group in ["all"] + lengths:
                row = {**dict(zip(CELL, key)), "stage": stage, "group": group, "K": K, "seeds": len(seeds),
                       "disc_acc": g.disc_acc.mean(), "s_per_step": g.s_per_step.mean()}
                if group == "all":  # D's probe accuracies are over all sentences
                    row.update(acc_unmasked=acc.acc_unmasked.mean(), acc_random=acc.acc_random.mean())
                for name in ROWS:
                    per_seed = [pd.Series(diffs.get((*key, group, K, name, s), {}), dtype=float) for s in seeds]
                    if min(len(x) for x in per_seed) == 0:
                        continue
                    stats = row_effect(per_seed)
                    row.update({f"{name}_{k}": v for k, v in stats.items()} if name == "polar_vs_neutral"
                               else {f"{name}_share": stats["share"]})
                row["sentences"] = len(diffs.get((*key, group, K, "polar_vs_neutral", seeds[0]), {}))
                table.append(row)
    table = pd.DataFrame(table)
    table = meets_bar(table, CELL)
    return runs, table
