"""Checkpoints that let a killed training run resume to the same result as an unbroken one.

A checkpoint is a folder ``<run>/checkpoint/ckpt-<step>/`` holding the current and best weights
(safetensors), the optimizer, scheduler and RNG states (``torch.save``, read back with
``weights_only=True``: no pickle is ever executed), the loop's own state (JSON) and, written last,
``manifest.json``: each file's size and SHA-256 and the run's fingerprint. ``latest.json`` is then
atomically pointed at the folder, and the checkpoint before it is kept until the next one is
complete. A kill at any moment therefore leaves a whole checkpoint behind.

Loading checks a checkpoint against its manifest before anything is restored: a truncated file, a
flipped bit, garbage JSON or a missing manifest discards that checkpoint with one warning naming
it and why, and the previous checkpoint is tried, then a fresh start. A different fingerprint
(settings, data or training code changed since it was written) discards them all.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
from pathlib import Path

import torch
from safetensors.torch import load, save_file

from afa.io import failpoint, read_json, sha256, write_json

log = logging.getLogger("afa.checkpoint")

# The modules whose code decides what a training step computes: a checkpoint written by other code
# is not resumed (its run would mix two codes). Evaluation and reporting code is left out.
TRAINING_CODE = ("objective.py", "method.py", "discriminator.py", "settings.py", "layers.py", "tokens.py", "models.py",
                 "train.py", "checkpoint.py")


def code_sha() -> str:
    src = Path(__file__).parent
    return hashlib.sha256(b"".join((src / f).read_bytes() for f in TRAINING_CODE)).hexdigest()[:16]


def fingerprint(*parts) -> str:
    """The run's settings and data, and the training code."""
    return hashlib.sha256(json.dumps([parts, code_sha()], sort_keys=True, default=str).encode()).hexdigest()[:16]


def tensors(state_dict: dict) -> dict:
    # safetensors refuses shared storage and non-contiguous views; clone makes each one plain
    return {k: v.detach().contiguous().clone() for k, v in state_dict.items()}


class Corrupt(Exception):
    """A checkpoint that does not verify; the message says why."""


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
        failpoint("checkpoint model")
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
        failpoint("checkpoint states")
        write_json(d / "loop.json", loop)
        files = sorted(p.name for p in d.iterdir() if not p.name.startswith("."))
        write_json(d / "manifest.json", {"fingerprint": self.fp, "files": {
            f: {"bytes": (d / f).stat().st_size, "sha256": sha256(d / f)} for f in files}})
        write_json(self.root / "latest.json", {"dir": d.name})  # the commit point
        keep = {d.name, *self.previous(d)}
        for old in self.root.glob("ckpt-*"):
            if old.name not in keep:
                shutil.rmtree(old, ignore_errors=True)
        failpoint("checkpoint pruned")

    def previous(self, d: Path) -> list[str]:
        """The newest complete checkpoint before `d` (kept as the fallback should `d` go bad)."""
        older = sorted((p for p in self.root.glob("ckpt-*") if p != d and (p / "manifest.json").exists()),
                       key=step_of)
        return [older[-1].name] if older else []

    def candidates(self) -> list[Path]:
        """Checkpoint folders, the one latest.json names first, then the others newest first."""
        dirs = sorted(self.root.glob("ckpt-*"), key=step_of, reverse=True)
        try:
            named = self.root / read_json(self.root / "latest.json")["dir"]
        except FileNotFoundError:
            named = None
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
            log.warning("ignoring %s: not a checkpoint pointer (%s); looking at the checkpoint folders",
                        self.root / "latest.json", e)
            named = None
        return ([named] if named in dirs else []) + [p for p in dirs if p != named]

    def read(self, d: Path, device) -> dict:
        """Every part of checkpoint `d`, verified against its manifest, in memory; Corrupt if any fails."""
        try:
            manifest = read_json(d / "manifest.json")
            if manifest["fingerprint"] != self.fp:
                return {"fingerprint": manifest["fingerprint"]}
            blobs = {}
            for name, want in manifest["files"].items():
                blob = (d / name).read_bytes()
                if len(blob) != want["bytes"] or hashlib.sha256(blob).hexdigest() != want["sha256"]:
                    raise Corrupt(f"{name} is {len(blob)} bytes with another checksum than the "
                                  f"{want['bytes']} bytes written")
                blobs[name] = blob
            on = str(device)
            part = {"fingerprint": self.fp, "loop": json.loads(blobs["loop.json"]),
                    "model": {k: v.to(on) for k, v in load(blobs["model.safetensors"]).items()},
                    "states": torch.load(io.BytesIO(blobs["states.pt"]), weights_only=True, map_location=device)}
            for name in ("best", "afa"):
                if f"{name}.safetensors" in blobs:
                    part[name] = {k: v.to(on) for k, v in load(blobs[f"{name}.safetensors"]).items()}
            return part
        except Corrupt:
            raise
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as e:
            raise Corrupt(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from None

    def load(self, model, opt, sched, afa, device) -> tuple[dict, dict | None] | None:
        """(loop state, best weights) restored into the given objects, or None to start fresh."""
        for d in self.candidates():
            try:
                part = self.read(d, device)
            except Corrupt as e:
                log.warning("discarding checkpoint %s: it does not verify (%s)", d, e)
                shutil.rmtree(d, ignore_errors=True)
                continue
            if part["fingerprint"] != self.fp:
                log.warning("ignoring checkpoint %s: settings, data or training code changed since it was written", d)
                shutil.rmtree(self.root)
                return None
            # everything is read and verified: only now is any object changed
            model.load_state_dict(part["model"])
            states = part["states"]
            opt.load_state_dict(states["opt"])
            sched.load_state_dict(states["sched"])
            torch.set_rng_state(states["rng"].cpu())
            if "cuda_rng" in states:
                torch.cuda.set_rng_state_all([s.cpu() for s in states["cuda_rng"]])
            if afa is not None:
                afa.load_state_dict({**part["afa"], **states["afa_extra"]})
            loop = part["loop"]
            log.info("resuming from %s (step %d, epoch %d, batch %d)", d, loop["step"], loop["epoch"], loop["next_batch"])
            return loop, part.get("best")
        return None

    def remove(self) -> None:
        """Release the checkpoint in one step (a rename), then delete it: a kill in between leaves
        only a folder that `load` never reads."""
        if self.root.exists():
            trash = self.root.with_name(".checkpoint.removed")
            shutil.rmtree(trash, ignore_errors=True)
            os.replace(self.root, trash)
            failpoint("checkpoint released")
            shutil.rmtree(trash, ignore_errors=True)


def step_of(path: Path) -> int:
    try:
        return int(path.name.removeprefix("ckpt-"))
    except ValueError:
        return -1
