"""Training: the baseline (L_cls alone) or AFA (L_cls + lambda * L_adv, discriminator alternating).

AdamW with linear warm-up and decay, early stopping on validation accuracy, the best epoch's
weights saved as safetensors. Training dynamics go to ``dynamics.jsonl`` every `log_every` steps
and at each epoch's end; the summary to ``train_metrics.json``, written last (it marks a run done).
"""

from __future__ import annotations

import collections
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
from afa.data import get_spec, read_prepared
from afa.discriminator import Discriminator, loss_disc
from afa.inference import autocast, pick_device, predict
from afa.io import sha256, write_json

log = logging.getLogger("afa.train")

TRAIN_DEFAULTS = {"epochs": 3, "batch_size": 32, "lr": 1e-3, "weight_decay": 0.01, "warmup_fraction": 0.1,
                  "patience": 2, "grad_clip": 1.0, "log_every": 50, "device": "auto", "eval_batch_size": 128,
                  "checkpoint_every": 500}
AFA_DEFAULTS = {"K": 3, "eps": 0.1, "lambda": 0.5, "M": 4, "reward": "detect", "selection": "sample",
                "masking": "replace", "disc_steps": 1, "collapse_window": 200,
                "disc": {"d_model": 128, "layers": 1, "heads": 4, "d_ff": 512, "dropout": 0.1, "lr": 1e-3}}


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class AFA:
    """Holds the discriminator and its optimizer; `loss` computes L for one batch and trains D."""

    def __init__(self, cfg: dict, tokenizer, max_length: int, device: str, seed: int):
        self.cfg = cfg
        d = cfg["disc"]
        self.D = Discriminator(len(tokenizer), max_length, d["d_model"], d["layers"], d["heads"],
                               d["d_ff"], d["dropout"]).to(device)
        self.opt_D = torch.optim.AdamW(self.D.parameters(), lr=d["lr"])
        self.mask_id, self.pad_id = models.mask_token_id(tokenizer), tokenizer.pad_token_id
        self.gen = torch.Generator(device=device).manual_seed(seed)
        self.D_acc = collections.deque(maxlen=cfg["collapse_window"])
        self.warned_at = -cfg["collapse_window"]

    def loss(self, out, batch, L_cls, step: int):
        c = self.cfg
        B = batch["input_ids"].shape[0]
        log_pi = obj.policy_log_probs(out.attention, batch["maskable"])
        idx, valid, explored = obj.sample_masks(log_pi, batch["maskable"], c["K"], c["M"], c["eps"],
                                                c["selection"] == "topk", self.gen)
        X_masked, att_masked = obj.apply_masks(batch["input_ids"], batch["attention_mask"], idx, valid,
                                               self.mask_id, self.pad_id, c["masking"])
        # Rewards for all M copies from one no-grad pass in eval mode (no dropout noise in r);
        # D then trains on the originals and the first copy of each: a balanced 1:1 set.
        self.D.eval()
        with torch.no_grad():
            r = obj.reward(torch.sigmoid(self.D(X_masked, att_masked)).view(B, c["M"]), c["reward"])
        self.D.train()
        first = torch.arange(B, device=X_masked.device) * c["M"]
        X_first, att_first = X_masked[first], att_masked[first]
        logit_orig, logit_masked = self.D(batch["input_ids"], batch["attention_mask"]), self.D(X_first, att_first)
        L_adv, b = obj.loss_adv(r, obj.plackett_luce_log_prob(log_pi, idx, valid))
        self.masked = (batch, X_first, att_first)  # for extra discriminator steps
        acc = 0.5 * ((logit_orig < 0).float().mean() + (logit_masked > 0).float().mean()).item()
        self.D_acc.append(acc)
        self.check_collapse(step)
        stats = {"L_adv": L_adv.item(), "reward": r.mean().item(), "disc_acc": acc,
                 "attn_entropy": obj.attention_entropy(log_pi.detach()).item(),
                 "explore_rate": explored.float().mean().item()}
        return L_cls + c["lambda"] * L_adv, loss_disc(logit_orig, logit_masked), stats

    def update_D(self, L_D, device):
        """The discriminator's `disc_steps` updates after each target step (1:1 by default)."""
        batch, X_masked, att_masked = self.masked
        for i in range(self.cfg["disc_steps"]):
            if i > 0:
                with autocast(device):
                    L_D = loss_disc(self.D(batch["input_ids"], batch["attention_mask"]), self.D(X_masked, att_masked))
            self.opt_D.zero_grad(set_to_none=True)
            L_D.backward()
            self.opt_D.step()

    def check_collapse(self, step: int):
        """Warn when D sits near chance (no signal) or near perfect (saturated reward) for a window."""
        w = self.D_acc
        if len(w) < w.maxlen or step - self.warned_at < w.maxlen:
            return
        mean = sum(w) / len(w)
        if mean < 0.55 or mean > 0.98:
            kind = "near chance: the reward carries no signal" if mean < 0.55 else "near 100 %: the reward saturates"
            log.warning("step %d: discriminator accuracy %.3f over the last %d steps is %s", step, mean, len(w), kind)
            self.warned_at = step


