"""Rationale alignment: word <- model-token mapping, SST rules, and scores on a toy model known by hand."""

import gzip
import json

import numpy as np
import pytest
from conftest import REPO
from test_deletion import Toy

from afa import models
from afa.evaluation.alignment import alignment, rationale_mask, word_scores


@pytest.fixture
def toy():
    tok = models.build_word_tokenizer(["the good film", "the bad film was not good"], 100, 1, 32)
    return tok, Toy(tok)


def record(words, mask, label=1, rid="x"):
    return {"id": rid, "label": label, "tokens": words.split(), "rationale_mask": mask}


def test_word_scores_sum_the_attention_of_each_words_pieces(toy):
    tok, _ = toy
    enc = tok([["don't", "like", "it"]], is_split_into_words=True)
    assert enc.word_ids(0) == [None, 0, 0, 0, 1, 2]  # [CLS] don ' t like it
    scores, seen = word_scores([0.5, 0.1, 0.1, 0.1, 0.15, 0.05], enc.word_ids(0), 3)
    assert scores == pytest.approx([0.3, 0.15, 0.05]) and seen.all()
    scores, seen = word_scores([0.5, 0.5], [None, 0], 3)  # words 1 and 2 cut off by truncation
    assert seen.tolist() == [True, False, False] and scores == pytest.approx([0.5, 0, 0])


def test_toy_attention_on_the_rationale_scores_perfectly(toy):
    tok, model = toy
    recs = [record("the good film", [0, 1, 0]), record("the bad film was not good", [0, 1, 0, 0, 0, 1], 0, "y")]
    summary, per_example = alignment(model, tok, recs, max_length=32)
    assert summary["auprc"] == pytest.approx(1) and summary["token_f1"] == pytest.approx(1)
    assert summary["iou_f1"] == pytest.approx(1) and summary["n"] == 2 and summary["skipped"] == 0
    assert per_example[1]["k"] == 2 and per_example[1]["pred_spans"] == [(1, 2), (5, 6)]


def test_toy_attention_off_the_rationale_scores_by_hand(toy):
    tok, model = toy
    # rationale on "film" only; attention puts 101/103 on "good" and 1/103 on "the" and "film" (a tie)
    summary, _ = alignment(model, tok, [record("the good film", [0, 0, 1])], max_length=32)
    # ranking good > the = film: sklearn's AP counts the tie as one threshold: precision 1/3 at recall 1
    assert summary["auprc"] == pytest.approx(1 / 3)
    assert summary["token_f1"] == 0 and summary["iou_f1"] == 0 and summary["random_auprc"] == pytest.approx(1 / 3)


def test_truncated_words_are_dropped_or_scored_zero(toy):
    tok, model = toy
    recs = [record("the good film was not bad", [0, 0, 0, 0, 1, 1])]  # max_length 4 sees [CLS] the good film
    with pytest.raises(ValueError, match="no example has both"):
        alignment(model, tok, recs, max_length=4)  # no rationale word among those seen
    summary, per_example = alignment(model, tok, recs, max_length=4, truncated="zero")
    assert summary["rationale_coverage"] == 0 and per_example[0]["words"] == 6 and summary["token_f1"] == 0
    with pytest.raises(ValueError, match="alignment.truncated"):
        alignment(model, tok, recs, max_length=4, truncated="cut")


def test_sst_rules():
    rec = {"label": 1, "token_labels": [2, 3, 4, 1, 0], "rationale_mask": [9, 9, 9, 9, 9]}
    assert rationale_mask(rec, "polarity") == [0, 1, 1, 0, 0]
    assert rationale_mask(rec, "strong") == [0, 0, 1, 0, 0]
    assert rationale_mask({**rec, "label": 0}, "polarity") == [0, 0, 0, 1, 1]
    assert rationale_mask(rec, "mirror") == [9, 9, 9, 9, 9]
    assert rationale_mask({"label": 0, "rationale_mask": [1, 0]}, "strong") == [1, 0]  # ERASER: its own mask
    with pytest.raises(ValueError, match="alignment.sst_rule"):
        rationale_mask(rec, "loud")


def test_polarity_rule_is_the_staged_sst_rationale_mask():
    """The documented rule reproduces the mask shipped with the data, on every labelled sample sentence."""
    path = REPO / "src/afa/sample_data/sst_phrases/dev.jsonl.gz"
    recs = [json.loads(line) for line in gzip.open(path, "rt")]
    labelled = [r for r in recs if r["label"] is not None]
    assert len(labelled) > 100
    assert all(rationale_mask(r, "polarity") == r["rationale_mask"] for r in labelled)
    assert np.mean([np.mean(r["rationale_mask"]) for r in labelled]) > 0.02
