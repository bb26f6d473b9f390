"""Seed statistics and AFA-vs-baseline tests, used by every table notebook.

Two kinds of uncertainty, reported side by side because they answer different questions (the
probe's table combines them):
  - over seeds (training randomness): mean, sample std and a t-based 95 % CI of a metric across
    seeds; AFA vs baseline as a paired t-test over seeds (seed s of both methods shares the data
    order and the initial weight draw);
  - over test examples (which sentences were drawn): a paired bootstrap of the per-example metric
    difference. Each example's value is first averaged over the seeds both methods share, so the
    bootstrap resamples examples, the unit the test set is a sample of;
  - both at once (`hierarchical_bootstrap`): seeds are resampled, then examples within each drawn
    seed, for a metric that has a per-example value in every seed (the mechanism probe).
Across several tests (the claims table) p-values are adjusted by Holm's step-down method (`holm`).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats


def summary(values, confidence: float = 0.95) -> dict:
    """mean, std (ddof 1), n and the t-interval of the mean; std and CI are NaN for one value."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        raise ValueError("summary of zero values")
    n, mean = x.size, float(x.mean())
    if n < 2:
        return {"mean": mean, "std": float("nan"), "n": n, "ci_low": float("nan"), "ci_high": float("nan")}
    std = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * std / np.sqrt(n))
    return {"mean": mean, "std": std, "n": n, "ci_low": mean - half, "ci_high": mean + half}


def paired_ttest(treated, control) -> dict:
    """Paired t-test of treated - control (e.g. AFA minus baseline, matched by seed)."""
    a, b = np.asarray(treated, dtype=float), np.asarray(control, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired t-test needs matched values, got {a.size} and {b.size}")
    d = a - b
    if d.size < 2 or np.allclose(d, d[0]):
        # scipy returns NaN (with a warning) for fewer than two pairs or zero variance
        return {"mean_diff": float(d.mean()) if d.size else float("nan"), "t": float("nan"),
                "p_value": float("nan"), "pairs": int(d.size)}
    res = stats.ttest_rel(a, b)
    return {"mean_diff": float(d.mean()), "t": float(res.statistic), "p_value": float(res.pvalue), "pairs": int(d.size)}


def paired_bootstrap(treated, control, n_resamples: int = 10_000, seed: int = 0, confidence: float = 0.95) -> dict:
    """Paired bootstrap over examples of mean(treated - control).

    `treated` and `control` hold one value per example (e.g. 0/1 correctness or AUPRC), in the same
    example order. Returns the observed difference, a percentile CI and a two-sided p-value: twice
    the smaller share of resampled differences on either side of zero (capped at 1).
    """
    a, b = np.asarray(treated, dtype=float), np.asarray(control, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"paired bootstrap needs two equal-length 1-D arrays, got {a.shape} and {b.shape}")
    if a.size < 2:
        raise ValueError("paired bootstrap needs at least two examples")
    d = a - b
    res = stats.bootstrap((d,), np.mean, n_resamples=n_resamples, confidence_level=confidence,
                          method="percentile", random_state=np.random.default_rng(seed))
    dist = res.bootstrap_distribution
    p = min(1.0, 2 * min(float((dist <= 0).mean()), float((dist >= 0).mean())))
    return {"mean_diff": float(d.mean()), "ci_low": float(res.confidence_interval.low),
            "ci_high": float(res.confidence_interval.high), "p_value": p, "examples": int(d.size)}


def hierarchical_bootstrap(groups, statistic=np.mean, n_resamples: int = 10_000, seed: int = 0,
                           confidence: float = 0.95) -> dict:
    """Mean over groups (seeds) of a per-group statistic of units (examples), with a two-level
    percentile bootstrap interval: each resample draws the groups with replacement, then, for every
    drawn group, its units with replacement (a fresh draw each time a group is drawn again).

    `groups`: one 1-D array of per-unit values per seed (lengths may differ). `statistic(x, axis=-1)`
    must reduce along `axis` (np.mean does). With one group this is the percentile bootstrap over
    units. The interval carries both sources of variation, which seeds were trained and which
    examples were drawn; a bootstrap over the pooled units would see only the second. Resamples
    where the statistic is undefined (NaN) are left out of the quantiles.

    `p_value` is two-sided against 0, as in `paired_bootstrap`: twice the smaller share of resampled
    values on either side of zero (capped at 1); it means something when the statistic is a
    difference (per-unit differences of two runs, say), whose null value is 0.
    """
    arrays = [np.asarray(g, dtype=float) for g in groups]
    if not arrays or any(a.ndim != 1 or a.size == 0 for a in arrays):
        raise ValueError("hierarchical bootstrap needs at least one group, each a non-empty 1-D array")
    rng = np.random.default_rng(seed)
    G = len(arrays)
    picks = rng.integers(G, size=(n_resamples, G))
    total = np.zeros(n_resamples)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # e.g. an effect size of a zero-variance resample
        for slot in range(G):
            for g, a in enumerate(arrays):
                hit = picks[:, slot] == g
                if hit.any():
                    total[hit] += statistic(a[rng.integers(a.size, size=(int(hit.sum()), a.size))], axis=-1)
        estimate = float(np.mean([statistic(a, axis=-1) for a in arrays]))
        dist = total / G
        finite = dist[~np.isnan(dist)]
        lo, hi = (np.quantile(finite, [(1 - confidence) / 2, (1 + confidence) / 2]) if finite.size
                  else (float("nan"), float("nan")))
        p = (min(1.0, 2 * min(float((finite <= 0).mean()), float((finite >= 0).mean()))) if finite.size
             else float("nan"))
    return {"estimate": estimate, "ci_low": float(lo), "ci_high": float(hi), "p_value": p, "groups": G,
            "units": int(sum(a.size for a in arrays))}


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjustment of a family of p-values (family-wise error), in the input order.

    The i-th smallest of the m p-values is multiplied by m - i (i from 0), the products are made
    non-decreasing in that order and capped at 1. NaN entries (tests that could not be run) are not
    part of the family and stay NaN. statsmodels' multipletests(method="holm") gives the same; it is
    not a dependency for four lines.
    """
    p = np.asarray(p_values, dtype=float)
    if p.ndim != 1:
        raise ValueError(f"holm needs a 1-D list of p-values, got shape {p.shape}")
    if ((p < 0) | (p > 1)).any():
        raise ValueError(f"holm: p-values must lie in [0, 1], got {p[(p < 0) | (p > 1)].tolist()}")
    out = np.full(p.shape, np.nan)
    idx = np.flatnonzero(~np.isnan(p))
    order = idx[np.argsort(p[idx], kind="stable")]
    m = order.size
    out[order] = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    return out


def fmt(s: dict, scale: float = 100.0, digits: int = 1) -> str:
    """'mean ± std [ci_low, ci_high]' of a `summary`, scaled (x100 for accuracies)."""
    m = f"{scale * s['mean']:.{digits}f}"
    if s["n"] < 2:
        return m
    return f"{m} ± {scale * s['std']:.{digits}f} [{scale * s['ci_low']:.{digits}f}, {scale * s['ci_high']:.{digits}f}]"
