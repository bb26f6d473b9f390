"""Training: the baseline (L_cls alone) or AFA (L_cls + lambda * L_adv, discriminator alternating).

AdamW with linear warm-up and decay, early stopping on validation accuracy, the best epoch's
weights saved as safetensors. Training dynamics go to ``dynamics.jsonl`` every `log_every` steps
and at each epoch's end; the summary to ``train_metrics.json``, written last (it marks a run done).
"""

from __future__ import annotations

import collections
import dataclasses
import json
import logging
import math
import random
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from afa import models, objective as obj
from afa.checkpoint import Checkpointer, fingerprint
from afa.data import DataError, get_spec, read_trained_split
from afa.inference import autocast, pick_device, predict
from afa.io import exclusive, failpoint, sha256, write_result
from afa.method import AFA, AFAConfig, unigram_distribution

log = logging.getLogger("afa.train")

TRAIN_DEFAULTS = {"epochs": 3, "batch_size": 32, "lr": 1e-3, "weight_decay": 0.01, "warmup_fraction": 0.1,
                  "patience": 2, "grad_clip": 1.0, "log_every": 50, "device": "auto", "eval_batch_size": 128,
                  "checkpoint_every": 500, "length_buckets": 0}


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def batch_order(lengths: list[int], batch_size: int, seed: int, epoch: int, buckets: int = 0) -> list[list[int]]:
    """The epoch's batches of example indices, from a permutation seeded by (seed, epoch).

    buckets = 0: consecutive slices of the permutation. buckets = n > 0: the permutation is cut into
    pools of n batches, each pool sorted by length and sliced, and the batches shuffled (with the
    same seed), so a batch pads to similar lengths: SST-2's phrases run from 2 to 60 tokens.
    """
    g = torch.Generator().manual_seed(seed * 1000 + epoch)
    order = torch.randperm(len(lengths), generator=g).tolist()
    if not buckets:
        return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    pool = buckets * batch_size
    batches = []
    for i in range(0, len(order), pool):
        chunk = sorted(order[i:i + pool], key=lambda j: lengths[j])  # stable: ties keep the permutation
        batches += [chunk[k:k + batch_size] for k in range(0, len(chunk), batch_size)]
    return [batches[i] for i in torch.randperm(len(batches), generator=g).tolist()]


def polar_mass(attention, input_ids, maskable, polar_ids: torch.Tensor) -> torch.Tensor:
    """Share of the policy pi (attention over maskable tokens) on sentiment-bearing tokens. [B]"""
    pi = obj.policy_log_probs(attention.detach(), maskable).exp()
    return (pi * (torch.isin(input_ids, polar_ids) & maskable)).sum(-1)


def train_step(model, opt, sched, afa: AFA | None, batch, labels, device, grad_clip: float, step: int,
               polar_ids: torch.Tensor | None = None, check: bool = True) -> dict:
    """One update of the target (and, for AFA, of the discriminator after it).

    check: read the stats back to the host (floats) and stop on a non-finite term before the
    update. Without it they stay 0-d tensors on the device and nothing waits for the device; the
    loop checks at every log, checkpoint and epoch end instead (see `train`).
    """
    with autocast(device):
        out = model(batch["input_ids"], batch["attention_mask"])
    L_cls = obj.loss_cls(out.logits, labels)
    if afa is None:
        loss, stats = L_cls, {"L_cls": L_cls.detach()}
        stats["attn_entropy"] = obj.attention_entropy(
            obj.policy_log_probs(out.attention.detach(), batch["maskable"])).mean()
    else:
        with autocast(device):
            loss, stats = afa.objective(L_cls, out.attention, batch["input_ids"], batch["attention_mask"],
                                        batch["maskable"], model=model, continuation=batch.get("continuation"))
    if polar_ids is not None:
        stats["polar_mass"] = polar_mass(out.attention, batch["input_ids"], batch["maskable"], polar_ids).mean()
    if check:
        stats = host_stats(stats, step)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    opt.step()
    if sched is not None:
        sched.step()
    if afa is not None:  # D's loss holds no target parameter: the two updates stay apart
        afa.discriminator_step()
    return stats


def reads_back_every_step(device: str) -> bool:
    """Whether the loop reads every step's stats back (free on CPU, a sync on a GPU)."""
    return torch.device(device).type == "cpu"


def read_back(steps: list[dict]) -> list[dict]:
    """Several steps' stats (0-d device tensors) as floats, in one transfer."""
    if not steps:
        return []
    names = list(steps[0])
    values = torch.stack([torch.stack([torch.as_tensor(d[k], dtype=torch.float32) for k in names])
                          for d in steps]).cpu().tolist()
    return [dict(zip(names, v)) for v in values]


