"""Mechanics of the AFA objective (not outcomes): the policy, its log-probability, the reward,
the gradient paths and determinism."""

import itertools
import math

import pytest
import torch
from scipy.stats import chisquare

from afa import models
from afa import objective as obj
from afa.method import AFA, AFAConfig
from afa.train import build_afa, train_step


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


def test_refilled_deletion_keeps_a_cut_texts_length_and_changes_nothing_else():
    idx, valid = torch.tensor([[[3, 1]]]), torch.ones(1, 1, 2, dtype=torch.bool)
    cut = torch.tensor([[2, 10, 11, 12, 13]])  # [CLS] and 4 content tokens, cut by the tokenizer
    refill = lambda ids, cont: obj.apply_masks(ids, torch.ones_like(ids), idx, valid, 4, 0, "delete",  # noqa: E731
                                               continuation=torch.tensor(cont),
                                               content_end=obj.content_end(ids > 9))
    # the two deleted tokens' places go to the text's next two tokens, after the rest of its content
    ids, att = refill(cut, [[14, 15, 16]])
    assert ids.tolist() == [[2, 11, 13, 14, 15]] and att.tolist() == [[1] * 5]
    # before a trailing special token ([SEP] 3, an LLM's pooled end token), which stays last
    ids, att = refill(torch.tensor([[2, 10, 11, 12, 13, 3]]), [[14, 15, 16]])
    assert ids.tolist() == [[2, 11, 13, 14, 15, 3]] and att.tolist() == [[1] * 6]
    # a continuation shorter than the deletion refills what it has
    ids, att = refill(cut, [[14, 0, 0]])
    assert ids.tolist() == [[2, 11, 13, 14, 0]] and att.tolist() == [[1, 1, 1, 1, 0]]
    # a text that was not cut has no continuation: plain deletion, padding included
    ids_b = torch.tensor([[2, 10, 11, 12, 13, 0, 0], [2, 10, 11, 12, 13, 14, 15]])
    att_b = (ids_b > 0).long()
    g = torch.Generator().manual_seed(0)
    idx = torch.stack([torch.randperm(5, generator=g)[:3] + 1 for _ in range(2 * 4)]).view(2, 4, 3)
    valid = torch.ones_like(idx, dtype=torch.bool)
    plain = obj.apply_masks(ids_b, att_b, idx, valid, 4, 0, "delete")
    none = obj.apply_masks(ids_b, att_b, idx, valid, 4, 0, "delete", continuation=torch.zeros(2, 3, dtype=torch.long),
                           content_end=obj.content_end(ids_b > 9))
    assert all(torch.equal(a, b) for a, b in zip(plain, none))


def test_refill_is_a_deletion_option_and_needs_the_continuation():
    with pytest.raises(ValueError, match="AFAConfig.refill must be a boolean, true only with masking 'delete'"):
        AFAConfig(masking="replace", refill=True)
    afa = AFA(AFAConfig(refill=True), 20, 8, 4, 0)
    ids = torch.tensor([[2, 10, 11, 12, 13, 14, 15, 16]])
    att = torch.ones_like(ids)
    with pytest.raises(ValueError, match="AFAConfig.refill needs continuation="):
        afa(torch.full(ids.shape, 1 / 8), ids, att, ids > 9)
    L_adv, _ = afa(torch.full(ids.shape, 1 / 8), ids, att, ids > 9, continuation=torch.tensor([[17, 18, 19]]))
    X, X_att = afa._for_D[2:]  # the copies D trains on: as long as the cut original
    assert X_att.sum().item() == 8 and set(X[0].tolist()) >= {17}


def test_reward_readings_from_the_logit():
    D = torch.tensor([0.1, 0.5, 0.9])
    z = torch.log(D / (1 - D))
    assert torch.allclose(obj.reward_from_logit(z, "detect"), -torch.log(1 - D))
    assert torch.allclose(obj.reward_from_logit(z, "deceive"), -torch.log(D))
    with pytest.raises(ValueError, match="unknown reward reading 'fool'"):
        obj.reward_from_logit(z, "fool")


