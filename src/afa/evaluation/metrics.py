"""Pure metric functions for rationale plausibility and faithfulness.

Plausibility (does the explanation agree with human rationales?):
``auprc``, ``topk_token_f1`` and ``iou_f1``; ``random_average_precision`` is
the chance level of ``auprc``. Faithfulness (does the model
actually rely on the tokens the explanation points at?): ``comprehensiveness``,
``sufficiency`` and ``aopc``.

The definitions follow ERASER (DeYoung et al., 2020, "ERASER: A Benchmark to
Evaluate Rationalized NLP Models", ACL) and its reference scorer
``rationale_benchmark/metrics.py`` in github.com/jayded/eraserbenchmark; AOPC
goes back to Samek et al. (2017), "Evaluating the Visualization of What a Deep
Neural Network Has Learned". Each docstring says where a choice was needed.

Everything here is numpy + scikit-learn on in-memory arrays: no model, no
files, so the numbers can be checked by hand.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

__all__ = [
    "spans_from_mask",
    "auprc",
    "random_average_precision",
    "topk_token_f1",
    "iou_f1",
    "comprehensiveness",
    "sufficiency",
    "aopc",
]

Span = tuple[int, int]


# ---------------------------------------------------------------- validation

def _vector(name: str, values, allow_empty: bool = False) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} is empty; a metric over zero tokens is undefined")
    if np.isnan(arr).any():
        # NaN would silently sort first or last and change rankings.
        raise ValueError(f"{name} contains NaN")
    return arr


def _binary(name: str, values, allow_empty: bool = False) -> np.ndarray:
    arr = _vector(name, values, allow_empty)
    if not np.isin(arr, (0.0, 1.0)).all():
        raise ValueError(f"{name} must contain only 0 and 1")
    return arr.astype(bool)


def _same_length(name_a: str, a, name_b: str, b) -> None:
    if len(a) != len(b):
        raise ValueError(f"{name_b} has length {len(b)} but {name_a} has length {len(a)}; they must match")


def _probabilities(name: str, values) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.isfinite(arr).all() or (arr < 0).any() or (arr > 1).any():
        raise ValueError(f"{name} must hold probabilities in [0, 1]")
    return arr


def _f1(precision: float, recall: float) -> float:
    # Same convention as ERASER's _f1: zero (not NaN) when either side is zero.
    if np.isnan(precision) or np.isnan(recall):
        return float("nan")
    if precision == 0 or recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


# --------------------------------------------------------------------- spans

def spans_from_mask(mask) -> list[Span]:
    """Contiguous runs of 1s in a 0/1 token mask, as half-open ``[start, end)`` spans.

    This is the span convention of ERASER's ``Rationale`` / ``Evidence``
    records (``start_token`` inclusive, ``end_token`` exclusive), so the
    output can be fed to ``iou_f1`` directly. A mask of length 0 or with no
    1s has no spans and gives ``[]``.
    """
    m = _binary("mask", mask, allow_empty=True).astype(np.int8)
    # Padding with a 0 on each side turns every run into one +1 edge and one -1 edge.
    edges = np.diff(np.concatenate(([0], m, [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    return [(int(s), int(e)) for s, e in zip(starts, ends)]


# ------------------------------------------------------- soft-score plausibility

def auprc(scores, mask) -> float:
    """Area under the precision-recall curve of token scores against a human rationale, one example.

    Definition: average precision, AP = sum_n (R_n - R_{n-1}) P_n over the
    ranking of tokens by ``scores`` (``sklearn.metrics.average_precision_score``),
    with the tokens where ``mask == 1`` as positives. This is the
    "AUPRC" soft-score plausibility metric of ERASER (DeYoung et al., 2020,
    Sec. 4), computed per document and then averaged over documents.

    Returns ``nan`` when the mask has no positive or no negative token: the
    ranking cannot be judged then. Average over a dataset with
    ``np.nanmean``, which matches ERASER's ``average_precision`` aggregate
    (``discard_single_class_answers=True`` skips such documents).

    Note: ERASER's scorer also reports a key named ``auprc`` computed as the
    trapezoidal ``auc(recall, precision)`` of ``precision_recall_curve``;
    that interpolates linearly between operating points and is not the same
    number as AP. We use AP, the non-interpolated estimate.
    """
    s = _vector("scores", scores)
    m = _binary("mask", mask)
    _same_length("scores", s, "mask", m)
    if m.all() or not m.any():
        return float("nan")
    # imported here: scikit-learn's import (about 3 s on these cores, scipy with it) is most of a
    # short job's start-up, and the deletion and probe jobs that import this module never need it
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(m.astype(int), s))


def random_average_precision(n_positive: int, n: int) -> float:
    """Expected ``auprc`` of a uniformly random ranking of ``n`` tokens, ``n_positive`` of them positive.

    This, not the positive rate ``n_positive / n``, is the chance level of
    AP: a random ranking puts a positive in first place with probability
    ``n_positive / n`` and then scores precision 1 there, so on short inputs
    chance AP lies well above the positive rate (n = 2, one positive: 0.75,
    not 0.5). The two meet only as n grows with the rate fixed.

    Derivation. With y_j = 1 when the token ranked j is positive and
    p = ``n_positive``, AP = (1/p) sum_j y_j (sum_{i<=j} y_i) / j. Under a
    random permutation E[y_j] = p/n and, for i != j,
    E[y_i y_j] = p(p-1) / (n(n-1)), so
    E[y_j sum_{i<=j} y_i] = p/n + (j-1) p(p-1) / (n(n-1)), and summing over
    j with H_n = sum_{j=1..n} 1/j:

        E[AP] = H_n / n + (p - 1)(n - H_n) / (n (n - 1)).

    Random scores have no ties, so this is also the expected AP of i.i.d.
    continuous random scores. ``nan`` when p is 0 or n, as for ``auprc``.
    """
    if isinstance(n, bool) or isinstance(n_positive, bool) or not all(
            isinstance(v, (int, np.integer)) for v in (n, n_positive)):
        raise ValueError(f"n_positive and n must be integers, got {n_positive!r} and {n!r}")
    if not 0 <= n_positive <= n or n < 1:
        raise ValueError(f"need 0 <= n_positive <= n and n >= 1, got n_positive={n_positive}, n={n}")
    if n_positive in (0, n):
        return float("nan")
    h = float(np.sum(1.0 / np.arange(1, n + 1)))
    return h / n + (n_positive - 1) * (n - h) / (n * (n - 1))


def topk_token_f1(scores, mask, k: int | None = None) -> dict:
    """Token-level precision, recall and F1 of the top-k scored tokens against a human rationale.

    The k tokens with the highest ``scores`` are taken as the predicted
    rationale and scored like ERASER's token-level F1 for hard rationales
    (DeYoung et al., 2020, Sec. 4; ``score_hard_rationale_predictions`` on
    token-level rationales in the reference scorer), here for one example.
    ERASER itself has no rule for turning soft scores into hard tokens;
    ``k`` defaults to the number of human rationale tokens, ``mask.sum()``
    (an "oracle length", so precision equals recall and only the ranking is
    judged). Ties are broken by lower token index first, so the result does
    not depend on the sort implementation.

    precision = |top-k ∩ rationale| / k, recall = |top-k ∩ rationale| / |rationale|,
    F1 their harmonic mean (0 when either is 0). Undefined parts are
    ``nan``: precision when k == 0, recall when the mask has no positive
    token; F1 is ``nan`` if either is.
    """
    s = _vector("scores", scores)
    m = _binary("mask", mask)
    _same_length("scores", s, "mask", m)
    n_gold = int(m.sum())
    if k is None:
        k = n_gold
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise ValueError(f"k must be an integer, got {k!r}")
    if not 0 <= k <= len(s):
        raise ValueError(f"k must be between 0 and the number of tokens ({len(s)}), got {k}")
    # A stable sort of the negated scores keeps equal scores in index order.
    top = np.argsort(-s, kind="stable")[:k]
    hits = int(m[top].sum())
    precision = hits / k if k > 0 else float("nan")
    recall = hits / n_gold if n_gold > 0 else float("nan")
    return {"precision": precision, "recall": recall, "f1": _f1(precision, recall)}


# ------------------------------------------------------------- span matching

def _span_set(name: str, i: int, spans: Iterable[Sequence[int]]) -> set[Span]:
    out = set()
    for span in spans:
        if len(span) != 2:
            raise ValueError(f"{name}[{i}] holds {span!r}, not a (start, end) pair")
        start, end = int(span[0]), int(span[1])
        if start < 0 or end <= start:
            raise ValueError(f"{name}[{i}] holds {span!r}; spans must satisfy 0 <= start < end")
        out.add((start, end))
    # A set, as in ERASER (Rationale objects are collected into sets), so a
    # span listed twice is counted once.
    return out


def _iou(a: Span, b: Span) -> float:
    # Contiguous half-open spans, so the token-set IOU reduces to interval arithmetic.
    inter = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    union = (a[1] - a[0]) + (b[1] - b[0]) - inter
    return inter / union


def iou_f1(pred_spans_per_example, gold_spans_per_example, threshold: float = 0.5,
           average: str = "micro") -> dict:
    """ERASER's IOU F1 (partial-match F1) of predicted rationale spans over a dataset.

    IOU of two token spans is |intersection| / |union| of their token sets.
    Following ERASER's reference scorer (``partial_match_score`` in
    ``rationale_benchmark/metrics.py``):

    * each predicted span takes its best IOU over the gold spans of the same
      example (0 if the example has none), and is a true positive when that
      best IOU is ``>= threshold`` (the code uses ``>=``, although the
      command-line help text says "larger than");
    * ``average="micro"`` (default): precision = TP / number of predicted
      spans, recall = TP / number of gold spans, both summed over all
      examples, F1 the harmonic mean of the two;
    * ``average="macro"``: per-example precision averaged over examples that
      have at least one predicted span, per-example recall averaged over
      examples that have at least one gold span, F1 the harmonic mean of the
      two averages (not an average of per-example F1s);
    * a ratio with a zero denominator is 0, and F1 is 0 when P or R is 0.

    ERASER reports both averages; the paper's "IOU F1" column uses the
    threshold 0.5 (DeYoung et al., 2020, Sec. 4).

    Matching is not one-to-one, exactly as in ERASER: two predicted spans
    may both match the same gold span, so TP can exceed the number of gold
    spans and recall can exceed 1 (e.g. gold [0, 4) and predictions [0, 2),
    [2, 4) at threshold 0.5 give recall 2). We keep that behaviour so our
    numbers are comparable with published ERASER numbers.

    Spans are ``(start, end)`` token offsets, end exclusive; duplicates
    within an example are counted once, as ERASER stores them in sets.
    Empty or reversed spans raise ``ValueError`` (ERASER would count an
    empty predicted span as an unmatched prediction).
    """
    preds = list(pred_spans_per_example)
    golds = list(gold_spans_per_example)
    _same_length("pred_spans_per_example", preds, "gold_spans_per_example", golds)
    if not 0 <= threshold <= 1:
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")
    if average not in ("micro", "macro"):
        raise ValueError(f"average must be 'micro' or 'macro', got {average!r}")

    tps, n_preds, n_golds = [], [], []
    for i, (p_spans, g_spans) in enumerate(zip(preds, golds)):
        p_set = _span_set("pred_spans_per_example", i, p_spans)
        g_set = _span_set("gold_spans_per_example", i, g_spans)
        best = [max((_iou(p, g) for g in g_set), default=0.0) for p in p_set]
        tps.append(sum(b >= threshold for b in best))
        n_preds.append(len(p_set))
        n_golds.append(len(g_set))

    if average == "micro":
        tp, n_p, n_g = sum(tps), sum(n_preds), sum(n_golds)
        precision = tp / n_p if n_p else 0.0
        recall = tp / n_g if n_g else 0.0
    else:
        # Examples with nothing predicted (or nothing gold) are absent from
        # ERASER's per-instance dictionaries, so they do not enter that average.
        ps = [t / n for t, n in zip(tps, n_preds) if n]
        rs = [t / n for t, n in zip(tps, n_golds) if n]
        precision = sum(ps) / len(ps) if ps else 0.0
        recall = sum(rs) / len(rs) if rs else 0.0
    return {"precision": float(precision), "recall": float(recall), "f1": float(_f1(precision, recall))}


# -------------------------------------------------------------- faithfulness

def comprehensiveness(p_full, p_without) -> np.ndarray:
    """Per-example comprehensiveness: p(y|x) - p(y|x \\ r).

    ``p_full`` is the model's probability of the class y it predicts on the
    full input x; ``p_without`` is the probability of that same class y once
    the rationale tokens r are removed (DeYoung et al., 2020, Sec. 4;
    ERASER scorer: ``classification_scores[cls] -
    comprehensiveness_classification_scores[cls]`` with ``cls`` the
    predicted class). Higher means the rationale mattered more. The dataset
    score is the mean of the returned array.
    """
    return _drop(p_full, "p_without", p_without)


def sufficiency(p_full, p_only) -> np.ndarray:
    """Per-example sufficiency: p(y|x) - p(y|r).

    ``p_only`` is the probability of the class y predicted on the full input
    when the model sees only the rationale tokens r (DeYoung et al., 2020,
    Sec. 4; ERASER scorer: ``classification_scores[cls] -
    sufficiency_classification_scores[cls]``). Lower is better, and it can be
    negative when the rationale alone makes the model more confident. The
    dataset score is the mean of the returned array.
    """
    return _drop(p_full, "p_only", p_only)


def _drop(p_full, name: str, p_other) -> np.ndarray:
    """p_full - p_other after checking both hold probabilities of matching shape."""
    full = _probabilities("p_full", p_full)
    other = _probabilities(name, p_other)
    _same_length("p_full", full, name, other)
    if full.shape != other.shape:
        raise ValueError(f"{name} has shape {other.shape} but p_full has shape {full.shape}")
    return full - other


def aopc(p_full, p_deleted) -> float:
    """Area over the perturbation curve: mean over examples and levels of p_full - p_deleted.

    ``p_full`` has shape [N]: probability of the class each example is
    predicted as on the full input. ``p_deleted`` has shape [N, B]: the
    probability of that same class at B perturbation levels (e.g. after
    deleting the top-k_b scored tokens). AOPC = 1/(N B) sum_i sum_b
    (p_full[i] - p_deleted[i, b]).

    Convention: ERASER (DeYoung et al., 2020, Sec. 4; ``_instances_aopc``
    in the reference scorer) takes the levels to be the bins
    {1, 5, 10, 20, 50}% of the tokens and averages over exactly those
    levels. Passing "kept only the top-k_b tokens" probabilities instead
    gives ERASER's AOPC sufficiency with the same formula. Any levels are
    accepted. Samek et al. (2017) also count the unperturbed step k = 0,
    i.e. divide by B + 1; to get that variant, include ``p_full`` as an
    extra column of ``p_deleted``.
    """
    full = _probabilities("p_full", p_full)
    deleted = _probabilities("p_deleted", p_deleted)
    if full.ndim != 1:
        raise ValueError(f"p_full must have shape [N], got {full.shape}")
    if deleted.ndim != 2:
        raise ValueError(f"p_deleted must have shape [N, B], got {deleted.shape}")
    _same_length("p_full", full, "p_deleted", deleted)
    # Averaging the flat [N, B] array equals averaging per example first,
    # because every example has the same B levels (the point ERASER's code
    # comments make about Samek et al.).
    return float(np.mean(full[:, None] - deleted))
