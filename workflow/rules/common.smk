# Shared names and checks for every rule file.
import json

OUT = config["outdir"]
RUN = OUT + "/models/{dataset}/{model}/{method}/seed{seed}"
# NLTK data (WordNet, stopwords, POS tagger), built by prepare_attack_resources (robustness.smk):
# read by the robustness attacks and by the probe's part-of-speech matching
ATTACK_RESOURCES = OUT + "/resources/nltk_data"
SPLITS = ["train", "validation", "test"]


def data_source(dataset):
    """`data.sources` (per dataset) beats `data.source`."""
    return config["data"].get("sources", {}).get(dataset, config["data"]["source"])


def check_sources():
    """A dataset the hub does not carry (the SST trees) must come from a mirror: say so before any job."""
    from afa import data as afa_data

    for ds in DATASETS:
        if data_source(ds) == "hub" and afa_data.get_spec(ds).hub is None:
            raise ValueError(f"config: dataset {ds!r} has no hub source (needed by alignment.pairs or lexicons); "
                             f"set data.sources: {{{ds}: mirror}} and data.mirror to a folder holding it")


def check_names():
    """Every name a list selects must be defined; fail before any job runs."""
    narrowed = config.get("per_dataset", {})
    ablations = config.get("ablations") or {}
    for key, table in (("per_model", "model_settings"), ("per_method", "method_settings")):
        for name in config.get(key) or {}:
            if name not in config[table]:
                raise ValueError(f"config: {key} has an entry for {name!r}, which {table} does not define "
                                 f"(defined: {', '.join(config[table])})")
    for key, table in (("models", "model_settings"), ("methods", "method_settings")):
        lists = [(key, config[key])] + [(f"per_dataset.{ds}.{key}", n[key]) for ds, n in narrowed.items() if n.get(key)]
        lists += [(f"per_model.{m}.{key}", per_model(m)[key]) for m in config.get("per_model", {}) if per_model(m).get(key)]
        if key == "methods":  # the ablation-only methods, global and per dataset
            lists += [("ablations.methods", ablations.get("methods") or [])]
            lists += [(f"ablations.per_dataset.{ds}", names) for ds, names in (ablations.get("per_dataset") or {}).items()]
        for where, names in lists:
            for name in names:
                if name not in config[table]:
                    raise ValueError(f"config: {where} lists {name!r}, which {table} does not define "
                                     f"(defined: {', '.join(config[table])})")
    for key, table in (("method_overrides", "method_settings"), ("model_overrides", "model_settings")):
        for ds, patches in (config.get(key) or {}).items():
            for name in patches:
                if name not in config[table]:
                    raise ValueError(f"config: {key}.{ds} has an entry for {name!r}, which {table} "
                                     f"does not define (defined: {', '.join(config[table])})")
    for ds in DATASETS:
        if ds not in config["max_length"]:
            raise ValueError(f"config: max_length has no entry for dataset {ds!r}")
    # lists that select runs of other blocks: a misspelt name would silently select nothing
    for where, names, table in [
        ("robustness.methods", (config.get("robustness") or {}).get("methods"), "method_settings"),
        ("robustness.models", (config.get("robustness") or {}).get("models"), "model_settings"),
        ("claims.control_models", (config.get("claims") or {}).get("control_models"), "model_settings"),
        ("ablations.models", ablations.get("models"), "model_settings"),
        ("deletion.model_overrides", list((config.get("deletion") or {}).get("model_overrides") or {}), "model_settings"),
    ]:
        for name in names or []:
            if name not in config[table]:
                raise ValueError(f"config: {where} lists {name!r}, which {table} does not define "
                                 f"(defined: {', '.join(config[table])})")


def check_devices():
    """A CUDA device named in a train block, where this snakemake runs the jobs itself on a machine
    whose torch has none: say so now, not in the first train job (a cluster's nodes may have one)."""
    blocks = [("train", config["train"])]
    blocks += [(f"model_settings.{m}.train", s.get("train") or {}) for m, s in config["model_settings"].items()]
    blocks += [(f"train_overrides.{ds}", t) for ds, t in (config.get("train_overrides") or {}).items()]
    blocks += [(f"per_method.{m}.train_overrides.{ds}", t) for m, e in (config.get("per_method") or {}).items()
               for ds, t in ((e or {}).get("train_overrides") or {}).items()]
    cuda = [(where, b["device"]) for where, b in blocks if str(b.get("device", "auto")).startswith("cuda")]
    if cuda and workflow.local_exec:
        from afa.inference import pick_device

        for where, device in cuda:
            pick_device(device, f"config: {where}.device")


