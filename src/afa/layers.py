"""The library's shared layers: the from-scratch Transformer encoder (the pipeline's `scratch`
target and AFA's discriminator are both built on it), the output every target returns, and how a
last-layer attention row is read before attention dropout. Imports nothing from afa.

Layer: library (below afa.discriminator, afa.hf and the pipeline's afa.models).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn


class ModelOutput(NamedTuple):
    logits: torch.Tensor     # [B, C]
    attention: torch.Tensor  # [B, T] last-layer, head-averaged attention of position 0; 0 on padding


def pooled_row(probs: torch.Tensor, attention_mask: torch.Tensor, position) -> torch.Tensor:
    """A_{n,:} [B, T] from last-layer attention probabilities [B, heads, T, T]: the row of the pooled
    token `position` (an int, or one index per example [B]), averaged over heads, zero on padding."""
    rows = probs[:, :, position, :] if isinstance(position, int) else \
        probs[torch.arange(probs.shape[0], device=probs.device), :, position, :]
    return rows.mean(1) * attention_mask.to(rows.dtype)


class SelfAttention(nn.Module):
    """Multi-head self-attention that also returns its probabilities [B, heads, T, T], before dropout."""
    def __init__(self, d_model: int, heads: int, dropout: float):
        super().__init__()
        assert d_model % heads == 0, "d_model must be divisible by heads"
        self.heads = heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, key_padding, fused: bool = False):  # key_padding: [B, T] True where padding
        """(output, probabilities; None when `fused`)."""
        B, T, D = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)
        if fused:
            # One kernel, no T x T probabilities kept and no dropout on them (on CPU, SDPA with
            # dropout falls back to the eager maths and is barely faster). For a module whose
            # attention nobody reads: the discriminator's `attention: fused`.
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=~key_padding[:, None, None, :])
            return self.proj(y.transpose(1, 2).reshape(B, T, D)), None
        scores = q @ k.transpose(-1, -2) / math.sqrt(D // self.heads)
        scores = scores.masked_fill(key_padding[:, None, None, :], float("-inf"))
        probs = scores.softmax(-1)  # [B, H, T, T]; kept un-dropped so the policy reads clean rows
        y = (self.drop(probs) @ v).transpose(1, 2).reshape(B, T, D)
        return self.proj(y), probs


class Block(nn.Module):
    """Pre-LayerNorm Transformer encoder block."""

    def __init__(self, d_model: int, heads: int, d_ff: int, dropout: float):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.attn = SelfAttention(d_model, heads, dropout)
        self.mlp = nn.Sequential(nn.Linear(d_model, d_ff), nn.GELU(), nn.Linear(d_ff, d_model), nn.Dropout(dropout))
        self.drop = nn.Dropout(dropout)

    def forward(self, x, key_padding, fused: bool = False):
        """(x after the block, the block's attention probabilities)."""
        a, probs = self.attn(self.ln1(x), key_padding, fused)
        x = x + self.drop(a)
        return x + self.mlp(self.ln2(x)), probs


def sinusoidal(max_length: int, d_model: int) -> torch.Tensor:
    """The fixed sine / cosine position table [max_length, d_model] of Vaswani et al."""
    pos = torch.arange(max_length)[:, None]
    freq = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
    table = torch.zeros(max_length, d_model)
    table[:, 0::2], table[:, 1::2] = torch.sin(pos * freq), torch.cos(pos * freq)
    return table


class Encoder(nn.Module):
    """Token + position embeddings and a stack of blocks; shared with the discriminator.

    Positions are fixed sinusoids by default: SST-2's train split is mostly short phrases, and
    learned embeddings of later positions stay untrained for its longer dev sentences.
    """

    def __init__(self, vocab_size: int, d_model: int, layers: int, heads: int, d_ff: int,
                 max_length: int, dropout: float, emb_dim: int | None = None, positions: str = "sinusoidal"):
        super().__init__()
        emb_dim = emb_dim or d_model
        self.tok = nn.Embedding(vocab_size, emb_dim)
        self.up = nn.Identity() if emb_dim == d_model else nn.Linear(emb_dim, d_model)
        self.pos = nn.Embedding(max_length, d_model)
        if positions == "sinusoidal":
            self.pos.weight.data.copy_(sinusoidal(max_length, d_model))
            self.pos.weight.requires_grad_(False)
        elif positions != "learned":
            raise ValueError(f"unknown positions {positions!r}; use sinusoidal or learned")
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(d_model, heads, d_ff, dropout) for _ in range(layers))
        self.ln = nn.LayerNorm(d_model)

    def forward(self, input_ids, attention_mask, fused: bool = False):
        """(states, the last block's attention probabilities; None when `fused`, see SelfAttention)."""
        T = input_ids.shape[1]
        x = self.drop(self.up(self.tok(input_ids)) + self.pos(torch.arange(T, device=input_ids.device)))
        pad = attention_mask == 0
        for block in self.blocks:
            x, probs = block(x, pad, fused)
        return self.ln(x), probs  # probs of the last block


# What eager attention modules call the dropout on their probabilities: BERT, DistilBERT, DeBERTa
# `dropout`; GPT-2 `attn_dropout`; ALBERT `attention_dropout` (its `output_dropout` is another one).
PROBS_DROPOUT_NAMES = ("dropout", "attn_dropout", "attention_dropout")


def last_attention_dropout(encoder: nn.Module) -> nn.Dropout | None:
    """The nn.Dropout an eager attention module applies to its probabilities, of the last layer
    (modules register in layer order); None where attention dropout is functional (Llama: p = 0)."""
    found = None
    for module in encoder.modules():
        if "attention" in type(module).__name__.lower():
            found = next((d for name in PROBS_DROPOUT_NAMES
                          if isinstance(d := getattr(module, name, None), nn.Dropout)), found)
    return found
