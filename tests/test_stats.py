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


# --- seed_effect: the seed as the unit, seeds x examples crossed ----------------------------------

def test_seed_effect_with_fixed_examples_is_the_paired_t_over_per_seed_effects():
    rng = np.random.default_rng(0)
    t, c = rng.normal(0.1, 1, (5, 80)), rng.normal(0, 1, (5, 80))
    r = stats.seed_effect(t, c, examples="fixed")
    ref = sps.ttest_rel(t.mean(1), c.mean(1))
    lo, hi = sps.ttest_rel(t.mean(1), c.mean(1)).confidence_interval(0.95)
    assert r["estimate"] == pytest.approx((t - c).mean()) and r["df"] == 4 and r["var_example"] == 0
    assert r["t"] == pytest.approx(ref.statistic) and r["p_value"] == pytest.approx(ref.pvalue)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((lo, hi))
    assert r["per_seed"] == pytest.approx((t - c).mean(1).tolist()) and (r["seeds"], r["examples"]) == (5, 80)


def test_seed_effect_adds_the_example_draw_the_seeds_share():
    # every seed's differences carry the same per-example effect b_i (crossed): the per-seed effects
    # agree closely, but a new test set would move all of them together
    rng = np.random.default_rng(1)
    S, N, sb = 5, 400, 0.5
    d = rng.normal(0, sb, (1, N)) + rng.normal(0, 0.1, (S, N)) + rng.normal(0, 0.002, (S, 1))
    fixed, crossed = stats.seed_effect(d, examples="fixed"), stats.seed_effect(d)
    assert crossed["var_seed"] == pytest.approx(fixed["se"] ** 2)
    assert crossed["var_example"] == pytest.approx(sb ** 2 / N, rel=0.25)
    assert crossed["se"] > 3 * fixed["se"] and crossed["df"] == S - 1
    assert crossed["ci_low"] < fixed["ci_low"] < fixed["ci_high"] < crossed["ci_high"]


def test_seed_effect_p_values_agree_with_each_other_and_with_the_interval():
    rng = np.random.default_rng(2)
    d = rng.normal(0.05, 0.2, (6, 50)) + rng.normal(0, 0.03, (6, 1))
    r = stats.seed_effect(d, min_effect=0.08)
    assert r["p_value"] == pytest.approx(2 * min(r["p_greater"], r["p_less"]))
    assert r["p_greater"] + r["p_less"] == pytest.approx(1.0)
    # the interval's ends are the values a two-sided 5 % test just fails to reject
    assert stats.effect_p_value(r, r["ci_high"]) == pytest.approx(0.05)
    assert stats.effect_p_value(r, r["ci_low"]) == pytest.approx(0.05)
    assert r["p_below_min"] == pytest.approx(stats.effect_p_value(r, 0.08, "less"))
    # direction -1: the claim is that treated is lower; "below the minimal effect" means above -m
    down = stats.seed_effect(-d, min_effect=0.08, direction=-1)
    assert down["p_below_min"] == pytest.approx(r["p_below_min"])
    with pytest.raises(ValueError, match="alternative"):
        stats.effect_p_value(r, 0.0, "both")


def test_seed_effect_uses_the_examples_every_run_scored_and_aligns_series():
    import pandas as pd

    rng = np.random.default_rng(3)
    t, c = rng.normal(0, 1, (3, 10)), rng.normal(0, 1, (3, 10))
    t[1, 4] = np.nan  # one run did not score example 4: it leaves every seed
    r = stats.seed_effect(t, c)
    keep = np.arange(10) != 4
    assert r["examples"] == 9 and r["estimate"] == pytest.approx((t - c)[:, keep].mean())
    ids = [f"e{i}" for i in range(10)]
    ts = [pd.Series(row, index=ids) for row in t]
    cs = [pd.Series(row, index=ids).iloc[::-1] for row in c]  # another order: aligned on the id
    assert stats.seed_effect(ts, cs)["estimate"] == pytest.approx(r["estimate"])
    with pytest.raises(ValueError, match="paired seeds"):
        stats.seed_effect(t, c[:2])
    with pytest.raises(ValueError, match="2-D"):
        stats.seed_effect([np.zeros(3), np.zeros(4)])


def test_seed_effect_degenerate_cases():
    one = stats.seed_effect(np.ones((1, 20)), np.zeros((1, 20)))
    assert one["estimate"] == 1.0 and math.isnan(one["p_value"]) and math.isnan(one["ci_low"])
    same = stats.seed_effect(np.ones((4, 20)), np.ones((4, 20)), min_effect=0.01)
    assert same["p_value"] == 1.0 and (same["ci_low"], same["ci_high"]) == (0.0, 0.0)
    assert math.isnan(same["p_below_min"])  # identical runs say nothing about how small the effect is
    const = stats.seed_effect(np.ones((4, 20)), np.zeros((4, 20)))
    assert const["estimate"] == 1.0 and math.isnan(const["p_value"])
    with pytest.raises(ValueError, match="min_effect"):
        stats.seed_effect(np.ones((4, 20)), min_effect=-0.01)
    with pytest.raises(ValueError, match="every run scored"):
        stats.seed_effect(np.array([[np.nan, 1.0], [1.0, np.nan]]))