def host_stats(stats: dict, step: int) -> dict:
    """The step's stats as floats (one device sync); a non-finite term stops training, naming it."""
    (values,) = read_back([stats])
    for term, value in values.items():
        if not math.isfinite(value):
            raise FloatingPointError(f"step {step}: loss term {term} is {value}; stopping before it reaches "
                                     "the weights or a checkpoint")
    return values


def build_afa(method: dict, tokenizer, train_ids, max_length: int, device: str, seed: int,
              other_ids=(), mlm=None) -> AFA:
    """AFA for the pipeline. D reads only the ids of `train_ids`, `other_ids` (the validation texts,
    which the probe feeds D), the special ids and the mask id: its embedding keeps those rows alone.
    Masking generator: `mlm`, a G trained already (`afa.generator.load`), or None to train it here."""
    config = AFAConfig.from_dict(method)
    unigram = (unigram_distribution(train_ids, len(tokenizer), tokenizer.all_special_ids)
               if config.masking == "unigram" else None)
    mask_id = models.mask_token_id(tokenizer)
    seen = {i for ids in (*train_ids, *other_ids) for i in ids} | set(tokenizer.all_special_ids) | {mask_id, tokenizer.pad_token_id}
    vocab = torch.tensor(sorted(i for i in seen if i is not None), dtype=torch.long)
    if config.masking != "generator":
        mlm = None
    elif mlm is None:  # G, trained here on the train split (its own seed: the same G for every run)
        from afa.generator import train_mlm

        mlm, stats = train_mlm(config.generator, train_ids, len(tokenizer), max_length, mask_id, tokenizer.pad_token_id,
                               tokenizer.all_special_ids, other_ids, device)
        log.info("generator: %s", {k: round(v, 4) if isinstance(v, float) else v for k, v in stats.items()})
    elif (dataclasses.asdict(mlm.config), mlm.vocab_size, mlm.max_length) != (
            dataclasses.asdict(config.generator), len(tokenizer), max_length):
        raise ValueError(f"the generator given was trained with other settings or for another tokenizer: "
                         f"{dataclasses.asdict(mlm.config)}, vocabulary {mlm.vocab_size}, {mlm.max_length} tokens; "
                         f"this AFA's: {dataclasses.asdict(config.generator)}, {len(tokenizer)}, {max_length}")
    return AFA(config, len(tokenizer), max_length, mask_id, tokenizer.pad_token_id, unigram, seed, vocab,
               tokenizer, mlm=mlm).to(device)


def random_batches(tokenizer, train_ids: list[list[int]], batch_size: int, seed: int, device,
                   continuation: list[list[int]] | None = None):
    """Endless collated batches of `batch_size` train texts drawn with replacement under `seed`: what D
    trains on alone (AFA.warm_up here, afa.evaluation.disc_study's D)."""
    draw = torch.Generator().manual_seed(seed)
    while True:
        pick = torch.randint(len(train_ids), (batch_size,), generator=draw).tolist()
        yield models.collate(tokenizer, [train_ids[i] for i in pick], device,
                             [continuation[i] for i in pick] if continuation is not None else None)


def polar_token_ids(lexicon: Path | None, tokenizer) -> torch.Tensor | None:
    """Ids of the lexicon's words that are one token of this tokenizer (SST word labels), alone or
    after a space: byte-level BPE (SmolLM2) marks a word inside a sentence by its leading space."""
    if lexicon is None:
        return None
    words = json.loads(Path(lexicon).read_text())["polar"]
    ids = set()
    for form in (words, [" " + w for w in words]):
        ids |= {x[0] for x in tokenizer(form, add_special_tokens=False)["input_ids"] if len(x) == 1}
    return torch.tensor(sorted(ids - {tokenizer.unk_token_id}), dtype=torch.long)


# train settings beside TRAIN_DEFAULTS: seeded caps on the prepared splits (afa.data.read_trained_split)
TRAIN_CAPS = ("max_train", "max_validation")
MODEL_KINDS = {"scratch": (), "hf": ("name_or_path",), "llm": ("name_or_path",)}  # kind -> required keys


def check_settings(model_settings: dict, train_settings: dict) -> None:
    """One line naming a misspelt train key or a model setting a kind needs, before any data is read."""
    for where, block in (("train", train_settings), ("model.train", model_settings.get("train") or {})):
        unknown = sorted(set(block) - set(TRAIN_DEFAULTS) - set(TRAIN_CAPS))
        if unknown:
            raise ValueError(f"settings: {where} has unknown key {unknown[0]!r}; known: "
                             f"{', '.join(sorted([*TRAIN_DEFAULTS, *TRAIN_CAPS]))}")
    kind = model_settings.get("kind")
    if kind not in MODEL_KINDS:
        raise ValueError(f"settings: model.kind must be one of {', '.join(MODEL_KINDS)}, got {kind!r}")
    missing = [k for k in MODEL_KINDS[kind] if k not in model_settings]
    if missing:
        raise ValueError(f"settings: a model of kind {kind!r} needs model.{missing[0]}")