# -log(1 - sigmoid z) = log(1 + e^z) and -log sigmoid z = log(1 + e^-z), exact in float64
@pytest.mark.parametrize("reading,exact", [("detect", lambda z: torch.logaddexp(torch.zeros_like(z), z)),
                                           ("deceive", lambda z: torch.logaddexp(torch.zeros_like(z), -z))])
def test_reward_is_exact_for_large_logits_also_under_bf16_autocast(reading, exact):
    """sigmoid in bf16 rounds to 1 past a logit of about 6, and the old clamp made detect 13.8."""
    z = torch.linspace(-30, 30, 241)
    want = exact(z.double())
    assert torch.allclose(obj.reward_from_logit(z, reading).double(), want, rtol=1e-5, atol=1e-6)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        z_bf16 = torch.nn.Linear(1, 1).requires_grad_(False)(z[:, None]).squeeze(-1)  # a bf16 logit, as D's head gives
        assert z_bf16.dtype == torch.bfloat16
        got = obj.reward_from_logit(z_bf16, reading)
    assert got.dtype == torch.float32
    assert torch.allclose(got.double(), exact(z_bf16.double()), rtol=1e-5, atol=1e-6)


def test_mixture_log_prob_is_the_sampling_law_by_enumeration():
    """log q = log[(1-eps) PL(pi) + eps PL(uniform)] sums to 1 over all ordered masks and is the
    frequency with which sample_masks draws them; attention-only scoring is not."""
    eps, K = 0.4, 2
    A = torch.tensor([[0.0, 0.7, 0.2, 0.06, 0.04]])
    maskable = torch.tensor([[False, True, True, True, True]])
    log_pi = obj.policy_log_probs(A, maskable)
    orders = list(itertools.permutations([1, 2, 3, 4], K))
    idx = torch.tensor(orders)[None]
    valid = torch.ones_like(idx, dtype=torch.bool)
    explored = torch.zeros(1, len(orders), dtype=torch.bool)
    log_q, weight = obj.mask_log_prob(log_pi, maskable, idx, valid, explored, eps, "mixture")
    p = A[0] / A[0].sum()
    for m, (a, b) in enumerate(orders):
        by_hand = (1 - eps) * p[a] * p[b] / (1 - p[a]) + eps / (4 * 3)
        assert log_q[0, m].exp().item() == pytest.approx(by_hand.item(), rel=1e-5)
    assert log_q.exp().sum().item() == pytest.approx(1.0, abs=1e-5) and (weight == 1).all()

    n = 20000
    draws, _, _ = obj.sample_masks(log_pi, maskable, K, n, eps, generator=torch.Generator().manual_seed(0))
    code = {o: i for i, o in enumerate(orders)}
    counts = torch.bincount(torch.tensor([code[tuple(d)] for d in draws[0].tolist()]), minlength=len(orders))

    def expected(lp):
        q = lp[0].double().exp()
        return (q / q.sum() * n).numpy()

    assert chisquare(counts.numpy(), expected(log_q)).pvalue > 0.01
    attention_only, _ = obj.mask_log_prob(log_pi, maskable, idx, valid, explored, eps, "attention")
    assert chisquare(counts.numpy(), expected(attention_only)).pvalue < 1e-6


def test_exclude_scoring_leaves_explored_masks_out_of_the_policy_term():
    log_prob = torch.zeros(2, 3, requires_grad=True)
    explored = torch.tensor([[True, False, False], [False, False, True]])
    _, weight = obj.mask_log_prob(torch.zeros(2, 4), torch.ones(2, 4, dtype=torch.bool),
                                  torch.zeros(2, 3, 1, dtype=torch.long), torch.ones(2, 3, 1, dtype=torch.bool),
                                  explored, 0.1, "exclude")
    L, _, _ = obj.loss_adv(torch.tensor([[1.0, 0.0, 2.0], [3.0, 1.0, 2.0]]), log_prob, weight)
    L.backward()
    assert (log_prob.grad[explored] == 0).all() and (log_prob.grad[~explored] != 0).all()
    with pytest.raises(ValueError, match="unknown explore_scoring 'both'"):
        obj.mask_log_prob(torch.zeros(1, 2), torch.ones(1, 2, dtype=torch.bool), torch.zeros(1, 1, 1, dtype=torch.long),
                          torch.ones(1, 1, 1, dtype=torch.bool), torch.zeros(1, 1, dtype=torch.bool), 0.1, "both")


