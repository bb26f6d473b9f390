"""The evaluations, registered once. Each reads a trained run folder and writes a tidy result file.

An evaluation's name is its module (``afa/evaluation/<name>.py``), its command (``afa <name>``),
its rule (``evaluate_<name>``) and its settings block (``<name>:`` in the config). Its settings are
one dataclass (``afa/evaluation/options.py``), from which this table derives the check of a settings
dict, the command's ``--settings`` help and the config schema's block (``afa.config_check``); its
per-example values are read by its module's ``values(file, metric)`` (``Evaluation.values``, which
every notebook uses). The command line is built from this table without importing the modules, so
``afa`` starts fast. An evaluation of one trained run gets its Snakemake rule from this table too
(``rule_outputs``, ``data``, ``split``, ``inputs``, ``extra``, ``threads``;
workflow/rules/evaluate.smk): adding one is its module, its settings class and one entry here. The
discriminator study, whose cells are not runs, has its rule written out (workflow/rules/discriminator.smk).
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass
from typing import Callable

from afa.evaluation import options


@dataclass(frozen=True)
class Evaluation:
    name: str
    help: str
    outputs: tuple[tuple[str, str], ...] = ()  # files written besides --out: (flag, help)
    inputs: tuple[tuple[str, str], ...] = ()   # files or folders read besides --run and --data
    optional: tuple[tuple[str, str], ...] = ()  # files or folders read when given (flag, help)
    settings: type | None = None               # its settings dataclass (afa.evaluation.options); None: takes none
    ignore: tuple[str, ...] = ()               # keys of its config block that select runs, not settings
    call: Callable = None                      # (module, args) -> None: how the command calls the module
    # The file name endings of `outputs` (after seed{seed}) in the rule this table writes; None: the
    # evaluation's rule is written by hand.
    rule_outputs: tuple[str, ...] | None = None
    # what --data is: "run", the run's own dataset; "rationales", a rationale dataset that names the
    # result's folder (eval/<name>/<rationales>/<dataset>/...), scored with runs trained on any dataset
    data: str = "run"
    split: str = "test"                        # the split of --data it reads
    extra: str | None = None                   # the pip extra its module needs beyond the library's
    threads: str | None = None                 # its key in the config's `threads` block; None: one thread
    values: bool = False                       # its module has `values(file, metric)`: per-example values
    # its config block is its settings (plus the `ignore` keys), generated into the schema; False: a
    # design block the schema writes out by hand (disc_study's variants and maskings make its settings)
    block: bool = True

    def __post_init__(self):
        if self.rule_outputs is not None and len(self.rule_outputs) != len(self.outputs):
            raise ValueError(f"evaluation {self.name!r}: rule_outputs needs one file ending per entry of outputs")
        if self.data not in ("run", "rationales") or self.split not in ("train", "validation", "test"):
            raise ValueError(f"evaluation {self.name!r}: data must be run or rationales, split train, validation or test")

    def run(self, args) -> None:
        """Run it from the command line's parsed `args`."""
        self.call(self.module(), args)

    def module(self):
        """Its module, `afa.evaluation.<name>` (imported on first use: torch and friends)."""
        return importlib.import_module(f"afa.evaluation.{self.name}")

    def check(self, settings: dict | None) -> dict:
        """`settings` (the config block) over the defaults, each value checked: one line naming the option."""
        return read_settings(self.settings, self.name, settings, self.ignore)

    def defaults(self) -> dict:
        """Its settings' defaults, as a dict."""
        return dataclasses.asdict(self.settings()) if self.settings else {}

    def settings_help(self) -> str:
        """`--settings`' help: each option with its default."""
        return "JSON of the config block `%s`: %s" % (self.name, "; ".join(
            f"{f.name} ({v!r})" for f, v in zip(dataclasses.fields(self.settings), self.defaults().values())))

    def schema(self) -> dict:
        """The settings' JSON schema: the config block's settings properties (afa.config_check)."""
        from afa.settings import json_schema

        return json_schema(self.settings)

    def read_values(self, file: str, metric: str):
        """The per-example `metric` of a result file (a pandas Series indexed by example id)."""
        return self.module().values(file, metric)


