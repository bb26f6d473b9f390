"""The AFA discriminator: D(X) = P(X is a masked copy), from token ids alone.

One Transformer encoder block by default (4 heads, feed-forward 512) over its own embeddings,
mean-pooled over real tokens. It never shares parameters with the target, so the target can only
move D's output through which tokens it chooses to mask.

`vocab` (optional): the only token ids D will ever read (the pipeline: those of the train and
validation texts, the special ids and the mask id). D then keeps an embedding row for those alone,
plus one zero row for any other id. A row that never gets a gradient stays at its initial draw
under AdamW, so this changes nothing that D computes on those ids. It does cut the embedding's
gradient and optimizer work from the whole tokenizer (100 k GloVe-extended words) to the words
the data holds. The kept rows are the same draws as in a full table (the full table is drawn,
then sliced), so a seeded run stays bit-identical (tests/test_objective.py).

`attention`: "eager" (the default; every result of this replication so far) computes each block's
T x T probabilities and drops out of them, as the target does; "fused" runs PyTorch's
scaled_dot_product_attention without attention dropout (the other dropouts stay). No one reads
D's attention, and at 256 tokens those probabilities, their dropout draws and their backward were
most of D's cost (benchmarks/cost_growth.py --profile). The function is the same up to float
rounding; the regulariser is one dropout fewer (docs/performance.md, for its effect on the signal).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from afa.layers import Encoder
from afa.settings import ATTENTIONS


class Discriminator(nn.Module):
    """D(X) as a logit of P(X is a masked copy): its own `Encoder`, mean-pooled over real tokens, a linear head."""
    def __init__(self, vocab_size: int, max_length: int, d_model: int = 128, layers: int = 1,
                 heads: int = 4, d_ff: int = 512, dropout: float = 0.1, vocab: torch.Tensor | None = None,
                 attention: str = "eager"):
        super().__init__()
        if attention not in ATTENTIONS:
            raise ValueError(f"Discriminator attention must be one of {', '.join(ATTENTIONS)}, got {attention!r}")
        self.fused = attention == "fused"
        self.encoder = Encoder(vocab_size, d_model, layers, heads, d_ff, max_length, dropout)
        self.head = nn.Linear(d_model, 1)
        # kept ids, and the map token id -> row (other ids -> the last, zero row); empty: every id
        self.register_buffer("vocab", torch.zeros(0, dtype=torch.long) if vocab is None else vocab.long().sort().values)
        self.register_buffer("row", torch.zeros(0, dtype=torch.long), persistent=False)
        if vocab is not None:
            if self.vocab.numel() and not 0 <= int(self.vocab[0]) <= int(self.vocab[-1]) < vocab_size:
                raise ValueError(f"Discriminator vocab: ids must lie in [0, {vocab_size}), got "
                                 f"{int(self.vocab[0])}..{int(self.vocab[-1])}")
            full = self.encoder.tok.weight.data
            # no new draw from the global RNG: what is drawn after D (the target's dropout) is unchanged
            self.encoder.tok = nn.Embedding(len(self.vocab) + 1, full.shape[1],
                                            _weight=torch.cat([full[self.vocab], full.new_zeros(1, full.shape[1])]))
            self.row = torch.full((vocab_size,), len(self.vocab), dtype=torch.long)
            self.row[self.vocab] = torch.arange(len(self.vocab))

    def forward(self, input_ids, attention_mask) -> torch.Tensor:
        """Logit of P(masked), [N]."""
        if self.row.numel():
            input_ids = self.row[input_ids]
        h, _ = self.encoder(input_ids, attention_mask, self.fused)
        m = attention_mask[..., None].to(h.dtype)
        return self.head((h * m).sum(1) / m.sum(1).clamp_min(1)).squeeze(-1)


def loss_disc(logit_orig: torch.Tensor, logit_masked: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy: originals are 0, masked copies are 1; both classes weigh the same."""
    return 0.5 * (F.binary_cross_entropy_with_logits(logit_orig.float(), torch.zeros_like(logit_orig.float()))
                  + F.binary_cross_entropy_with_logits(logit_masked.float(), torch.ones_like(logit_masked.float())))
