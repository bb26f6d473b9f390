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
