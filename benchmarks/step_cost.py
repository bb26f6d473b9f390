"""AFA train-step time / baseline train-step time, at equal model and batch, in one process.

Baseline and AFA steps are interleaved (B, A, B, A, ...) so drift in machine load hits both
alike; per configuration (masking x reward) one line: medians and their ratio (our target:
<= 1.15), then where AFA's extra time goes. The model is the config's (`--config`, `--model`),
the AFA settings the config's `afa` method with the options given here replacing its own.
With `--device cuda` each line also gives the FLOP rate and, with `--peak-tflops`, model FLOP
utilisation (FLOPs counted by torch.utils.flop_counter on one step).

    python benchmarks/step_cost.py --model scratch --masking replace delete unigram \
        --reward detect confidence_drop --steps 30
    python benchmarks/step_cost.py --model minilm --steps 20
    python benchmarks/step_cost.py --data ../shared/data --vs-full-vocab   # and D over every id, as before
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time

import torch
import yaml

from afa import models, objective as obj
from afa.data import load_split, sample_root
from afa.method import AFA, eval_logits
from afa.train import build_afa, train_step


def timed(fn, device):
    if device == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    fn()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t


def step_flops(fn) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def pieces(afa, model, b, device) -> dict:
    """The parts of one AFA step beyond the baseline's, each timed alone (median of 10)."""
    B, c = len(b["input_ids"]), afa.config
    with torch.no_grad():
        out = model(b["input_ids"], b["attention_mask"])
    log_pi = obj.policy_log_probs(out.attention, b["maskable"])
    g = afa._generator(device)

    def sample():
        idx, valid, explored = obj.sample_masks(log_pi, b["maskable"], c.K, c.M, c.eps, generator=g)
        obj.mask_log_prob(log_pi, b["maskable"], idx, valid, explored, c.eps, c.explore_scoring)
        return obj.apply_masks(b["input_ids"], b["attention_mask"], idx, valid, afa.mask_id, afa.pad_id,
                               c.masking, afa.unigram, g)

    med = lambda f: statistics.median(timed(f, device) for _ in range(10))
    X, att = sample()
    out = {"masks": med(sample)}
    if afa.D is None:
        out["target reward pass"] = med(lambda: afa._confidence_drop(eval_logits(model), b["input_ids"],
                                                                     b["attention_mask"], X, att, B))
        return out
    out["D reward pass"] = med(lambda: afa._rewards_from_D(b["input_ids"], b["attention_mask"], X, att, B))

    def disc_update():
        afa._for_D = (b["input_ids"], b["attention_mask"], X[::c.M], att[::c.M])
        afa.discriminator_step()
    out["D update"] = med(disc_update)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="config/paper.yaml")
    p.add_argument("--model", default="scratch")
    p.add_argument("--dataset", default="sst2")
    p.add_argument("--data", help="a mirror-layout folder (e.g. ../shared/data; default: the embedded sample); "
                                  "its train split sets the vocabulary, and so the size of D's table")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-length", type=int, default=64)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--masking", nargs="+", default=["delete"], choices=["replace", "delete", "unigram"])
    p.add_argument("--reward", nargs="+", default=["detect"], choices=["detect", "deceive", "confidence_drop"])
    p.add_argument("--M", type=int)
    p.add_argument("--disc-d-model", type=int)
    p.add_argument("--disc-d-ff", type=int)
    p.add_argument("--disc-layers", type=int)
    p.add_argument("--disc-attention", nargs="+", default=["eager"], choices=["eager", "fused"],
                   help="D's attention: eager (T x T probabilities, dropout on them) | fused (one SDPA kernel)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--vs-full-vocab", action="store_true",
                   help="also time, interleaved, AFA whose D has a row for every id of the tokenizer (the 'before')")
    p.add_argument("--unfused", action="store_true", help="the target's AdamW as before the fused kernel (a 'before' figure)")
    p.add_argument("--peak-tflops", type=float, help="the device's peak (e.g. 989 for H100 bf16 dense): prints MFU")
    a = p.parse_args()
    torch.manual_seed(0)
    cfg = yaml.safe_load(open(a.config))

    rows = load_split(a.data or sample_root(), a.dataset, "train")
    texts = [r["text"] for r in rows]
    tok, model, _ = models.build(cfg["model_settings"][a.model], 2, a.max_length, texts)
    model.to(a.device)
    ids = models.encode(tok, texts, a.max_length)
    # fixed batches of the same examples for both methods
    batches = [models.collate(tok, ids[i:i + a.batch_size], a.device) for i in range(0, 8 * a.batch_size, a.batch_size)]
    labels = torch.tensor([r["label"] for r in rows[:a.batch_size]], device=a.device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=not a.unfused)  # fused as afa.train
    print(f"model={a.model} ({sum(p.numel() for p in model.parameters())} parameters) device={a.device} "
          f"threads={torch.get_num_threads()} batch={a.batch_size} max_length={a.max_length} steps={a.steps}")

    for masking, reward, attention in itertools.product(a.masking, a.reward, a.disc_attention):
        method = {**cfg["method_settings"]["afa"], "masking": masking, "reward": reward}
        method["disc"] = {**method.get("disc", {}), "attention": attention}
        for key, value in (("M", a.M),):
            if value is not None:
                method[key] = value
        for key, value in (("d_model", a.disc_d_model), ("d_ff", a.disc_d_ff), ("layers", a.disc_layers)):
            if value is not None:
                method["disc"][key] = value
        afa = build_afa(method, tok, ids, a.max_length, a.device, seed=0)
        arms = {"baseline": None, "AFA": afa}
        if a.vs_full_vocab and afa.D is not None:  # D with a row for every id of the tokenizer, as before it kept the data's ids only
            arms["AFA, D over every id"] = AFA(afa.config, afa.vocab_size, afa.max_length, afa.mask_id, afa.pad_id,
                                               afa.unigram if afa.unigram.numel() else None, 0).to(a.device)
        run = lambda s, arm: train_step(model, opt, None, arm, batches[s % len(batches)],
                                        labels[:len(batches[s % len(batches)]["input_ids"])], a.device, 1.0, s)
        times = {name: [] for name in arms}
        for s in range(a.steps + 3):  # 3 warm-up rounds
            for name, arm in arms.items():
                t = timed(lambda: run(s, arm), a.device)
                if s >= 3:
                    times[name].append(t)
        base, full = statistics.median(times["baseline"]), statistics.median(times["AFA"])
        d = method["disc"]
        line = (f"masking={masking:8s} reward={reward:15s} M={method['M']} disc={d.get('layers')}x{d.get('d_model')}"
                f"/{d.get('d_ff')} {attention} rows={afa.D.encoder.tok.num_embeddings if afa.D is not None else 0}  baseline {1000 * base:6.1f} ms  AFA {1000 * full:6.1f} ms  ratio {full / base:.2f}")
        if a.device == "cuda":
            flops = step_flops(lambda: run(0, True))
            line += f"  {flops / full / 1e12:.1f} TFLOP/s"
            if a.peak_tflops:
                line += f"  MFU {100 * flops / full / 1e12 / a.peak_tflops:.1f} %"
        print(line)
        if "AFA, D over every id" in times:
            other = statistics.median(times["AFA, D over every id"])
            print(f"    D over every id ({arms['AFA, D over every id'].D.encoder.tok.num_embeddings} rows): AFA "
                  f"{1000 * other:6.1f} ms  ratio {other / base:.2f}  (the data's ids: {full / other:.2f} of its time)")
        extra = max(full - base, 1e-9)
        print("    extra {:.1f} ms: ".format(1000 * (full - base)) + ", ".join(
            f"{k} {1000 * v:.1f} ms ({100 * v / extra:.0f} %)" for k, v in pieces(afa, model, batches[0], a.device).items()))


if __name__ == "__main__":
    main()