def read_settings(cls, name: str, settings: dict | None, ignore=()) -> dict:
    """`settings` over the defaults of the settings class `cls`, `ignore`d keys dropped (run selection
    the workflow reads); an unknown key names the config block and the known keys, a bad value the
    option and what it must be (a misspelt option would otherwise be ignored, silently)."""
    from afa.settings import check

    given = settings_with_defaults(name, dataclasses.asdict(cls()), settings, ignore)
    obj = cls(**given)
    check(obj, name)
    return dataclasses.asdict(obj)


def settings_with_defaults(name: str, defaults: dict, settings: dict | None, ignore=()) -> dict:
    """An evaluation's `settings` over plain `defaults` (the library API's, afa.evaluate); an unknown key
    is one line naming the config block and the known keys."""
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
    """The probe's command-line call (the discriminator study's too)."""
    module.evaluate(a.run, a.data, a.lexicon, a.resources, a.out, a.examples, a.settings, a.meta, a.device)


EVALUATIONS: dict[str, Evaluation] = {e.name: e for e in [
    Evaluation("accuracy", "accuracy and macro-F1 on the report split",
               outputs=(("--predictions", "per-example predictions (CSV)"),),
               call=lambda m, a: m.evaluate(a.run, a.data, a.out, a.predictions, device=a.device, meta=a.meta),
               rule_outputs=(".predictions.csv",), values=True),
    Evaluation("deletion", "token deletion by attention vs random (faithfulness)",
               outputs=(("--table", "per-level CSV"),), settings=options.Deletion, values=True,
               call=lambda m, a: m.evaluate(a.run, a.data, a.out, a.table, a.settings, a.meta, a.device),
               rule_outputs=(".csv",)),
    Evaluation("alignment", "rationale alignment of the attention row (plausibility); --data is a prepared "
               "rationale dataset (eraser_movies, sst_phrases), the run may come from any dataset",
               outputs=(("--examples", "per-example scores (.jsonl.gz)"),),
               inputs=(("--train-data", "the prepared dataset the run was trained on (its one-word train "
                                        "phrases are left out of the unseen_* scores)"),),
               settings=options.Alignment, ignore=("pairs",), values=True,
               call=lambda m, a: m.evaluate(a.run, a.data, a.out, a.examples, a.settings, a.meta, a.device,
                                            a.train_data),
               rule_outputs=(".examples.jsonl.gz",), data="rationales"),
    Evaluation("probe", "mechanism probe: does each reward prefer masking sentiment-bearing tokens (validation split)",
               **PROBE_FILES,
               settings=options.Probe, ignore=("datasets", "seeds"),
               call=probe_call, rule_outputs=(".examples.jsonl.gz",), split="validation", extra="robustness"),
    Evaluation("disc_study", "the discriminator study: train a D alone on masked copies of the train split "
               "(uniform or the run's attention), then probe it on validation; --run is a trained baseline",
               **PROBE_FILES,
               optional=(("--generator", "masking generator: G's folder (`afa train-generator`; "
                                         "without it the job trains the same G itself)"),),
               settings=options.DiscStudy, block=False,
               call=lambda m, a: m.evaluate(a.run, a.data, a.lexicon, a.resources, a.out, a.examples, a.settings,
                                            a.meta, a.device, generator=a.generator)),
    Evaluation("robustness", "TextAttack attacks on n report-split examples",
               outputs=(("--table", "per-example results (CSV)"),),
               inputs=(("--resources", "the NLTK data folder of prepare-attack-resources"),),
               settings=options.Robustness, ignore=("datasets", "methods", "models"), values=True,
               call=lambda m, a: m.evaluate(a.run, a.data, a.out, a.table, a.settings, a.meta, a.device,
                                            resources=a.resources),
               rule_outputs=(".csv",), extra="robustness", threads="robustness"),
]}
