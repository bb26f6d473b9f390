"""Mechanics of the AFA objective (not outcomes): the policy, its log-probability, the reward,
the gradient paths and determinism."""

import itertools
import math

import pytest
import torch
from scipy.stats import chisquare

from afa import models
from afa import objective as obj
from afa.train import AFA, AFA_DEFAULTS, train_step


def test_plackett_luce_log_prob_equals_brute_force():
    torch.manual_seed(0)
    A = torch.rand(1, 6)
    maskable = torch.tensor([[False, True, True, True, False, True]])  # position 0 is [CLS]
    log_pi = obj.policy_log_probs(A, maskable)
    p = (A * maskable).squeeze(0) / (A * maskable).sum()
    orders = list(itertools.permutations([1, 2, 3, 5], 3))
    idx = torch.tensor(orders)[None]  # [1, M=24, K=3]
    got = obj.plackett_luce_log_prob(log_pi, idx, torch.ones_like(idx, dtype=torch.bool))
    for m, order in enumerate(orders):
        prob, left = 1.0, 1.0
        for s in order:
            prob *= p[s].item() / left
            left -= p[s].item()
        assert got[0, m].item() == pytest.approx(math.log(prob), abs=1e-5)
    assert got.exp().sum().item() == pytest.approx(1.0, abs=1e-5)  # a distribution over orderings


def test_fewer_maskable_tokens_than_K_gives_finite_log_prob_and_gradient():
    A = torch.tensor([[0.5, 0.3, 0.2, 0.0]], requires_grad=True)
    maskable = torch.tensor([[False, True, True, False]])
    log_pi = obj.policy_log_probs(A, maskable)
    idx, valid, _ = obj.sample_masks(log_pi, maskable, K=3, M=2, eps=0.0)
    assert valid.sum(-1).tolist() == [[2, 2]]
    lp = obj.plackett_luce_log_prob(log_pi, idx, valid)
    # both tokens are taken; the ordered draw (1, 2) has probability 0.6, (2, 1) has 0.4
    first = idx[0, :, 0]
    expected = torch.where(first == 1, torch.tensor(math.log(0.6)), torch.tensor(math.log(0.4)))
    assert torch.allclose(lp[0], expected, atol=1e-5)
    lp.sum().backward()
    assert torch.isfinite(A.grad).all()


def random_batch(B=8, T=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(4, T + 1, (B,), generator=g)
    att = (torch.arange(T)[None] < lengths[:, None]).long()
    maskable = att.bool().clone()
    maskable[:, 0] = False  # [CLS]
    A = torch.rand(B, T, generator=g) * att
    return A / A.sum(-1, keepdim=True), maskable, att


def test_padding_and_special_tokens_are_never_masked():
    A, maskable, _ = random_batch()
    for eps in (0.0, 0.5, 1.0):
        idx, valid, _ = obj.sample_masks(obj.policy_log_probs(A, maskable), maskable, K=3, M=16, eps=eps,
                                         generator=torch.Generator().manual_seed(1))
        chosen = maskable.gather(1, idx.flatten(1)).view_as(idx)
        assert chosen[valid].all()
        assert (idx[valid] != 0).all()


def test_eps_one_masks_uniformly():
    T = 8
    A = torch.tensor([[0.0, 0.9] + [0.1 / 6] * 6])  # a very peaked attention row
    maskable = torch.tensor([[False] + [True] * 7])
    idx, _, explored = obj.sample_masks(obj.policy_log_probs(A, maskable), maskable, K=2, M=7000, eps=1.0,
                                        generator=torch.Generator().manual_seed(0))
    assert explored.all()
    counts = torch.bincount(idx.flatten(), minlength=T)[1:].numpy()
    assert chisquare(counts).pvalue > 0.01
    # the same test rejects attention-driven sampling, so it can fail
    idx, _, _ = obj.sample_masks(obj.policy_log_probs(A, maskable), maskable, K=2, M=7000, eps=0.0,
                                 generator=torch.Generator().manual_seed(0))
    assert chisquare(torch.bincount(idx.flatten(), minlength=T)[1:].numpy()).pvalue < 1e-6


def test_eps_zero_deterministic_takes_the_top_k():
    A, maskable, _ = random_batch()
    log_pi = obj.policy_log_probs(A, maskable)
    idx, valid, _ = obj.sample_masks(log_pi, maskable, K=3, M=5, eps=0.0, deterministic=True)
    top = (A.masked_fill(~maskable, -1)).topk(3, dim=-1).indices
    for m in range(5):
        assert torch.equal(idx[:, m].sort(-1).values, top.sort(-1).values)


def test_apply_masks_replace_and_delete():
    ids = torch.tensor([[2, 10, 11, 12, 13, 0]])
    att = torch.tensor([[1, 1, 1, 1, 1, 0]])
    idx, valid = torch.tensor([[[3, 1]]]), torch.ones(1, 1, 2, dtype=torch.bool)
    r_ids, r_att = obj.apply_masks(ids, att, idx, valid, mask_id=4, pad_id=0, mode="replace")
    assert r_ids.tolist() == [[2, 4, 11, 4, 13, 0]] and torch.equal(r_att, att)
    d_ids, d_att = obj.apply_masks(ids, att, idx, valid, mask_id=4, pad_id=0, mode="delete")
    assert d_ids.tolist() == [[2, 11, 13, 0, 0, 0]] and d_att.tolist() == [[1, 1, 1, 0, 0, 0]]
    with pytest.raises(ValueError, match="unknown masking mode"):
        obj.apply_masks(ids, att, idx, valid, 4, 0, mode="blur")


def test_reward_readings():
    D = torch.tensor([0.1, 0.5, 0.9])
    assert torch.allclose(obj.reward(D, "detect"), -torch.log(1 - D))
    assert torch.allclose(obj.reward(D, "deceive"), -torch.log(D))
    with pytest.raises(ValueError, match="unknown reward reading 'fool'"):
        obj.reward(D, "fool")


def test_equal_rewards_give_no_policy_gradient():
    log_prob = torch.randn(4, 3, requires_grad=True)
    L_adv, b = obj.loss_adv(torch.full((4, 3), 2.0), log_prob)
    L_adv.backward()
    assert L_adv.item() == 0 and (log_prob.grad == 0).all() and (b == 2).all()


def test_policy_gradient_finds_the_needle():
    """Oracle reward 1 when the needle token is masked, else 0; no L_cls. Attention must move
    from below the uniform share of the T-1 maskable tokens to above one half."""
    torch.manual_seed(4)  # an initialisation under which the needle starts below uniform
    V, T, NEEDLE, B = 40, 16, 7, 32
    model = models.ScratchClassifier(vocab_size=V, num_labels=2, d_model=32, layers=1, heads=2, d_ff=64,
                                     max_length=T, dropout=0.0)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)

    def batch():
        ids = torch.randint(10, V, (B, T), generator=g)
        ids[:, 0] = 2  # [CLS]
        ids[torch.arange(B), torch.randint(1, T, (B,), generator=g)] = NEEDLE
        att = torch.ones_like(ids)
        return ids, att, ids != 2

    def needle_attention():
        ids, att, _ = batch()
        with torch.no_grad():
            A = model(ids, att).attention
        return A[ids == NEEDLE].mean().item()

    before = needle_attention()
    for _ in range(300):
        ids, att, maskable = batch()
        log_pi = obj.policy_log_probs(model(ids, att).attention, maskable)
        idx, valid, _ = obj.sample_masks(log_pi, maskable, K=2, M=4, eps=0.0, generator=g)
        r = (ids.gather(1, idx.flatten(1)).view_as(idx) == NEEDLE).any(-1).float()
        L_adv, _ = obj.loss_adv(r, obj.plackett_luce_log_prob(log_pi, idx, valid))
        opt.zero_grad()
        L_adv.backward()
        opt.step()
    after = needle_attention()
    assert before < 1 / (T - 1)
    assert after > 0.5, (before, after)


