"""Rationale alignment: word <- model-token mapping, SST rules, and scores on a toy model known by hand."""

import gzip
import json

import numpy as np
import pytest
from conftest import REPO
from test_deletion import Toy

from afa import models
from afa.evaluation.alignment import alignment, baselines, labelled_words, rationale_mask, word_scores
from afa.evaluation.metrics import auprc


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
    assert summary["token_f1"] == 0 and summary["iou_f1"] == 0 and summary["positive_rate"] == pytest.approx(1 / 3)
    # chance: the one rationale word is ranked 1st, 2nd or 3rd by random scores, AP 1, 1/2 or 1/3
    assert summary["chance_auprc"] == pytest.approx((1 + 1 / 2 + 1 / 3) / 3)
    # by position, "film" (the last word) is ranked 3rd or 1st
    assert summary["position_first_auprc"] == pytest.approx(1 / 3) and summary["position_last_auprc"] == 1
    assert summary["position_last_token_f1"] == 1 and summary["position_last_iou_f1"] == 1


def test_position_scorers_by_hand():
    b = baselines([[1, 0, 0], [0, 0, 1, 1]], iou_threshold=0.5, chance_draws=1)
    # first words first: AP 1 and (1/3 + 2/4) / 2; top-k picks [0] (a hit) and [0, 1] (a miss)
    assert b["position_first_auprc"] == pytest.approx((1 + 5 / 12) / 2)
    assert b["position_first_token_f1"] == pytest.approx(0.5) and b["position_first_iou_f1"] == pytest.approx(0.5)
    # last words first: the mirror image, AP 1/3 and 1
    assert b["position_last_auprc"] == pytest.approx((1 / 3 + 1) / 2)
    assert b["position_last_token_f1"] == pytest.approx(0.5) and b["position_last_iou_f1"] == pytest.approx(0.5)
    assert b["positive_rate"] == pytest.approx((1 / 3 + 1 / 2) / 2)


def test_chance_is_the_mean_ap_of_random_scores_and_its_iou_f1_is_seeded():
    rng = np.random.default_rng(5)
    masks = [m for m in (rng.random(int(rng.integers(3, 12))) < 0.3 for _ in range(40)) if 0 < m.sum() < len(m)]
    b = baselines(masks, chance_draws=5)
    simulated = np.mean([[auprc(rng.random(len(m)), m) for m in masks] for _ in range(300)])
    assert b["chance_auprc"] == pytest.approx(simulated, abs=0.01)
    assert b == baselines(masks, chance_draws=5) and b != baselines(masks, chance_draws=5, chance_seed=1)
    # one word in two, top-1 by random scores: a hit (IOU 1) or a miss (IOU 0), each half the time
    assert baselines([[1, 0]] * 50, chance_draws=200)["chance_iou_f1"] == pytest.approx(0.5, abs=0.02)


def test_chance_auprc_on_the_sample_sst_dev_is_far_above_the_rationale_rate():
    """Short sentences: random scores often rank a rationale word first, so the positive rate is no chance level."""
    path = REPO / "src/afa/sample_data/sst_phrases/dev.jsonl.gz"
    masks = [rationale_mask(r, "polarity") for r in map(json.loads, gzip.open(path, "rt")) if r["label"] is not None]
    b = baselines([m for m in masks if 0 < sum(m) < len(m)], chance_draws=1)
    assert b["chance_auprc"] > 1.5 * b["positive_rate"]


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


def test_labelled_words_are_the_one_word_train_phrases_lower_cased():
    train = [{"text": "Good "}, {"text": "a good film"}, {"text": "'s"}, {"text": "  "}, {"text": "BAD"}]
    assert labelled_words(train) == {"good", "'s", "bad"}


def test_unseen_scores_rank_only_the_words_training_never_labelled(toy):
    tok, model = toy
    # attention: 101/... on "good" and "bad", 1 on the others; rationale: "good" and "not"
    recs = [record("the bad film was not good", [0, 0, 0, 0, 1, 1]), record("the good film", [0, 1, 0], rid="y")]
    full, _ = alignment(model, tok, recs, max_length=32)
    assert full["labelled_words"] == 0 and full["unseen_auprc"] is None and full["unseen_rationale_share"] is None
    summary, per_example = alignment(model, tok, recs, max_length=32, labelled=frozenset({"good", "bad"}))
    # unseen in x: the, film, was, not (rationale: not), all at the same score: AP = 1/4
    assert per_example[0]["unseen_words"] == 4 and per_example[0]["unseen_auprc"] == pytest.approx(1 / 4)
    # y's only rationale word is labelled: not scoreable on unseen words, but still scored in full
    assert per_example[1]["unseen_auprc"] is None and per_example[1]["auprc"] == pytest.approx(1)
    assert summary["unseen_n"] == 1 and summary["unseen_auprc"] == pytest.approx(1 / 4)
    # chance: "not" ranked 1st to 4th of the four by random scores
    assert summary["unseen_chance_auprc"] == pytest.approx((1 + 1 / 2 + 1 / 3 + 1 / 4) / 4)
    assert summary["unseen_rationale_share"] == pytest.approx(1 / 3)  # "not" of good, not, good
    assert summary["auprc"] == full["auprc"]  # the full scores do not change


def test_unseen_words_come_from_the_rows_the_run_trained_on(tmp_path):
    """A run capped by train.max_train learnt from its first rows only: labelled_words reads those."""
    from afa.evaluation.alignment import trained_rows
    from afa.io import write_jsonl_gz

    data, run = tmp_path / "data", tmp_path / "run"
    data.mkdir(), run.mkdir()
    write_jsonl_gz(data / "train.jsonl.gz", [{"text": w, "label": 1} for w in ("good", "bad", "dull")])
    assert labelled_words(trained_rows(run, data)) == {"good", "bad", "dull"}  # no train_metrics.json: all
    (run / "train_metrics.json").write_text(json.dumps({"train": {"max_train": 2, "lr": 0.1}}))
    assert labelled_words(trained_rows(run, data)) == {"good", "bad"}
