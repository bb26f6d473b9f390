"""The evaluations, registered once. Each reads a trained run folder and writes a tidy result file.

An evaluation's name is its module (``afa/evaluation/<name>.py``), its command (``afa <name>``),
its rule (``evaluate_<name>`` in workflow/rules/) and its settings block (``<name>:`` in the
config). The command line is built from this table without importing the modules, so ``afa``
starts fast; adding an evaluation is its module, one entry here, and its rule.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Evaluation:
    name: str
    help: str
    outputs: tuple[tuple[str, str], ...] = ()  # files written besides --out: (flag, help)
    inputs: tuple[tuple[str, str], ...] = ()   # files or folders read besides --run and --data
    settings: str = ""                         # what --settings holds (empty: the evaluation takes none)
    call: Callable = None                      # (module, args) -> None: how the command calls the module

    def run(self, args) -> None:
        self.call(importlib.import_module(f"afa.evaluation.{self.name}"), args)


EVALUATIONS: dict[str, Evaluation] = {e.name: e for e in [
    Evaluation("accuracy", "accuracy and macro-F1 on the report split",
               outputs=(("--predictions", "per-example predictions (CSV)"),),
               call=lambda m, a: m.evaluate(a.run, a.data, a.out, a.predictions, device=a.device, meta=a.meta)),
    Evaluation("deletion", "token deletion by attention vs random (faithfulness)",
               outputs=(("--table", "per-level CSV"),), settings="levels, random_draws, mode, seed, max_examples",
               call=lambda m, a: m.evaluate(a.run, a.data, a.out, a.table, a.settings, a.meta, a.device)),
    Evaluation("alignment", "rationale alignment of the attention row (plausibility); --data is a prepared "
               "rationale dataset (eraser_movies, sst_phrases), the run may come from any dataset",
               outputs=(("--examples", "per-example scores (.jsonl.gz)"),),
               inputs=(("--train-data", "the prepared dataset the run was trained on (its one-word train "
                                        "phrases are left out of the unseen_* scores)"),),
               settings="sst_rule, truncated, iou_threshold, chance_draws, chance_seed",
               call=lambda m, a: m.evaluate(a.run, a.data, a.out, a.examples, a.settings, a.meta, a.device,
                                            a.train_data)),
    Evaluation("probe", "mechanism probe: does each reward prefer masking sentiment-bearing tokens (validation split)",
               outputs=(("--examples", "per-example masks and rewards (.jsonl.gz)"),),
               inputs=(("--lexicon", "polar / neutral words (JSON of `afa lexicon`)"),
                       ("--resources", "the NLTK data folder of prepare-attack-resources (POS tagger)")),
               settings="n, K, seed, masking_for_baseline, batch_size, bootstrap_resamples, bootstrap_seed",
               call=lambda m, a: m.evaluate(a.run, a.data, a.lexicon, a.resources, a.out, a.examples, a.settings,
                                            a.meta, a.device)),
    Evaluation("robustness", "TextAttack attacks on n report-split examples",
               outputs=(("--table", "per-example results (CSV)"),),
               inputs=(("--resources", "the NLTK data folder of prepare-attack-resources"),),
               settings="recipes, n, sample, seed, query_budget, model_batch_size, textfooler",
               call=lambda m, a: m.evaluate(a.run, a.data, a.out, a.table, a.settings, a.meta, a.device,
                                            resources=a.resources)),
]}
