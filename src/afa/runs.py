"""Which runs a configuration makes, and which table reads which of their evaluations: the run table.

A run is one trained model, (dataset, model, method, seed). A configuration makes three kinds:

- *grid* runs: the global `models`, `methods` and `seeds`, narrowed by `per_dataset`, then by a
  model's own `per_model` lists, a method's seeds by `per_method`;
- *ablation* runs: `ablations.methods` (or a dataset's `ablations.per_dataset` list) on
  `ablations.datasets` and `ablations.models`, read only by the ablations and claims tables;
- *control* runs: the baseline at `claims.control_seeds` (the A/A control), read only by the claims table.

`RunTable(config)` checks every name the configuration selects runs with (one line naming the key,
before any job), expands the runs once, resolves each run's training settings once, and says, per
report page, which runs' files of each evaluation it reads (`read`). The workflow's rules take their
inputs from it and nothing else; `<outdir>/runs.tsv` (`tsv`) is the same table for a reader.

Layer: pipeline (beside afa.data); imports nothing of the report layer, nor pandas.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from afa.evaluation.options import DiscStudy

BASELINE = "baseline"
# The abstract's accuracy claims: SST-2 dev, IMDB test, AG News test (the A/A control's datasets by default).
ACCURACY_DATASETS = ("sst2", "imdb", "agnews")
# config `claims` (config/schema.yaml documents each key)
CLAIMS_DEFAULTS = {"live": "afa", "paper_literal": "afa_paper", "extra_columns": {}, "contrasts": {}, "controls": [],
                   "control_seeds": [], "control_datasets": None,
                   "control_models": None, "same_objective": [], "not_testable": {}, "column_not_testable": {}, "primary": [],
                   "recipe_chosen_on": {}, "min_effect": {"accuracy": 0.005, "auprc": 0.01, "comprehensiveness": 0.01,
                                                          "attack_accuracy": 0.01}}
# the evaluations a page may read of a run (`train`: the run's own train_metrics.json; `disc_study`:
# the discriminator study's cells that the run, a baseline, gives their tokenizer and target)
EVALUATIONS = ("accuracy", "deletion", "alignment", "robustness", "probe", "train", "disc_study")
STUDY_DEFAULTS = asdict(DiscStudy())  # a cell's settings where the disc_study block sets none
# the report pages, in the order `rule all` and the front page list them (the claims first)
PAGES = ("claims", "main_table", "deletion_curves", "rationale_table", "attention_heatmaps", "signal_health",
         "robustness_table", "probe_table", "ablations", "discriminator")


@dataclass(frozen=True)
class Run:
    dataset: str
    model: str
    method: str
    seed: int
    rationales: str | None = None  # alignment: the rationale dataset this run's model is scored on

    def fields(self) -> dict:
        """The wildcards of the run's file patterns."""
        out = {"dataset": self.dataset, "model": self.model, "method": self.method, "seed": self.seed}
        return out | ({"rationales": self.rationales} if self.rationales else {})


@dataclass(frozen=True)
class StudyCell:
    """One result of the discriminator study: a D variant trained under one masking and policy, at one
    seed, on the tokenizer (and attention row) of the baseline run `baseline`."""
    dataset: str
    model: str
    variant: str
    masking: str
    policy: str
    seed: int
    baseline_seed: int

    @property
    def baseline(self) -> Run:
        return Run(self.dataset, self.model, BASELINE, self.baseline_seed)

    def fields(self) -> dict:
        """The wildcards of the cell's file patterns (`seed`: D's; `baseline_seed`: the run's)."""
        return {"dataset": self.dataset, "model": self.model, "variant": self.variant, "masking": self.masking,
                "policy": self.policy, "seed": self.seed, "baseline_seed": self.baseline_seed}


# --- settings, patched per dataset -------------------------------------------------------------------

