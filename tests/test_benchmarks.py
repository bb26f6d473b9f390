"""The benchmarks run and print their ratios (smoke test: tiny settings; no timing is asserted)."""

import os
import re
import subprocess
import sys

import pytest

SMALL = ["--config", "config/config.yaml"]   # the sample's small from-scratch model


@pytest.mark.parametrize("script, args, expected", [
    ("step_cost.py", ["--steps", "1", "--masking", "delete", "unigram", "--reward", "detect", "confidence_drop",
                      "--vs-full-vocab", "--disc-attention", "eager", "fused"],
     r"masking=unigram\s+reward=confidence_drop .* ratio \d+\.\d\d"),
    ("train_throughput.py", ["--steps", "2", "--round", "1", "--method", "afa"],
     r"ratio pipeline / minimal: \d+\.\d\d"),
    # more steps than the sample has batches (38 of 32): the loops run into a second epoch
    ("train_throughput.py", ["--steps", "45", "--round", "5"], r"ratio pipeline / minimal: \d+\.\d\d"),
    ("disc_cost.py", ["--lengths", "16", "--steps", "1", "--batch-size", "4", "--vocab", "200"],
     r"T=\s+16 d64\s+[\d.]+ s/update\s+x\s*1\.0 of d64"),
    ("cost_growth.py", ["--models", "scratch", "--lengths", "16", "32", "--steps", "1", "--profile", "3"],
     r"\| scratch \| 32 \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \|"),
])
def test_benchmark_prints_its_figures(script, args, expected):
    out = subprocess.run([sys.executable, f"benchmarks/{script}", *SMALL, *args], capture_output=True, text=True,
                         timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert re.search(expected, out.stdout), out.stdout
    if script == "cost_growth.py":   # --profile: one operator table per length and method
        assert len(re.findall(r"^scratch, \d+ tokens, (baseline|afa|fused), 1 steps:$", out.stdout, re.M)) == 6
    if script == "step_cost.py":   # one line per masking x reward x D's attention
        assert len(re.findall(r"^masking=", out.stdout, re.M)) == 8
        assert len(re.findall(r"^masking=.* fused rows=", out.stdout, re.M)) == 4
        # the interleaved 'before' arm, for the two rewards that have a D
        assert len(re.findall(r"D over every id \(\d+ rows\): AFA .* ratio \d+\.\d\d", out.stdout)) == 4


def test_dag_seconds_sums_a_folders_benchmark_files_per_rule(tmp_path):
    header = "s\th:m:s\tmax_rss\n"
    for rule, name, s in [("train", "a/seed1.tsv", 30.0), ("train", "a/seed2.tsv", 10.0), ("claims.tsv", None, 20.0)]:
        f = tmp_path / "benchmarks" / rule / name if name else tmp_path / "benchmarks" / rule
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(header + f"{s}\t0:00:{int(s)}\t100\n")
    out = subprocess.run([sys.executable, "benchmarks/dag_seconds.py", str(tmp_path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "3 jobs, 60.0 job-seconds" in out.stdout
    assert "| train | 2 | 40.0 | 67 % | 20.0 |" in out.stdout
    assert "| claims | 1 | 20.0 | 33 % | 20.0 |" in out.stdout
    empty = subprocess.run([sys.executable, "benchmarks/dag_seconds.py", str(tmp_path / "none")],
                           capture_output=True, text=True)
    assert empty.returncode != 0 and "no benchmark files" in empty.stderr
