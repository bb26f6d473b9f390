"""The AFA objective (arXiv 2512.20661), in the paper's terms. Pure functions; the state (the
discriminator, its optimizer, the sampler's generator) lives in `afa.method.AFA`.

For each example X with attention row A (the target's pi over maskable tokens) draw M masks m of
K tokens: with probability 1-eps by attention (Plackett-Luce sampling without replacement from
pi, or the deterministic top-K), with probability eps K uniform tokens. The masked copy X~ has
the chosen tokens replaced by [MASK], deleted, or replaced by a unigram draw or a small masked LM's
(`generator`: a plausible word in context, so that D must notice meaning, not form). Deleted, a copy of a
text the tokenizer cut can be refilled with the text's next tokens, one per deleted token, so that
it is as long as its original (`refill`; otherwise D can tell a cut text's copies by length alone). The discriminator
D sees X~ and outputs the logit z of D(X~) = P(masked). Reward, from z in log space:
    detect  (the paper's formula): r = -log(1 - D(X~)) = softplus(z)    masking that D notices pays
    deceive:                        r = -log D(X~)     = softplus(-z)   masking that D misses pays
    confidence_drop (not the paper's: no D): r = p(y^|X) - p(y^|X~) from the target itself
Baseline b = mean of r over the M masks of the same example; advantage r - b, no gradient into D.
    L_adv = -mean[(r - b) * log q(m|X)] - beta * H(pi)        L = L_cls + lambda * L_adv
q is the distribution the mask was drawn from: the eps-mixture (1-eps) PL(pi) + eps PL(uniform)
by default (`explore_scoring: mixture`), so the gradient is unbiased.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

# A large finite "minus infinity": true -inf turns into NaN gradients through torch.where when
# an example has fewer than K maskable tokens.
NEG = -1e9


def policy_log_probs(A: torch.Tensor, maskable: torch.Tensor) -> torch.Tensor:
    """log pi: the attention row renormalised over maskable tokens; NEG elsewhere. [B, T]"""
    logits = torch.log(A.float().clamp_min(1e-12)).masked_fill(~maskable, NEG)
    return logits.log_softmax(-1)


def mask_sizes(maskable: torch.Tensor, K: int, K_fraction: float | None = None) -> torch.Tensor:
    """Tokens masked per example [B]: K, or round(K_fraction * n) capped at K (at least 1), never
    more than the n maskable tokens."""
    n = maskable.sum(-1)
    k = torch.full_like(n, K) if K_fraction is None else (n.float() * K_fraction).round().long().clamp(1, K)
    return torch.minimum(k, n)


def sample_masks(log_pi, maskable, K: int, M: int, eps: float, deterministic: bool = False,
                 generator: torch.Generator | None = None, k: torch.Tensor | None = None):
    """M masks per example as ordered token indices: (idx [B,M,K], valid [B,M,K], explored [B,M]).

    Example b gets k[b] choices (default min(K, its maskable count)); `valid` marks the real ones.
    """
    B, T = log_pi.shape
    lp = log_pi.detach()[:, None, :].expand(B, M, T)
    u = torch.rand((B, M, T), generator=generator, device=lp.device).clamp(1e-20, 1 - 1e-7)
    gumbel = -torch.log(-torch.log(u))
    # Gumbel-top-K of log pi is an exact Plackett-Luce sample; of a constant, a uniform one.
    by_attention = lp if deterministic else lp + gumbel
    uniform = gumbel.masked_fill(~maskable[:, None, :], NEG)
    explore = torch.rand((B, M, 1), generator=generator, device=lp.device) < eps
    scores = torch.where(explore, uniform, by_attention)
    width = min(K, T)
    idx = scores.topk(width, dim=-1).indices
    k = mask_sizes(maskable, width) if k is None else k.clamp(max=width)
    valid = torch.arange(width, device=lp.device) < k[:, None, None]
    return idx, valid.expand(B, M, width), explore.squeeze(-1)


def plackett_luce_log_prob(log_pi, idx, valid):
    """log pi(m|X) = sum_j [log pi(s_j) - log(1 - sum_{l<j} pi(s_l))]. [B, M], differentiable."""
    B, M, k = idx.shape
    T = log_pi.shape[-1]
    lp = log_pi[:, None, :].expand(B, M, T)
    chosen = lp.gather(-1, idx)                                                   # [B, M, k]
    # gone[b,m,j,t]: token t was drawn before step j. The remaining mass is a logsumexp over the
    # rest, not log(1 - drawn): exact when a collapsed pi has put nearly all its mass on s_1.
    first_at = torch.full((B, M, T), k, device=idx.device).scatter(-1, idx, torch.arange(k, device=idx.device).expand(B, M, k))
    gone = first_at[:, :, None, :] < torch.arange(k, device=idx.device)[:, None]  # [B, M, k, T]
    remaining = torch.logsumexp(lp[:, :, None, :].masked_fill(gone, NEG), dim=-1)
    term = chosen - remaining
    return torch.where(valid, term, torch.zeros_like(term)).sum(-1)


def uniform_log_prob(maskable, valid):
    """log of one ordered draw of k tokens without replacement, uniform over n: -sum log(n-j). [B, M]"""
    n = maskable.sum(-1).float()[:, None, None]
    j = torch.arange(valid.shape[-1], device=valid.device)
    return -torch.where(valid, torch.log((n - j).clamp_min(1)), torch.zeros_like(n - j)).sum(-1)


def mask_log_prob(log_pi, maskable, idx, valid, explored, eps: float, scoring: str = "mixture"):
    """log q(m|X) for the policy term, and a weight per mask (0 where it is left out). [B, M] each.

    mixture:   log[(1-eps) PL(m; pi) + eps PL(m; uniform)], the law the masks were drawn from;
    attention: log PL(m; pi) for every mask (biased when eps > 0; the old behaviour);
    exclude:   log PL(m; pi), explored masks out of the policy term (they still enter b).
    """
    lp = plackett_luce_log_prob(log_pi, idx, valid)
    weight = torch.ones_like(lp)
    if scoring == "mixture" and 0 < eps < 1:
        lp = torch.logaddexp(math.log1p(-eps) + lp, math.log(eps) + uniform_log_prob(maskable, valid))
    elif scoring == "exclude":
        weight = (~explored).float()
    elif scoring not in ("mixture", "attention"):
        raise ValueError(f"unknown explore_scoring {scoring!r}; use mixture, attention or exclude")
    return lp, weight


def reward_from_logit(z: torch.Tensor, reading: str) -> torch.Tensor:
    """r(X~) from D's logit z, in float32 log space: exact for any z, under autocast too."""
    z = z.float()
    if reading == "detect":
        return F.softplus(z)    # -log(1 - sigmoid(z))
    if reading == "deceive":
        return F.softplus(-z)   # -log sigmoid(z)
    raise ValueError(f"unknown reward reading {reading!r}; use 'detect', 'deceive' or 'confidence_drop'")