def test_unigram_masking_draws_from_the_unigram_and_never_the_original():
    ids = torch.tensor([[2, 10, 11, 12, 10, 0]])
    att = torch.tensor([[1, 1, 1, 1, 1, 0]])
    unigram = torch.zeros(14)
    unigram[10:14] = torch.tensor([0.7, 0.1, 0.1, 0.1])
    M = 4000
    idx = torch.tensor([1, 3])[None, None].expand(1, M, 2)
    X, X_att = obj.apply_masks(ids, att, idx, torch.ones(1, M, 2, dtype=torch.bool), 4, 0, "unigram", unigram,
                               torch.Generator().manual_seed(0))
    assert torch.equal(X_att, att.expand(M, -1)) and (X[:, [0, 2, 4, 5]] == ids[0, [0, 2, 4, 5]]).all()
    at1, at3 = X[:, 1], X[:, 3]
    assert (at1 != 10).all() and (at3 != 12).all() and ((at1 >= 10) & (at1 < 14)).all()
    # position 1 held 10: the others have 0.1 each, so 1/3 each after conditioning
    assert chisquare(torch.bincount(at1, minlength=14)[11:14].numpy()).pvalue > 0.01
    freq3 = torch.bincount(at3, minlength=14)[[10, 11, 13]].float() / M  # 0.7/0.9, 0.1/0.9, 0.1/0.9
    assert torch.allclose(freq3, torch.tensor([7 / 9, 1 / 9, 1 / 9]), atol=0.03)


def test_confidence_drop_is_the_fall_in_the_predicted_class_probability():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    masked = torch.tensor([[[0.0, 0.0], [2.0, 0.0]], [[1.0, 0.0], [0.0, 3.0]]])
    r = obj.confidence_drop(logits, masked)
    p = logits.softmax(-1)
    assert torch.allclose(r, torch.tensor([[p[0, 0] - 0.5, 0.0], [p[1, 1] - masked[1, 0].softmax(-1)[1],
                                                                  p[1, 1] - masked[1, 1].softmax(-1)[1]]]))


def test_K_fraction_masks_a_share_of_each_example_capped_at_K():
    maskable = torch.tensor([[True] * 2 + [False] * 18, [True] * 10 + [False] * 10, [True] * 20])
    assert obj.mask_sizes(maskable, K=5, K_fraction=0.2).tolist() == [1, 2, 4]
    assert obj.mask_sizes(maskable, K=3, K_fraction=0.2).tolist() == [1, 2, 3]
    assert obj.mask_sizes(maskable, K=3).tolist() == [2, 3, 3]
    log_pi = obj.policy_log_probs(maskable.float(), maskable)
    _, valid, _ = obj.sample_masks(log_pi, maskable, 5, 2, 0.0, k=obj.mask_sizes(maskable, 5, 0.2))
    assert valid.sum(-1)[:, 0].tolist() == [1, 2, 4]


def test_entropy_bonus_raises_attention_entropy():
    A = torch.tensor([[0.0, 0.9, 0.05, 0.05]], requires_grad=True)
    maskable = torch.tensor([[False, True, True, True]])
    H = obj.attention_entropy(obj.policy_log_probs(A, maskable))
    (-H.mean()).backward()  # the bonus term -beta H
    with torch.no_grad():
        A2 = (A - 0.01 * A.grad).clamp_min(1e-6)
    assert obj.attention_entropy(obj.policy_log_probs(A2, maskable)).item() > H.item()


