"""Robustness to adversarial word and character edits (TextAttack 0.3.11), on n report-split examples.

Per recipe (``afa.evaluation.attacks``: deepwordbug, pwws, pruthi, textfooler_offline), each of the
n examples ends in one of TextAttack's three states:
  - skipped: the model already gets it wrong (no attack needed);
  - failed: the model gets it right and no allowed edit within the query budget flips it;
  - succeeded: an allowed edit flips it.
Summary per recipe (TextAttack's own definitions):
  - clean accuracy = (succeeded + failed) / n;  accuracy under attack = failed / n;
  - attack success rate = succeeded / (succeeded + failed), over originally correct examples;
  - mean fraction of words perturbed: over succeeded attacks, words changed / words of the input
    (TextAttack's word split);
  - mean queries: model queries per attacked (succeeded or failed) example.
Every example is attacked under its own seed (``seed`` + its position), so a result does not depend
on the other examples or recipes. The query budget caps model calls per example; an attack that
runs out of budget fails.
"""

from __future__ import annotations

import csv
import logging
import random
import time
from pathlib import Path

import numpy as np
import torch

from afa.evaluation.attack_settings import RECIPES, check_settings  # noqa: F401  (RECIPES: the public list)
from afa.io import atomic_path, write_result

log = logging.getLogger(__name__)

CSV_FIELDS = ["recipe", "id", "label", "status", "original_output", "perturbed_output", "queries",
              "words", "words_perturbed", "original_text", "perturbed_text"]


def pick_examples(rows: list[dict], n: int, sample: str, seed: int) -> list[dict]:
    """The first n rows of the report split, or a seeded draw of n (in split order)."""
    if sample == "first" or n >= len(rows):
        return rows[:n]
    keep = sorted(random.Random(seed).sample(range(len(rows)), n))
    return [rows[i] for i in keep]


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def attack_examples(attack, recipe: str, examples: list[dict], seed: int) -> list[dict]:
    """One record per example: TextAttack's result in plain fields."""
    from textattack.attack_results import FailedAttackResult, SkippedAttackResult, SuccessfulAttackResult

    records = []
    for i, ex in enumerate(examples):
        seed_everything(seed + i)
        result = attack.attack(ex["text"], int(ex["label"]))
        original = result.original_result.attacked_text
        perturbed = result.perturbed_result.attacked_text
        if isinstance(result, SkippedAttackResult):
            status = "skipped"
        elif isinstance(result, SuccessfulAttackResult):
            status = "succeeded"
        elif isinstance(result, FailedAttackResult):
            status = "failed"
        else:
            raise RuntimeError(f"unexpected TextAttack result {type(result).__name__}")
        records.append({"recipe": recipe, "id": ex["id"], "label": int(ex["label"]), "status": status,
                        "original_output": int(result.original_result.output),
                        "perturbed_output": int(result.perturbed_result.output),
                        "queries": int(result.num_queries), "words": len(original.words),
                        "words_perturbed": len(original.all_words_diff(perturbed)) if status == "succeeded" else 0,
                        "original_text": original.text, "perturbed_text": perturbed.text})
    return records


def summarise(records: list[dict]) -> dict:
    """Summary metrics of one recipe's records (definitions in the module docstring)."""
    n = len(records)
    count = {s: sum(r["status"] == s for r in records) for s in ("skipped", "failed", "succeeded")}
    attacked = [r for r in records if r["status"] != "skipped"]
    won = [r for r in records if r["status"] == "succeeded"]
    return {
        "n": n, **count,
        "clean_accuracy": len(attacked) / n if n else float("nan"),
        "accuracy_under_attack": count["failed"] / n if n else float("nan"),
        "attack_success_rate": count["succeeded"] / len(attacked) if attacked else float("nan"),
        "mean_words_perturbed": float(np.mean([r["words_perturbed"] / r["words"] for r in won])) if won else float("nan"),
        "mean_queries": float(np.mean([r["queries"] for r in attacked])) if attacked else float("nan"),
    }


def run_attacks(wrapper, examples: list[dict], settings: dict, device: str = "cpu") -> tuple[dict, list[dict]]:
    """({recipe: summary}, per-example records) for every recipe of `settings`."""
    from afa.evaluation.attacks import build_attack

    s = check_settings(settings)
    summaries, records = {}, []
    for recipe in s["recipes"]:
        t0 = time.perf_counter()
        attack = build_attack(recipe, wrapper, s["textfooler"], s["query_budget"], s["model_batch_size"], device)
        recs = attack_examples(attack, recipe, examples, s["seed"])
        summaries[recipe] = {**summarise(recs), "wall_s": round(time.perf_counter() - t0, 2)}
        log.info("%s: %s", recipe, summaries[recipe])
        records += recs
    return summaries, records


def write_csv(path, records: list[dict]) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=CSV_FIELDS)
            w.writeheader()
            w.writerows(records)


def evaluate(run_dir: Path, data_dir: Path, out_json: Path, out_csv: Path, settings: dict | None = None,
             meta: dict | None = None, device: str = "auto", resources: Path | None = None) -> dict:
    """Attack n report-split examples of a trained run with each recipe; write the JSON and CSV.

    `resources` is the NLTK data folder of ``afa prepare-attack-resources`` (else NLTK_DATA is used).
    """
    s = check_settings(settings)
    if resources is not None:
        from afa.resources.nltk_data import use_resources

        use_resources(resources)
    from afa.evaluation.attacks import AFAModelWrapper
    from afa.inference import open_run

    tokenizer, model, spec, rows, device = open_run(run_dir, data_dir, "test", device)
    examples = pick_examples(rows, s["n"], s["sample"], s["seed"])
    wrapper = AFAModelWrapper(model, tokenizer, spec["max_length"], batch_size=s["model_batch_size"], device=device)
    summaries, records = run_attacks(wrapper, examples, s, device)
    result = {**(meta or {}), "n": len(examples), "recipes": summaries, "settings": s}
    write_csv(out_csv, records)
    write_result(out_json, result)
    return result


def values(file: str, recipe: str | None = None):
    """Per recipe, 1 where the example is still classified right after the attack (TextAttack's
    `failed`: accuracy under attack; `skipped`, wrong before, and `succeeded`, flipped, are 0), from the
    .csv beside a result JSON: {recipe: Series by example id}, or that of `recipe` alone."""
    import pandas as pd

    rows = pd.read_csv(file.replace(".json", ".csv"), dtype={"id": str}, usecols=["recipe", "id", "status"])
    out = {r: (g.status == "failed").astype(float).set_axis(g.id) for r, g in rows.groupby("recipe")}
    return out if recipe is None else out[recipe]