def _flat(settings: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in settings.items():
        out.update(_flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {prefix + k: v})
    return out


def patched(settings: dict, patch: dict) -> dict:
    """`settings` with `patch` applied key by key, nested blocks too ({"disc": {"attention": "fused"}}
    changes that key of `disc` and keeps the others); neither argument is changed."""
    out = dict(settings)
    for k, v in patch.items():
        out[k] = patched(out.get(k) or {}, v) if isinstance(v, dict) else v
    return out


def run_method_settings(method_settings: dict, method_overrides: dict | None, dataset: str, method: str) -> dict:
    """The settings a method trains with on a dataset: config `method_settings.<method>`, patched by
    `method_overrides.<dataset>.<method>` (the train rule's and the claims table's check)."""
    return patched(method_settings[method], ((method_overrides or {}).get(dataset) or {}).get(method) or {})


def sweep_variants(method_settings: dict, base: str, key: str) -> dict:
    """method -> its value of `key` (dotted for a nested block: "disc.layers"), for `base` and every
    method whose settings equal base's in everything but that key: one swept hyper-parameter."""
    if base not in method_settings:
        return {}
    flat = {name: _flat(s) for name, s in method_settings.items()}
    rest = {k: v for k, v in flat[base].items() if k != key}
    return {name: f.get(key) for name, f in flat.items() if {k: v for k, v in f.items() if k != key} == rest}


def k_variants(method_settings: dict, live: str) -> dict[str, int]:
    """method -> K, for the live method and every method whose settings equal its own but for K."""
    return sweep_variants(method_settings, live, "K")


def claims_settings(config: dict) -> dict:
    """config `claims` over its defaults (min_effect key by key; a null mapping is an empty one, so an
    overlay can clear the extra columns that a config before it named)."""
    out = {**CLAIMS_DEFAULTS, **(config.get("claims") or {})}
    for key in ("extra_columns", "contrasts", "column_not_testable"):
        out[key] = out[key] or {}
    out["controls"] = out["controls"] or []
    out["min_effect"] = {**CLAIMS_DEFAULTS["min_effect"], **(config.get("claims") or {}).get("min_effect", {})}
    return out


def _unknown(where: str, name: str, table: str, config: dict) -> ValueError:
    return ValueError(f"config: {where} {name!r}, which {table} does not define (defined: {', '.join(config[table])})")


class RunTable:
    """The runs of one configuration (a workflow's merged, schema-checked `config`), and who reads them."""

    def __init__(self, config: dict):
        self.config = config
        # the folder a model's `name_or_path: resource:llm` stands for (rule prepare_llm_weights unpacks it)
        self.llm_weights = f"{config['outdir']}/resources/llm"
        self.claims = claims_settings(config)
        self._check_names()
        self._check_claims()
        pairs = (config.get("alignment") or {}).get("pairs", [])
        # the pairs whose models this configuration trains (`trained_on` among `datasets`)
        self.alignment_pairs = [p for p in pairs if p["trained_on"] in config["datasets"]]
        # datasets that are trained on, or only scored (rationale datasets), or give a lexicon
        self.datasets = sorted(set(config["datasets"]) | {p["rationales"] for p in self.alignment_pairs}
                               | {self.lexicon(ds) for ds in config["datasets"] if self.lexicon(ds)})

    # --- the three kinds of run -------------------------------------------------------------------

    def per_model(self, model: str) -> dict:
        """A model's own entry of `per_model` (its methods, seeds, train threads, max_length), or {}."""
        return (self.config.get("per_model") or {}).get(model) or {}

    def per_method(self, method: str) -> dict:
        """A method's own entry of `per_method` (its seeds, its train_overrides per dataset), or {}."""
        return (self.config.get("per_method") or {}).get(method) or {}

    def grid(self, dataset: str) -> list[tuple[str, str, int]]:
        """(model, method, seed) runs of a dataset: the global lists, narrowed by per_dataset, then by
        the model's own per_model lists (an LLM in an overlay of small models runs fewer of them), and a
        method's seeds by per_method (an ablation's 3 seeds beside the claims' 5)."""
        c = self.config
        narrow = c.get("per_dataset", {}).get(dataset, {})
        out = []
        for model in narrow.get("models") or c["models"]:
            # the narrowest list that is set wins; a null list (an overlay resetting config.yaml's
            # narrowing) is the next wider one
            methods = self.per_model(model).get("methods") or narrow.get("methods") or c["methods"]
            seeds = self.per_model(model).get("seeds") or narrow.get("seeds") or c["seeds"]
            out += [(model, meth, s) for meth in methods for s in self.per_method(meth).get("seeds") or seeds]
        return out

    def ablation(self, dataset: str) -> list[tuple[str, str, int]]:
        """(model, method, seed) runs of `ablations.methods` (or the dataset's own ablations.per_dataset
        list) on a dataset (of ablations.datasets and ablations.models; null: all)."""
        a = self.config.get("ablations") or {}
        methods = (a.get("per_dataset") or {}).get(dataset) or a.get("methods")
        if not methods or (a.get("datasets") is not None and dataset not in a["datasets"]):
            return []
        narrow = self.config.get("per_dataset", {}).get(dataset, {})
        seeds = narrow.get("seeds") or self.config["seeds"]
        return [(m, meth, s) for m in narrow.get("models") or self.config["models"]
                if a.get("models") is None or m in a["models"]
                for meth in methods for s in self.per_method(meth).get("seeds") or seeds]

    def control_datasets(self) -> list[str]:
        """Datasets whose baseline also trains claims.control_seeds (null: the accuracy claims' datasets)."""
        wanted = self.claims["control_datasets"]
        return [d for d in self.config["datasets"] if d in (ACCURACY_DATASETS if wanted is None else wanted)]

    def control(self, datasets: list[str] | None = None, rationales: str | None = None) -> list[Run]:
        """The A/A control's own runs: the baseline at claims.control_seeds, for every model (of
        claims.control_models; null: all) that trains a baseline on a control dataset (of `datasets`
        only, if given). No other method trains them."""
        wanted = self.claims["control_models"]
        return [Run(ds, m, BASELINE, s, rationales)
                for ds in self.control_datasets() if datasets is None or ds in datasets
                for m in dict.fromkeys(m for m, meth, _ in self.grid(ds) if meth == BASELINE)
                if wanted is None or m in wanted for s in self.claims["control_seeds"]]

    def select(self, datasets: list[str] | None = None, methods=None, models=None, ablations: bool = False,
               seeds: dict | None = None, rationales: str | None = None) -> list[Run]:
        """The grid runs (with the ablation runs when `ablations`) of `datasets` (None: every dataset
        trained on), of `methods` and `models` only when given, and of the seeds `seeds` names for a
        dataset (dataset -> seeds) when it names the dataset; each run once, in configuration order."""
        return list(dict.fromkeys(
            Run(ds, m, meth, s, rationales)
            for ds in (self.config["datasets"] if datasets is None else datasets)
            for m, meth, s in self.grid(ds) + (self.ablation(ds) if ablations else [])
            if (methods is None or meth in methods) and (models is None or m in models)
            and s in (seeds or {}).get(ds, [s])))

    def aligned(self, select) -> list[Run]:
        """`select(datasets, rationales)` for every alignment pair: the runs each rationale dataset scores."""
        return [r for p in self.alignment_pairs for r in select([p["trained_on"]], p["rationales"])]

    # --- the blocks that narrow an evaluation to some runs ------------------------------------------

    def lexicon(self, dataset: str) -> str | None:
        """The dataset whose SST word labels give `dataset` its polar words (config `lexicons`), or None."""
        return (self.config.get("lexicons") or {}).get(dataset)

    def robustness_runs(self) -> list[Run]:
        """The runs of the datasets, methods and models the robustness block selects (null: all)."""
        block = self.config.get("robustness") or {}
        if not block:
            return []
        wanted = block.get("datasets")
        datasets = [d for d in self.config["datasets"] if wanted is None or d in wanted]
        return self.select(datasets, methods=block.get("methods"), models=block.get("models")) if datasets else []

    def probe_runs(self) -> list[Run]:
        """The runs of every dataset with a lexicon, among `probe.datasets` (null: all of them), of the
        seeds `probe.seeds` names for the dataset (none named: every seed)."""
        block = self.config.get("probe") or {}
        if not block:
            return []
        wanted = block.get("datasets")
        datasets = [d for d in self.config["datasets"] if self.lexicon(d) and (wanted is None or d in wanted)]
        return self.select(datasets, seeds=block.get("seeds")) if datasets else []

    def disc_study(self) -> list[StudyCell]:
        """The discriminator study's cells: every dataset with a lexicon (of `disc_study.datasets`;
        null: all) x variant x masking (a dataset's own lists in disc_study.per_dataset, if any) x
        policy x seed; the cells `disc_study.confirm.cells` names (those the screen let through,
        afa.evaluation.disc_study.meets_bar) also at the confirmation's new seeds."""
        block = self.config.get("disc_study") or {}
        if not block:
            return []
        wanted = block.get("datasets")
        datasets = [d for d in self.config["datasets"] if self.lexicon(d) and (wanted is None or d in wanted)]
        model, base = block.get("model", "scratch"), block.get("baseline_seed", 1)
        narrow = lambda ds, key: self.disc_study_own(ds).get(key) or list(block[key])  # noqa: E731
        confirm = block.get("confirm") or {}
        seeds = lambda *name: list(block["seeds"]) + (  # noqa: E731
            list(confirm.get("seeds") or []) if "/".join(name) in (confirm.get("cells") or []) else [])
        return [StudyCell(ds, model, v, m, p, seed, base) for ds in datasets for v in narrow(ds, "variants")
                for m in narrow(ds, "maskings") for p in block.get("policies", ["uniform"]) for seed in seeds(ds, v, m, p)]

    def disc_study_stages(self) -> dict[str, list[int]]:
        """D's seeds of each stage of the study's bar (afa.evaluation.disc_study.meets_bar)."""
        block = self.config.get("disc_study") or {}
        return {"screen": list(block.get("seeds") or []), "confirm": list((block.get("confirm") or {}).get("seeds") or [])}

    def disc_study_settings(self, cell: StudyCell) -> dict:
        """What `afa disc_study --settings` gets for a cell (the study's keys the block sets, a variant's
        own budget, its D settings with the dataset's own over them, the rest afa.evaluation.disc_study's
        defaults)."""
        block = self.config["disc_study"]
        # a dataset's own D settings (per_dataset.<dataset>.disc) over every variant's there
        own = self.disc_study_own(cell.dataset).get("disc") or {}
        return {**self.disc_study_shared(), **self.disc_study_budget(cell.dataset, cell.variant),
                "disc": {**block["variants"][cell.variant], **own}, **block["maskings"][cell.masking],
                "policy": cell.policy, "seed": cell.seed}

    def disc_study_budget(self, dataset: str, variant: str) -> dict:
        """A variant's own budget (steps, probe_at) on a dataset: disc_study.per_dataset.<dataset>.per_variant
        beats disc_study.per_variant, which beats the block's own steps and probe_at."""
        narrow = self.disc_study_own(dataset).get("per_variant") or {}
        return {**(self.config["disc_study"].get("per_variant") or {}).get(variant, {}), **narrow.get(variant, {})}

    def disc_study_own(self, dataset: str) -> dict:
        """A dataset's own block of the study (disc_study.per_dataset.<dataset>; empty if none)."""
        return ((self.config["disc_study"].get("per_dataset") or {}).get(dataset) or {})

    def disc_study_shared(self) -> dict:
        """The study's settings every cell shares."""
        block = self.config["disc_study"]
        return {k: block[k] for k in ("K", "eps", "steps", "probe_at", "batch_size", "max_train", "window", "probe",
                                      "generator") if k in block}

    def generator_settings(self) -> dict:
        """What `afa train-generator` reads of the study (G's settings and the train rows), and nothing
        else: a changed budget does not retrain G."""
        return {k: v for k, v in self.disc_study_shared().items() if k in ("generator", "max_train")}

    def uses_generator(self, cell: StudyCell) -> bool:
        """Whether the cell masks with G (it then reads the dataset's G, trained once)."""
        return self.config["disc_study"]["maskings"][cell.masking]["masking"] == "generator"

    def decomposition(self) -> list[str]:
        """The claims table's columns that test no claim of the paper (their own Holm family): the
        extra columns of claims.controls and every contrast."""
        return [*self.claims["controls"], *self.claims["contrasts"]]

    def claims_methods(self) -> list[str]:
        """The methods the claims table reads: the baseline, its two columns and their K variants (claim 4),
        its extra columns and the methods of its contrasts."""
        names = [BASELINE, self.claims["live"], self.claims["paper_literal"]]
        for m in names[1:]:
            names += k_variants(self.config["method_settings"], m)
        names += [*self.claims["extra_columns"].values(), *(m for pair in self.claims["contrasts"].values() for m in pair)]
        return list(dict.fromkeys(names))

    def ablation_methods(self) -> list[str]:
        """The methods of every swept parameter (ablations.parameters) with two values or more among the
        trained methods: those equal to claims.live in all but that parameter. None: no ablations page."""
        trained = {meth for ds in self.config["datasets"] for _, meth, _ in self.grid(ds) + self.ablation(ds)}
        found = []
        for key in self.sweeps:
            swept = [m for m in sweep_variants(self.config["method_settings"], self.claims["live"], key) if m in trained]
            if len(swept) >= 2:
                found += swept
        return list(dict.fromkeys(found))

    # --- who reads what ---------------------------------------------------------------------------

    def pages(self) -> list[str]:
        """The report pages this configuration renders, the claims first: the robustness table when
        the config selects runs to attack, the probe's when some dataset has a lexicon, the ablations
        when a swept parameter has two values or more among the runs."""
        optional = {"robustness_table": bool(self.robustness_runs()), "probe_table": bool(self.probe_runs()),
                    "ablations": bool(self.ablation_methods()), "discriminator": bool(self.disc_study())}
        return [p for p in PAGES if optional.get(p, True)]

    def read(self, page: str, evaluation: str) -> list:
        """The runs whose `evaluation` files the report page `page` reads, in the order it is given them
        (the discriminator page: the study's cells, `StudyCell`)."""
        if page not in PAGES or evaluation not in EVALUATIONS:
            raise KeyError(f"no report page {page!r} or evaluation {evaluation!r} (pages: {', '.join(PAGES)}; "
                           f"evaluations: {', '.join(EVALUATIONS)})")
        return self._reads(page).get(evaluation, [])

    def _reads(self, page: str) -> dict[str, list[Run]]:
        if page == "claims":
            mine, ctl = self.claims_methods(), self.control
            return {"accuracy": self.select(methods=mine, ablations=True) + ctl(),
                    "deletion": self.select(methods=mine) + ctl(),
                    # the A/A control reads every evaluation a claim row reads per example (robustness apart)
                    "alignment": self.aligned(lambda ds, rat: self.select(ds, methods=mine, rationales=rat))
                    + self.aligned(lambda ds, rat: ctl(ds, rat)),
                    "robustness": [r for r in self.robustness_runs() if r.method in mine],
                    "train": self.select(methods=mine, ablations=True) + ctl()}
        if page == "ablations":
            methods = [BASELINE] + self.ablation_methods()
            return {"accuracy": self.select(methods=methods, ablations=True),
                    "train": self.select(methods=methods, ablations=True)}
        return {"main_table": {"accuracy": self.select()},
                "deletion_curves": {"deletion": self.select()},
                "rationale_table": {"alignment": self.aligned(lambda ds, rat: self.select(ds, rationales=rat))},
                "attention_heatmaps": {"alignment": self.aligned(lambda ds, rat: self.select(ds, rationales=rat))},
                "signal_health": {"train": self.select()},
                "robustness_table": {"robustness": self.robustness_runs()},
                "probe_table": {"probe": self.probe_runs()},
                "discriminator": {"disc_study": self.disc_study()}}[page]

    def files(self, page: str, evaluation: str, pattern: str) -> list[str]:
        """`pattern` (wildcards: dataset, model, method, seed, rationales) for each run `read` gives."""
        return [pattern.format(**r.fields()) for r in self.read(page, evaluation)]

    @property
    def sweeps(self) -> list[str]:
        """The parameters the ablations page sweeps (ablations.parameters)."""
        return (self.config.get("ablations") or {}).get("parameters", [])

    # --- each run's settings ----------------------------------------------------------------------

    def max_length(self, dataset: str, model: str) -> int:
        """Tokens per example: the model's own per_model.max_length beats the dataset's `max_length`."""
        return (self.per_model(model).get("max_length") or {}).get(dataset) or self.config["max_length"][dataset]

    def threads(self, model: str) -> int:
        """A model's per_model.threads beats threads.train (an LLM takes both cores; small models one each)."""
        return self.per_model(model).get("threads") or (self.config.get("threads") or {}).get("train", 2)

    def model_settings(self, name: str, dataset: str | None = None) -> dict:
        """A model's settings (on `dataset`: with model_overrides.<dataset>.<name> patched in, key by
        key); `resource:llm` names the weights folder given as `llm_weights`."""
        model = {**self.config["model_settings"][name],
                 **((self.config.get("model_overrides") or {}).get(dataset) or {}).get(name, {})}
        if model.get("name_or_path") == "resource:llm":
            model = {**model, "name_or_path": self.llm_weights}
        return model

    def train_settings(self, dataset: str, model: str, method: str) -> dict:
        """What `afa train --settings` gets: {model, train, method}, every override resolved. A
        dataset's train_overrides change only its own runs (and so only they rerun); a method's own
        (per_method.<method>.train_overrides.<dataset>: a costly ablation on a seeded subset) beat them,
        and both beat the model's own train settings."""
        c = self.config
        override = {**(c.get("train_overrides") or {}).get(dataset, {}),
                    **(self.per_method(method).get("train_overrides") or {}).get(dataset, {})}
        settings = self.model_settings(model, dataset)
        if override and "train" in settings:
            settings = {**settings, "train": {**settings["train"], **override}}
        return {"model": settings, "train": {**c["train"], **override},
                "method": run_method_settings(c["method_settings"], c.get("method_overrides"), dataset, method)}

    def train_blocks(self) -> list[tuple[str, dict]]:
        """(config key, block) of every train block a run's settings may take keys from."""
        c = self.config
        blocks = [("train", c["train"])]
        blocks += [(f"model_settings.{m}.train", s.get("train") or {}) for m, s in c["model_settings"].items()]
        blocks += [(f"train_overrides.{ds}", t) for ds, t in (c.get("train_overrides") or {}).items()]
        blocks += [(f"per_method.{m}.train_overrides.{ds}", t) for m, e in (c.get("per_method") or {}).items()
                   for ds, t in ((e or {}).get("train_overrides") or {}).items()]
        return blocks

    # --- the table for a reader -------------------------------------------------------------------

    def readers(self) -> dict[tuple, dict[str, list[str]]]:
        """(dataset, model, method, seed) -> evaluation -> the pages that read it (alignment:
        `<rationales>:<page>`), for every run some page reads: the runs the DAG trains."""
        out: dict[tuple, dict[str, list[str]]] = {}
        for page in self.pages():
            for ev, found in self._reads(page).items():
                for r in found:
                    r = r.baseline if isinstance(r, StudyCell) else r  # a study cell reads its baseline run
                    pages = out.setdefault((r.dataset, r.model, r.method, r.seed), {}).setdefault(ev, [])
                    name = f"{r.rationales}:{page}" if r.rationales else page
                    if name not in pages:
                        pages.append(name)
        return out

    def runs(self, read: dict | None = None) -> list[tuple[Run, str]]:
        """Every run the configuration trains (some page reads it) once, with its kind (grid, ablation,
        control, or study: a baseline the discriminator study needs that no grid trains), in
        configuration order. An ablation run of a method that neither the claims nor the ablations
        page reads is not trained. `read`: `readers()`, when the caller has it already."""
        read, out = read if read is not None else self.readers(), {}
        for ds in self.config["datasets"]:
            for kind, combos in (("grid", self.grid(ds)), ("ablation", self.ablation(ds))):
                for m, meth, s in combos:
                    out.setdefault(Run(ds, m, meth, s), kind)
        for r in self.control():
            out.setdefault(r, "control")
        for cell in self.disc_study():
            out.setdefault(cell.baseline, "study")
        return [(r, kind) for r, kind in out.items() if (r.dataset, r.model, r.method, r.seed) in read]

    def tsv(self) -> str:
        """`<outdir>/runs.tsv`: one row per trained run: its kind, the pages that read each evaluation
        of it, its max_length and its resolved training settings (what `afa train --settings` gets)."""
        read = self.readers()
        rows = [["dataset", "model", "method", "seed", "kind", *EVALUATIONS, "max_length", "settings"]]
        for r, kind in self.runs(read):
            got = read[(r.dataset, r.model, r.method, r.seed)]
            rows.append([r.dataset, r.model, r.method, r.seed, kind, *(",".join(got.get(ev, [])) for ev in EVALUATIONS),
                         self.max_length(r.dataset, r.model),
                         # JSON escapes tabs and newlines, so a row stays one line of tab-separated fields
                         json.dumps(self.train_settings(r.dataset, r.model, r.method), sort_keys=True)])
        return "".join("\t".join(map(str, row)) + "\n" for row in rows)

    # --- checks: a misspelt name would silently select nothing -------------------------------------

    def _check_names(self):
        """Every name a list selects must be defined; fail before any job runs."""
        c = self.config
        narrowed = c.get("per_dataset", {})
        ablations = c.get("ablations") or {}
        for key, table in (("per_model", "model_settings"), ("per_method", "method_settings")):
            for name in c.get(key) or {}:
                if name not in c[table]:
                    raise _unknown(f"{key} has an entry for", name, table, c)
        for key, table in (("models", "model_settings"), ("methods", "method_settings")):
            lists = [(key, c[key])] + [(f"per_dataset.{ds}.{key}", n[key]) for ds, n in narrowed.items() if n.get(key)]
            lists += [(f"per_model.{m}.{key}", self.per_model(m)[key]) for m in c.get("per_model", {})
                      if self.per_model(m).get(key)]
            if key == "methods":  # the ablation-only methods, global and per dataset
                lists += [("ablations.methods", ablations.get("methods") or [])]
                lists += [(f"ablations.per_dataset.{ds}", names) for ds, names in (ablations.get("per_dataset") or {}).items()]
            for where, names in lists:
                for name in names:
                    if name not in c[table]:
                        raise _unknown(f"{where} lists", name, table, c)
        for key, table in (("method_overrides", "method_settings"), ("model_overrides", "model_settings")):
            for ds, patches in (c.get(key) or {}).items():
                for name in patches:
                    if name not in c[table]:
                        raise _unknown(f"{key}.{ds} has an entry for", name, table, c)
        for ds in c["datasets"]:
            if ds not in c["max_length"]:
                raise ValueError(f"config: max_length has no entry for dataset {ds!r}")
        for where, names, table in [
            ("robustness.methods", (c.get("robustness") or {}).get("methods"), "method_settings"),
            ("robustness.models", (c.get("robustness") or {}).get("models"), "model_settings"),
            ("claims.control_models", (c.get("claims") or {}).get("control_models"), "model_settings"),
            ("ablations.models", ablations.get("models"), "model_settings"),
            ("deletion.model_overrides", list((c.get("deletion") or {}).get("model_overrides") or {}), "model_settings"),
            ("disc_study.model", [(c.get("disc_study") or {}).get("model", "scratch")] if c.get("disc_study") else [],
             "model_settings"),
        ]:
            for name in names or []:
                if name not in c[table]:
                    raise _unknown(f"{where} lists", name, table, c)
        study = c.get("disc_study") or {}
        named = [(f"disc_study.per_dataset.{ds}.{key}", name, key) for ds, lists in (study.get("per_dataset") or {}).items()
                 for key in ("variants", "maskings") for name in (lists or {}).get(key) or []]
        per_dataset = study.get("per_dataset") or {}
        named += [(f"disc_study{where}.per_variant has an entry for", name, "variants")
                  for where, block in [("", study)] + [(f".per_dataset.{ds}", b or {}) for ds, b in per_dataset.items()]
                  for name in block.get("per_variant") or {}]
        for where, name, key in named:
            if name not in study[key]:
                raise ValueError(f"config: {where} {name!r}, which disc_study.{key} does not define "
                                 f"(defined: {', '.join(study[key])})")
        confirm = study.get("confirm") or {}
        overlap = sorted(set(confirm.get("seeds") or []) & set(study.get("seeds") or []))
        if overlap:
            raise ValueError(f"config: disc_study.confirm.seeds {overlap} are also disc_study.seeds; the confirmation "
                             "needs new seeds, independent of the screen that chose its cells")
        studied = {f"{c.dataset}/{c.variant}/{c.masking}/{c.policy}" for c in self.disc_study()}
        for name in confirm.get("cells") or []:
            if name not in studied:
                raise ValueError(f"config: disc_study.confirm.cells lists {name!r}, which is not a cell of the study "
                                 f"(dataset/variant/masking/policy; cells: {', '.join(sorted(studied))})")
        for cell in self.disc_study():  # each cell's budget as its job will get it
            budget = {**STUDY_DEFAULTS, **self.disc_study_settings(cell)}
            late = [n for n in budget["probe_at"] if n >= budget["steps"]]
            if late:
                raise ValueError(f"config: disc_study's probe_at names {late[0]} for variant {cell.variant!r} on "
                                 f"{cell.dataset}, not below its steps ({budget['steps']}; disc_study.per_variant sets "
                                 "a variant's own)")

    def _check_claims(self):
        """The columns' methods exist, and the control seeds are not seeds the comparisons use."""
        named = [(f"claims.{key}", self.claims[key]) for key in ("live", "paper_literal")]
        named += [(f"claims.extra_columns.{c}", m) for c, m in self.claims["extra_columns"].items()]
        named += [(f"claims.contrasts.{c}", m) for c, pair in self.claims["contrasts"].items() for m in pair]
        for c in self.claims["controls"]:
            if c not in self.claims["extra_columns"]:
                raise ValueError(f"config: claims.controls lists {c!r}, which claims.extra_columns does not name "
                                 f"(named: {', '.join(self.claims['extra_columns']) or 'none'})")
        for c in self.claims["column_not_testable"]:
            if c not in self.claims["extra_columns"]:
                raise ValueError(f"config: claims.column_not_testable names column {c!r}, which claims.extra_columns "
                                 f"does not name (named: {', '.join(self.claims['extra_columns']) or 'none'})")
        for where, method in named:
            if method not in self.config["method_settings"]:
                raise ValueError(f"config: {where} is {method!r}, which method_settings does not "
                                 f"define (defined: {', '.join(self.config['method_settings'])})")
        for ds in self.control_datasets():
            shared = sorted(set(self.claims["control_seeds"]) & {s for _, _, s in self.grid(ds)})
            if shared:
                raise ValueError(f"config: claims.control_seeds {shared} are also seeds of {ds!r}; the A/A control "
                                 "needs baseline seeds that no comparison uses")
