# Shared names and checks for every rule file.
import json

from afa.runs import RunTable  # the run table: which runs a configuration makes, who reads them

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


# Which runs exist, their settings, and which page reads which of their files: one place, afa.runs
# (tested there, written out as <outdir>/runs.tsv by rule run_table). It checks every name the config
# selects runs with as it is built, before any job.
RUNS = RunTable(config)
LLM_WEIGHTS = RUNS.llm_weights
# datasets that are trained on, or only scored (rationale datasets), or give a lexicon
DATASETS = RUNS.datasets


def lexicon_input(wc):
    source = RUNS.lexicon(wc.dataset)
    return {"lexicon": OUT + f"/data/{source}/lexicon.json"} if source else {}


def probe_lexicon(wc):
    """The polar words of a dataset the probe (or the discriminator study) reads: it must have them."""
    source = RUNS.lexicon(wc.dataset)
    if not source:
        raise ValueError(f"config: the probe of {wc.dataset!r} needs its polar words; lexicons has no entry for it")
    return OUT + f"/data/{source}/lexicon.json"


# the bootstrap every per-run interval and report table uses (config `statistics`)
STATS = config.get("statistics", {})
BOOT = {"bootstrap_resamples": STATS.get("bootstrap_resamples", 10000), "bootstrap_seed": STATS.get("bootstrap_seed", 0)}


def check_devices():
    """A CUDA device named in a train block, where this snakemake runs the jobs itself on a machine
    whose torch has none: say so now, not in the first train job (a cluster's nodes may have one)."""
    cuda = [(where, b["device"]) for where, b in RUNS.train_blocks() if str(b.get("device", "auto")).startswith("cuda")]
    if cuda and workflow.local_exec:
        from afa.inference import pick_device

        for where, device in cuda:
            pick_device(device, f"config: {where}.device")


wildcard_constraints:
    dataset="|".join(DATASETS),
    rationales="|".join(DATASETS),
    model="[A-Za-z0-9_]+",
    method="[A-Za-z0-9_]+",
    seed=r"\d+",
    variant="[A-Za-z0-9]+",
    masking="[A-Za-z0-9]+",
    policy="uniform|attention",


def as_json(obj):
    return json.dumps(obj, sort_keys=True)


check_sources()
check_devices()
