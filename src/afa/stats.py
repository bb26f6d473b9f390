"""Seed statistics and AFA-vs-baseline tests, used by every table notebook.

Two kinds of uncertainty, reported side by side because they answer different questions:
  - over seeds (training randomness): mean, sample std and a t-based 95 % CI of a metric across
    seeds; AFA vs baseline as a paired t-test over seeds (seed s of both methods shares the data
    order and the initial weight draw);
  - over test examples (which sentences were drawn): a paired bootstrap of the per-example metric
    difference. Each example's value is first averaged over the seeds both methods share, so the
    bootstrap resamples examples, the unit the test set is a sample of.
"""

from __future__ import annotations

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


def fmt(s: dict, scale: float = 100.0, digits: int = 1) -> str:
    """'mean ± std [ci_low, ci_high]' of a `summary`, scaled (x100 for accuracies)."""
    m = f"{scale * s['mean']:.{digits}f}"
    if s["n"] < 2:
        return m
    return f"{m} ± {scale * s['std']:.{digits}f} [{scale * s['ci_low']:.{digits}f}, {scale * s['ci_high']:.{digits}f}]"