def per_model(model):
    """A model's own entry of `per_model` (its methods, seeds, train threads, max_length), or {}."""
    return config.get("per_model", {}).get(model) or {}


def per_method_entry(method):
    """A method's own entry of `per_method` (its seeds, its train_overrides per dataset), or {}."""
    return (config.get("per_method") or {}).get(method) or {}


def combos(dataset):
    """(model, method, seed) runs of a dataset: the global lists, narrowed by per_dataset, then by
    the model's own per_model lists (an LLM in an overlay of small models runs fewer of them), and a
    method's seeds by per_method (an ablation's 3 seeds beside the claims' 5)."""
    narrow = config.get("per_dataset", {}).get(dataset, {})
    out = []
    for model in narrow.get("models") or config["models"]:
        # the narrowest list that is set wins; a null list (an overlay resetting config.yaml's
        # narrowing) is the next wider one
        methods = per_model(model).get("methods") or narrow.get("methods") or config["methods"]
        seeds = per_model(model).get("seeds") or narrow.get("seeds") or config["seeds"]
        out += [(model, meth, s) for meth in methods for s in per_method_entry(meth).get("seeds") or seeds]
    return out


def ablation_combos(dataset):
    """(model, method, seed) runs of `ablations.methods` (or the dataset's own ablations.per_dataset
    list) on a dataset (of ablations.datasets and ablations.models; null: all): runs that only the
    ablations notebook and the claims table's K rows read, so no other evaluation or table is asked
    for them."""
    a = config.get("ablations") or {}
    methods = (a.get("per_dataset") or {}).get(dataset) or a.get("methods")
    if not methods or (a.get("datasets") is not None and dataset not in a["datasets"]):
        return []
    narrow = config.get("per_dataset", {}).get(dataset, {})
    seeds = narrow.get("seeds") or config["seeds"]
    return [(m, meth, s) for m in narrow.get("models") or config["models"]
            if a.get("models") is None or m in a["models"]
            for meth in methods for s in per_method_entry(meth).get("seeds") or seeds]


def max_length(dataset, model):
    """Tokens per example: the model's own per_model.max_length beats the dataset's `max_length`."""
    return (per_model(model).get("max_length") or {}).get(dataset) or config["max_length"][dataset]


def runs(pattern, datasets=None, methods=None, models=None, ablations=False, seeds=None, **extra):
    """`pattern` for every (dataset, model, method, seed) run of the configuration (of `methods`
    and `models` only, when given, and of the seeds `seeds` names for a dataset, dataset -> seeds,
    when it names the dataset; with the ablation-only runs when `ablations`)."""
    return list(dict.fromkeys(
        pattern.format(dataset=ds, model=m, method=meth, seed=s, **extra)
        for ds in (datasets or config["datasets"])
        for m, meth, s in combos(ds) + (ablation_combos(ds) if ablations else [])
        if (methods is None or meth in methods) and (models is None or m in models)
        and s in (seeds or {}).get(ds, [s])))


def alignment_pairs():
    """The pairs whose models this configuration trains (`trained_on` among `datasets`)."""
    return [p for p in config.get("alignment", {}).get("pairs", []) if p["trained_on"] in config["datasets"]]


def alignment_runs(pattern):
    """`pattern` for every rationale dataset and every run of the dataset its models come from."""
    return [f for pair in alignment_pairs() for f in runs(pattern, [pair["trained_on"]], rationales=pair["rationales"])]


def lexicon_source(dataset):
    """The dataset whose SST word labels give `dataset` its polar words (config `lexicons`), or None."""
    return config.get("lexicons", {}).get(dataset)


def lexicon_input(wc):
    source = lexicon_source(wc.dataset)
    return {"lexicon": OUT + f"/data/{source}/lexicon.json"} if source else {}


# datasets that are trained on, or only scored (rationale datasets), or give a lexicon
DATASETS = sorted(set(config["datasets"]) | {p["rationales"] for p in alignment_pairs()}
                  | {lexicon_source(ds) for ds in config["datasets"] if lexicon_source(ds)})


wildcard_constraints:
    dataset="|".join(DATASETS),
    rationales="|".join(DATASETS),
    model="[A-Za-z0-9_]+",
    method="[A-Za-z0-9_]+",
    seed=r"\d+",


def as_json(obj):
    return json.dumps(obj, sort_keys=True)


check_names()
check_sources()
check_devices()
