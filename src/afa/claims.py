"""The paper's claims, tested one row each (notebooks/claims.py): AFA minus the baseline, its interval
and p-values, Holm's correction within families declared before the results, and a verdict by a
rule fixed before any result.

- Effect (`paired_effect`): the seed is the unit of inference. Per seed shared by AFA and the
  baseline (seed s of both shares the data order and the initial draw), the mean paired difference
  over the examples every run of the cell scored; the mean over seeds, with a t interval on S - 1
  degrees of freedom whose standard error also carries the example draw all seeds share
  (`afa.stats.seed_effect`: seeds and examples are crossed; its docstring says why this and not a
  bootstrap or a permutation, and tests/test_stats.py shows it calibrated at 5 and 10 seeds).
- Two one-sided questions per cell: is the effect in the claimed direction at all (two-sided p
  against 0), and is it smaller than the minimal effect of interest (one-sided p against
  `min_effect`, the half of TOST that matters here)?
- Families (`decide`): the primary cells (config `claims.primary`, one per claim, fixed before the
  results they decide), the secondary cells (every other claim cell) and the A/A control rows are
  three families. Holm runs within each over both tests of every cell (2 m p-values), so the
  family-wise error of every verdict, "holds" and "does not hold" alike, is at most `ALPHA`.
- Verdict (`verdict`): *holds* when the Holm p against 0 is below `ALPHA`, the effect lies in the
  claimed direction and its interval reaches the minimal effect; *does not hold* when the Holm p of
  "smaller than the minimal effect" is below `ALPHA`; *inconclusive* otherwise. Interval ends are
  compared with the minimal effect with a relative tolerance of 1e-9, so floating-point rounding
  (0.009999999999999998 on a 1/500 grid) cannot flip a verdict. With fewer than `MIN_SEEDS` seeds
  the verdict is at most inconclusive.
- Provenance (`check_provenance`): one row never mixes results made by different objective code.

Layer: report (beside afa.tables); nothing below it imports this module.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps

from afa import stats
from afa.runs import ACCURACY_DATASETS, BASELINE, k_variants, run_method_settings  # noqa: F401 (ACCURACY_DATASETS: the notebook's)
from afa.tables import load_runs

ALPHA = 0.05
MIN_SEEDS = 5
# The abstract's accuracy claims (ACCURACY_DATASETS, afa.runs): SST-2 dev, IMDB test, AG News test.
# Claim 4 compares long texts (IMDB reviews) with short ones (SST-2 sentences).
LONG, SHORT = "imdb", "sst2"
UNKNOWN = "unknown"  # a result file written before results carried provenance


class ProvenanceError(ValueError):
    pass


def same_objective(provenance: dict | None, groups) -> dict | None:
    """`provenance` with its objective_sha replaced by its group's label ("sha1=sha2") when `groups`
    (config claims.same_objective: objective code shown to train identical runs) holds it."""
    sha = (provenance or {}).get("objective_sha")
    for group in groups:
        if sha in group:
            return {**provenance, "objective_sha": "=".join(group)}
    return provenance


def load(files: list[str], train_files=(), same=()) -> pd.DataFrame:
    """One row per result JSON (its fields, `file`, an integer `seed`, `provenance`, None when it
    has none), with the train_metrics.json of its run among `train_files` (`train_file`,
    `train_provenance`; '' and None when not given). Runs are matched by their folder,
    models/<dataset>/<model>/<method>/seed<seed>/, as the workflow lays them out. Objective code of
    one group of `same` (see `same_objective`) reads as one."""
    cols = ["dataset", "model", "method", "seed", "file", "provenance", "train_file", "train_provenance"]
    if not files:
        return pd.DataFrame(columns=cols)
    train = {}
    for f in train_files:
        dataset, model, method, seed = Path(f).parts[-5:-1]
        train[(dataset, model, method, int(seed.removeprefix("seed")))] = f
    runs = load_runs(files)
    if "provenance" not in runs:
        runs["provenance"] = None
    runs["provenance"] = [same_objective(p, same) for p in runs.provenance.where(runs.provenance.notna(), None)]
    runs["train_file"] = [train.get(k, "") for k in zip(runs.dataset, runs.model, runs.method, runs.seed)]
    runs["train_provenance"] = [same_objective(json.load(open(tf)).get("provenance"), same) if tf else None
                                for tf in runs.train_file]
    return runs


def check_settings(runs: pd.DataFrame, method_settings: dict, method_overrides: dict | None = None,
                   model_settings: dict | None = None, model_overrides: dict | None = None) -> None:
    """Refuse runs trained under other settings than the config's for their method's name, or for
    their model's: a name (`afa`, `scratch`) can be redefined, and its old runs must not stand in a
    column of the new definition. The config's settings are the run's dataset's (`method_overrides`,
    `model_overrides` patched in). Only the keys the config sets are compared (a run may record more,
    e.g. a default spelled out), and of a model only its architecture (not its train block or where
    its weights were read from)."""
    bad = []
    for r in runs[runs.train_file.astype(bool)].itertuples():
        trained_file = json.load(open(r.train_file))
        checks = [("method", run_method_settings(method_settings, method_overrides, r.dataset, r.method)
                   if r.method in method_settings else None)]
        if model_settings and r.model in model_settings:
            model = {**model_settings[r.model], **((model_overrides or {}).get(r.dataset) or {}).get(r.model, {})}
            checks.append(("model", {k: v for k, v in model.items() if k not in ("train", "name_or_path", "gguf_file")}))
        for block, now in checks:
            trained = trained_file.get(block)
            keys = sorted(k for k in (now or {}) if trained is not None and trained.get(k) != now[k])
            if keys:
                bad.append(f"{r.train_file} ({', '.join(f'{block}.{k}: {trained.get(k)!r} there, {now.get(k)!r} now' for k in keys)})")
    if bad:
        raise ValueError(f"runs trained under other settings than the config gives their method and model now: "
                         f"{'; '.join(bad)}")


# --- provenance -----------------------------------------------------------------------------------

def _sha(p: dict | None) -> str:
    return (p or {}).get("objective_sha") or UNKNOWN


def check_provenance(row: str, provenance: dict[str, dict | None], what: str = "results") -> dict:
    """The distinct commits and the one objective_sha of the files of a row; refuse a mix.

    `provenance`: file -> its `provenance` field (None when the file has none: `unknown`, which
    counts as its own value, since it cannot be shown to match a known one).
    """
    by_sha = defaultdict(list)
    for f, p in provenance.items():
        by_sha[_sha(p)].append(f)
    if len(by_sha) > 1:
        mix = "; ".join(f"objective_sha {sha} in {', '.join(sorted(fs))}" for sha, fs in sorted(by_sha.items()))
        raise ProvenanceError(f"claims row {row!r}: {what} made by different objective code would share one row "
                              f"({mix}); rerun the older runs or leave them out")
    commits = sorted({(p or {}).get("commit") or UNKNOWN for p in provenance.values()})
    return {"objective_sha": next(iter(by_sha), UNKNOWN), "commits": commits,
            "dirty": any((p or {}).get("dirty") for p in provenance.values())}


# --- the effect of one comparison -----------------------------------------------------------------

def pair_by_seed(treated: dict[int, pd.Series], control: dict[int, pd.Series]) -> list[tuple[pd.Series, pd.Series]]:
    """(treated, control) values of each seed both ran, in seed order."""
    return [(treated[s], control[s]) for s in sorted(set(treated) & set(control))]


def pair_in_order(a: dict[int, pd.Series], b: dict[int, pd.Series]) -> list[tuple[pd.Series, pd.Series]]:
    """The A/A control: b's seeds against a's, the i-th smallest of each (they share nothing, so
    the pairing only groups two independent runs; the interval is no narrower for it)."""
    return [(b[sb], a[sa]) for sa, sb in zip(sorted(a), sorted(b))]


def paired_effect(pairs: list[tuple[pd.Series, pd.Series]]) -> dict:
    """Mean over pairs (seeds) of the mean per-example difference treated - control, on the examples
    every run of the pairs scored (Series aligned on example id), with `afa.stats.seed_effect`'s 95 %
    interval, two-sided p, standard error and degrees of freedom."""
    if not pairs:
        raise ValueError("paired effect of zero pairs of runs")
    for t, c in pairs:
        if (t - c).dropna().empty:
            raise ValueError("a pair of runs shares no example id: they were scored on different examples")
    r = stats.seed_effect([t for t, _ in pairs], [c for _, c in pairs])
    if r["examples"] == 0:
        raise ValueError("the runs of this comparison share no example that every one of them scored")
    return {"effect": r["estimate"], "ci_low": r["ci_low"], "ci_high": r["ci_high"], "p": r["p_value"],
            "se": r["se"], "df": r["df"], "seeds": r["seeds"], "examples": str(r["examples"])}


def interaction(first: dict, second: dict, confidence: float = 0.95) -> dict:
    """first - second of two effects measured on different examples (independent): their standard
    errors add in quadrature, and the t reference takes the smaller of their degrees of freedom
    (conservative: each term's own t is at least as wide)."""
    d = first["effect"] - second["effect"]
    se, df = math.hypot(first["se"], second["se"]), min(first["df"], second["df"])
    if not se > 0:
        return {"effect": d, "ci_low": float("nan"), "ci_high": float("nan"), "p": float("nan"), "se": se, "df": df,
                "seeds": min(first["seeds"], second["seeds"]), "examples": f"{first['examples']} / {second['examples']}"}
    half = float(sps.t.ppf(0.5 + confidence / 2, df)) * se
    return {"effect": d, "ci_low": d - half, "ci_high": d + half, "p": float(2 * sps.t.sf(abs(d) / se, df)),
            "se": se, "df": df, "seeds": min(first["seeds"], second["seeds"]),
            "examples": f"{first['examples']} / {second['examples']}"}


def p_below_min(effect: float, se: float, df: float, min_effect: float, direction: int = 1) -> float:
    """One-sided p of H0: direction * effect >= min_effect, against "smaller than the minimal effect"."""
    if not se > 0:
        return float("nan")
    t = (direction * effect - min_effect) / se
    return float(sps.t.cdf(t, df))


# --- Holm and the verdict -------------------------------------------------------------------------

def reaches(value: float, threshold: float) -> bool:
    """value >= threshold, up to floating-point rounding (relative 1e-9)."""
    return value >= threshold or math.isclose(value, threshold, rel_tol=1e-9, abs_tol=1e-12)


# Metric kinds whose effects are shown in points (x100): the verdict names their minimal effect in points too,
# so that "+0.10 [-0.31, +0.51] points" is never said to be "smaller than the minimal effect 0.01"
POINTS = ("accuracy", "attack_accuracy")


def min_effect_words(min_effect: float, metric_kind: str = "") -> str:
    """The minimal effect in the units its cell's effect is shown in (afa.summary): points for `POINTS`."""
    if metric_kind in POINTS:
        points = 100 * min_effect
        return f"{points:g} point{'s' * (points != 1)}"
    return f"{min_effect:g}"


def verdict(effect: float, ci_low: float, ci_high: float, p_holm: float, p_below_holm: float, seeds: int,
            direction: int = 1, min_effect: float = 0.0, alpha: float = ALPHA,
            min_seeds: int = MIN_SEEDS, metric_kind: str = "") -> tuple[str, str]:
    """(verdict, what the rule says without the seed floor); see the module docstring.

    `direction` +1: the claim is that AFA's value is higher; -1: lower. `min_effect` >= 0 is the
    smallest effect, in the claimed direction, that would count as the claimed one. `p_holm`: the
    Holm-adjusted two-sided p against 0; `p_below_holm`: that of "smaller than `min_effect`".
    `metric_kind` names the units the verdict states `min_effect` in (`min_effect_words`).
    """
    if any(v != v for v in (effect, ci_low, ci_high, p_holm, p_below_holm)):
        return "inconclusive (no p-value)", "inconclusive"
    e = direction * effect
    hi = max(direction * ci_low, direction * ci_high)  # the interval's end furthest in the claimed direction
    if p_holm < alpha and e > 0 and reaches(hi, min_effect):
        rule = "holds"
    elif p_below_holm < alpha:
        rule = f"does not hold (smaller than the minimal effect {min_effect_words(min_effect, metric_kind)})"
    else:
        rule = "inconclusive"
    if seeds < min_seeds:
        return f"inconclusive ({seeds} seed{'s' * (seeds != 1)} < {min_seeds})", rule
    return rule, rule


def families(table: pd.DataFrame, primary, decomposition=()) -> pd.Series:
    """Each cell's Holm family: "control" (the A/A rows), "primary" (the cells config `claims.primary`
    names: {claim, setting, column}), "decomposition" (the columns `decomposition` names: a control
    method against the baseline, or one method minus another, which test no claim of the paper) or
    "secondary". An entry that names no cell of the table (a typo, or a configuration without that
    row) stops the table, listing the cells there are."""
    fam = pd.Series(np.where(table.column == "control", "control",
                             np.where(table.column.isin(list(decomposition)), "decomposition", "secondary")),
                    index=table.index)
    for entry in primary or []:
        hit = (table.claim == entry["claim"]) & (table.setting == entry["setting"]) & (table.column == entry["column"])
        if not hit.any():
            cells = table[table.column != "control"]
            raise ValueError(f"config: claims.primary names {entry}, which is no cell of this table (cells: "
                             f"{'; '.join(sorted({f'{r.claim} | {r.setting} | {r.column}' for r in cells.itertuples()}))})")
        fam[hit] = "primary"
    return fam


# A decomposition cell tests no claim: its verdict says where the difference lies, not whether a claim
# holds (a pattern of the claim verdict -> its words there)
DECOMPOSITION_WORDS = {r"^holds": "positive (in the claim's direction)",
                       r"^does not hold \((smaller than the minimal effect [^)]*)\)": r"\1"}


def decide(table: pd.DataFrame, min_effect: dict, primary=(), alpha: float = ALPHA,
           min_seeds: int = MIN_SEEDS, decomposition=()) -> pd.DataFrame:
    """Holm within each family (`families`), over both tests of each cell that has a p (against 0,
    and against the minimal effect), then each cell's verdict (in a decomposition cell, the same rule
    in words that claim nothing: DECOMPOSITION_WORDS). Cells that already carry one (not run, not
    testable here) keep it."""
    t = table.copy()
    for col in ("se", "df"):
        if col not in t:
            t[col] = np.nan
    t["family"] = families(t, primary, decomposition)
    t["p_below_min"] = [p_below_min(r.effect, r.se, r.df, min_effect[r.metric_kind], int(r.direction))
                        if r.p == r.p else np.nan for r in t.itertuples()]
    t["p_holm"] = t["p_below_holm"] = np.nan
    for fam in t.family.unique():
        rows = t.family == fam
        both = stats.holm(np.concatenate([t.loc[rows, "p"].to_numpy(dtype=float),
                                          t.loc[rows, "p_below_min"].to_numpy(dtype=float)]))
        t.loc[rows, "p_holm"], t.loc[rows, "p_below_holm"] = both[:rows.sum()], both[rows.sum():]
    decided = [verdict(r.effect, r.ci_low, r.ci_high, r.p_holm, r.p_below_holm, int(r.seeds), int(r.direction),
                       min_effect[r.metric_kind], alpha, min_seeds, r.metric_kind) if not r.verdict else (r.verdict, "")
               for r in t.itertuples()]
    t["verdict"], t["rule_alone"] = [v for v, _ in decided], [a for _, a in decided]
    for pattern, words in DECOMPOSITION_WORDS.items():
        for col in ("verdict", "rule_alone"):
            hit = t.family == "decomposition"
            t.loc[hit, col] = t.loc[hit, col].str.replace(pattern, words, n=1, regex=True)
    t.loc[t.verdict.str.startswith("not "), "family"] = ""
    # the A/A control's two sides are the same method: any Holm-significant difference is a false alarm
    t["false_positive"] = [bool(p < alpha) if c else None for c, p in zip(t.column == "control", t.p_holm)]
    return t


# --- one row of the table -------------------------------------------------------------------------

FIELDS = ["claim", "claim_text", "setting", "metric", "metric_kind", "direction", "column", "method", "effect",
          "ci_low", "ci_high", "p", "se", "df", "seeds", "examples", "verdict", "commits", "objective_sha",
          "train_objective_sha", "dirty", "note"]


def cell(**fields) -> dict:
    """A table cell with every field (NaN / '' where it has no value)."""
    out = {k: "" for k in FIELDS}
    out.update({k: float("nan") for k in ("effect", "ci_low", "ci_high", "p", "se", "df")}, seeds=0, direction=1)
    out.update(fields)
    return out


def row_provenance(row: str, runs: pd.DataFrame) -> dict:
    """Provenance of the runs a row reads: the evaluation files', and the training runs' where known."""
    ev = check_provenance(row, dict(zip(runs.file, runs.provenance)), "results")
    known = runs[runs.train_file.astype(bool)]
    tr = check_provenance(row, dict(zip(known.train_file, known.train_provenance)), "models") if len(known) else None
    return {"commits": " ".join(c[:10] for c in ev["commits"]), "objective_sha": ev["objective_sha"],
            "train_objective_sha": tr["objective_sha"] if tr else "not given", "dirty": ev["dirty"]}


def absent(head: dict, columns, verdict: str) -> list[dict]:
    """The row's cells when it has no numbers: `verdict` (not run / not testable here, with why)."""
    return [cell(**head, column=c, method=m, verdict=verdict) for c, m in columns.items()]


def untestable(head: dict, dataset: str, present, extra_columns: dict[str, str], column_not_testable: dict) -> list[dict]:
    """Cells for the extra columns that cannot be trained on `dataset` (config claims.column_not_testable:
    column -> dataset -> why), where the row has no runs of their own (`present`: its columns), so the
    row says why instead of leaving the column blank."""
    return [cell(**head, column=c, method=extra_columns[c], verdict=f"not testable here ({why[dataset]})")
            for c, why in column_not_testable.items() if dataset in why and c not in present]


def compare(head: dict, runs: pd.DataFrame, columns: dict[str, str], values, control_seeds=(),
            baseline: str = BASELINE) -> list[dict]:
    """One cell per column (name -> method): that method against `baseline`, seeds paired.

    `head`: claim, claim_text, setting, metric, metric_kind, direction. `runs`: the row's runs
    (method, seed, file, provenance, train_file, train_provenance); `values(run)` gives a run's
    per-example Series. Baseline seeds in `control_seeds` belong to the A/A control, not here.
    """
    used = runs[runs.method.isin([baseline, *columns.values()]) & ~((runs.method == baseline) & runs.seed.isin(control_seeds))]
    prov = row_provenance(f"{head['claim']} {head['setting']}", used)
    base = {r.seed: values(r) for r in used[used.method == baseline].itertuples()}
    cells = []
    for column, method in columns.items():
        mine = {r.seed: values(r) for r in used[used.method == method].itertuples()}
        pairs = pair_by_seed(mine, base)
        if not pairs:
            why = (f"no {method} runs" if not mine else f"no {baseline} runs" if not base
                   else f"no seed shared with {baseline} ({method}: {sorted(mine)}, {baseline}: {sorted(base)})")
            cells.append(cell(**head, column=column, method=method, verdict=f"not run ({why})", **prov))
            continue
        cells.append(cell(**head, column=column, method=method, **paired_effect(pairs), **prov))
    return cells


def control(head: dict, runs: pd.DataFrame, control_seeds, values) -> dict:
    """The A/A control: baseline seeds `control_seeds` against the baseline's other seeds, through
    the same effect, p and Holm as the claims (`pair_in_order`)."""
    base = runs[runs.method == BASELINE]
    a = {r.seed: values(r) for r in base[~base.seed.isin(control_seeds)].itertuples()}
    b = {r.seed: values(r) for r in base[base.seed.isin(control_seeds)].itertuples()}
    head = {**head, "column": "control", "method": f"{BASELINE} seeds {sorted(b)} vs {sorted(a)}"}
    if not a or not b:
        return cell(**head, verdict=f"not run (baseline seeds: {sorted(a)} compared, {sorted(b)} control)")
    prov = row_provenance(f"control {head['setting']}", base)
    out = cell(**head, **paired_effect(pair_in_order(a, b)), **prov)
    if min(len(a), len(b)) < 2:
        out["note"] = f"too few seeds ({len(b)} control, {len(a)} compared; 2 per side at least)"
    return out


# --- the A/A splits: the machinery's false-positive rate on real runs ------------------------------

def aa_splits(seeds, max_splits: int = 500, seed: int = 0) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """The splits of `seeds` (an even number) into two halves, each unordered split once: all of them
    when there are at most `max_splits`, else a seeded sample of that many."""
    import itertools

    seeds = sorted(seeds)
    if len(seeds) < 4 or len(seeds) % 2:
        raise ValueError(f"A/A splits need an even number of seeds, 4 or more, got {len(seeds)}")
    first, rest = seeds[0], seeds[1:]
    half = len(seeds) // 2
    # the half that holds the smallest seed names the split: each unordered split appears once
    halves = [(first, *c) for c in itertools.combinations(rest, half - 1)]
    if len(halves) > max_splits:
        rng = np.random.default_rng(seed)
        halves = [halves[i] for i in sorted(rng.choice(len(halves), max_splits, replace=False))]
    return [(a, tuple(x for x in seeds if x not in a)) for a in halves]


def aa_split_table(metrics: dict, min_effect: dict, splits) -> pd.DataFrame:
    """Each split's A/A cells, through the claims' test, families and verdict: per split, one cell per
    metric (`metrics`: name -> (metric_kind, {seed: per-example Series})), the second half against the
    first (`pair_in_order`), Holm over the split's cells as the control family."""
    rows = []
    for i, (a, b) in enumerate(splits):
        cells = [cell(claim="A/A split", setting=f"split {i}", metric=name, metric_kind=kind, column="control",
                      method=f"seeds {list(b)} vs {list(a)}",
                      **paired_effect(pair_in_order({s: v[s] for s in a}, {s: v[s] for s in b})))
                 for name, (kind, v) in metrics.items()]
        t = decide(pd.DataFrame(cells), min_effect)
        rows += [{"split": i, "first": " ".join(map(str, a)), "second": " ".join(map(str, b)), "metric": r.metric,
                  "metric_kind": r.metric_kind, "effect": r.effect, "ci_low": r.ci_low, "ci_high": r.ci_high,
                  "p": r.p, "p_holm": r.p_holm, "p_below_holm": r.p_below_holm, "verdict": r.verdict}
                 for r in t.itertuples()]
    return pd.DataFrame(rows)


def aa_rates(splits: pd.DataFrame) -> pd.DataFrame:
    """Per metric (and for any metric of a split, the family): the share of splits whose verdict is
    holds (a false positive: both halves are the baseline), does not hold, inconclusive."""
    kind = splits.verdict.str.extract(r"^(holds|does not hold|inconclusive)")[0]
    t = splits.assign(kind=kind)
    out = [{"metric": m, "splits": len(g), **{k: float((g.kind == k).mean()) for k in ("holds", "does not hold", "inconclusive")}}
           for m, g in t.groupby("metric", sort=False)]
    per_split = t.groupby("split").kind
    out.append({"metric": "any metric of the split (the family)", "splits": int(per_split.ngroups),
                **{k: float(per_split.apply(lambda x, k=k: (x == k).any()).mean()) for k in ("holds", "does not hold")},
                "inconclusive": float(per_split.apply(lambda x: (x == "inconclusive").all()).mean())})
    return pd.DataFrame(out)


# --- claim 4: which methods are the live AFA at another K -----------------------------------------

def k_claim(head: dict, runs: pd.DataFrame, columns: dict[str, str], method_settings: dict, values) -> list[dict]:
    """Claim 4, per column and model: (largest K minus smallest K) on the long texts minus the same
    on the short ones, each paired by seed among the column method's K variants (`k_variants`)."""
    cells = []
    for column, method in columns.items():
        variants = k_variants(method_settings, method)
        mine = runs[runs.method.isin(variants) & runs.dataset.isin([LONG, SHORT])]
        found = {}
        for model, g in mine.groupby("model"):
            ks = {ds: {variants[m]: m for m in h.method.unique()} for ds, h in g.groupby("dataset")}
            if all(len(ks.get(ds, {})) >= 2 for ds in (LONG, SHORT)):
                found[model] = ks
        if not found:
            grid = ", ".join(f"{m} (K {k})" for m, k in variants.items()) or "none"
            cells.append(cell(**head, column=column, method=method, verdict=(
                f"not run (needs {method} at two K or more on both {LONG} and {SHORT}; method_settings define: "
                f"{grid}; the K ablation grid is not built)")))
            continue
        for model, ks in found.items():
            effects, rows = {}, {}
            for ds in (LONG, SHORT):
                lo, hi = ks[ds][min(ks[ds])], ks[ds][max(ks[ds])]
                sub = mine[(mine.model == model) & (mine.dataset == ds)]
                (c,) = compare(head, sub, {column: hi}, values, baseline=lo)
                effects[ds] = c
                # a method may train on a seeded subset of one dataset (per_method.train_overrides):
                # the two K compared must then share it, or the gain is partly the data's
                rows[ds] = {json.load(open(f)).get("n_train") for f in sub[sub.method.isin([lo, hi])].train_file if f} - {None}
                if len(rows[ds]) > 1:
                    c["verdict"] = (f"K {min(ks[ds])} and K {max(ks[ds])} trained on different train sizes "
                                    f"({', '.join(str(n) for n in sorted(rows[ds]))})")
            if any(c["verdict"] for c in effects.values()):
                why = "; ".join(f"{ds}: {c['verdict']}" for ds, c in effects.items() if c["verdict"])
                cells.append(cell(**head, column=column, method=method, verdict=f"not run ({why})"))
                continue
            both = interaction(effects[LONG], effects[SHORT])
            note = "; ".join(f"{ds}: K {min(ks[ds])} -> {max(ks[ds])} {effects[ds]['effect']:+.4f}"
                             + (f" ({next(iter(rows[ds])):,} train rows)" if rows[ds] else "") for ds in (LONG, SHORT))
            used = mine[(mine.model == model) & mine.method.isin(
                [ks[ds][f(ks[ds])] for ds in (LONG, SHORT) for f in (min, max)])]
            prov = row_provenance(f"{head['claim']} {model}", used)  # one row: both datasets' runs
            cells.append(cell(**{**head, "setting": f"{head['setting']} / {model}"}, column=column, method=method,
                              **both, **prov, note=note))
    return cells

