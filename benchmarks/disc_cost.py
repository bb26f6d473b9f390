"""Seconds per D update of each discriminator variant, relative to the claims grid's D, in one process.

What the discriminator study (config/disc_study.yaml) pays per cell and step: AFA's D side (the
reward pass over originals and M copies, the masking, D's update), for each variant of a config's
`disc_study.variants`, at each text length (SST-2's 64 tokens, IMDB's 256). Texts are drawn from
GloVe's most frequent words (a word-level tokenizer over them, as the scratch models'), all of full
length, so this is the cost at the longest texts. Variants are interleaved (v1, v2, ..., v1, v2, ...)
so that drift in machine load hits all alike; one line per variant and length: the median seconds
per update and the ratio to the first variant. Multiply by the study's steps for a cell's training
cost (its probe adds a fixed cost per cell).

    python benchmarks/disc_cost.py --config config/disc_study.yaml --lengths 64 256 --steps 5
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import yaml

from afa import models
from afa.evaluation.disc_study import afa_settings
from afa.evaluation.options import DiscStudy
from afa.train import build_afa


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="config/disc_study.yaml", help="an overlay with a disc_study block")
    p.add_argument("--lengths", type=int, nargs="+", default=[64, 256])
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--masking", default="delete")
    p.add_argument("--steps", type=int, default=5, help="timed updates per variant and length (after one warm-up)")
    p.add_argument("--vocab", type=int, default=5000, help="GloVe words in the tokenizer")
    p.add_argument("--variants", nargs="*", help="only these variants of the config")
    p.add_argument("--generator", action="store_true",
                   help="also masking generator's G: seconds per G update (disc_study.generator's settings), "
                        "which a generator cell pays `generator.steps` times before D's first update")
    args = p.parse_args()
    torch.set_num_threads(1)
    variants = yaml.safe_load(open(args.config))["disc_study"]["variants"]
    variants = {k: v for k, v in variants.items() if not args.variants or k in args.variants}
    words = models.glove_words()[:args.vocab]
    tokenizer = models.build_word_tokenizer([" ".join(words)], args.vocab + 10, 1, max(args.lengths))
    g = torch.Generator().manual_seed(0)
    print(f"seconds per D update, batch {args.batch_size}, masking {args.masking}, {args.steps} updates each, one thread")
    for T in args.lengths:
        ids = [[tokenizer.cls_token_id] + torch.randint(5, len(tokenizer), (T - 2,), generator=g).tolist()
               + [tokenizer.sep_token_id] for _ in range(args.batch_size)]
        batch = models.collate(tokenizer, ids, "cpu")
        A = batch["attention_mask"].float()
        afas = {}
        for name, disc in variants.items():
            s = {**{f: getattr(DiscStudy(), f) for f in ("K", "eps", "refill", "policy", "generator")}, "masking": args.masking,
                 "disc": disc}
            afas[name] = build_afa(afa_settings(s), tokenizer, ids, T, "cpu", 0)
        times = {name: [] for name in afas}
        for step in range(args.steps + 1):
            for name, afa in afas.items():
                start = time.perf_counter()
                afa(A, batch["input_ids"], batch["attention_mask"], batch["maskable"])
                afa.discriminator_step()
                if step:  # the first is a warm-up
                    times[name].append(time.perf_counter() - start)
        if args.generator:
            times["G update"] = generator_seconds(args, tokenizer, ids, T)
        first = statistics.median(next(iter(times.values())))
        for name, t in times.items():
            m = statistics.median(t)
            print(f"T={T:4d} {name:10s} {m:7.3f} s/update   x{m / first:5.1f} of {next(iter(times))}")


def generator_seconds(args, tokenizer, ids, T) -> list[float]:
    """Seconds per update of G on `ids` (each a timed train_mlm of a few updates, less its first)."""
    from afa.generator import train_mlm
    from afa.settings import GeneratorConfig

    block = yaml.safe_load(open(args.config))["disc_study"].get("generator") or {}
    out = []
    for _ in range(args.steps):
        config = GeneratorConfig(**{**block, "steps": 2, "batch_size": args.batch_size})
        start = time.perf_counter()
        train_mlm(GeneratorConfig(**{**block, "steps": 1, "batch_size": args.batch_size}), ids, len(tokenizer), T,
                  models.mask_token_id(tokenizer), tokenizer.pad_token_id, tokenizer.all_special_ids)
        one = time.perf_counter() - start
        start = time.perf_counter()
        train_mlm(config, ids, len(tokenizer), T, models.mask_token_id(tokenizer), tokenizer.pad_token_id,
                  tokenizer.all_special_ids)
        out.append(time.perf_counter() - start - one)  # the second update: set-up cost taken out
    return out


if __name__ == "__main__":
    main()
