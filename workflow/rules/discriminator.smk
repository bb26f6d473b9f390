# The discriminator study (afa.evaluation.disc_study; config `disc_study`): per dataset with a
# lexicon, a D of each variant trained alone on copies of the train split made by each masking under
# each policy, at each seed, then probed on validation; the table and figure in notebooks/discriminator.py.
# Its cells are the run table's (afa.runs.RunTable.disc_study); each reads one baseline run.
import shlex

from afa.runs import Run


STUDY = STEMS["disc_study"] = OUT + "/eval/disc_study/{dataset}/{model}/{variant}/{masking}/{policy}/seed{seed}"
# masking generator's G, one per dataset (and the baseline whose tokenizer it reads), trained once
GENERATOR = OUT + "/generator/{dataset}/{model}/seed{baseline_seed}"


def study_cell(wc):
    """The run table's cell of a job's wildcards (its baseline run and settings)."""
    key = (wc.dataset, wc.model, wc.variant, wc.masking, wc.policy, int(wc.seed))
    return {(c.dataset, c.model, c.variant, c.masking, c.policy, c.seed): c for c in RUNS.disc_study()}[key]


def study_baseline(wc):
    """The files of the cell's baseline run that the study reads (afa.models.load), and its G if it masks with one."""
    cell = study_cell(wc)
    G = {"generator": GENERATOR.format(**cell.fields()) + "/generator.json"} if RUNS.uses_generator(cell) else {}
    return {key: path.format(**cell.baseline.fields()) for key, path in TRAINED.items()} | G


def generator_baseline(wc):
    """The baseline run whose tokenizer G reads."""
    run = Run(wc.dataset, wc.model, "baseline", int(wc.baseline_seed))
    return {key: path.format(**run.fields()) for key, path in TRAINED.items()}


rule train_generator:
    input:
        unpack(generator_baseline),
        train=OUT + "/data/{dataset}/train.jsonl.gz",
        validation=OUT + "/data/{dataset}/validation.jsonl.gz",
    output:
        meta=GENERATOR + "/generator.json",
    params:
        data=OUT + "/data/{dataset}",
        run=lambda wc: RUN.format(dataset=wc.dataset, model=wc.model, method="baseline", seed=wc.baseline_seed),
        out=GENERATOR,
        settings=lambda wc: as_json(RUNS.generator_settings()),
    log:
        OUT + "/logs/train_generator/{dataset}/{model}/seed{baseline_seed}.log",
    benchmark:
        OUT + "/benchmarks/train_generator/{dataset}/{model}/seed{baseline_seed}.tsv",
    threads: config.get("threads", {}).get("train", 2)
    conda:
        "../../env/train.yml"
    shell:
        "OMP_NUM_THREADS={threads} afa train-generator --run {params.run:q} --data {params.data:q}"
        " --out {params.out:q} --settings {params.settings:q} --log {log:q}"


rule evaluate_disc_study:
    input:
        unpack(study_baseline),
        train=OUT + "/data/{dataset}/train.jsonl.gz",
        validation=OUT + "/data/{dataset}/validation.jsonl.gz",
        lexicon=probe_lexicon,
        resources=ATTACK_RESOURCES + "/resources.json",
    output:
        result=STUDY + ".json",
        examples=STUDY + ".examples.jsonl.gz",
    params:
        data=OUT + "/data/{dataset}",
        run=lambda wc: RUN.format(**study_cell(wc).baseline.fields()),
        resources=ATTACK_RESOURCES,
        meta=lambda wc: as_json({**dict(wc.items()), "baseline_seed": study_cell(wc).baseline_seed}),
        settings=lambda wc: as_json(RUNS.disc_study_settings(study_cell(wc))),
        # quoted here: a flag only some cells take
        generator=lambda wc: (" --generator " + shlex.quote(GENERATOR.format(**study_cell(wc).fields())))
        if RUNS.uses_generator(study_cell(wc)) else "",
    log:
        OUT + "/logs/evaluate_disc_study/{dataset}/{model}/{variant}/{masking}/{policy}/seed{seed}.log",
    benchmark:
        OUT + "/benchmarks/evaluate_disc_study/{dataset}/{model}/{variant}/{masking}/{policy}/seed{seed}.tsv",
    threads: config.get("threads", {}).get("train", 2)
    conda:
        "../../env/robustness.yml"
    shell:
        "OMP_NUM_THREADS={threads} afa disc_study --run {params.run:q} --data {params.data:q} --lexicon {input.lexicon:q}"
        " --resources {params.resources:q} --out {output.result:q} --examples {output.examples:q}"
        " --settings {params.settings:q} --meta {params.meta:q} --log {log:q}{params.generator}"
