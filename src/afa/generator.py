"""The generator of `masking: generator`: a small masked language model G over the target's
vocabulary, trained alone on the train split (ELECTRA's generator, without the joint training), that
proposes each masked token's replacement. Deleted, [MASK]ed and unigram copies differ from real text
in ways unrelated to the task (length, an id no real text has, an unlikely word); a copy whose
replacements G finds likely in context reads as text, so D has to notice meaning, not form.

    train_mlm:  BERT's recipe on the train ids: `mask_rate` of the real tokens chosen, of those 80 %
                [MASK], 10 % a random token, 10 % kept; cross-entropy on the chosen ones; `steps`
                AdamW updates on seeded batches. Deterministic on CPU for a given seed, so every cell
                of the discriminator study on one dataset gets the same G.
    propose:    at each masked position, one draw from G's `top_k` tokens there (softmax over their
                logits), never the original token and never a special token.

Layer: library (imports afa.layers and afa.settings only).
"""

from __future__ import annotations

import dataclasses
import logging
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from afa.layers import Encoder
from afa.settings import GeneratorConfig

log = logging.getLogger(__name__)


class MaskedLM(nn.Module):
    """G: an encoder of `config.layers` blocks and an output layer tied to its token embeddings."""

    def __init__(self, config: GeneratorConfig, vocab_size: int, max_length: int, banned: torch.Tensor):
        """`banned`: ids G never proposes (the special tokens, [MASK] among them)."""
        super().__init__()
        self.config, self.vocab_size, self.max_length = config, vocab_size, max_length
        self.encoder = Encoder(vocab_size, config.d_model, config.layers, config.heads, config.d_ff, max_length,
                               config.dropout)
        # BERT's 0.02: the output layer is the embedding table, and with torch's N(0, 1) the first
        # logits are so far apart that the softmax's gradients underflow to denormals (100x slower on CPU)
        nn.init.normal_(self.encoder.tok.weight, std=0.02)
        self.bias = nn.Parameter(torch.zeros(vocab_size))
        self.register_buffer("banned", torch.as_tensor(banned, dtype=torch.long))

    def forward(self, input_ids, attention_mask, where: torch.Tensor | None = None) -> torch.Tensor:
        """Logits over the vocabulary at the True positions of `where` [n, V] (None: at every position,
        [B, T, V]). Only where they are needed: the vocabulary projection is most of G's cost."""
        states, _ = self.encoder(input_ids, attention_mask)
        if where is not None:
            states = states[where]
        return F.linear(states, self.encoder.tok.weight, self.bias)

    @torch.no_grad()
    def propose(self, masked_ids, attention_mask, hit, original, generator=None) -> torch.Tensor:
        """One replacement per True of `hit` [N, T] (where `masked_ids` holds [MASK]), in row-major
        order: a draw from G's top_k tokens at that position, `original` [n] and `banned` excluded."""
        was_training = self.training
        self.eval()
        logits = self(masked_ids, attention_mask, hit).float()  # [n, V]
        self.train(was_training)
        logits[:, self.banned] = float("-inf")
        logits.scatter_(1, original[:, None], float("-inf"))
        top = logits.topk(min(self.config.top_k, self.vocab_size - len(self.banned) - 1), dim=-1)
        pick = torch.multinomial(F.softmax(top.values, -1), 1, generator=generator)
        return top.indices.gather(1, pick).squeeze(1)

    def proposer(self, mask_id: int):
        """`afa.objective.apply_masks`' proposer: (copies [N, T] before masking, attention, hit, generator) -> ids."""
        def propose(ids, att, hit, generator=None):
            return self.propose(ids.masked_fill(hit, mask_id), att, hit, ids[hit], generator)
        return propose


