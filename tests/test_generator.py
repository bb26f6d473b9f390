"""masking generator (afa.generator): a small masked LM G proposes each masked token's replacement.
G's proposals are never the original token, never a special token, always among its top_k; a trained
G fills held-out tokens better than the most frequent token does; AFA with it masks, saves and
reloads G; the discriminator study and AFATrainer train their own."""

import pytest
import torch

from afa import objective as obj
from afa.generator import MaskedLM, corrupt, train_mlm
from afa.method import AFA
from afa.settings import AFAConfig, GeneratorConfig

TINY_G = {"d_model": 16, "layers": 1, "heads": 2, "d_ff": 32, "top_k": 3}
V, MASK, PAD, CLS, SEP = 40, 4, 0, 2, 3
SPECIAL = [PAD, 1, CLS, SEP, MASK]


def corpus(n=300, seed=0):
    """Texts where a token is mostly followed by the next one: a language G can learn in a few steps."""
    g = torch.Generator().manual_seed(seed)
    rows = []
    for _ in range(n):
        start, length = int(torch.randint(5, 30, (1,), generator=g)), int(torch.randint(4, 10, (1,), generator=g))
        rows.append([CLS] + [5 + (start + i - 5) % (V - 5) for i in range(length)] + [SEP])
    return rows


def test_proposals_skip_the_original_and_special_tokens_and_stay_in_the_top_k():
    torch.manual_seed(0)
    G = MaskedLM(GeneratorConfig(**TINY_G), V, 16, torch.tensor(SPECIAL)).eval()
    ids = torch.tensor([[CLS, 7, 8, 9, 10, SEP]] * 50)
    hit = torch.zeros_like(ids, dtype=torch.bool)
    hit[:, 2] = True
    logits = G(ids.masked_fill(hit, MASK), torch.ones_like(ids))[hit].float()
    logits[:, SPECIAL] = float("-inf")
    logits[:, 8] = float("-inf")
    allowed = set(logits[0].topk(3).indices.tolist())
    out = G.propose(ids.masked_fill(hit, MASK), torch.ones_like(ids), hit, ids[hit], torch.Generator().manual_seed(0))
    assert set(out.tolist()) <= allowed and 8 not in out.tolist() and not set(out.tolist()) & set(SPECIAL)
    assert len(set(out.tolist())) > 1  # a draw among the top_k, not the argmax


def test_apply_masks_replaces_exactly_the_chosen_tokens_by_the_proposers_draws():
    ids, att = torch.tensor([[CLS, 7, 8, 9, 10, SEP]]), torch.ones(1, 6, dtype=torch.long)
    idx = torch.tensor([[[1, 3], [2, 4]]])
    valid = torch.ones_like(idx, dtype=torch.bool)
    calls = []

    def proposer(copies, attention, hit, generator):
        calls.append(hit.clone())
        return torch.full((int(hit.sum()),), 33)

    X, att_X = obj.apply_masks(ids, att, idx, valid, MASK, PAD, "generator", proposer=proposer)
    assert X.tolist() == [[CLS, 33, 8, 33, 10, SEP], [CLS, 7, 33, 9, 33, SEP]] and att_X.sum() == 12
    assert calls[0].shape == (2, 6)
    with pytest.raises(ValueError, match="masking 'generator' needs a proposer"):
        obj.apply_masks(ids, att, idx, valid, MASK, PAD, "generator")


def test_corruption_chooses_only_real_tokens_at_about_the_rate():
    ids = torch.randint(5, V, (200, 20))
    att = torch.ones_like(ids)
    att[:, 15:] = 0
    _, chosen = corrupt(ids, att, torch.tensor(SPECIAL), MASK, torch.arange(5, V), 0.15, torch.Generator().manual_seed(0))
    assert not chosen[:, 15:].any() and 0.12 < chosen[:, :15].float().mean() < 0.18


def test_a_trained_generator_beats_the_most_frequent_token_on_held_out_texts():
    G, stats = train_mlm(GeneratorConfig(**{**TINY_G, "steps": 150, "lr": 1e-2}), corpus(), V, 16, MASK, PAD, SPECIAL,
                         held_out=corpus(60, seed=1))
    assert stats["held_out_tokens"] > 100 and stats["held_out_accuracy"] > 3 * stats["unigram_accuracy"]
    again, _ = train_mlm(GeneratorConfig(**{**TINY_G, "steps": 5}), corpus(), V, 16, MASK, PAD, SPECIAL)
    twice, _ = train_mlm(GeneratorConfig(**{**TINY_G, "steps": 5}), corpus(), V, 16, MASK, PAD, SPECIAL)
    assert all(torch.equal(a, b) for a, b in zip(again.state_dict().values(), twice.state_dict().values()))


def test_afa_with_generator_masking_needs_g_masks_with_it_and_reloads_it(tmp_path):
    config = AFAConfig(K=2, M=2, masking="generator", generator={**TINY_G, "steps": 20}, disc={"d_model": 16, "heads": 2, "d_ff": 32})
    with pytest.raises(ValueError, match="masking 'generator' needs `mlm`"):
        AFA(config, V, 16, MASK, PAD)
    G, _ = train_mlm(config.generator, corpus(), V, 16, MASK, PAD, SPECIAL)
    afa = AFA(config, V, 16, MASK, PAD, mlm=G)
    ids = torch.tensor([r[:6] for r in corpus(8)])
    att = (ids != PAD).long()
    maskable = att.bool() & ~torch.isin(ids, torch.tensor(SPECIAL))
    L_adv, stats = afa(att.float(), ids, att, maskable)
    assert torch.isfinite(L_adv) and 0 <= float(stats["disc_acc"]) <= 1
    assert afa.discriminator_step() is not None and not any(p.requires_grad for p in afa.mlm.parameters())
    afa.save_pretrained(tmp_path)
    back = AFA.from_pretrained(tmp_path)
    assert all(torch.equal(a, b) for a, b in zip(G.state_dict().values(), back.mlm.state_dict().values()))


def test_bad_generator_settings_are_one_line():
    with pytest.raises(ValueError, match="AFAConfig.generator: unknown setting 'topk'"):
        AFAConfig(generator={"topk": 3})
    with pytest.raises(ValueError, match="AFAConfig.generator.top_k must be a positive integer, got 0"):
        AFAConfig(generator={"top_k": 0})


def test_training_g_leaves_the_callers_random_stream_alone():
    """G has its own seed: a D built after it draws as it would have without it (the study's D seeds differ)."""
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    train_mlm(GeneratorConfig(**{**TINY_G, "steps": 3}), corpus(), V, 16, MASK, PAD, SPECIAL)
    assert torch.equal(torch.rand(3), expected)