def tiny_afa(seed=0, **over):
    torch.manual_seed(seed)
    texts = ["a fine and moving film", "a dull , thin plot", "rare acting", "bad"]
    tok, model, _ = models.build({"kind": "scratch", "d_model": 32, "layers": 1, "heads": 2, "d_ff": 64},
                                 2, 16, texts)
    cfg = {**AFA_DEFAULTS, **over, "disc": {**AFA_DEFAULTS["disc"], "d_model": 32, "d_ff": 64}}
    afa = AFA(cfg, tok, 16, "cpu", seed)
    batch = models.collate(tok, models.encode(tok, texts, 16), "cpu")
    return model, afa, batch


def test_gradients_reach_only_their_own_player():
    model, afa, batch = tiny_afa()
    out = model(batch["input_ids"], batch["attention_mask"])
    L_cls = obj.loss_cls(out.logits, torch.tensor([1, 0, 1, 0]))
    L, L_D, stats = afa.loss(out, batch, L_cls * 0, step=0)  # L is lambda * L_adv alone
    target = [p for p in model.parameters() if p.requires_grad]
    disc = [p for p in afa.D.parameters() if p.requires_grad]
    g_target = torch.autograd.grad(L, target + disc, retain_graph=True, allow_unused=True)
    assert any(g is not None and g.abs().sum() > 0 for g in g_target[:len(target)])
    assert all(g is None or g.abs().sum() == 0 for g in g_target[len(target):])
    g_disc = torch.autograd.grad(L_D, target + disc, allow_unused=True)
    assert all(g is None for g in g_disc[:len(target)])
    assert any(g is not None and g.abs().sum() > 0 for g in g_disc[len(target):])


def test_one_afa_step_is_deterministic_under_a_seed():
    def step():
        model, afa, batch = tiny_afa(seed=3)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        stats = train_step(model, opt, None, afa, batch, torch.tensor([1, 0, 1, 0]), "cpu", 1.0, 0)
        return [p.detach().clone() for p in list(model.parameters()) + list(afa.D.parameters())], stats

    (p1, s1), (p2, s2) = step(), step()
    assert s1 == s2
    assert all(torch.equal(a, b) for a, b in zip(p1, p2))


def test_a_nan_loss_term_stops_training_naming_step_and_term():
    model, afa, batch = tiny_afa()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    with torch.no_grad():
        model.head.weight.fill_(float("nan"))
    before = [p.detach().nan_to_num().clone() for p in model.parameters()]
    with pytest.raises(FloatingPointError, match=r"step 7: loss term L_cls is nan"):
        train_step(model, opt, None, afa, batch, torch.tensor([1, 0, 1, 0]), "cpu", 1.0, 7)
    assert all(torch.equal(a, b.nan_to_num()) for a, b in zip(before, model.parameters()))  # no update


def test_discriminator_collapse_is_warned(caplog):
    _, afa, _ = tiny_afa(collapse_window=10)
    for step in range(10):
        afa.D_acc.append(1.0)
    with caplog.at_level("WARNING", logger="afa.train"):
        afa.check_collapse(step=10)
    assert "near 100 %: the reward saturates" in caplog.text
    caplog.clear()
    afa.D_acc.extend([0.5] * 10)
    with caplog.at_level("WARNING", logger="afa.train"):
        afa.check_collapse(step=20)
    assert "near chance: the reward carries no signal" in caplog.text
    caplog.clear()
    afa.D_acc.extend([0.8] * 10)
    afa.check_collapse(step=30)
    assert caplog.text == ""
