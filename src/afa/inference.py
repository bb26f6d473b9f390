"""Batched forward passes over a list of token-id sequences (validation and every evaluation)."""

from __future__ import annotations

import torch

from afa import models
from afa.data import read_prepared
from afa.models import collate


def batch_order(ids: list[list[int]], batch_size: int) -> list[list[int]]:
    """Indices grouped by length so each batch pads little; the caller restores the order."""
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


@torch.no_grad()
def predict(model, tokenizer, ids: list[list[int]], batch_size: int = 64, device="cpu"):
    """(logits [N, C], attention rows as a list of 1-D tensors of each sequence's length). `model`: one
    of afa's models, or any Hugging Face sequence classifier (`afa.hf.as_target`)."""
    from afa.hf import as_target

    model = as_target(model)
    model.eval()
    logits, rows = [None] * len(ids), [None] * len(ids)
    for chunk in batch_order(ids, batch_size):
        batch = collate(tokenizer, [ids[i] for i in chunk], device)
        with autocast(device):
            out = model(batch["input_ids"], batch["attention_mask"])
        for j, i in enumerate(chunk):
            logits[i] = out.logits[j].float().cpu()
            rows[i] = out.attention[j, :len(ids[i])].float().cpu()
    return torch.stack(logits), rows


def autocast(device):
    """bf16 mixed precision on a GPU; a no-op on the CPU."""
    kind = torch.device(device).type
    return torch.autocast(device_type=kind, dtype=torch.bfloat16, enabled=kind == "cuda")


def pick_device(setting: str = "auto", option: str = "device") -> str:
    """"auto": a GPU when torch sees one, else the CPU. A named CUDA device that torch cannot use
    here stops with one line naming `option` (not torch's AssertionError at the first tensor)."""
    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if torch.device(setting).type == "cuda":
        index = torch.device(setting).index or 0
        if not torch.cuda.is_available() or index >= torch.cuda.device_count():
            why = ("this torch is built without CUDA" if torch.version.cuda is None
                   else f"torch sees {torch.cuda.device_count()} CUDA device(s) on this machine")
            raise ValueError(f"{option} is {setting!r} but {why}; use 'auto' or 'cpu'")
    return setting


def open_run(run_dir, data_dir, split: str = "test", device: str = "auto"):
    """A trained run on its device and a prepared split: (tokenizer, model, spec, rows, device)."""
    device = pick_device(device)
    tokenizer, model, spec = models.load(run_dir, device)
    return tokenizer, model, spec, read_prepared(data_dir, split), device


def load_run(run_dir, data_dir, split: str = "test", device: str = "auto"):
    """As `open_run`, with the split encoded: (tokenizer, model, rows, token ids, device)."""
    tokenizer, model, spec, rows, device = open_run(run_dir, data_dir, split, device)
    return tokenizer, model, rows, models.encode(tokenizer, [r["text"] for r in rows], spec["max_length"]), device