def test_advantage_normalisation_divides_by_the_batch_sd():
    r = torch.tensor([[1.0, 3.0], [0.0, 4.0]])
    _, b, adv = obj.loss_adv(r, torch.zeros(2, 2), normalize=True)
    raw = r - r.mean(1, keepdim=True)
    assert torch.allclose(adv, raw / raw.std())


def test_afa_config_names_the_bad_field():
    with pytest.raises(ValueError, match=r"AFAConfig.eps must be a number in \[0, 1\], got"):
        AFAConfig(eps=1.5)
    with pytest.raises(ValueError, match="AFAConfig.masking must be one of replace, delete, unigram"):
        AFAConfig(masking="blur")
    with pytest.raises(ValueError, match="AFAConfig.disc.d_model .* divisible"):
        AFAConfig.from_dict({"disc": {"d_model": 30, "heads": 4}})
    with pytest.raises(ValueError, match="AFAConfig.disc.attention must be one of eager, fused, got 'flash'"):
        AFAConfig.from_dict({"disc": {"attention": "flash"}})
    with pytest.raises(ValueError, match="AFAConfig: unknown setting 'lamda'"):
        AFAConfig.from_dict({"objective": "afa", "lamda": 0.5})
    assert AFAConfig.from_dict({"lambda": 0.2}).lambda_ == 0.2
    assert AFAConfig.from_dict(AFAConfig(K=5).to_dict()) == AFAConfig(K=5)


@pytest.mark.parametrize("bad, message", [
    ({"lambda_": float("nan")}, "AFAConfig.lambda must be a non-negative number, got nan"),
    ({"entropy_weight": float("inf")}, "AFAConfig.entropy_weight must be a non-negative number, got inf"),
    ({"K": 3.0}, "AFAConfig.K must be a positive integer, got 3.0"),
    ({"K": True}, "AFAConfig.K must be a positive integer, got True"),
    ({"K_fraction": 0}, "AFAConfig.K_fraction must be null or a number in (0, 1], got 0"),
    ({"disc": {"foo": 1}}, "AFAConfig.disc: unknown setting 'foo'; known: attention, d_ff, d_model, dropout, heads"),
    ({"disc": {"dropout": 1.0}}, "AFAConfig.disc.dropout must be a number in [0, 1), got 1.0"),
    ({"disc": {"lr": float("nan")}}, "AFAConfig.disc.lr must be a positive number, got nan"),
])
def test_afa_config_refuses_nan_wrong_types_and_unknown_keys_in_one_line(bad, message):
    with pytest.raises(ValueError) as e:
        AFAConfig(**bad)
    assert str(e.value).startswith(message) and "\n" not in str(e.value)


def test_the_config_schema_is_afa_configs_own():
    """The workflow's method block is generated from AFAConfig: every field, its description and
    its constraints; a value the schema refuses, the dataclass refuses too, and the reverse."""
    import dataclasses

    import jsonschema

    from afa.config_check import filled_schema
    from afa.settings import DiscConfig

    method = filled_schema()["$defs"]["method"]
    names = {("lambda" if f.name == "lambda_" else f.name) for f in dataclasses.fields(AFAConfig)}
    assert set(method["properties"]) == names | {"objective"}
    assert set(method["properties"]["disc"]["properties"]) == {f.name for f in dataclasses.fields(DiscConfig)}
    assert all(p.get("description") for p in method["properties"].values())
    validator = jsonschema.Draft202012Validator(method)
    for bad in ({"eps": 1.5}, {"M": 1}, {"disc": {"dropout": 1.0}}, {"masking": "blur"}, {"refil": True},
                {"disc": {"heads": 0}}):
        assert list(validator.iter_errors(bad)), bad
        with pytest.raises(ValueError):
            AFAConfig.from_dict(bad)
    assert not list(validator.iter_errors(AFAConfig().to_dict()))


def test_equal_rewards_give_no_policy_gradient():
    log_prob = torch.randn(4, 3, requires_grad=True)
    L_adv, b, _ = obj.loss_adv(torch.full((4, 3), 2.0), log_prob)
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
        L_adv, _, _ = obj.loss_adv(r, obj.plackett_luce_log_prob(log_pi, idx, valid))
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
    ids = models.encode(tok, texts, 16)
    method = {"objective": "afa", **over, "disc": {"d_model": 32, "d_ff": 64, **over.get("disc", {})}}
    afa = build_afa(method, tok, ids, 16, "cpu", seed)
    return model, afa, models.collate(tok, ids, "cpu")