# --- calibration by simulation --------------------------------------------------------------------
# Variance components of the per-example paired differences d[s, i] = AFA - baseline of the
# committed runs (results/paper/eval; two-way mean squares, d = mu + a_s + b_i + e_si, seeds and
# examples crossed): sd of the seed effect a_s, of the example effect b_i shared by all seeds, of the
# rest e_si, and the examples N every seed scored.
REGIMES = {
    # SST-2 dev, scratch, live AFA, comprehensiveness (the claims table's only "holds" before issue 31):
    # between-seed sd of the per-seed effect 0.0124, per-example sd 0.204, across-seed correlation
    # of the per-example differences 0.16; the example term is 20 % of the estimate's variance
    "sst2_comprehensiveness": (0.0107, 0.082, 0.187, 872),
    # ERASER movies val AUPRC, IMDB scratch, paper-literal AFA: seed sd 0.0023, per-example sd 0.100,
    # across-seed correlation 0.63: the same 158 reviews in every seed, the example term 97 %
    "eraser_auprc": (0.0, 0.080, 0.0605, 158),
    # IMDB test, scratch, live AFA, comprehensiveness: seed sd 0.076, per-example sd 0.30, correlation
    # 0.18; the seed term dominates (example term 1.4 %), where the test should be close to exact
    "imdb_comprehensiveness": (0.076, 0.129, 0.268, 1000),
}
SIM_EXAMPLES = 100  # per simulated table; sigma_b, sigma_e rescaled so that sigma^2 / N is as measured


def crossed_table(rng, seeds, regime, effect=0.0):
    sa, sb, se, n = REGIMES[regime]
    k = math.sqrt(SIM_EXAMPLES / n)
    return (effect + rng.normal(0, sa, (seeds, 1)) + rng.normal(0, sb * k, (1, SIM_EXAMPLES))
            + rng.normal(0, se * k, (seeds, SIM_EXAMPLES)))


def rejection_rate(test, seeds, regime, tables, seed=0, effect=0.0):
    """Share of simulated crossed tables (true effect `effect`) on which `test(d)` (d: seeds x
    examples differences) returns True, and its Monte-Carlo standard error at the nominal 5 %."""
    rng = np.random.default_rng(seed)
    hits = sum(bool(test(crossed_table(rng, seeds, regime, effect))) for _ in range(tables))
    return hits / tables, math.sqrt(0.05 * 0.95 / tables)


def old_test(d):
    boot_seed = int(abs(d[0, 0]) * 1e9) % 2**32  # a seed per table, the same on every run of the test
    return stats.hierarchical_bootstrap(list(d), np.mean, 1000, seed=boot_seed)["p_value"] < 0.05


@pytest.mark.parametrize("regime", sorted(REGIMES))
@pytest.mark.parametrize("seeds", [3, 5, 10])  # 3: the discriminator study's and the IMDB probe's seeds
def test_seed_effect_false_positive_rate_is_at_most_nominal(seeds, regime):
    # at 5 % and at 1 % (Holm over many cells works in the far tail: Satterthwaite's df, liberal
    # there, rejects about 1.7x the nominal 1 % at 5 seeds and fails this)
    rng, tables = np.random.default_rng(seeds), 4000
    p = np.array([stats.seed_effect(crossed_table(rng, seeds, regime))["p_value"] for _ in range(tables)])
    for alpha in (0.05, 0.01):
        rate = float((p < alpha).mean())
        assert rate <= alpha + 2 * math.sqrt(alpha * (1 - alpha) / tables), \
            f"{rate:.4f} of null tables rejected at nominal {alpha}"


@pytest.mark.parametrize("regime", ["eraser_auprc", "sst2_comprehensiveness"])
@pytest.mark.parametrize("seeds", [5, 10])
def test_hierarchical_bootstrap_false_positive_rate_is_above_nominal(seeds, regime):
    # the same check as above, on the procedure the claims table used until issue 31: it fails
    # (this test documents that the check can fail, and why hierarchical_bootstrap is not the
    # claims' test any more)
    rate, mc = rejection_rate(old_test, seeds, regime, 400, seed=seeds)
    assert rate > 0.05 + 2 * mc, f"{rate:.3f} of null tables rejected at nominal 5 %"


@pytest.mark.parametrize("regime", sorted(REGIMES))
@pytest.mark.parametrize("seeds", [3, 5, 10])
def test_seed_effect_interval_covers_the_true_effect(seeds, regime):
    def covers(d):
        r = stats.seed_effect(d)
        return r["ci_low"] <= 0.02 <= r["ci_high"]

    rate, mc = rejection_rate(covers, seeds, regime, 2000, seed=100 + seeds, effect=0.02)
    assert rate >= 0.95 - 2 * mc, f"the 95 % interval covered the true effect in {rate:.3f} of tables"


@pytest.mark.parametrize("direction", [1, -1])
@pytest.mark.parametrize("seeds", [5, 10])
def test_minimal_effect_test_at_the_borderline_rejects_at_most_nominal(seeds, direction):
    # true effect exactly at the minimal effect (in the claimed direction): "smaller than the minimal
    # effect" is false, so it may be concluded in at most 5 % of tables; well below it, it must be
    # concluded often (the test has power: a wrong sign or side would fail one of the two)
    m = 0.01

    def below(d):
        return stats.seed_effect(d, min_effect=m, direction=direction)["p_below_min"] < 0.05

    rate, mc = rejection_rate(below, seeds, "sst2_comprehensiveness", 2000, seed=200 + seeds, effect=direction * m)
    assert rate <= 0.05 + 2 * mc, f"'below the minimal effect' concluded in {rate:.3f} of borderline tables"
    power, _ = rejection_rate(below, seeds, "sst2_comprehensiveness", 300, seed=300 + seeds, effect=-direction * 0.02)
    assert power > 0.5
