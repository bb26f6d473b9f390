"""Metric functions checked against hand-worked numbers and independent computations."""

import itertools
import math

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from afa.evaluation.metrics import (aopc, auprc, comprehensiveness, iou_f1, random_average_precision,
                                    spans_from_mask, sufficiency, topk_token_f1)


# ------------------------------------------------------------------ spans_from_mask

@pytest.mark.parametrize("mask, spans", [
    ([], []),
    ([0, 0, 0], []),
    ([1, 1, 1], [(0, 3)]),
    ([1, 0, 0, 1], [(0, 1), (3, 4)]),
    ([1, 1, 0, 1, 0, 0, 1, 1], [(0, 2), (3, 4), (6, 8)]),
    ([0, 1, 1, 0], [(1, 3)]),
    ([True, False, True], [(0, 1), (2, 3)]),
])
def test_spans_from_mask(mask, spans):
    assert spans_from_mask(mask) == spans


def test_spans_from_mask_round_trip():
    rng = np.random.default_rng(0)
    for _ in range(50):
        mask = rng.integers(0, 2, size=rng.integers(1, 30))
        rebuilt = np.zeros_like(mask)
        for s, e in spans_from_mask(mask):
            assert e > s
            rebuilt[s:e] = 1
        np.testing.assert_array_equal(rebuilt, mask)


def test_spans_from_mask_rejects_non_binary():
    with pytest.raises(ValueError, match="mask"):
        spans_from_mask([0, 2, 1])


# ----------------------------------------------------------------------------- auprc

def test_auprc_hand_example():
    # Ranked by score: 0.9 (pos), 0.8 (neg), 0.4 (pos), 0.1 (neg).
    # Recall steps 0 -> 1/2 at rank 1 (precision 1/1) and 1/2 -> 1 at rank 3 (precision 2/3).
    # AP = 1/2 * 1 + 1/2 * 2/3 = 5/6.
    assert auprc([0.9, 0.8, 0.1, 0.4], [1, 0, 0, 1]) == pytest.approx(5 / 6)


def test_auprc_perfect_and_worst_ranking():
    assert auprc([0.9, 0.8, 0.1, 0.2], [1, 1, 0, 0]) == pytest.approx(1.0)
    # Positives ranked 3rd and 4th: AP = 1/2 * 1/3 + 1/2 * 2/4 = 5/12.
    assert auprc([0.1, 0.2, 0.9, 0.8], [1, 1, 0, 0]) == pytest.approx(5 / 12)


def test_auprc_matches_sklearn_on_random_cases():
    rng = np.random.default_rng(1)
    for _ in range(30):
        n = int(rng.integers(2, 40))
        mask = rng.integers(0, 2, size=n)
        mask[0], mask[1] = 1, 0  # both classes present
        scores = rng.random(n)
        assert auprc(scores, mask) == pytest.approx(average_precision_score(mask, scores))


def test_auprc_undefined_for_single_class_masks():
    assert math.isnan(auprc([0.3, 0.2, 0.1], [0, 0, 0]))
    assert math.isnan(auprc([0.3, 0.2, 0.1], [1, 1, 1]))


# ----------------------------------------------------------- random_average_precision

@pytest.mark.parametrize("n", range(2, 7))
def test_random_average_precision_is_the_mean_over_all_permutations(n):
    for p in range(1, n):
        mask = [1] * p + [0] * (n - p)
        aps = [auprc(np.array(ranks, dtype=float), mask) for ranks in itertools.permutations(range(n))]
        assert random_average_precision(p, n) == pytest.approx(np.mean(aps), abs=1e-12)


def test_random_average_precision_matches_a_seeded_simulation():
    rng = np.random.default_rng(3)
    for n, p in ((12, 3), (40, 5)):
        mask = np.zeros(n, dtype=int)
        mask[rng.choice(n, p, replace=False)] = 1
        aps = [auprc(rng.random(n), mask) for _ in range(4000)]
        assert random_average_precision(p, n) == pytest.approx(np.mean(aps), abs=4 * np.std(aps) / np.sqrt(4000))


def test_random_average_precision_by_hand_and_against_the_positive_rate():
    # n = 2, one positive: first place (AP 1) or second (AP 1/2), each with probability 1/2.
    assert random_average_precision(1, 2) == pytest.approx(0.75)
    assert random_average_precision(1, 3) == pytest.approx(11 / 18)  # (1 + 1/2 + 1/3) / 3
    # A 20-word sentence with 3 rationale words: chance AP is far above the positive rate 0.15 ...
    assert random_average_precision(3, 20) > 0.25
    # ... and the two meet only on long inputs.
    assert random_average_precision(1000, 10000) == pytest.approx(0.1, abs=0.002)