def confidence_drop(logits_orig: torch.Tensor, logits_masked: torch.Tensor) -> torch.Tensor:
    """r = p(y^|X) - p(y^|X~), y^ the target's prediction on X. logits_masked [B, M, C] -> [B, M]."""
    p_orig, p_masked = logits_orig.float().softmax(-1), logits_masked.float().softmax(-1)
    y_hat = p_orig.argmax(-1, keepdim=True)
    return p_orig.gather(-1, y_hat) - p_masked.gather(-1, y_hat[:, None, :].expand(-1, p_masked.shape[1], 1)).squeeze(-1)


def loss_adv(r, log_prob, weight=None, normalize: bool = False):
    """REINFORCE with the per-example mean-reward baseline over the M masks: (L_adv, b, advantage).

    r, log_prob, weight: [B, M]. `normalize` divides the advantage by its batch sd."""
    r = r.detach()
    b = r.mean(dim=1, keepdim=True)
    adv = r - b
    if normalize:
        adv = adv / adv.std().clamp_min(1e-6)
    w = torch.ones_like(adv) if weight is None else weight
    return -(w * adv * log_prob).sum() / w.numel(), b, adv


def loss_cls(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """L_cls: cross-entropy of the target's logits (in float32) against the labels."""
    return F.cross_entropy(logits.float(), labels)


def apply_masks(input_ids, attention_mask, idx, valid, mask_id: int, pad_id: int, mode: str = "replace",
                unigram: torch.Tensor | None = None, generator: torch.Generator | None = None,
                continuation: torch.Tensor | None = None, content_end: torch.Tensor | None = None,
                proposer=None):
    """The masked copies X~ [B*M, T]: chosen tokens replaced by `mask_id`, deleted, replaced by a
    draw from the `unigram` distribution over the vocabulary that is never the original token, or
    replaced by the `proposer`'s draws (masking generator: `afa.generator.MaskedLM.proposer`, called
    with the copies, their attention, the chosen positions and `generator`).

    `continuation` [B, C] (`pad_id` where a text has none) and `content_end` [B] (the position after
    each text's last maskable token) refill deleted copies: each takes the text's next tokens past the
    cut, one per deleted token, at the end of its content (before a trailing special token)."""
    B, M, _ = idx.shape
    ids = input_ids[:, None, :].expand(B, M, -1).clone()
    att = attention_mask[:, None, :].expand(B, M, -1).clone()
    hit = torch.zeros_like(ids, dtype=torch.bool).scatter(-1, idx, valid)
    if mode == "replace":
        ids = ids.masked_fill(hit, mask_id)
    elif mode == "delete":
        keep = att.bool() & ~hit
        if continuation is not None:
            ids, att = refill(ids, keep, hit.sum(-1, keepdim=True), continuation, content_end, pad_id)
        else:
            # stable sort puts kept tokens first, in their order; the rest becomes padding
            order = (~keep).int().argsort(dim=-1, stable=True)
            ids = ids.gather(-1, order).masked_fill(~keep.gather(-1, order), pad_id)
            att = keep.gather(-1, order).long()
    elif mode == "unigram":
        if unigram is None:
            raise ValueError("masking 'unigram' needs the train split's unigram distribution")
        ids[hit] = unigram_draws(ids[hit], unigram, generator)
    elif mode == "generator":
        if proposer is None:
            raise ValueError("masking 'generator' needs a proposer (afa.generator.MaskedLM.proposer)")
        flat, flat_hit = ids.view(B * M, -1), hit.view(B * M, -1)
        flat[flat_hit] = proposer(flat, att.view(B * M, -1), flat_hit, generator)
    else:
        raise ValueError(f"unknown masking mode {mode!r}; use 'replace', 'delete', 'unigram' or 'generator'")
    return ids.view(B * M, -1), att.view(B * M, -1)


def refill(ids, keep, deleted, continuation, content_end, pad_id: int):
    """Deleted copies [B, M, T] with up to `deleted` [B, M, 1] of the `continuation` [B, C] tokens put
    where the content ends (`content_end` [B]): kept tokens first, in their order, then padding."""
    B, M, T = ids.shape
    C = continuation.shape[-1]
    cont = continuation[:, None, :].expand(B, M, C)
    j = torch.arange(C, device=ids.device)
    take = (cont != pad_id) & (j < deleted)  # one per deleted token: never longer than the original
    pos, end = torch.arange(T, device=ids.device), content_end[:, None, None]
    # distinct sort keys: content, then the continuation, then what followed the content (a special
    # end token, padding); dropped tokens after every kept one
    key = torch.cat([torch.where(pos < end, pos, pos + C).expand(B, M, T), (end + j).expand(B, M, C)], -1)
    kept = torch.cat([keep, take], -1)
    order = (key + (~kept).long() * (T + C)).argsort(-1)
    ids, kept = torch.cat([ids, cont], -1).gather(-1, order)[..., :T], kept.gather(-1, order)[..., :T]
    return ids.masked_fill(~kept, pad_id), kept.long()


def content_end(maskable: torch.Tensor) -> torch.Tensor:
    """The position after each row's last maskable token [B] (0 for a row with none)."""
    T = maskable.shape[-1]
    return (maskable.long() * torch.arange(1, T + 1, device=maskable.device)).max(-1).values


def unigram_draws(original: torch.Tensor, unigram: torch.Tensor, generator=None) -> torch.Tensor:
    """One draw per position from `unigram` conditioned on differing from `original` (rejection)."""
    out = original.clone()
    todo = torch.ones_like(original, dtype=torch.bool)
    while todo.any():  # each pass keeps a draw with probability 1 - p(original): a few passes
        draw = torch.multinomial(unigram, int(todo.sum()), replacement=True, generator=generator)
        ok = draw != original[todo]
        where = todo.nonzero().squeeze(-1)[ok]
        out[where] = draw[ok]
        todo[where] = False
    return out


def attention_entropy(log_pi: torch.Tensor) -> torch.Tensor:
    """H(pi) per example [B], in nats (maskable tokens only)."""
    return -(log_pi.exp() * log_pi).sum(-1)