def test_gradients_reach_only_their_own_player():
    model, afa, batch = tiny_afa()
    out = model(batch["input_ids"], batch["attention_mask"])
    L_cls = obj.loss_cls(out.logits, torch.tensor([1, 0, 1, 0]))
    L, stats = afa(out.attention, batch["input_ids"], batch["attention_mask"], batch["maskable"])
    target = [p for p in model.parameters() if p.requires_grad]
    disc = [p for p in afa.D.parameters() if p.requires_grad]
    g_target = torch.autograd.grad(L, target + disc, retain_graph=True, allow_unused=True)
    assert any(g is not None and g.abs().sum() > 0 for g in g_target[:len(target)])
    assert all(g is None or g.abs().sum() == 0 for g in g_target[len(target):])
    ids, att, X, att_X = afa._for_D
    from afa.discriminator import loss_disc
    L_D = loss_disc(afa.D(ids, att), afa.D(X, att_X))
    g_disc = torch.autograd.grad(L_D, target + disc, allow_unused=True)
    assert all(g is None for g in g_disc[:len(target)])
    assert any(g is not None and g.abs().sum() > 0 for g in g_disc[len(target):])


@pytest.mark.parametrize("masking,reward", [("replace", "detect"), ("delete", "deceive"), ("unigram", "detect"),
                                            ("delete", "confidence_drop")])
def test_one_afa_step_is_deterministic_under_a_seed(masking, reward):
    def step():
        model, afa, batch = tiny_afa(seed=3, masking=masking, reward=reward)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        stats = train_step(model, opt, None, afa, batch, torch.tensor([1, 0, 1, 0]), "cpu", 1.0, 0)
        return [p.detach().clone() for p in list(model.parameters()) + list(afa.parameters())], stats

    (p1, s1), (p2, s2) = step(), step()
    assert s1 == s2
    assert all(torch.equal(a, b) for a, b in zip(p1, p2))


@pytest.mark.parametrize("masking", ["replace", "delete", "unigram"])
def test_a_discriminator_on_the_data_vocabulary_trains_exactly_as_on_the_whole_tokenizer(masking):
    """D keeps embedding rows for the ids the data holds (build_afa); against a D over every id of the
    tokenizer, seeded alike, five steps give the same stats, target and D, bit for bit."""
    from afa.method import AFAConfig, unigram_distribution

    texts = ["a fine and moving film", "a dull , thin plot", "rare acting", "bad"]
    vocabulary = texts + ["words the data never uses : sober , luminous , inert , tepid , glib , deft"]
    method = {"objective": "afa", "masking": masking, "disc": {"d_model": 32, "d_ff": 64}}

    def run(full):
        torch.manual_seed(7)
        tok, model, _ = models.build({"kind": "scratch", "d_model": 32, "layers": 1, "heads": 2, "d_ff": 64},
                                     2, 16, vocabulary)
        ids = models.encode(tok, texts, 16)
        if full:
            unigram = unigram_distribution(ids, len(tok), tok.all_special_ids) if masking == "unigram" else None
            afa = AFA(AFAConfig.from_dict(method), len(tok), 16, models.mask_token_id(tok), tok.pad_token_id, unigram, 7)
        else:
            afa = build_afa(method, tok, ids, 16, "cpu", 7)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        batch = models.collate(tok, ids, "cpu")
        stats = [train_step(model, opt, None, afa, batch, torch.tensor([1, 0, 1, 0]), "cpu", 1.0, 0) for _ in range(5)]
        return stats, model, afa, len(tok)

    (s1, m1, small, n), (s2, m2, full, _) = run(False), run(True)
    assert 0 < len(small.D.vocab) < n - 10  # the unused words got no row
    assert s1 == s2
    assert all(torch.equal(a, b) for a, b in zip(m1.parameters(), m2.parameters()))
    rows, whole = small.D.encoder.tok.weight, full.D.encoder.tok.weight
    assert torch.equal(rows[:-1], whole[small.D.vocab]) and not rows[-1].any()  # the last row: any other id
    assert all(torch.equal(a, b) for (k, a), (_, b) in zip(small.D.named_parameters(), full.D.named_parameters())
               if k != "encoder.tok.weight")


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
    for acc, step in ((1.0, 10), (0.5, 20), (0.8, 30)):
        afa.D_acc.extend([acc] * 10)
        afa.step = step
        with caplog.at_level("WARNING", logger="afa.method"):
            afa._check_collapse()
        expected = {1.0: "near 100 %: the reward saturates", 0.5: "near chance: the reward carries no signal"}.get(acc)
        assert (expected in caplog.text) if expected else caplog.text == ""
        caplog.clear()


