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

`PretrainedDiscriminator` (`DiscConfig.kind` "pretrained"): a pretrained encoder (MiniLM, shipped on
PyPI, by default) as D, to test whether a D that already reads language can see which words a mask
hid. It reads each copy in its own word pieces: a table maps every target token id to the encoder's
pieces of that token (`word_pieces`), so D stays a function of the target's ids (and of what AFA's
masking did to them) and needs no text. Exact for a word-level target tokenizer (the scratch
models') and for a target that shares the encoder's tokenizer.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from afa.layers import Encoder
from afa.settings import ATTENTIONS, DiscConfig


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


class PretrainedDiscriminator(nn.Module):
    """D(X) as a logit of P(X is a masked copy) from a pretrained encoder: the copy's target ids become
    the encoder's word pieces (`pieces`: [V, P], -1 padded), packed between its [CLS] and [SEP],
    mean-pooled over real pieces, a linear head."""
    def __init__(self, encoder: nn.Module, pieces: torch.Tensor, cls_id: int, sep_id: int, pad_id: int,
                 max_positions: int):
        super().__init__()
        self.encoder, self.head = encoder, nn.Linear(encoder.config.hidden_size, 1)
        self.register_buffer("pieces", pieces.long())
        self.cls_id, self.sep_id, self.pad_id, self.max_positions = cls_id, sep_id, pad_id, max_positions

    def encode(self, input_ids, attention_mask) -> tuple[torch.Tensor, torch.Tensor]:
        """The encoder's ids and attention mask of each row: its pieces in order, [CLS] ... [SEP]."""
        p = self.pieces[input_ids].masked_fill(~attention_mask.bool()[..., None], -1).flatten(1)  # [N, T * P]
        keep = p >= 0
        n = keep.sum(1).clamp_max(self.max_positions - 2)
        L = int(n.max()) if len(n) else 0
        packed = p.gather(1, torch.argsort((~keep).to(torch.int8), dim=1, stable=True))[:, :L]  # kept first, in order
        pos = torch.arange(L + 2, device=p.device)
        ids = torch.full((len(p), L + 2), self.pad_id, dtype=torch.long, device=p.device)
        ids[:, 1:L + 1] = torch.where(pos[None, :L] < n[:, None], packed, self.pad_id)
        ids[:, 0] = self.cls_id
        ids[torch.arange(len(p), device=p.device), n + 1] = self.sep_id
        return ids, (pos[None] <= n[:, None] + 1).long()

    def forward(self, input_ids, attention_mask) -> torch.Tensor:
        """Logit of P(masked), [N]."""
        ids, att = self.encode(input_ids, attention_mask)
        h = self.encoder(input_ids=ids, attention_mask=att).last_hidden_state
        m = att[..., None].to(h.dtype)
        return self.head((h * m).sum(1) / m.sum(1).clamp_min(1)).squeeze(-1)


def word_pieces(target_tokenizer, encoder_tokenizer, most: int = 8) -> torch.Tensor:
    """[V, P]: the encoder's piece ids of each target token id (-1 padded; at most `most` pieces). The
    target's [MASK] and [UNK] become the encoder's; its [CLS], [SEP] and padding become nothing (D
    adds its own). The target must share the encoder's vocabulary or be word-level (each token a word)."""
    V = len(target_tokenizer)
    tokens = target_tokenizer.convert_ids_to_tokens(list(range(V)))
    same = target_tokenizer.get_vocab() == encoder_tokenizer.get_vocab()
    backend = getattr(getattr(target_tokenizer, "backend_tokenizer", None), "model", None)
    if not same and type(backend).__name__ != "WordLevel":
        raise ValueError("a pretrained discriminator reads a target tokenizer that is word-level or the encoder's "
                         f"own; this one is {type(backend).__name__ or type(target_tokenizer).__name__}")
    special = {target_tokenizer.mask_token_id: [encoder_tokenizer.mask_token_id],
               target_tokenizer.unk_token_id: [encoder_tokenizer.unk_token_id],
               **{i: [] for i in (target_tokenizer.cls_token_id, target_tokenizer.sep_token_id,
                                  target_tokenizer.pad_token_id, target_tokenizer.bos_token_id,
                                  target_tokenizer.eos_token_id)}}
    special.pop(None, None)
    if same:
        rows = [[i] for i in range(V)]
    else:
        rows = encoder_tokenizer(tokens, add_special_tokens=False)["input_ids"]
    table = torch.full((V, most), -1, dtype=torch.long)
    for i, row in enumerate(rows):
        row = special.get(i, row)[:most]
        table[i, :len(row)] = torch.tensor(row, dtype=torch.long)
    return table


def build(config: DiscConfig, vocab_size: int, max_length: int, vocab: torch.Tensor | None = None,
          tokenizer=None, pieces: torch.Tensor | None = None) -> nn.Module:
    """D of `config`: a `Discriminator`, or (kind "pretrained") a `PretrainedDiscriminator`, whose
    word-piece table comes from the target's `tokenizer`, or `pieces` as saved with it."""
    if config.kind == "scratch":
        return Discriminator(vocab_size, max_length, config.d_model, config.layers, config.heads, config.d_ff,
                             config.dropout, vocab, config.attention)
    from transformers import AutoModel, AutoTokenizer

    from afa.hf import resolve_path

    path = resolve_path(config.pretrained)
    encoder_tokenizer = AutoTokenizer.from_pretrained(path)
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the checkpoint's pooler, which D does not use, is not a problem
    try:
        encoder = AutoModel.from_pretrained(path, add_pooling_layer=False)
    finally:
        hf_logging.set_verbosity(level)
    if config.pretrained_layers is not None:
        encoder.encoder.layer = encoder.encoder.layer[:config.pretrained_layers]
        encoder.config.num_hidden_layers = len(encoder.encoder.layer)
    if pieces is None:
        if tokenizer is None:
            raise ValueError("AFAConfig.disc.kind 'pretrained' needs the target's tokenizer (to map its ids to the "
                             "encoder's word pieces)")
        pieces = word_pieces(tokenizer, encoder_tokenizer)
    if len(pieces) < vocab_size:
        raise ValueError(f"the word-piece table has {len(pieces)} rows for a target vocabulary of {vocab_size}")
    return PretrainedDiscriminator(encoder, pieces, encoder_tokenizer.cls_token_id, encoder_tokenizer.sep_token_id,
                                   encoder_tokenizer.pad_token_id, encoder.config.max_position_embeddings)


def loss_disc(logit_orig: torch.Tensor, logit_masked: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy: originals are 0, masked copies are 1; both classes weigh the same."""
    return 0.5 * (F.binary_cross_entropy_with_logits(logit_orig.float(), torch.zeros_like(logit_orig.float()))
                  + F.binary_cross_entropy_with_logits(logit_masked.float(), torch.ones_like(logit_masked.float())))


def disc_accuracy(logit_orig: torch.Tensor, logit_masked: torch.Tensor) -> torch.Tensor:
    """D's balanced accuracy (a 0-d tensor): originals called 0, masked copies called 1, each class weighing half."""
    return 0.5 * ((logit_orig < 0).float().mean() + (logit_masked > 0).float().mean())
