"""The evaluations, registered once. Each reads a trained run folder and writes a tidy result file.

An evaluation's name is its module (``afa/evaluation/<name>.py``), its command (``afa <name>``),
its rule (``evaluate_<name>``) and its settings block (``<name>:`` in the config). The command
line is built from this table without importing the modules, so ``afa`` starts fast. An
evaluation that reads a trained run and its report split and nothing else gets its rule from this
table too (``rule_outputs``; workflow/rules/evaluate.smk): adding one is its module and one entry
here. One that reads more (a rationale dataset, a lexicon, NLTK data) has its rule written in
workflow/rules/.
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
    # The file name endings of `outputs` (after seed{seed}) in the rule this table writes; None: the
    # evaluation's rule is written by hand.
    rule_outputs: tuple[str, ...] | None = None

    def __post_init__(self):
        if self.rule_outputs is not None and len(self.rule_outputs) != len(self.outputs):
            raise ValueError(f"evaluation {self.name!r}: rule_outputs needs one file ending per entry of outputs")

    def run(self, args) -> None:
        self.call(importlib.import_module(f"afa.evaluation.{self.name}"), args)


def settings_with_defaults(name: str, defaults: dict, settings: dict | None, ignore=()) -> dict:
    """An evaluation's `settings` over its `defaults`, `ignore`d keys dropped (run selection the
    workflow reads); an unknown key is one line naming the config block and the known keys (a
    misspelt option would otherwise be ignored, silently)."""
    given = {k: v for k, v in (settings or {}).items() if k not in ignore}
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ValueError(f"unknown {name} setting {unknown[0]!r} (config: {name}); known: {', '.join(sorted(defaults))}")
    return {**defaults, **given}


# the probe's files and call, shared by the discriminator study (a probe of a D it trains itself)
PROBE_FILES = {"outputs": (("--examples", "per-example masks and rewards (.jsonl.gz)"),),
               "inputs": (("--lexicon", "polar / neutral words (JSON of `afa lexicon`)"),
                          ("--resources", "the NLTK data folder of prepare-attack-resources (POS tagger)"))}


def probe_call(module, a) -> None:
    module.evaluate(a.run, a.data, a.lexicon, a.resources, a.out, a.examples, a.settings, a.meta, a.device)


EVALUATIONS: dict[str, Evaluation] = {e.name: e for e in [
    Evaluation("accuracy", "accuracy and macro-F1 on the report split",
               outputs=(("--predictions", "per-example predictions (CSV)"),),
               call=lambda m, a: m.evaluate(a.run, a.data, a.out, a.predictions, device=a.device, meta=a.meta),
               rule_outputs=(".predictions.csv",)),
    Evaluation("deletion", "token deletion by attention vs random (faithfulness)",
               outputs=(("--table", "per-level CSV"),), settings="levels, random_draws, mode, seed, max_examples",
               call=lambda m, a: m.evaluate(a.run, a.data, a.out, a.table, a.settings, a.meta, a.device),
               rule_outputs=(".csv",)),
    Evaluation("alignment", "rationale alignment of the attention row (plausibility); --data is a prepared "
               "rationale dataset (eraser_movies, sst_phrases), the run may come from any dataset",
               outputs=(("--examples", "per-example scores (.jsonl.gz)"),),
               inputs=(("--train-data", "the prepared dataset the run was trained on (its one-word train "
                                        "phrases are left out of the unseen_* scores)"),),
               settings="sst_rule, truncated, iou_threshold, chance_draws, chance_seed",
               call=lambda m, a: m.evaluate(a.run, a.data, a.out, a.examples, a.settings, a.meta, a.device,
                                            a.train_data)),
    Evaluation("probe", "mechanism probe: does each reward prefer masking sentiment-bearing tokens (validation split)",
               **PROBE_FILES,
               settings="n, K, seed, masking_for_baseline, batch_size, bootstrap_resamples, bootstrap_seed",
               call=probe_call),
    Evaluation("disc_study", "the discriminator study: train a D alone on masked copies of the train split "
               "(uniform or the run's attention), then probe it on validation; --run is a trained baseline",
               **PROBE_FILES,
               settings="disc, masking, refill, policy, K, eps, steps, batch_size, seed, max_train, window, probe",
               call=probe_call),
    Evaluation("robustness", "TextAttack attacks on n report-split examples",
               outputs=(("--table", "per-example results (CSV)"),),
               inputs=(("--resources", "the NLTK data folder of prepare-attack-resources"),),
               settings="recipes, n, sample, seed, query_budget, model_batch_size, textfooler",
               call=lambda m, a: m.evaluate(a.run, a.data, a.out, a.table, a.settings, a.meta, a.device,
                                            resources=a.resources)),
]}