def test_afa_state_dict_round_trip_resumes_the_same_draws():
    model, afa, batch = tiny_afa(seed=5, masking="unigram")
    args = (batch["input_ids"], batch["attention_mask"], batch["maskable"])
    out = model(*args[:2])
    afa(out.attention, *args)
    afa.discriminator_step()
    state = afa.state_dict()
    _, afa2, _ = tiny_afa(seed=99, masking="unigram")
    afa2.load_state_dict(state)
    torch.manual_seed(0)
    L1, s1 = afa(out.attention, *args)
    torch.manual_seed(0)
    L2, s2 = afa2(out.attention, *args)
    assert torch.equal(L1, L2) and s1 == s2 and list(afa.D_acc) == list(afa2.D_acc)
    assert all(torch.equal(a, b) for a, b in zip(afa.parameters(), afa2.parameters()))


def test_signal_health_counts_identical_mask_sets():
    """K >= the maskable count: every mask takes all tokens, so the M masks are one set."""
    model, afa, batch = tiny_afa(K=7)
    out = model(batch["input_ids"], batch["attention_mask"])
    _, stats = afa(out.attention, batch["input_ids"], batch["attention_mask"], batch["maskable"])
    assert stats["identical_masks"].item() == 1.0 and stats["adv_sd"].item() == pytest.approx(0, abs=1e-6)
    _, afa, _ = tiny_afa(K=1, M=8, eps=0.0)
    _, stats = afa(out.attention, batch["input_ids"], batch["attention_mask"], batch["maskable"])
    assert stats["identical_masks"].item() < 1.0


def test_saved_afa_loads_back_and_a_mismatched_file_is_refused(tmp_path):
    model, afa, batch = tiny_afa(masking="unigram")
    afa.save_pretrained(tmp_path)
    back = AFA.from_pretrained(tmp_path)
    assert all(torch.equal(a, b) for a, b in zip(afa.state_dict().values(), back.state_dict().values())
               if torch.is_tensor(a))
    from safetensors.torch import load_file, save_file
    tensors = load_file(str(tmp_path / "afa.safetensors"))
    tensors["D.head.bias_renamed"] = tensors.pop("D.head.bias")
    save_file(tensors, str(tmp_path / "afa.safetensors"))
    with pytest.raises(ValueError, match="afa.safetensors: does not match afa_config.json"):
        AFA.from_pretrained(tmp_path)
    # a file saved before D kept a vocabulary (no D.vocab, a row for every id) still loads
    old = AFA(afa.config, afa.vocab_size, afa.max_length, afa.mask_id, afa.pad_id, afa.unigram, afa.seed)
    old.save_pretrained(tmp_path)
    tensors = load_file(str(tmp_path / "afa.safetensors"))
    del tensors["D.vocab"]
    save_file(tensors, str(tmp_path / "afa.safetensors"))
    back = AFA.from_pretrained(tmp_path)
    assert torch.equal(back.D.encoder.tok.weight, old.D.encoder.tok.weight) and back.D.vocab.numel() == 0


