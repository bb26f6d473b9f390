# Evaluation: accuracy and macro-F1 on the report split, with per-example predictions; token deletion;
# rationale alignment (a rationale dataset scored with models trained on any dataset).


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
    conda:
        "../../env/train.yml"
    shell:
        "afa evaluate --run {params.run:q} --data {params.data:q} --out {output.metrics:q}"
        " --predictions {output.predictions:q} --meta {params.meta:q} --log {log:q}"


def deletion_settings(dataset):
    """The `deletion` block with the dataset's entry of `deletion.overrides` applied."""
    block = dict(config.get("deletion", {}))
    return {**block, **block.pop("overrides", {}).get(dataset, {})}


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
        settings=lambda wc: as_json(deletion_settings(wc.dataset)),
    log:
        OUT + "/logs/evaluate_deletion/{dataset}/{model}/{method}/seed{seed}.log",
    conda:
        "../../env/train.yml"
    shell:
        "afa deletion --run {params.run:q} --data {params.data:q} --out {output.result:q} --table {output.table:q}"
        " --settings {params.settings:q} --meta {params.meta:q} --log {log:q}"


rule evaluate_alignment:
    input:
        weights=rules.train.output.weights,
        test=OUT + "/data/{rationales}/test.jsonl.gz",
    output:
        result=OUT + "/eval/alignment/{rationales}/{dataset}/{model}/{method}/seed{seed}.json",
        examples=OUT + "/eval/alignment/{rationales}/{dataset}/{model}/{method}/seed{seed}.examples.jsonl.gz",
    params:
        data=OUT + "/data/{rationales}",
        run=RUN,
        meta=lambda wc: as_json(dict(wc.items())),
        settings=as_json({k: v for k, v in config.get("alignment", {}).items() if k != "pairs"}),
    log:
        OUT + "/logs/evaluate_alignment/{rationales}/{dataset}/{model}/{method}/seed{seed}.log",
    conda:
        "../../env/train.yml"
    shell:
        "afa align --run {params.run:q} --data {params.data:q} --out {output.result:q} --examples {output.examples:q}"
        " --settings {params.settings:q} --meta {params.meta:q} --log {log:q}"
