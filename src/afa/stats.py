"""Seed statistics and AFA-vs-baseline tests, used by every table notebook.

Two kinds of uncertainty, reported side by side because they answer different questions (the
probe's table combines them):
  - over seeds (training randomness): mean, sample std and a t-based 95 % CI of a metric across
    seeds; AFA vs baseline as a paired t-test over seeds (seed s of both methods shares the data
    order and the initial weight draw);
  - over test examples (which sentences were drawn): a paired bootstrap of the per-example metric
    difference. Each example's value is first averaged over the seeds both methods share, so the
    bootstrap resamples examples, the unit the test set is a sample of;
  - both at once, with the seed as the unit of inference (`seed_effect`, for the claims): the
    per-seed effect is the mean paired difference over the examples every run scored; interval and
    p come from a t with S - 1 degrees of freedom on the per-seed effects, whose squared standard
    error also carries the example draw that every seed shares (seeds and examples are crossed:
    every seed is scored on the same examples). This is conservative for any mix of seed and
    example variance and exact when the example term is 0; `seed_effect`'s docstring says why this
    and not a bootstrap, a permutation or Satterthwaite's df. tests/test_stats.py checks its
    false-positive rate, coverage and the minimal-effect test by simulation at 5 and 10 seeds;
  - `hierarchical_bootstrap` (seeds resampled, then examples independently within each drawn seed)
    is kept for the statistics `seed_effect` does not cover (an effect size per seed), but it is
    not calibrated at few seeds: with 5 seeds its percentile interval is too narrow (p is 0 as soon
    as all 5 per-seed values share a sign) and, resampling examples per seed, it treats a crossed
    design as nested and leaves out the example draw the seeds share. On null tables in the noise
    regime of the committed runs it rejects well above the nominal 5 % (tests/test_stats.py).
Across several tests (the claims table) p-values are adjusted by Holm's step-down method (`holm`).
"""

from __future__ import annotations