def train(data_dir: Path, run_dir: Path, dataset: str, model_settings: dict, train_settings: dict,
          method: dict, seed: int, max_length: int, lexicon: Path | None = None) -> dict:
    """Train one run into `run_dir`, resuming its checkpoint if it has one. The folder is held
    (`afa.io.exclusive`) for the whole run: a second workflow writing the same outdir stops at once."""
    check_settings(model_settings, train_settings)
    cfg = {**TRAIN_DEFAULTS, **train_settings, **model_settings.get("train", {})}
    device = pick_device(cfg["device"], "train.device")  # before the folder is touched or data read
    with exclusive(run_dir, "run"):
        return _train(data_dir, Path(run_dir), dataset, model_settings, cfg, device, method, seed, max_length, lexicon)


def _train(data_dir, run_dir, dataset, model_settings, cfg, device, method, seed, max_length, lexicon) -> dict:
    t0 = time.time()
    set_seed(seed)
    spec = get_spec(dataset)
    train_rows, val_rows = read_trained_split(data_dir, "train", cfg), read_trained_split(data_dir, "validation", cfg)
    tokenizer, model, model_spec = models.build(model_settings, spec.num_labels, max_length,
                                                [r["text"] for r in train_rows])
    model.to(device)
    train_ids = models.encode(tokenizer, [r["text"] for r in train_rows], max_length)
    val_ids = models.encode(tokenizer, [r["text"] for r in val_rows], max_length)
    y_train = torch.tensor([r["label"] for r in train_rows])
    y_val = np.array([r["label"] for r in val_rows])

    afa = (build_afa(method, tokenizer, train_ids, max_length, device, seed, val_ids)
           if method["objective"] == "afa" else None)
    # refill: each text's next K tokens past the cut, for its deleted copies
    train_cont = (models.continuations(tokenizer, [r["text"] for r in train_rows], train_ids, afa.config.K)
                  if afa is not None and afa.config.refill else None)
    polar_ids = polar_token_ids(lexicon, tokenizer)
    if polar_ids is not None:
        polar_ids = polar_ids.to(device)

    lengths = [len(x) for x in train_ids]
    steps_per_epoch = -(-len(train_ids) // cfg["batch_size"])  # buckets too: only the last pool leaves a short batch
    total = steps_per_epoch * cfg["epochs"]
    # fused: one kernel for every tensor. The default per-tensor loop over the 100 k-row GloVe-extended
    # embedding took 46 % of a from-scratch step on CPU (profile: docs/performance.md)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"], fused=True)
    from transformers import get_linear_schedule_with_warmup

    sched = get_linear_schedule_with_warmup(opt, int(cfg["warmup_fraction"] * total), total)
    log.info("run %s: %d train / %d validation examples, device %s, %d parameters, method %s",
             run_dir, len(train_ids), len(val_ids), device, sum(p.numel() for p in model.parameters()), method)

    ckpt = Checkpointer(run_dir, fingerprint(dataset, model_settings, cfg, method, seed, max_length,
                                              sha256(Path(data_dir) / "train.jsonl.gz")))
    loop = {"step": 0, "epoch": 0, "next_batch": 0, "history": [], "best": {"val_acc": -1.0, "epoch": -1},
            "bad_epochs": 0, "running": {}, "dynamics_offset": 0, "done": False}
    best_state = None
    resumed = ckpt.load(model, opt, sched, afa, device)
    if resumed:
        loop, best_state = resumed  # Checkpointer.load has logged where
    resumed_at = loop["step"] if resumed else None
    partial, final = run_dir / "dynamics.jsonl.tmp", run_dir / "dynamics.jsonl"
    if resumed and not partial.exists() and final.exists():
        final.replace(partial)  # killed after publishing its dynamics, before releasing the checkpoint
    if resumed and not partial.exists():
        raise DataError(f"{partial} is missing, so checkpoint {ckpt.root} cannot resume; remove that folder "
                        "to train this run from the start")
    if afa is not None:  # D's warm-up (disc_warmup), before the first step; a resumed run has done it
        w0 = time.time()
        warm = afa.warm_up(random_batches(tokenizer, train_ids, cfg["batch_size"], seed, device, train_cont))
        if warm is not None:
            loop["disc_warmup"] = {**warm, "seconds": round(time.time() - w0, 1)}
            log.info("D warmed up alone: %s", loop["disc_warmup"])
    dynamics = open(partial, "r+" if resumed else "w")
    dynamics.truncate(loop["dynamics_offset"])  # drop lines written after the checkpoint
    dynamics.seek(loop["dynamics_offset"])

    def save_checkpoint(**where):
        dynamics.flush()
        loop.update(where, dynamics_offset=dynamics.tell())
        ckpt.save(loop, model, best_state, opt, sched, afa)

    for epoch in range(loop["epoch"], cfg["epochs"]):
        if loop["done"]:
            break
        model.train()
        batches = batch_order(lengths, cfg["batch_size"], seed, epoch, cfg["length_buckets"])
        running = collections.defaultdict(list, loop["running"] if epoch == loop["epoch"] else {})
        first = loop["next_batch"] if epoch == loop["epoch"] else 0
        unread = []  # stats of steps not yet read back from the device
        # disable=None: no bar when not on a terminal (Slurm, snakemake logs)
        for b in tqdm(range(first, len(batches)), desc=f"epoch {epoch}", leave=False, disable=None):
            chunk = batches[b]
            batch = models.collate(tokenizer, [train_ids[i] for i in chunk], device,
                                   None if train_cont is None else [train_cont[i] for i in chunk])
            labels = y_train[chunk].to(device)
            step = loop["step"] + 1
            # On CPU reading stats back is free: every step is checked before its update. On a GPU
            # that read is a sync, so only steps that log, checkpoint or end the epoch read back; a
            # non-finite step before them has made these non-finite too, so none reaches a checkpoint.
            check = (reads_back_every_step(device) or step % cfg["log_every"] == 0 or step % cfg["checkpoint_every"] == 0
                     or b + 1 == len(batches))
            stats = train_step(model, opt, sched, afa, batch, labels, device, cfg["grad_clip"], loop["step"],
                               polar_ids, check)
            loop["step"] = step
            unread.append(stats)
            if check:  # the unread steps' stats, all in one read (the last is read already)
                for past in read_back(unread[:-1]) + unread[-1:]:
                    for k, v in past.items():
                        running[k].append(v)
                unread = []
            if step % cfg["log_every"] == 0:
                dynamics.write(json.dumps({"step": step, "epoch": epoch, **stats}) + "\n")
            if step % cfg["checkpoint_every"] == 0 and b + 1 < len(batches):
                save_checkpoint(epoch=epoch, next_batch=b + 1, running=dict(running))

        logits, _ = predict(model, tokenizer, val_ids, cfg["eval_batch_size"], device)
        val_acc = float((logits.argmax(-1).numpy() == y_val).mean())
        summary = {"epoch": epoch, "step": loop["step"], "val_acc": val_acc,
                   **{k: float(np.mean(running[k])) for k in sorted(running)}}  # same order after a resume
        loop["history"].append(summary)
        dynamics.write(json.dumps({**summary, "epoch_end": True}) + "\n")
        log.info("epoch %d: %s", epoch, {k: round(v, 4) for k, v in summary.items()})
        if val_acc > loop["best"]["val_acc"]:
            loop["best"], loop["bad_epochs"] = {"val_acc": val_acc, "epoch": epoch}, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            loop["bad_epochs"] += 1
            if loop["bad_epochs"] >= cfg["patience"]:
                log.info("early stop after epoch %d (no gain for %d epochs)", epoch, loop["bad_epochs"])
                loop["done"] = True
        save_checkpoint(epoch=epoch + 1, next_batch=0, running={})

    # Publishing: the run's files, the dynamics, then train_metrics.json (the mark of a finished run),
    # and only then the checkpoint is released. A kill at any point before that resumes from the
    # last checkpoint, whose loop is done, and publishes the same files again.
    best, history, step = loop["best"], loop["history"], loop["step"]
    model.load_state_dict(best_state)
    models.save(run_dir, model, tokenizer, model_spec)
    if afa is not None:
        afa.save_pretrained(run_dir)
        failpoint("afa saved")
    dynamics.close()
    partial.replace(final)
    failpoint("dynamics published")
    metrics = {"dataset": dataset, "seed": seed, "method": method, "model": model_settings,
               "train": cfg, "max_length": max_length, "device": device, "best_epoch": best["epoch"],
               "val_acc": best["val_acc"], "history": history, "steps": step,
               "n_train": len(train_ids), "n_validation": len(val_ids), "wall_s": round(time.time() - t0, 1),
               "resumed_at_step": resumed_at, **({"disc_warmup": loop["disc_warmup"]} if "disc_warmup" in loop else {})}
    write_result(run_dir / "train_metrics.json", metrics)
    ckpt.remove()  # the run is complete; its final outputs supersede the checkpoint
    return metrics
