"""Training throughput: the pipeline's loop body against a minimal PyTorch loop, in one process.

Every loop trains the same model on the same batches (a seeded permutation of the train split)
and threads; they take turns in rounds of `--round` steps, so machine load hits each alike.
Printed: examples per second of each loop and the pipeline / minimal ratio (our target: >= 0.9).

  pipeline            afa.train's per-batch work: models.collate from token-id lists (padding to
                      the batch's longest), train_step (stats, finiteness checks), fused AdamW
  pipeline, buckets   the same with `length_buckets` (train.length_buckets in the config)
  minimal             pre-padded tensors, forward, cross-entropy (+ lambda L_adv from `AFA` called
                      directly, and D's step, with --method afa), backward, clip, AdamW (defaults)
  minimal, fused      the same with AdamW(fused=True)

    python benchmarks/train_throughput.py --config config/paper.yaml --model scratch \
        --data results/studies/signal/data/sst2 --steps 60
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
import yaml

from afa import models
from afa.data import load_split, read_prepared, sample_root
from afa.train import batch_order, build_afa, train_step


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="config/paper.yaml", help="model_settings and train come from here")
    p.add_argument("--model", default="scratch")
    p.add_argument("--method", choices=["baseline", "afa"], default="baseline")
    p.add_argument("--dataset", default="sst2")
    p.add_argument("--data", help="a prepared dataset folder (default: the embedded sample)")
    p.add_argument("--max-length", type=int, default=64)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--buckets", type=int, default=20, help="pool size (batches) of the bucketed loop")
    p.add_argument("--steps", type=int, default=60, help="timed steps per loop")
    p.add_argument("--round", type=int, default=10, help="steps per turn")
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    cfg = yaml.safe_load(open(a.config))
    settings = cfg["model_settings"][a.model]
    batch_size = a.batch_size or settings.get("train", {}).get("batch_size") or cfg["train"]["batch_size"]

    rows = read_prepared(a.data, "train") if a.data else load_split(sample_root(), a.dataset, "train")
    texts, y = [r["text"] for r in rows], torch.tensor([r["label"] for r in rows])
    tok, model, _ = models.build(settings, int(y.max()) + 1, a.max_length, texts)
    ids = models.encode(tok, texts, a.max_length)
    lengths = [len(x) for x in ids]
    afa = (build_afa(cfg["method_settings"]["afa"], tok, ids, a.max_length, "cpu", 0) if a.method == "afa" else None)
    model.train()

    need = a.steps + a.round  # one warm-up round

    def epochs(buckets=0):
        """Batches of as many epochs as `need` steps take (the sample has fewer batches than that)."""
        out, epoch = [], 0
        while len(out) < need:
            out += batch_order(lengths, batch_size, 1, epoch, buckets)
            epoch += 1
        return out[:need]

    plain = epochs()
    loops = {"pipeline": plain, f"pipeline, buckets {a.buckets}": epochs(a.buckets),
             "minimal": plain, "minimal, fused": plain}
    opts = {name: torch.optim.AdamW(model.parameters(), lr=1e-5, fused=name != "minimal") for name in loops}
    padded = {name: [models.collate(tok, [ids[i] for i in b], "cpu") for b in batches[:need]]
              for name, batches in loops.items() if name.startswith("minimal")}

    def step(name, k):
        batch_idx = loops[name][k]
        labels = y[batch_idx]
        if name.startswith("pipeline"):
            batch = models.collate(tok, [ids[i] for i in batch_idx], "cpu")
            train_step(model, opts[name], None, afa, batch, labels, "cpu", 1.0, k)
            return
        b = padded[name][k]
        out = model(b["input_ids"], b["attention_mask"])
        loss = F.cross_entropy(out.logits, labels)
        if afa is not None:  # the library's AFA called directly, as in afa.method's docstring
            L_adv, _ = afa(out.attention, b["input_ids"], b["attention_mask"], b["maskable"])
            loss = loss + afa.config.lambda_ * L_adv
        opts[name].zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opts[name].step()
        if afa is not None:
            afa.discriminator_step()

    seconds, examples = dict.fromkeys(loops, 0.0), dict.fromkeys(loops, 0)
    for start in range(0, need, a.round):
        for name in loops:
            t = time.perf_counter()
            for k in range(start, start + a.round):
                step(name, k)
            if start:  # the first round warms up
                seconds[name] += time.perf_counter() - t
                examples[name] += sum(len(loops[name][k]) for k in range(start, start + a.round))

    rate = {name: examples[name] / seconds[name] for name in loops}
    print(f"model={a.model} method={a.method} data={a.data or 'sample'} batch={batch_size} threads={a.threads} "
          f"steps={a.steps} parameters={sum(p.numel() for p in model.parameters())}")
    for name in loops:
        print(f"  {name:24s} {rate[name]:8.1f} examples/s")
    print(f"ratio pipeline / minimal: {rate['pipeline'] / rate['minimal']:.2f}   "
          f"pipeline / minimal, fused: {rate['pipeline'] / rate['minimal, fused']:.2f}   "
          f"buckets / pipeline: {rate[f'pipeline, buckets {a.buckets}'] / rate['pipeline']:.2f}")


if __name__ == "__main__":
    main()
