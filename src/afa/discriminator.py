"""The AFA discriminator: D(X) = P(X is a masked copy), from token ids alone.

One Transformer encoder block by default (4 heads, feed-forward 512) over its own embeddings,
mean-pooled over real tokens. It never shares parameters with the target, so the target can only
move D's output through which tokens it chooses to mask.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from afa.models import Encoder


class Discriminator(nn.Module):
    def __init__(self, vocab_size: int, max_length: int, d_model: int = 128, layers: int = 1,
                 heads: int = 4, d_ff: int = 512, dropout: float = 0.1):
        super().__init__()
        self.encoder = Encoder(vocab_size, d_model, layers, heads, d_ff, max_length, dropout)
        self.head = nn.Linear(d_model, 1)

    def forward(self, input_ids, attention_mask) -> torch.Tensor:
        """Logit of P(masked), [N]."""
        h, _ = self.encoder(input_ids, attention_mask)
        m = attention_mask[..., None].to(h.dtype)
        return self.head((h * m).sum(1) / m.sum(1).clamp_min(1)).squeeze(-1)


def loss_disc(logit_orig: torch.Tensor, logit_masked: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy: originals are 0, masked copies are 1; both classes weigh the same."""
    return 0.5 * (F.binary_cross_entropy_with_logits(logit_orig.float(), torch.zeros_like(logit_orig.float()))
                  + F.binary_cross_entropy_with_logits(logit_masked.float(), torch.ones_like(logit_masked.float())))
