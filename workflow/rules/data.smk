# Data: bring each dataset from its source (sample | mirror | hub) into mirror layout, then
# normalise it into train / validation / test (test = the paper's report split).


rule download:
    output:
        record=OUT + "/data/{dataset}/source.json",
    params:
        source=lambda wc: data_source(wc.dataset),
        mirror=config["data"].get("mirror") or "",
        hub_dir=OUT + "/data/hub",
    log:
        OUT + "/logs/download/{dataset}.log",
    benchmark:
        OUT + "/benchmarks/download/{dataset}.tsv",
    conda:
        "../../env/data.yml"
    shell:
        "afa download --dataset {wildcards.dataset:q} --source {params.source:q} --mirror {params.mirror:q}"
        " --out {params.hub_dir:q} --record {output.record:q} --log {log:q}"


def prepare_settings(dataset):
    """`afa prepare`'s settings: `data`'s split keys, a dataset's own data.overrides beating them
    (ERASER's 1,600 train reviews need a larger validation share than IMDB's 25,000)."""
    keys = {k: v for k, v in config["data"].items() if k not in ("source", "sources", "mirror", "overrides")}
    return as_json({**keys, **(config["data"].get("overrides") or {}).get(dataset, {})})


rule prepare:
    input:
        record=rules.download.output.record,
    output:
        expand(OUT + "/data/{{dataset}}/{split}.jsonl.gz", split=SPLITS),
        OUT + "/data/{dataset}/split.json",
    params:
        out=OUT + "/data/{dataset}",
        settings=lambda wc: prepare_settings(wc.dataset),
    log:
        OUT + "/logs/prepare/{dataset}.log",
    benchmark:
        OUT + "/benchmarks/prepare/{dataset}.tsv",
    conda:
        "../../env/data.yml"
    shell:
        "afa prepare --dataset {wildcards.dataset:q} --record {input.record:q} --out {params.out:q}"
        " --settings {params.settings:q} --log {log:q}"


rule lexicon:
    input:
        OUT + "/data/{dataset}/train.jsonl.gz",
    output:
        OUT + "/data/{dataset}/lexicon.json",
    params:
        data=OUT + "/data/{dataset}",
    log:
        OUT + "/logs/lexicon/{dataset}.log",
    benchmark:
        OUT + "/benchmarks/lexicon/{dataset}.tsv",
    conda:
        "../../env/data.yml"
    shell:
        "afa lexicon --data {params.data:q} --out {output:q} --log {log:q}"