def test_random_average_precision_undefined_for_one_class_and_checked():
    assert math.isnan(random_average_precision(0, 5)) and math.isnan(random_average_precision(5, 5))
    with pytest.raises(ValueError, match="n_positive"):
        random_average_precision(6, 5)
    with pytest.raises(ValueError, match="integers"):
        random_average_precision(1.5, 5)


# --------------------------------------------------------------------- topk_token_f1

def test_topk_perfect():
    r = topk_token_f1([0.1, 0.9, 0.8, 0.2], [0, 1, 1, 0])
    assert r == {"precision": 1.0, "recall": 1.0, "f1": 1.0}


def test_topk_half_right():
    # k = 2; top-2 are tokens 0 and 1; only token 1 is in the rationale {1, 3}.
    r = topk_token_f1([0.9, 0.8, 0.1, 0.2], [0, 1, 0, 1])
    assert r == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5})


def test_topk_explicit_k():
    scores, mask = [0.9, 0.8, 0.7, 0.1, 0.2], [1, 0, 1, 0, 1]
    # k = 1: {0}; hits 1 -> P = 1, R = 1/3, F1 = 2 * 1 * 1/3 / (4/3) = 1/2.
    assert topk_token_f1(scores, mask, k=1) == pytest.approx({"precision": 1.0, "recall": 1 / 3, "f1": 0.5})
    # k = 4: {0, 1, 2, 4}; hits 3 -> P = 3/4, R = 1, F1 = 2 * 3/4 / (7/4) = 6/7.
    assert topk_token_f1(scores, mask, k=4) == pytest.approx({"precision": 0.75, "recall": 1.0, "f1": 6 / 7})


def test_topk_ties_take_lower_index_first():
    # Three-way tie; k = 2 picks tokens 0 and 1, of which only 1 is gold.
    assert topk_token_f1([0.5, 0.5, 0.5, 0.1], [0, 1, 1, 0])["precision"] == pytest.approx(0.5)
    # Same scores, gold at the two lowest indices: a perfect pick.
    assert topk_token_f1([0.5, 0.5, 0.5, 0.1], [1, 1, 0, 0])["f1"] == 1.0
    # Tie between a lower-index miss and a higher-index hit: the miss wins the slot.
    assert topk_token_f1([0.9, 0.3, 0.3], [1, 0, 1], k=2)["precision"] == pytest.approx(0.5)


def test_topk_zero_hits_and_undefined_parts():
    assert topk_token_f1([0.9, 0.1], [0, 1]) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    r = topk_token_f1([0.9, 0.1], [0, 0])  # k defaults to 0
    assert math.isnan(r["precision"]) and math.isnan(r["recall"]) and math.isnan(r["f1"])
    r = topk_token_f1([0.9, 0.1], [0, 0], k=1)
    assert r["precision"] == 0.0 and math.isnan(r["recall"]) and math.isnan(r["f1"])


@pytest.mark.parametrize("k", [-1, 5, 1.5])
def test_topk_rejects_bad_k(k):
    with pytest.raises(ValueError, match="k must"):
        topk_token_f1([0.1, 0.2, 0.3], [0, 1, 0], k=k)


# --------------------------------------------------------------------------- iou_f1

def test_iou_exact_match():
    assert iou_f1([[(0, 3)]], [[(0, 3)]]) == {"precision": 1.0, "recall": 1.0, "f1": 1.0}


@pytest.mark.parametrize("pred, matched", [
    ((0, 4), False),   # IOU = 4/10 = 0.4
    ((0, 5), True),    # IOU = 5/10 = 0.5, exactly the threshold: ERASER uses >=
    ((1, 6), True),    # IOU = 5/10 = 0.5, shifted
    ((0, 6), True),    # IOU = 6/10 = 0.6
    ((5, 15), False),  # intersection {5..9} = 5, union {0..14} = 15, IOU = 1/3
    ((2, 12), True),   # intersection 8, union 12, IOU = 2/3
])
def test_iou_threshold_boundary(pred, matched):
    r = iou_f1([[pred]], [[(0, 10)]], threshold=0.5)
    assert r["precision"] == (1.0 if matched else 0.0)


def test_iou_threshold_is_inclusive_but_not_below():
    # IOU 0.5 exactly: in at threshold 0.5, out at 0.5 + 1e-9.
    assert iou_f1([[(0, 5)]], [[(0, 10)]], threshold=0.5)["f1"] == 1.0
    assert iou_f1([[(0, 5)]], [[(0, 10)]], threshold=0.5 + 1e-9)["f1"] == 0.0


