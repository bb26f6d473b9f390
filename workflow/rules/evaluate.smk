# Evaluation: accuracy and macro-F1 on the report split, with per-example predictions; token deletion;
# rationale alignment (a rationale dataset scored with models trained on any dataset); the mechanism
# probe (does each reward prefer masking sentiment-bearing tokens? validation split, datasets with a lexicon).


rule evaluate_accuracy:
    input:
        weights=rules.train.output.weights,
        test=OUT + "/data/{dataset}/test.jsonl.gz",
    output:
        metrics=OUT + "/eval/accuracy/{dataset}/{model}/{method}/seed{seed}.json",
        predictions=OUT + "/eval/accuracy/{dataset}/{model}/{method}/seed{seed}.predictions.csv",
    params:
        data=OUT + "/data/{dataset}",
        run=RUN,
        meta=lambda wc: as_json(dict(wc.items())),
    log:
        OUT + "/logs/evaluate_accuracy/{dataset}/{model}/{method}/seed{seed}.log",
    benchmark:
        OUT + "/benchmarks/evaluate_accuracy/{dataset}/{model}/{method}/seed{seed}.tsv",
    conda:
        "../../env/train.yml"
    shell:
        "afa accuracy --run {params.run:q} --data {params.data:q} --out {output.metrics:q}"
        " --predictions {output.predictions:q} --meta {params.meta:q} --log {log:q}"


def deletion_settings(dataset, model):
    """The `deletion` block with the dataset's entry of `deletion.overrides` applied, then the model's
    of `deletion.model_overrides` (an LLM's fewer passes)."""
    block = dict(config.get("deletion", {}))
    by_dataset, by_model = block.pop("overrides", {}), block.pop("model_overrides", {})
    return {**block, **by_dataset.get(dataset, {}), **by_model.get(model, {})}


rule evaluate_deletion:
    input:
        weights=rules.train.output.weights,
        test=OUT + "/data/{dataset}/test.jsonl.gz",
    output:
        result=OUT + "/eval/deletion/{dataset}/{model}/{method}/seed{seed}.json",
        table=OUT + "/eval/deletion/{dataset}/{model}/{method}/seed{seed}.csv",
    params:
        data=OUT + "/data/{dataset}",
        run=RUN,
        meta=lambda wc: as_json(dict(wc.items())),
        settings=lambda wc: as_json(deletion_settings(wc.dataset, wc.model)),
    log:
        OUT + "/logs/evaluate_deletion/{dataset}/{model}/{method}/seed{seed}.log",
    benchmark:
        OUT + "/benchmarks/evaluate_deletion/{dataset}/{model}/{method}/seed{seed}.tsv",
    conda:
        "../../env/train.yml"
    shell:
        "afa deletion --run {params.run:q} --data {params.data:q} --out {output.result:q} --table {output.table:q}"
        " --settings {params.settings:q} --meta {params.meta:q} --log {log:q}"


rule evaluate_alignment:
    input:
        weights=rules.train.output.weights,
        test=OUT + "/data/{rationales}/test.jsonl.gz",
        train=OUT + "/data/{dataset}/train.jsonl.gz",
    output:
        result=OUT + "/eval/alignment/{rationales}/{dataset}/{model}/{method}/seed{seed}.json",
        examples=OUT + "/eval/alignment/{rationales}/{dataset}/{model}/{method}/seed{seed}.examples.jsonl.gz",
    params:
        data=OUT + "/data/{rationales}",
        train_data=OUT + "/data/{dataset}",
        run=RUN,
        meta=lambda wc: as_json(dict(wc.items())),
        settings=as_json({k: v for k, v in config.get("alignment", {}).items() if k != "pairs"}),
    log:
        OUT + "/logs/evaluate_alignment/{rationales}/{dataset}/{model}/{method}/seed{seed}.log",
    benchmark:
        OUT + "/benchmarks/evaluate_alignment/{rationales}/{dataset}/{model}/{method}/seed{seed}.tsv",
    conda:
        "../../env/train.yml"
    shell:
        "afa alignment --run {params.run:q} --data {params.data:q} --out {output.result:q} --examples {output.examples:q}"
        " --train-data {params.train_data:q} --settings {params.settings:q} --meta {params.meta:q} --log {log:q}"


PROBE = config.get("probe") or {}


def probe_runs(pattern):
    """`pattern` for every run of a dataset that has a lexicon, among `probe.datasets` (null: all of them)."""
    if not PROBE:
        return []
    wanted = PROBE.get("datasets")
    datasets = [d for d in config["datasets"] if lexicon_source(d) and (wanted is None or d in wanted)]
    return runs(pattern, datasets) if datasets else []


def probe_lexicon(wc):
    source = lexicon_source(wc.dataset)
    if not source:
        raise ValueError(f"config: the probe of {wc.dataset!r} needs its polar words; lexicons has no entry for it")
    return OUT + f"/data/{source}/lexicon.json"


rule evaluate_probe:
    input:
        weights=rules.train.output.weights,
        metrics=rules.train.output.metrics,
        validation=OUT + "/data/{dataset}/validation.jsonl.gz",
        lexicon=probe_lexicon,
        resources=ATTACK_RESOURCES + "/resources.json",
    output:
        result=OUT + "/eval/probe/{dataset}/{model}/{method}/seed{seed}.json",
        examples=OUT + "/eval/probe/{dataset}/{model}/{method}/seed{seed}.examples.jsonl.gz",
    params:
        data=OUT + "/data/{dataset}",
        run=RUN,
        resources=ATTACK_RESOURCES,
        meta=lambda wc: as_json(dict(wc.items())),
        settings=as_json({**{k: v for k, v in PROBE.items() if k != "datasets"},
                          "bootstrap_resamples": config.get("statistics", {}).get("bootstrap_resamples", 10000),
                          "bootstrap_seed": config.get("statistics", {}).get("bootstrap_seed", 0)}),
    log:
        OUT + "/logs/evaluate_probe/{dataset}/{model}/{method}/seed{seed}.log",
    benchmark:
        OUT + "/benchmarks/evaluate_probe/{dataset}/{model}/{method}/seed{seed}.tsv",
    conda:
        "../../env/robustness.yml"
    shell:
        "afa probe --run {params.run:q} --data {params.data:q} --lexicon {input.lexicon:q}"
        " --resources {params.resources:q} --out {output.result:q} --examples {output.examples:q}"
        " --settings {params.settings:q} --meta {params.meta:q} --log {log:q}"
