"""Seconds per 1,000 training examples against sequence length, baseline and AFA, for planning.

Every batch holds `--batch-size` sequences of exactly L tokens (the model's start token, then
random non-special ids), so the figure is the cost of L-token examples; the pipeline's batches pad
to their longest example (with `length_buckets`, to about their own length). Baseline and AFA
steps of one model and length are interleaved in one process; the median step is scaled to 1,000
examples. Prints a Markdown table (the README's "Cost growth" table comes from it).

    python benchmarks/cost_growth.py --models scratch minilm --lengths 64 128 256 512 --steps 5

`--profile N` also prints, per model and length, torch.profiler's N costliest operators (self CPU
time) over `--steps` steps of each method: where the AFA / baseline ratio comes from.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import yaml

from afa import models
from afa.data import load_split, sample_root
from afa.train import build_afa, train_step


def synthetic(tok, n: int, L: int, g: torch.Generator) -> list[list[int]]:
    start = tok("x")["input_ids"][:1]  # [CLS] for our tokenizers and MiniLM
    special = set(tok.all_special_ids)
    pool = torch.tensor([i for i in range(min(len(tok), 30000)) if i not in special])
    return [start + pool[torch.randint(len(pool), (L - 1,), generator=g)].tolist() for _ in range(n)]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="config/paper.yaml")
    p.add_argument("--models", nargs="+", default=["scratch", "minilm"])
    p.add_argument("--lengths", nargs="+", type=int, default=[64, 128, 256, 512])
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--steps", type=int, default=5, help="timed steps per method, after one warm-up")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--profile", type=int, metavar="N", help="print the N costliest operators of each method")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    cfg = yaml.safe_load(open(a.config))
    texts = [r["text"] for r in load_split(sample_root(), "sst2", "train")]
    g = torch.Generator().manual_seed(0)

    print(f"threads={a.threads} batch={a.batch_size} steps={a.steps}; seconds per 1,000 training examples\n")
    print("| model | tokens | baseline | AFA | AFA / baseline | AFA, D fused | fused / baseline |")
    print("|---|---|---|---|---|---|---|")
    for name in a.models:
        for L in a.lengths:
            tok, model, _ = models.build(cfg["model_settings"][name], 2, max(a.lengths), texts)
            model.train()
            ids = synthetic(tok, a.batch_size, L, g)
            batch = models.collate(tok, ids, "cpu")
            labels = torch.randint(2, (a.batch_size,), generator=g)
            method = cfg["method_settings"]["afa"]
            arms = {"baseline": None,
                    "afa": build_afa(method, tok, ids, max(a.lengths), "cpu", seed=0),
                    "fused": build_afa({**method, "disc": {**method.get("disc", {}), "attention": "fused"}},
                                       tok, ids, max(a.lengths), "cpu", seed=0)}
            opt = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=True)
            times = {m: [] for m in arms}
            for s in range(a.steps + 1):
                for method, adversary in arms.items():
                    t = time.perf_counter()
                    train_step(model, opt, None, adversary, batch, labels, "cpu", 1.0, s)
                    if s:
                        times[method].append(time.perf_counter() - t)
            per_k = {m: 1000 / a.batch_size * statistics.median(v) for m, v in times.items()}
            print(f"| {name} | {L} | {per_k['baseline']:.1f} | {per_k['afa']:.1f} | "
                  f"{per_k['afa'] / per_k['baseline']:.2f} | {per_k['fused']:.1f} | "
                  f"{per_k['fused'] / per_k['baseline']:.2f} |", flush=True)
            if a.profile:
                from torch.profiler import ProfilerActivity, profile

                for method, adversary in arms.items():
                    with profile(activities=[ProfilerActivity.CPU]) as prof:
                        for s in range(a.steps):
                            train_step(model, opt, None, adversary, batch, labels, "cpu", 1.0, s)
                    print(f"\n{name}, {L} tokens, {method}, {a.steps} steps:")
                    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=a.profile))


if __name__ == "__main__":
    main()