import math
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

    Not calibrated with few groups: at 5 seeds the percentile interval is too narrow (p is 0 once all
    groups' values share a sign), and for a crossed design (the same units in every group) it leaves
    out the unit draw the groups share. For a mean paired difference use `seed_effect`.
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


def _seed_matrix(rows) -> np.ndarray:
    """S x N float matrix of per-example values, one row per seed. Rows that are pandas Series are
    aligned on their index (example id); others must have equal lengths, in the same example order."""
    rows = list(rows) if not isinstance(rows, np.ndarray) else rows
    if len(rows) and all(hasattr(r, "index") and hasattr(r, "reindex") for r in rows):
        import pandas as pd  # only for aligning Series on their example ids

        return pd.concat([r.rename(k) for k, r in enumerate(rows)], axis=1).to_numpy(dtype=float).T
    try:
        m = np.asarray(rows, dtype=float)
    except ValueError:  # ragged: seeds with different numbers of values
        m = np.empty(0)
    if m.ndim != 2:
        raise ValueError("seed_effect needs one 1-D array of per-example values per seed, all of one length "
                         "(a 2-D seeds x examples array) or pandas Series indexed by example id")
    return m


def seed_effect(treated_by_seed, control_by_seed=None, confidence: float = 0.95, examples: str = "random",
                min_effect: float | None = None, direction: int = 1) -> dict:
    """Mean paired difference treated - control with the seed as the unit of inference, for a crossed
    seeds x examples design (every seed scored on the same examples), with a t interval and p-values.

    `treated_by_seed`, `control_by_seed`: per seed, one value per example (a seeds x examples array,
    or one 1-D array per seed in the same example order, or one pandas Series per seed indexed by
    example id, aligned on it); row s of both is a pair (seed s of AFA and of the baseline). With
    `control_by_seed` None, `treated_by_seed` holds the differences themselves (e.g. per-sentence
    reward differences of the probe). NaN marks a value a run does not have: only the examples that
    every run scored are used, so that the example set is the same in every seed.

    Model: d[s, i] = mu + a_s + b_i + e_si, with a_s the seed's effect (training noise), b_i the
    example's (the same in every seed: seeds and examples are crossed) and e_si the rest. The
    estimate is the grand mean of d, i.e. the mean over seeds of the per-seed effects D_s (the mean
    paired difference of seed s). The claim is about new trainings (seeds) AND new texts (examples)
    from the same populations, so the variance of the estimate is
        Var = sigma_a^2 / S + sigma_b^2 / N + sigma_e^2 / (S N).
    From the two-way mean squares (MS_seed, MS_ex, MS_res) it is estimated as V_seed + V_ex:
        V_seed = MS_seed / (S N) = var(D_s) / S          (the paired t over seeds' squared se)
        V_ex   = max(0, MS_ex - MS_res) / (S N)          (sigma_b^2 / N: the example draw all seeds share)
    The per-seed effects cannot show V_ex: the shared draw moves every D_s alike. se = sqrt(V_seed +
    V_ex), t = (estimate - null) / se, referred to Student's t with S - 1 degrees of freedom.
    `examples="fixed"` leaves V_ex out: the plain paired t over seeds (inference about new seeds on
    this very test set; then exact under normal per-seed effects).

    Why S - 1 degrees of freedom and not Satterthwaite's: V_ex is estimated from hundreds of
    examples, V_seed from S - 1 degrees of freedom. With V_ex known, t = Z sqrt(1 + l) / sqrt(W + l)
    (l = V_ex / V_seed's expectation, W ~ chi2(S-1) / (S-1)), whose denominator is W pulled toward its
    mean 1; the tail P(|Z| > c sqrt(w)) is convex in w, so every tail of t is at most that of t(S-1):
    the test is conservative for any mix of the two terms and exact when V_ex is 0. Satterthwaite's
    estimated df is larger exactly when the seeds happen to agree (small V_seed), so it is liberal in
    the tails that Holm over 35 cells uses: at 5 seeds, in the variance regimes of the committed
    runs, it rejected about 1.15x the nominal 5 %, 1.7x at 1 % and about 3x at 0.05 / 35.

    Why not a bootstrap or a permutation (simulated in tests/test_stats.py with variance components
    measured on the committed runs):
      - a bootstrap over 5 seeds (percentile, as `hierarchical_bootstrap`) sees at most 5 distinct
        values: its interval is too narrow by about sqrt((S-1)/S) and uses a normal instead of a t
        quantile (2.78 at 4 df), and its p is 0 whenever all per-seed effects share a sign; drawing
        examples independently per seed, it also counts the crossed example term at 1/S of its
        size. Null tables reject 1.8-8x the nominal 5 %. Studentizing a bootstrap over 5 seeds is
        unstable (a resample of 5 seeds often has 2 or 3 distinct ones);
      - an exact sign-flip permutation over seeds is valid for a fixed test set, but at 5 seeds its
        smallest two-sided p is 2 / 2^5 = 0.0625: no cell could pass even an unadjusted 5 % test, let
        alone Holm; and it has no room for the example draw the seeds share;
      - the t over per-seed effects pays for few seeds in its quantile; the per-seed effects are
        means over hundreds of examples, close to normal. The example term matters: it is 0-3 % of
        Var in the SST-2 scratch accuracy and IMDB comprehensiveness cells, about 20 % in SST-2
        scratch comprehensiveness (live) and 84-97 % in ERASER AUPRC, where the same 158 reviews are
        scored by every seed; there the plain paired t rejects 27-42 % of null tables at 5 seeds.

    Returns estimate, se, df, t (against 0), ci_low, ci_high (`confidence`), two-sided p_value against
    0, p_greater (H0: effect <= 0, against effect > 0) and p_less (H0: effect >= 0), seeds, examples
    (how many were used), per_seed (the S per-seed effects), var_seed, var_example. With `min_effect`
    (>= 0, in the direction `direction`: +1 the claim is treated > control, -1 treated < control)
    also p_below_min: the one-sided p of H0: direction * effect >= min_effect against direction *
    effect < min_effect, the test that an effect is smaller than the smallest that would count (one
    half of TOST; Holm-adjust it like p_value). `effect_p_value` gives p against any other value.
    With fewer than two seeds se and everything after it are NaN; with no variation at all as well,
    except that when every difference is exactly 0 p is 1 and the interval [0, 0].
    """
    if examples not in ("random", "fixed"):
        raise ValueError(f"examples must be 'random' (new examples) or 'fixed' (this test set), got {examples!r}")
    if direction not in (1, -1):
        raise ValueError(f"direction must be +1 or -1, got {direction!r}")
    if min_effect is not None and not min_effect >= 0:
        raise ValueError(f"min_effect must be >= 0 (in the claimed direction), got {min_effect!r}")
    if control_by_seed is None:
        d = _seed_matrix(treated_by_seed)
    else:
        t_rows, c_rows = list(treated_by_seed), list(control_by_seed)
        if len(t_rows) != len(c_rows):
            raise ValueError(f"seed_effect needs paired seeds, got {len(t_rows)} treated and {len(c_rows)} control")
        both = _seed_matrix(t_rows + c_rows)
        d = both[: len(t_rows)] - both[len(t_rows):]
    d = d[:, ~np.isnan(d).any(axis=0)]  # the examples every run scored
    S, N = d.shape
    if S == 0 or N == 0:
        raise ValueError(f"seed_effect needs at least one seed and one example every run scored, got {S} x {N}")
    per_seed = d.mean(axis=1)
    estimate = float(per_seed.mean())
    nan = float("nan")
    out = {"estimate": estimate, "se": nan, "df": nan, "t": nan, "ci_low": nan, "ci_high": nan, "p_value": nan,
           "p_greater": nan, "p_less": nan, "seeds": S, "examples": N, "per_seed": per_seed.tolist(),
           "var_seed": nan, "var_example": nan, "confidence": confidence}
    if min_effect is not None:
        out.update(p_below_min=nan, min_effect=float(min_effect), direction=direction)
    if S < 2:
        return out
    if not d.any():  # nothing differs anywhere: no evidence of any effect, nor that one is absent
        out.update(se=0.0, df=float(S - 1), t=0.0, ci_low=0.0, ci_high=0.0, p_value=1.0, p_greater=1.0, p_less=1.0,
                   var_seed=0.0, var_example=0.0)
        if min_effect is not None:
            out["p_below_min"] = nan if min_effect > 0 else 1.0
        return out
    v_seed = float(per_seed.var(ddof=1)) / S  # = MS_seed / (S N)
    v_ex = 0.0
    if examples == "random" and N > 1:
        col = d.mean(axis=0)
        ms_ex = S * float(((col - estimate) ** 2).sum()) / (N - 1)
        ms_res = float(((d - per_seed[:, None] - col[None, :] + estimate) ** 2).sum()) / ((S - 1) * (N - 1))
        v_ex = max(0.0, ms_ex - ms_res) / (S * N)
    var = v_seed + v_ex
    if not var > 0:  # e.g. the same nonzero difference everywhere: no noise to measure it against
        return out
    se, df = math.sqrt(var), float(S - 1)
    out.update(se=se, df=df, t=estimate / se, var_seed=v_seed, var_example=v_ex)
    half = float(stats.t.ppf(0.5 + confidence / 2, df)) * se
    out.update(ci_low=estimate - half, ci_high=estimate + half, p_value=effect_p_value(out),
               p_greater=effect_p_value(out, 0.0, "greater"), p_less=effect_p_value(out, 0.0, "less"))
    if min_effect is not None:
        out["p_below_min"] = effect_p_value(out, direction * min_effect, "less" if direction == 1 else "greater")
    return out


def effect_p_value(result: dict, null: float = 0.0, alternative: str = "two-sided") -> float:
    """p of a `seed_effect` result against H0: effect = `null` (two-sided), effect <= null
    (`alternative="greater"`: evidence that it is larger) or effect >= null (`"less"`: evidence that
    it is smaller), from its estimate, se and df. NaN where the result has no se."""
    if alternative not in ("two-sided", "greater", "less"):
        raise ValueError(f"alternative must be 'two-sided', 'greater' or 'less', got {alternative!r}")
    est, se, df = result["estimate"], result["se"], result["df"]
    if not se == se:
        return float("nan")
    if se == 0:  # every difference exactly 0 (see seed_effect)
        if est != null:
            return float("nan")
        return 1.0
    t = (est - null) / se
    if alternative == "greater":
        return float(stats.t.sf(t, df))
    if alternative == "less":
        return float(stats.t.cdf(t, df))
    return float(min(1.0, 2 * stats.t.sf(abs(t), df)))


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