def test_discriminator_update_on_one_padded_batch_is_the_two_class_loss():
    """D's update runs originals and (shorter, deleted) copies as one padded batch: without dropout its
    loss equals the loss of two separate passes, since padding is masked in attention and pooling."""
    from afa.discriminator import loss_disc
    from afa.method import AFA, AFAConfig

    torch.manual_seed(0)
    afa = AFA(AFAConfig(disc={"d_model": 16, "heads": 2, "d_ff": 32, "dropout": 0.0}), 50, 12, 3, 0)
    ids = torch.randint(5, 50, (4, 10))
    att = torch.ones_like(ids)
    att[1, 7:] = 0
    X, att_X = ids[:, :8].clone(), att[:, :8].clone()  # shorter copies, as deletion makes them
    with torch.no_grad():
        expected = loss_disc(afa.D(ids, att), afa.D(X, att_X))
    afa._for_D = (ids, att, X, att_X)
    assert afa.discriminator_step() == pytest.approx(float(expected), abs=1e-6)


def test_fused_discriminator_computes_the_eager_function_and_ignores_padding():
    """`disc.attention: fused` is the same D up to float rounding (same weights, eval mode), reads
    the same state dict, and an example's logit does not depend on how far it is padded."""
    from afa.discriminator import Discriminator

    torch.manual_seed(0)
    eager = Discriminator(50, 16, 32, layers=2, heads=4, d_ff=64, dropout=0.1).eval()
    fused = Discriminator(50, 16, 32, layers=2, heads=4, d_ff=64, dropout=0.1, attention="fused").eval()
    fused.load_state_dict(eager.state_dict())
    ids = torch.randint(5, 50, (6, 12))
    att = torch.ones_like(ids)
    att[1, 5:] = 0
    att[4, 2:] = 0
    with torch.no_grad():
        z = fused(ids, att)
        assert torch.allclose(z, eager(ids, att), atol=1e-5)
        padded = torch.cat([ids, torch.zeros(6, 4, dtype=torch.long)], 1)
        assert torch.allclose(fused(padded, torch.cat([att, torch.zeros(6, 4, dtype=torch.long)], 1)), z, atol=1e-5)
    fused.train()
    z = fused(ids, att)
    z.sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all()
               for n, p in fused.named_parameters() if p.requires_grad)


def test_the_entropy_only_control_is_the_bonus_alone_with_nothing_masked_or_drawn():
    """reward none (the entropy_only column): L_adv = -beta H(pi), no D, no masks, the sampler's
    generator untouched; its gradient is the bonus's alone."""
    model, afa, batch = tiny_afa(reward="none", entropy_weight=0.3)
    assert afa.D is None and afa.opt_D is None
    out = model(batch["input_ids"], batch["attention_mask"])
    L, stats = afa(out.attention, batch["input_ids"], batch["attention_mask"], batch["maskable"])
    H = obj.attention_entropy(obj.policy_log_probs(out.attention, batch["maskable"])).mean()
    assert torch.equal(L, -0.3 * H) and set(stats) == {"L_adv", "attn_entropy"}
    assert afa.generator is None and afa.discriminator_step() is None
    stats = train_step(model, torch.optim.AdamW(model.parameters()), None, afa, batch, torch.tensor([1, 0, 1, 0]),
                       "cpu", 1.0, 0)
    assert stats["L_adv"] == pytest.approx(-0.3 * stats["attn_entropy"])


# ----------------------------------------------------------------------------- D's warm-up (disc_warmup)

def repeat(batch):
    while True:
        yield batch


