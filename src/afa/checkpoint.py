"""Checkpoints that let a killed training run resume to the same result as an unbroken one.

A checkpoint is a folder ``<run>/checkpoint/ckpt-<step>/`` holding the current and best weights
(safetensors), the optimizer, scheduler and RNG states (``torch.save``, read back with
``weights_only=True``: no pickle is ever executed) and the loop's own state (JSON). The folder is
complete before ``latest.json`` is atomically pointed at it, so a kill at any moment leaves either
the old or the new checkpoint, never half of one. A fingerprint of the settings and the data
guards against resuming a run whose configuration has since changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from afa.io import read_json, write_json

log = logging.getLogger("afa.checkpoint")


def fingerprint(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def tensors(state_dict: dict) -> dict:
    # safetensors refuses shared storage and non-contiguous views; clone makes each one plain
    return {k: v.detach().contiguous().clone() for k, v in state_dict.items()}


class Checkpointer:
    def __init__(self, run_dir: Path, fingerprint: str):
        self.root = Path(run_dir) / "checkpoint"
        self.fp = fingerprint

    def save(self, loop: dict, model, best_state, opt, sched, afa) -> None:
        d = self.root / f"ckpt-{loop['step']}"
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
        save_file(tensors(model.state_dict()), str(d / "model.safetensors"))
        if best_state is not None:
            save_file(tensors(best_state), str(d / "best.safetensors"))
        states = {"opt": opt.state_dict(), "sched": sched.state_dict(), "rng": torch.get_rng_state()}
        if torch.cuda.is_available():
            states["cuda_rng"] = torch.cuda.get_rng_state_all()
        if afa is not None:  # a module like the target: its tensors as safetensors, the rest beside
            sd = afa.state_dict()
            save_file(tensors({k: v for k, v in sd.items() if torch.is_tensor(v)}), str(d / "afa.safetensors"))
            states["afa_extra"] = {k: v for k, v in sd.items() if not torch.is_tensor(v)}
        torch.save(states, d / "states.pt")
        write_json(d / "loop.json", {**loop, "fingerprint": self.fp})
        write_json(self.root / "latest.json", {"dir": d.name})  # the commit point
        for old in self.root.glob("ckpt-*"):
            if old != d:
                shutil.rmtree(old, ignore_errors=True)

    def load(self, model, opt, sched, afa, device) -> tuple[dict, dict | None] | None:
        """(loop state, best weights) restored into the given objects, or None to start fresh."""
        pointer = self.root / "latest.json"
        if not pointer.exists():
            return None
        d = self.root / read_json(pointer)["dir"]
        loop = read_json(d / "loop.json")
        if loop.pop("fingerprint") != self.fp:
            log.warning("ignoring checkpoint %s: settings or data changed since it was written", d)
            shutil.rmtree(self.root)
            return None
        model.load_state_dict(load_file(str(d / "model.safetensors"), device=str(device)))
        best = load_file(str(d / "best.safetensors"), device=str(device)) if (d / "best.safetensors").exists() else None
        states = torch.load(d / "states.pt", weights_only=True, map_location=device)
        opt.load_state_dict(states["opt"])
        sched.load_state_dict(states["sched"])
        torch.set_rng_state(states["rng"].cpu())
        if "cuda_rng" in states:
            torch.cuda.set_rng_state_all([s.cpu() for s in states["cuda_rng"]])
        if afa is not None:
            afa.load_state_dict({**load_file(str(d / "afa.safetensors"), device=str(device)), **states["afa_extra"]})
        log.info("resuming from %s (step %d, epoch %d, batch %d)", d, loop["step"], loop["epoch"], loop["next_batch"])
        return loop, best

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
