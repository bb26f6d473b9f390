"""The AFA objective (arXiv 2512.20661), in the paper's terms.

For each example X with attention row A (the target's pi over maskable tokens) draw M masks m of
K tokens: with probability 1-eps by attention (Plackett-Luce sampling without replacement from
pi, or the deterministic top-K), with probability eps K uniform tokens. The discriminator D sees
the masked copy X~ and outputs D(X~) = P(masked). Reward:
    detect  (the paper's formula): r(X~) = -log(1 - D(X~))   masking that D notices pays
    deceive:                        r(X~) = -log D(X~)        masking that D misses pays
Baseline b = mean of r over the M masks of the same example; advantage r - b, no gradient into D.
    L_adv = -mean[(r - b) * log pi(m|X)]          L = L_cls + lambda * L_adv
log pi(m|X) is the Plackett-Luce log-probability of the chosen tokens in their order under pi,
whichever branch drew them (exploration masks are scored under the attention policy too).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# A large finite "minus infinity": true -inf turns into NaN gradients through torch.where when
# an example has fewer than K maskable tokens.
NEG = -1e9


def policy_log_probs(A: torch.Tensor, maskable: torch.Tensor) -> torch.Tensor:
    """log pi: the attention row renormalised over maskable tokens; NEG elsewhere. [B, T]"""
    logits = torch.log(A.float().clamp_min(1e-12)).masked_fill(~maskable, NEG)
    return logits.log_softmax(-1)


def sample_masks(log_pi, maskable, K: int, M: int, eps: float, deterministic: bool = False,
                 generator: torch.Generator | None = None):
    """M masks per example as ordered token indices: (idx [B,M,K], valid [B,M,K], explored [B,M]).

    An example with n < K maskable tokens gets n choices; `valid` marks the real ones.
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
    k = min(K, T)
    idx = scores.topk(k, dim=-1).indices
    valid = torch.arange(k, device=lp.device) < maskable.sum(-1).clamp(max=k)[:, None, None]
    return idx, valid.expand(B, M, k), explore.squeeze(-1)


def plackett_luce_log_prob(log_pi, idx, valid):
    """log pi(m|X) = sum_j [log pi(s_j) - log(1 - sum_{l<j} pi(s_l))]. [B, M], differentiable."""
    B, M, k = idx.shape
    lp = log_pi[:, None, :].expand(B, M, -1)
    remaining = lp
    total = torch.zeros(B, M, device=lp.device)
    for j in range(k):
        chosen = remaining.gather(-1, idx[..., j:j + 1]).squeeze(-1)
        term = chosen - torch.logsumexp(remaining, dim=-1)
        total = total + torch.where(valid[..., j], term, torch.zeros_like(term))
        remaining = remaining.scatter(-1, idx[..., j:j + 1], NEG)  # chosen token leaves the pool
    return total


def reward(D_masked: torch.Tensor, reading: str) -> torch.Tensor:
    """r(X~) from D(X~) = P(masked), clamped so log stays finite."""
    p = D_masked.float().clamp(1e-6, 1 - 1e-6)
    if reading == "detect":
        return -torch.log1p(-p)
    if reading == "deceive":
        return -torch.log(p)
    raise ValueError(f"unknown reward reading {reading!r}; use 'detect' or 'deceive'")


def loss_adv(r: torch.Tensor, log_prob: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """REINFORCE with the per-example mean-reward baseline over the M masks. r, log_prob: [B, M]."""
    r = r.detach()
    b = r.mean(dim=1, keepdim=True)
    return -((r - b) * log_prob).mean(), b


def loss_cls(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.float(), labels)


def apply_masks(input_ids, attention_mask, idx, valid, mask_id: int, pad_id: int, mode: str = "replace"):
    """The masked copies X~ [B*M, T]: chosen tokens replaced by `mask_id`, or deleted."""
    B, M, _ = idx.shape
    ids = input_ids[:, None, :].expand(B, M, -1).clone()
    att = attention_mask[:, None, :].expand(B, M, -1).clone()
    hit = torch.zeros_like(ids, dtype=torch.bool).scatter(-1, idx, valid)
    if mode == "replace":
        ids = ids.masked_fill(hit, mask_id)
    elif mode == "delete":
        keep = att.bool() & ~hit
        # stable sort puts kept tokens first, in their order; the rest becomes padding
        order = (~keep).int().argsort(dim=-1, stable=True)
        ids = ids.gather(-1, order).masked_fill(~keep.gather(-1, order), pad_id)
        att = keep.gather(-1, order).long()
    else:
        raise ValueError(f"unknown masking mode {mode!r}; use 'replace' or 'delete'")
    return ids.view(B * M, -1), att.view(B * M, -1)


def attention_entropy(log_pi: torch.Tensor) -> torch.Tensor:
    p = log_pi.exp()
    return -(p * log_pi).sum(-1).mean()