def test_the_warm_up_trains_d_alone_and_leaves_the_rng_and_the_sampler_as_they_were():
    model, afa, batch = tiny_afa(masking="replace", disc_warmup=60, disc_steps=0)
    D_before = {k: v.clone() for k, v in afa.D.state_dict().items()}
    target_before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    stats = afa.warm_up(repeat(batch))
    assert torch.equal(torch.get_rng_state(), rng) and afa.generator is None  # the training's draws are untouched
    assert any(not torch.equal(D_before[k], v) for k, v in afa.D.state_dict().items())
    assert all(torch.equal(target_before[k], v) for k, v in model.state_dict().items())
    assert int(afa.opt_D.state[next(afa.D.parameters())]["step"]) == 60
    # [MASK] is the cheapest tell: 60 updates on the same four texts learn it (a fresh D: 0.5)
    assert stats["steps"] == 60 and stats["disc_acc"] > 0.9 and stats["L_D"] < 0.1
    assert afa.warmed_up == 60 and afa.warm_up(repeat(batch)) is None  # done once (a resumed run skips it)
    # disc_steps 0: the warmed-up D judges the run unchanged
    D_warm = {k: v.clone() for k, v in afa.D.state_dict().items()}
    out = model(batch["input_ids"], batch["attention_mask"])
    afa.objective(obj.loss_cls(out.logits, torch.tensor([1, 0, 1, 0])), out.attention, batch["input_ids"],
                  batch["attention_mask"], batch["maskable"])
    assert afa.discriminator_step() is None
    assert all(torch.equal(D_warm[k], v) for k, v in afa.D.state_dict().items())


def test_the_warm_up_masks_k_uniform_tokens_whatever_the_attention():
    _, afa, batch = tiny_afa(masking="replace", disc_warmup=1)
    seen = []
    update = afa._update_D
    afa._update_D = lambda ids, att, X, att_X, steps: seen.append(X) or update(ids, att, X, att_X, steps)
    afa.warm_up(repeat(batch))
    (X,) = seen
    masked = (X == afa.mask_id).sum(-1)
    assert torch.equal(masked, torch.minimum(batch["maskable"].sum(-1), torch.tensor(afa.config.K)))


def test_a_warm_up_that_runs_out_of_batches_or_lacks_the_continuation_is_one_line():
    _, afa, batch = tiny_afa(disc_warmup=3)
    with pytest.raises(ValueError, match=r"^AFA.warm_up: AFAConfig.disc_warmup is 3, but `batches` ran out after 2$"):
        afa.warm_up([batch, batch])
    _, afa, batch = tiny_afa(disc_warmup=1, refill=True)
    with pytest.raises(ValueError, match=r"^AFA.warm_up: AFAConfig.refill needs each batch's continuation"):
        afa.warm_up(repeat(batch))
    with pytest.raises(ValueError, match=r"^AFAConfig.disc_warmup must be an integer >= 0, got -1$"):
        AFAConfig(disc_warmup=-1)
    for reward in ("confidence_drop", "none"):  # no D to warm up: refused, not skipped silently
        with pytest.raises(ValueError, match=rf"^AFAConfig.disc_warmup \(5\) warms up D, but reward '{reward}' "
                                             r"builds no D: set disc_warmup to 0 or reward to 'detect' or 'deceive'$"):
            AFAConfig(disc_warmup=5, reward=reward)
    AFAConfig(disc_warmup=0, reward="none")


def test_d_accuracy_weighs_originals_and_copies_half_each():
    from afa.discriminator import disc_accuracy
    # originals: 3 of 4 called original (logit < 0); copies: 1 of 2 called masked (> 0); a tie at 0 is wrong
    acc = disc_accuracy(torch.tensor([-1.0, -0.1, -3.0, 0.0]), torch.tensor([2.0, -1.0]))
    assert acc.item() == pytest.approx(0.5 * (0.75 + 0.5))
    assert disc_accuracy(torch.tensor([-1.0]), torch.tensor([1.0])).item() == 1.0


def test_without_a_warm_up_nothing_is_drawn_and_the_state_round_trips_the_count():
    _, afa, batch = tiny_afa()
    rng = torch.get_rng_state()
    assert afa.warm_up(repeat(batch)) is None and torch.equal(torch.get_rng_state(), rng)
    _, warm, _ = tiny_afa(disc_warmup=2)
    warm.warm_up(repeat(batch))
    _, fresh, _ = tiny_afa(disc_warmup=2)
    fresh.load_state_dict(warm.state_dict())
    assert fresh.warmed_up == 2 and fresh.warm_up(repeat(batch)) is None
