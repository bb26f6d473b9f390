"""Seed statistics and paired tests against scipy and hand computation."""

import math

import numpy as np
import pytest
from scipy import stats as sps

from afa import stats


def test_summary_matches_t_interval_by_hand():
    s = stats.summary([0.80, 0.82, 0.84])
    half = sps.t.ppf(0.975, 2) * 0.02 / math.sqrt(3)  # std of the three values is exactly 0.02
    assert s["mean"] == pytest.approx(0.82) and s["std"] == pytest.approx(0.02)
    assert (s["ci_low"], s["ci_high"]) == pytest.approx((0.82 - half, 0.82 + half))
    assert stats.fmt(s) == f"82.0 ± 2.0 [{100 * (0.82 - half):.1f}, {100 * (0.82 + half):.1f}]"


def test_summary_of_one_seed_has_no_interval():
    s = stats.summary([0.7])
    assert s["mean"] == 0.7 and math.isnan(s["ci_low"]) and stats.fmt(s) == "70.0"
    with pytest.raises(ValueError, match="zero values"):
        stats.summary([])


def test_paired_ttest_equals_one_sample_test_of_differences():
    a, b = [0.81, 0.79, 0.84, 0.80], [0.80, 0.80, 0.81, 0.78]
    t = stats.paired_ttest(a, b)
    ref = sps.ttest_1samp(np.subtract(a, b), 0.0)
    assert t["t"] == pytest.approx(ref.statistic) and t["p_value"] == pytest.approx(ref.pvalue)
    assert t["mean_diff"] == pytest.approx(0.0125) and t["pairs"] == 4


def test_paired_ttest_degenerate_cases_give_nan_not_warnings():
    assert math.isnan(stats.paired_ttest([0.8], [0.7])["p_value"])
    assert math.isnan(stats.paired_ttest([0.8, 0.9], [0.7, 0.8])["p_value"])  # constant difference
    with pytest.raises(ValueError, match="matched values"):
        stats.paired_ttest([1, 2], [1])


def test_paired_bootstrap_finds_a_real_difference_and_not_a_null_one():
    rng = np.random.default_rng(0)
    base = rng.integers(0, 2, 400).astype(float)
    better = base.copy()
    better[rng.choice(np.flatnonzero(base == 0), 60, replace=False)] = 1  # 60 more correct of 400
    r = stats.paired_bootstrap(better, base, 2000, seed=1)
    assert r["mean_diff"] == pytest.approx(0.15) and r["ci_low"] > 0.1 and r["p_value"] < 0.001
    null = stats.paired_bootstrap(rng.permutation(base), base, 2000, seed=1)
    assert null["ci_low"] < 0 < null["ci_high"] or null["p_value"] > 0.05
    same = stats.paired_bootstrap(base, base, 500)
    assert same["mean_diff"] == 0 and same["p_value"] == 1.0


def test_paired_bootstrap_is_seeded_and_checks_its_input():
    a, b = np.arange(50) % 3 / 2, np.arange(50) % 2
    assert stats.paired_bootstrap(a, b, 500, seed=3) == stats.paired_bootstrap(a, b, 500, seed=3)
    with pytest.raises(ValueError, match="equal-length"):
        stats.paired_bootstrap([1, 0, 1], [1, 0])


def test_hierarchical_bootstrap_of_one_group_is_the_percentile_bootstrap():
    x = np.random.default_rng(0).normal(0.3, 1.0, 200)
    h = stats.hierarchical_bootstrap([x], np.mean, 4000, seed=1)
    ref = sps.bootstrap((x,), np.mean, n_resamples=4000, method="percentile",
                        random_state=np.random.default_rng(2)).confidence_interval
    width = ref.high - ref.low
    assert h["estimate"] == pytest.approx(x.mean()) and h["groups"] == 1 and h["units"] == 200
    assert h["ci_low"] == pytest.approx(ref.low, abs=0.05 * width) and h["ci_high"] == pytest.approx(ref.high, abs=0.05 * width)


def test_hierarchical_bootstrap_carries_the_spread_between_seeds():
    # three seeds far apart, each with a tight spread over its sentences: resampling the pooled
    # sentences alone would give about 1 +- 0.01; resampling seeds first must span the seeds
    rng = np.random.default_rng(0)
    groups = [rng.normal(m, 0.01, 100) for m in (0.0, 1.0, 2.0)]
    h = stats.hierarchical_bootstrap(groups, np.mean, 4000, seed=0)
    assert h["estimate"] == pytest.approx(1.0, abs=0.01) and h["groups"] == 3 and h["units"] == 300
    assert h["ci_low"] < 0.5 and h["ci_high"] > 1.5
    pooled = stats.hierarchical_bootstrap([np.concatenate(groups)], np.mean, 4000, seed=0)
    assert pooled["ci_high"] - pooled["ci_low"] < 0.3


def test_hierarchical_bootstrap_takes_any_reducing_statistic_and_is_seeded():
    def d(x, axis=-1):
        return x.mean(axis) / x.std(axis, ddof=1)

    rng = np.random.default_rng(4)
    groups = [rng.normal(1.0, 1.0, n) for n in (80, 120)]  # lengths may differ
    h = stats.hierarchical_bootstrap(groups, d, 2000, seed=5)
    assert h["estimate"] == pytest.approx(np.mean([d(g) for g in groups]))
    assert h["ci_low"] < h["estimate"] < h["ci_high"]
    assert h == stats.hierarchical_bootstrap(groups, d, 2000, seed=5)
    assert h != stats.hierarchical_bootstrap(groups, d, 2000, seed=6)
    with pytest.raises(ValueError, match="non-empty 1-D"):
        stats.hierarchical_bootstrap([np.array([])])
