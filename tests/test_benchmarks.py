"""The benchmarks run and print their ratios (smoke test: tiny settings; no timing is asserted)."""

import os
import re
import subprocess
import sys

import pytest

SMALL = ["--config", "config/config.yaml"]   # the sample's small from-scratch model


@pytest.mark.parametrize("script, args, expected", [
    ("step_cost.py", ["--steps", "1", "--masking", "delete", "unigram", "--reward", "detect", "confidence_drop",
                      "--vs-full-vocab"],
     r"masking=unigram\s+reward=confidence_drop .* ratio \d+\.\d\d"),
    ("train_throughput.py", ["--steps", "2", "--round", "1", "--method", "afa"],
     r"ratio pipeline / minimal: \d+\.\d\d"),
    ("cost_growth.py", ["--models", "scratch", "--lengths", "16", "32", "--steps", "1"],
     r"\| scratch \| 32 \| [\d.]+ \| [\d.]+ \| [\d.]+ \|"),
])
def test_benchmark_prints_its_figures(script, args, expected):
    out = subprocess.run([sys.executable, f"benchmarks/{script}", *SMALL, *args], capture_output=True, text=True,
                         timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert re.search(expected, out.stdout), out.stdout
    if script == "step_cost.py":   # one line per masking x reward
        assert len(re.findall(r"^masking=", out.stdout, re.M)) == 4
        # the interleaved 'before' arm, for the two rewards that have a D
        assert len(re.findall(r"D over every id \(\d+ rows\): AFA .* ratio \d+\.\d\d", out.stdout)) == 2