def test_iou_prediction_without_gold_and_several_gold_spans():
    preds = [
        [(5, 8)],          # ex 0: best IOU vs gold (5, 9) = 3/4 -> TP; vs (0, 2) it is 0
        [(2, 4)],          # ex 1: no gold span at all -> false positive
        [(0, 3), (6, 7)],  # ex 2: (0, 3) vs (0, 4) = 3/4 -> TP; (6, 7) vs (0, 4) = 0 -> FP
        [],                # ex 3: nothing predicted, one gold span missed
    ]
    golds = [[(0, 2), (5, 9)], [], [(0, 4)], [(3, 5)]]
    # Micro: TP = 2, predicted spans = 1 + 1 + 2 + 0 = 4, gold spans = 2 + 0 + 1 + 1 = 4.
    # P = 2/4, R = 2/4, F1 = 1/2.
    assert iou_f1(preds, golds) == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5})
    # Macro: precisions over examples with predictions: ex0 1/1, ex1 0/1, ex2 1/2 -> mean 1/2.
    # Recalls over examples with gold: ex0 1/2, ex2 1/1, ex3 0/1 -> mean 1/2. F1 = 1/2.
    assert iou_f1(preds, golds, average="macro") == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5})


def test_iou_micro_and_macro_differ():
    preds = [[(0, 2)], [(0, 2), (4, 6), (8, 10)]]
    golds = [[(0, 2)], [(0, 2), (20, 22)]]
    # TP: ex0 1, ex1 1 (only (0, 2) matches).
    # Micro: P = 2/4, R = 2/3, F1 = 2 * (1/2)(2/3) / (7/6) = 4/7.
    assert iou_f1(preds, golds) == pytest.approx({"precision": 0.5, "recall": 2 / 3, "f1": 4 / 7})
    # Macro: P = (1 + 1/3)/2 = 2/3, R = (1 + 1/2)/2 = 3/4, F1 = 2 * (2/3)(3/4) / (17/12) = 12/17.
    assert iou_f1(preds, golds, average="macro") == pytest.approx(
        {"precision": 2 / 3, "recall": 3 / 4, "f1": 12 / 17})


def test_iou_matching_is_not_one_to_one_like_eraser():
    # Both halves of gold (0, 4) have IOU 2/4 = 0.5 with it, so both count as TP: recall 2/1.
    r = iou_f1([[(0, 2), (2, 4)]], [[(0, 4)]])
    assert r == pytest.approx({"precision": 1.0, "recall": 2.0, "f1": 4 / 3})