def pad(rows: list[list[int]], pad_id: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Ids padded on the right to the longest row, and the attention mask."""
    T = max(map(len, rows))
    ids = torch.full((len(rows), T), pad_id, dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = torch.tensor(r, dtype=torch.long)
    return ids.to(device), (ids != pad_id).long().to(device)


def corrupt(ids, att, special: torch.Tensor, mask_id: int, vocab: torch.Tensor, rate: float, g: torch.Generator):
    """BERT's corruption: (inputs, the chosen positions [B, T])."""
    real = att.bool() & ~torch.isin(ids, special)
    u = torch.rand(ids.shape, generator=g, device=ids.device)
    chosen = real & (u < rate)
    how = torch.rand(ids.shape, generator=g, device=ids.device)
    random_ids = vocab[torch.randint(len(vocab), ids.shape, generator=g, device=ids.device)]
    out = torch.where(chosen & (how < 0.8), torch.full_like(ids, mask_id), ids)
    out = torch.where(chosen & (how >= 0.8) & (how < 0.9), random_ids, out)
    return out, chosen


def train_mlm(config: GeneratorConfig, train_ids: list[list[int]], vocab_size: int, max_length: int, mask_id: int,
              pad_id: int, special_ids, held_out: list[list[int]] = (), device="cpu") -> tuple[MaskedLM, dict]:
    """G trained on `train_ids` under `config`; with it {steps, seconds, loss, held_out_accuracy,
    held_out_top_k, unigram_accuracy} (masked-token top-1 and top-k accuracy on `held_out`, and
    that of always proposing the most frequent train token, for scale)."""
    if mask_id is None:
        raise ValueError("masking 'generator' needs a [MASK] or [UNK] token for G's inputs; the tokenizer has neither")
    special = torch.tensor(sorted({*special_ids, mask_id, pad_id} - {None}), dtype=torch.long)
    counts = torch.bincount(torch.tensor([i for r in train_ids for i in r], dtype=torch.long), minlength=vocab_size)
    counts[special] = 0
    vocab = counts.nonzero().squeeze(-1)  # random replacements: tokens of the train split
    if not len(vocab):
        raise ValueError("generator: the train split has no non-special token")
    # G's own seed, in a forked RNG: the caller's stream (the run's or the study cell's D) stays as it was
    with torch.random.fork_rng(devices=[device] if torch.device(device).type == "cuda" else []):
        torch.manual_seed(config.seed)
        G, losses, seconds = _train(config, train_ids, vocab_size, max_length, mask_id, pad_id, special, vocab, device)
    stats = {"steps": config.steps, "seconds": seconds, "loss": sum(losses[-50:]) / max(1, len(losses[-50:]))}
    if held_out:
        stats.update(held_out_scores(G, held_out, special, mask_id, pad_id, int(counts.argmax()), device))
    G.train_stats = stats
    return G, stats


def _train(config, train_ids, vocab_size, max_length, mask_id, pad_id, special, vocab, device):
    """G and its losses after `config.steps` updates (the loop of train_mlm, under its seed)."""
    G = MaskedLM(config, vocab_size, max_length, special).to(device)
    opt = torch.optim.AdamW(G.parameters(), lr=config.lr, weight_decay=0.01)
    g = torch.Generator().manual_seed(config.seed)  # the batches and corruption are drawn on the CPU
    start, losses = time.perf_counter(), []
    G.train()
    for step in range(config.steps):
        pick = torch.randint(len(train_ids), (config.batch_size,), generator=g).tolist()
        ids, att = pad([train_ids[i][:max_length] for i in pick], pad_id, "cpu")
        inputs, chosen = corrupt(ids, att, special, mask_id, vocab, config.mask_rate, g)
        if not chosen.any():
            continue
        chosen = chosen.to(device)
        loss = F.cross_entropy(G(inputs.to(device), att.to(device), chosen).float(), ids.to(device)[chosen])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        if (step + 1) % max(1, config.steps // 5) == 0:
            log.info("generator step %d/%d: masked-token loss %.3f", step + 1, config.steps,
                     sum(losses[-50:]) / len(losses[-50:]))
    return G.eval(), losses, time.perf_counter() - start


def save(G: MaskedLM, folder) -> None:
    """``generator.safetensors`` and ``generator.json`` (G's settings, shape and training statistics):
    a G trained once and read by every job that masks with it (the discriminator study's cells)."""
    from pathlib import Path

    from safetensors.torch import save_file

    from afa.io import atomic_path, write_result

    folder = Path(folder)
    with atomic_path(folder / "generator.safetensors") as tmp:
        save_file({k: v.detach().contiguous().clone() for k, v in G.state_dict().items()}, str(tmp))
    write_result(folder / "generator.json", {"config": dataclasses.asdict(G.config), "vocab_size": G.vocab_size,
                                             "max_length": G.max_length, "train": getattr(G, "train_stats", {})})


def load(folder, device="cpu") -> MaskedLM:
    """G as `save` wrote it, in eval mode, with its training statistics (`train_stats`)."""
    import json
    from pathlib import Path

    from safetensors.torch import load_file

    folder = Path(folder)
    meta = json.loads((folder / "generator.json").read_text())
    tensors = load_file(str(folder / "generator.safetensors"), device=str(device))
    G = MaskedLM(GeneratorConfig.from_dict(meta["config"]), meta["vocab_size"], meta["max_length"], tensors["banned"])
    G.load_state_dict(tensors)
    G.train_stats = meta["train"]
    return G.to(device).eval()


@torch.no_grad()
def held_out_scores(G: MaskedLM, rows, special, mask_id: int, pad_id: int, most_frequent: int, device,
                    batch_size: int = 128) -> dict:
    """Every real token of `rows` masked once, one at a time per row in turns (position i % 7 == j)."""
    hits = top = frequent = n = 0
    for start in range(0, len(rows), batch_size):
        ids, att = pad([r[:G.max_length] for r in rows[start:start + batch_size]], pad_id, device)
        real = att.bool() & ~torch.isin(ids, special.to(device))
        pos = torch.arange(ids.shape[1], device=device)
        for j in range(7):
            chosen = real & (pos % 7 == j)
            if not chosen.any():
                continue
            logits = G(ids.masked_fill(chosen, mask_id), att, chosen).float()
            logits[:, G.banned] = float("-inf")
            truth = ids[chosen]
            hits += int((logits.argmax(-1) == truth).sum())
            top += int((logits.topk(G.config.top_k, -1).indices == truth[:, None]).any(-1).sum())
            frequent += int((truth == most_frequent).sum())
            n += int(chosen.sum())
    return {"held_out_accuracy": hits / max(n, 1), "held_out_top_k": top / max(n, 1),
            "unigram_accuracy": frequent / max(n, 1), "held_out_tokens": n}
