"""Token helpers AFA needs from a tokenizer: which tokens it may mask, what replaces a masked one,
and (for `refill`) each cut text's next tokens. Imports nothing from afa.

Layer: library.
"""

from __future__ import annotations

import torch


def mask_token_id(tokenizer) -> int:
    """Id that replaces a masked token: [MASK] where the vocabulary has one, else [UNK]."""
    return tokenizer.mask_token_id if tokenizer.mask_token_id is not None else tokenizer.unk_token_id


def maskable_tokens(input_ids: torch.Tensor, attention_mask: torch.Tensor, special_ids) -> torch.Tensor:
    """Real, non-special tokens [B, T] (bool): the only ones AFA may mask. `special_ids` is a
    tokenizer (its all_special_ids) or the ids themselves."""
    ids = getattr(special_ids, "all_special_ids", special_ids)
    special = torch.tensor(sorted(set(ids)), dtype=input_ids.dtype, device=input_ids.device)
    return attention_mask.bool() & ~torch.isin(input_ids, special)


def encode(tokenizer, texts: list[str], max_length: int) -> list[list[int]]:
    """Token ids per text, truncated; padding happens per batch in ``collate``."""
    return tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]


def continuations(tokenizer, texts: list[str], ids: list[list[int]], n: int) -> list[list[int]]:
    """Each text's next `n` tokens past what its truncated encoding `ids` kept ([] for a text that
    was not cut): what AFA's `refill` puts into a deleted copy."""
    added = tokenizer.num_special_tokens_to_add(pair=False)
    full = tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]
    return [f[len(x) - added:len(x) - added + n] for x, f in zip(ids, full)]