def train_step(model, opt, sched, afa: AFA | None, batch, labels, device, grad_clip: float, step: int) -> dict:
    """One update of the target (and, for AFA, of the discriminator after it)."""
    with autocast(device):
        out = model(batch["input_ids"], batch["attention_mask"])
    L_cls = obj.loss_cls(out.logits, labels)
    stats = {"L_cls": L_cls.item()}
    if afa is None:
        loss = L_cls
        stats["attn_entropy"] = obj.attention_entropy(
            obj.policy_log_probs(out.attention.detach(), batch["maskable"])).item()
    else:
        with autocast(device):
            loss, L_D, more = afa.loss(out, batch, L_cls, step)
        stats.update(more)
    for term, value in stats.items():
        if not math.isfinite(value):
            raise FloatingPointError(f"step {step}: loss term {term} is {value}; stopping before it reaches the weights")
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    opt.step()
    if sched is not None:
        sched.step()
    if afa is not None:  # L_D's graph holds no target parameter: the two updates stay apart
        afa.update_D(L_D, device)
    return stats


def train(data_dir: Path, run_dir: Path, dataset: str, model_settings: dict, train_settings: dict,
          method: dict, seed: int, max_length: int) -> dict:
    t0 = time.time()
    cfg = {**TRAIN_DEFAULTS, **train_settings, **model_settings.get("train", {})}
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    set_seed(seed)
    device = pick_device(cfg["device"])
    spec = get_spec(dataset)
    train_rows, val_rows = read_prepared(data_dir, "train"), read_prepared(data_dir, "validation")
    tokenizer, model, model_spec = models.build(model_settings, spec.num_labels, max_length,
                                                [r["text"] for r in train_rows])
    model.to(device)
    train_ids = models.encode(tokenizer, [r["text"] for r in train_rows], max_length)
    val_ids = models.encode(tokenizer, [r["text"] for r in val_rows], max_length)
    y_train = torch.tensor([r["label"] for r in train_rows])
    y_val = np.array([r["label"] for r in val_rows])

    afa = None
    if method["objective"] == "afa":
        afa_cfg = {**AFA_DEFAULTS, **{k: v for k, v in method.items() if k != "objective"}}
        afa_cfg["disc"] = {**AFA_DEFAULTS["disc"], **method.get("disc", {})}
        afa = AFA(afa_cfg, tokenizer, max_length, device, seed)

    steps_per_epoch = -(-len(train_ids) // cfg["batch_size"])
    total = steps_per_epoch * cfg["epochs"]
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
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
    dynamics = open(run_dir / "dynamics.jsonl.tmp", "r+" if resumed else "w")
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
        order = torch.randperm(len(train_ids), generator=torch.Generator().manual_seed(seed * 1000 + epoch))
        running = collections.defaultdict(list, loop["running"] if epoch == loop["epoch"] else {})
        starts = list(range(0, len(order), cfg["batch_size"]))
        first = loop["next_batch"] if epoch == loop["epoch"] else 0
        # disable=None: no bar when not on a terminal (Slurm, snakemake logs)
        for b in tqdm(range(first, len(starts)), desc=f"epoch {epoch}", leave=False, disable=None):
            chunk = order[starts[b]:starts[b] + cfg["batch_size"]].tolist()
            batch = models.collate(tokenizer, [train_ids[i] for i in chunk], device)
            labels = y_train[chunk].to(device)
            stats = train_step(model, opt, sched, afa, batch, labels, device, cfg["grad_clip"], loop["step"])
            loop["step"] += 1
            for k, v in stats.items():
                running[k].append(v)
            if loop["step"] % cfg["log_every"] == 0:
                dynamics.write(json.dumps({"step": loop["step"], "epoch": epoch, **stats}) + "\n")
            if loop["step"] % cfg["checkpoint_every"] == 0 and b + 1 < len(starts):
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

    best, history, step = loop["best"], loop["history"], loop["step"]
    model.load_state_dict(best_state)
    models.save(run_dir, model, tokenizer, model_spec)
    if afa is not None:
        from safetensors.torch import save_model

        save_model(afa.D, str(run_dir / "discriminator.safetensors"))
    dynamics.close()
    (run_dir / "dynamics.jsonl.tmp").replace(run_dir / "dynamics.jsonl")
    metrics = {"dataset": dataset, "seed": seed, "method": method, "model": model_settings,
               "train": cfg, "max_length": max_length, "device": device, "best_epoch": best["epoch"],
               "val_acc": best["val_acc"], "history": history, "steps": step,
               "n_train": len(train_ids), "n_validation": len(val_ids), "wall_s": round(time.time() - t0, 1),
               "resumed_at_step": resumed_at}
    write_json(run_dir / "train_metrics.json", metrics)
    ckpt.remove()  # the run is complete; its final outputs supersede the checkpoint
    return metrics
