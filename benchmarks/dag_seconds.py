"""Where a DAG's seconds go: the job-seconds of one results folder, per rule, from snakemake's `benchmark:` files.

Every rule writes `<outdir>/benchmarks/<rule>/<wildcards>.tsv` (one row: the job's wall seconds `s`,
peak memory, CPU time). This sums them per rule, so the README's sample-DAG figure can be read as
"which stage and how much of it is start-up". `--imports` also times, in fresh interpreters, the
imports every evaluation and training job pays before its first line of work (median of 3).

    python benchmarks/dag_seconds.py results/sample --imports
"""

from __future__ import annotations

import argparse
import csv
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

# What `afa accuracy` (the shortest job) imports on a scratch run: torch via afa.inference,
# scikit-learn for its metrics, transformers' tokenizer class. A MiniLM or LLM run loads through
# AutoTokenizer, whose import adds transformers' model registry and generation utilities (and with
# them torch._dynamo and scikit-learn); scratch runs did the same until models.load named the class.
# Per evaluation job, its imports as a scratch run has them now and through AutoTokenizer (as before).
# A deletion job needs no scikit-learn of its own, so for it AutoTokenizer's share is the larger.
TOKENIZER_IMPORTS = {job: (f"import afa.evaluation.{job}; from transformers import PreTrainedTokenizerFast",
                           f"import afa.evaluation.{job}; from transformers import AutoTokenizer")
                     for job in ("accuracy", "deletion")}
JOB_IMPORTS = TOKENIZER_IMPORTS["accuracy"][0]


def job_seconds(outdir: Path) -> dict[str, list[float]]:
    per_rule: dict[str, list[float]] = defaultdict(list)
    root = outdir / "benchmarks"
    for f in sorted(root.rglob("*.tsv")):
        with f.open() as fh:
            rows = list(csv.DictReader(fh, delimiter="\t"))
        if rows:
            rule = f.relative_to(root).parts[0].removesuffix(".tsv")
            per_rule[rule].append(float(rows[0]["s"]))
    return per_rule


def import_seconds(statement: str, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], check=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir", type=Path, help="a results folder (the config's outdir)")
    ap.add_argument("--imports", action="store_true", help="also time one job's imports")
    args = ap.parse_args(argv)
    per_rule = job_seconds(args.outdir)
    if not per_rule:
        sys.exit(f"{args.outdir}/benchmarks: no benchmark files (run the DAG first)")
    total = sum(map(sum, per_rule.values()))
    jobs = sum(map(len, per_rule.values()))
    print(f"{args.outdir}: {jobs} jobs, {total:.1f} job-seconds")
    print("| rule | jobs | seconds | share | median job |")
    print("|---|---|---|---|---|")
    for rule, s in sorted(per_rule.items(), key=lambda kv: -sum(kv[1])):
        print(f"| {rule} | {len(s)} | {sum(s):.1f} | {100 * sum(s) / total:.0f} % | {statistics.median(s):.1f} |")
    if args.imports:
        # each pair interleaved, so load drift hits both
        seconds = {job: (import_seconds(direct), import_seconds(auto)) for job, (direct, auto) in TOKENIZER_IMPORTS.items()}
        t = seconds["accuracy"][0]
        print(f"imports of one job ({JOB_IMPORTS!r}): {t:.2f} s; x {jobs} jobs = {t * jobs:.0f} job-seconds "
              f"({100 * t * jobs / total:.0f} % of the total)")
        for job, (d, a) in seconds.items():
            print(f"imports of one {job} job: {d:.2f} s with the scratch tokenizer's own class, {a:.2f} s through "
                  f"AutoTokenizer ({a / d:.2f}x)")


if __name__ == "__main__":
    main()