def test_iou_duplicates_counted_once_and_empty_dataset():
    assert iou_f1([[(0, 3), (0, 3)]], [[(0, 3), [0, 3]]]) == {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert iou_f1([[]], [[]]) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_iou_agrees_with_token_set_definition():
    # Interval arithmetic vs. explicit token sets, over random spans.
    from afa.evaluation.metrics import _iou
    rng = np.random.default_rng(2)
    for _ in range(200):
        a0, b0 = rng.integers(0, 20, size=2)
        a = (int(a0), int(a0 + rng.integers(1, 8)))
        b = (int(b0), int(b0 + rng.integers(1, 8)))
        sa, sb = set(range(*a)), set(range(*b))
        assert _iou(a, b) == pytest.approx(len(sa & sb) / len(sa | sb))


@pytest.mark.parametrize("bad", [[(3, 3)], [(4, 2)], [(-1, 2)], [(1, 2, 3)]])
def test_iou_rejects_malformed_spans(bad):
    with pytest.raises(ValueError, match=r"pred_spans_per_example\[0\]"):
        iou_f1([bad], [[(0, 2)]])


# ------------------------------------------------- faithfulness with a toy model
# A "model" whose class probabilities we can work out by hand: P(positive | tokens)
# = (1 + #positive words) / (2 + #positive words + #negative words).

POSITIVE = {"good", "great", "nice"}
NEGATIVE = {"bad", "dull", "terrible"}


def toy_p_positive(tokens):
    n_pos = sum(t in POSITIVE for t in tokens)
    n_neg = sum(t in NEGATIVE for t in tokens)
    return (1 + n_pos) / (2 + n_pos + n_neg)


def p_of_predicted_class(tokens, full_tokens):
    p_pos_full = toy_p_positive(full_tokens)
    p_pos = toy_p_positive(tokens)
    return p_pos if p_pos_full >= 0.5 else 1 - p_pos


DOCS = [
    # 2 positive, 1 negative: P(pos) = 3/5 -> predicted positive, p_full = 3/5.
    ("a good great film but bad end".split(), [0, 1, 1, 0, 0, 0, 0], [0.1, 0.9, 0.8, 0.2, 0.0, 0.7, 0.3]),
    # 1 positive, 3 negative: P(pos) = 2/6 -> predicted negative, p_full = 2/3.
    ("dull plot bad acting terrible ending nice".split(), [1, 0, 1, 0, 1, 0, 0],
     [0.7, 0.1, 0.2, 0.0, 0.9, 0.3, 0.8]),
]


def keep(tokens, keep_mask):
    return [t for t, k in zip(tokens, keep_mask) if k]


def test_toy_model_full_probabilities():
    assert [p_of_predicted_class(t, t) for t, _, _ in DOCS] == pytest.approx([3 / 5, 2 / 3])


def test_comprehensiveness_and_sufficiency_with_toy_model():
    p_full = np.array([p_of_predicted_class(t, t) for t, _, _ in DOCS])
    p_without = np.array([p_of_predicted_class(keep(t, 1 - np.array(m)), t) for t, m, _ in DOCS])
    p_only = np.array([p_of_predicted_class(keep(t, m), t) for t, m, _ in DOCS])
    # Doc 0 without {good, great}: 0 pos, 1 neg -> P(pos) = 1/3; comp = 3/5 - 1/3 = 4/15.
    # Doc 1 without {dull, bad, terrible}: 1 pos, 0 neg -> P(neg) = 1/3; comp = 2/3 - 1/3 = 1/3.
    np.testing.assert_allclose(comprehensiveness(p_full, p_without), [4 / 15, 1 / 3])
    # Doc 0 only {good, great}: P(pos) = 3/4; suff = 3/5 - 3/4 = -3/20.
    # Doc 1 only {dull, bad, terrible}: P(pos) = 1/5, P(neg) = 4/5; suff = 2/3 - 4/5 = -2/15.
    np.testing.assert_allclose(sufficiency(p_full, p_only), [-3 / 20, -2 / 15])


def test_aopc_with_toy_model():
    p_full = np.array([p_of_predicted_class(t, t) for t, _, _ in DOCS])
    levels = [1, 2, 3]
    p_deleted = np.empty((len(DOCS), len(levels)))
    for i, (tokens, _, scores) in enumerate(DOCS):
        order = np.argsort(-np.array(scores), kind="stable")
        for j, k in enumerate(levels):
            kept = np.ones(len(tokens), dtype=int)
            kept[order[:k]] = 0
            p_deleted[i, j] = p_of_predicted_class(keep(tokens, kept), tokens)
    # Doc 0 (p_full 3/5) deletes good, great, bad in turn:
    #   P(pos) = 2/4, 1/3, 1/2 -> drops 1/10, 4/15, 1/10.
    # Doc 1 (p_full 2/3) deletes terrible, nice, dull in turn:
    #   P(neg) = 3/5, 3/4, 2/3 -> drops 1/15, -1/12, 0.
    # Sum = (6 + 16 + 6 + 4 - 5 + 0) / 60 = 27/60; AOPC = 27/60 / 6 = 0.075.
    np.testing.assert_allclose(p_deleted, [[1 / 2, 1 / 3, 1 / 2], [3 / 5, 3 / 4, 2 / 3]])
    assert aopc(p_full, p_deleted) == pytest.approx(0.075)
    # Samek et al.'s variant with the k = 0 step: same sum over 2 * 4 cells.
    assert aopc(p_full, np.column_stack([p_full, p_deleted])) == pytest.approx(27 / 60 / 8)


def test_aopc_equals_mean_of_per_level_comprehensiveness():
    rng = np.random.default_rng(3)
    p_full, p_deleted = rng.random(7), rng.random((7, 5))
    per_level = [comprehensiveness(p_full, p_deleted[:, b]).mean() for b in range(5)]
    assert aopc(p_full, p_deleted) == pytest.approx(np.mean(per_level))


# ------------------------------------------------------------------------ errors

@pytest.mark.parametrize("call, name", [
    (lambda: auprc([0.1, 0.2, 0.3], [0, 1]), "mask"),
    (lambda: topk_token_f1([0.1, 0.2], [0, 1, 1]), "mask"),
    (lambda: iou_f1([[(0, 1)]], [[(0, 1)], []]), "gold_spans_per_example"),
    (lambda: comprehensiveness([0.5, 0.5], [0.1]), "p_without"),
    (lambda: sufficiency([0.5], [0.1, 0.2]), "p_only"),
    (lambda: aopc([0.5, 0.5], [[0.1, 0.2]]), "p_deleted"),
])
def test_length_mismatch_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


@pytest.mark.parametrize("call, name", [
    (lambda: auprc([], []), "scores"),
    (lambda: topk_token_f1([], []), "scores"),
    (lambda: auprc([0.1, float("nan")], [0, 1]), "scores"),
    (lambda: auprc([0.1, 0.2], [0, 0.5]), "mask"),
    (lambda: comprehensiveness([1.2], [0.1]), "p_full"),
    (lambda: aopc([0.5], [0.1]), "p_deleted"),
    (lambda: iou_f1([[(0, 1)]], [[(0, 1)]], average="weighted"), "average"),
])
def test_bad_inputs_raise(call, name):
    with pytest.raises(ValueError, match=name):
        call()
