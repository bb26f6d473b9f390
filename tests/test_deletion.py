"""Token deletion on a toy model whose outputs are known by hand."""

import math

import numpy as np
import pytest
import torch

from afa import models
from afa.evaluation.deletion import keep_only, level_size, remove, token_deletion


class Toy(torch.nn.Module):
    """Logit of "positive" = 3 x (#good - #bad); attention sits on the sentiment words."""

    def __init__(self, tok):
        super().__init__()
        self.good, self.bad = tok.convert_tokens_to_ids(["good", "bad"])

    def forward(self, input_ids, attention_mask):
        score = 3.0 * ((input_ids == self.good).sum(-1) - (input_ids == self.bad).sum(-1)).float()
        logits = torch.stack([-score / 2, score / 2], -1)
        sentiment = (input_ids == self.good) | (input_ids == self.bad)
        att = (1.0 + 100.0 * sentiment.float()) * attention_mask
        return models.ModelOutput(logits, att / att.sum(-1, keepdim=True))


@pytest.fixture
def toy():
    tok = models.build_word_tokenizer(["the good film", "the bad film"], 100, 1, 16)
    return tok, Toy(tok)


def test_level_sizes():
    assert [level_size(lv, 20) for lv in (1, 3, 50, 0.1, 0.5, 0.01)] == [1, 3, 20, 2, 10, 1]
    assert level_size(0.5, 0) == 0


def test_remove_and_keep_only():
    ids = [2, 10, 11, 12]
    assert remove(ids, [1, 3], "delete", 4) == [2, 11]
    assert remove(ids, [1, 3], "mask", 4) == [2, 4, 11, 4]
    assert keep_only(ids, [2], special={2}) == [2, 11]
    with pytest.raises(ValueError, match="unknown deletion mode 'blur'"):
        remove(ids, [1], "blur", 4)


def test_deleting_the_top_attention_token_matches_hand_computation(toy):
    tok, model = toy
    ids = models.encode(tok, ["the good film", "the bad film"], 16)
    r = token_deletion(model, tok, ids, np.array([1, 0]), levels=[1], random_draws=30, seed=0)
    (lv,) = r["levels"]
    p = 1 / (1 + math.exp(-3))  # confidence on the full input
    assert r["accuracy_full"] == 1.0
    # top-1 removes the sentiment word: logits tie, argmax picks class 0, so example 1 turns wrong
    assert lv["accuracy_attention"] == 0.5 and lv["drop_attention"] == 0.5
    assert lv["comprehensiveness"] == pytest.approx(p - 0.5)
    assert lv["sufficiency"] == pytest.approx(0.0)  # the sentiment word alone gives the same output
    # a random token is the sentiment word one time in three
    assert lv["comprehensiveness_random"] == pytest.approx((p - 0.5) / 3, abs=0.06)
    assert lv["drop_random"] < lv["drop_attention"]
    assert r["aopc_comprehensiveness"] == pytest.approx(p - 0.5)


def test_eraser_aopc_averages_only_erasers_bins(toy):
    tok, model = toy
    text = "good good good bad " + "film " * 16   # 20 tokens; the stable ranking deletes the goods first
    ids = models.encode(tok, [text], 32)
    levels = [0.01, 0.05, 0.1, 0.2, 0.5, 3]   # 3 tokens: all three goods, the logit flips; not an ERASER bin
    r = token_deletion(model, tok, ids, np.array([1]), levels=levels, random_draws=2, seed=0)
    comp = [lv["comprehensiveness"] for lv in r["levels"]]
    sig = lambda z: 1 / (1 + math.exp(-z))
    # logit 3 x (#good - #bad): 6 in full; 1, 1, 2, 4 and 10 tokens deleted leave 3, 3, 0, 0, 0; 3 leave -3
    assert comp == pytest.approx([sig(6) - sig(3)] * 2 + [sig(6) - 0.5] * 3 + [sig(6) - sig(-3)])
    assert r["eraser"]["aopc_comprehensiveness"] == pytest.approx(np.mean(comp[:5]))
    assert r["aopc_comprehensiveness"] == pytest.approx(np.mean(comp))
    assert r["eraser"]["aopc_sufficiency"] == pytest.approx(np.mean([lv["sufficiency"] for lv in r["levels"][:5]]))
    assert np.mean(r["eraser"]["per_example"]["comprehensiveness"]) == pytest.approx(np.mean(comp[:5]), abs=1e-5)
    # without every ERASER bin there is no ERASER block rather than a partial one
    assert token_deletion(model, tok, ids, np.array([1]), levels=[0.1, 0.2], random_draws=1)["eraser"] is None


def test_an_unknown_deletion_or_alignment_setting_is_one_line_not_ignored(tmp_path):
    import pytest

    from afa.evaluation import alignment, deletion

    for module, name in ((deletion, "deletion"), (alignment, "alignment")):
        with pytest.raises(ValueError, match=rf"^unknown {name} setting 'levls' \(config: {name}\); known: "):
            module.evaluate(tmp_path / "run", tmp_path / "data", tmp_path / "o.json", tmp_path / "o.csv", {"levls": [1]})
