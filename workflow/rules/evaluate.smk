# Evaluation: accuracy and macro-F1 on the report split, with per-example predictions; token deletion;
# rationale alignment (a rationale dataset scored with models trained on any dataset); the mechanism
# probe (does each reward prefer masking sentiment-bearing tokens? validation split, datasets with a lexicon).
# accuracy and deletion get their rules from the evaluation registry (below); alignment and probe,
# which read more than a run and its report split, are written out.
import shlex

from afa.evaluation import EVALUATIONS  # the registry: name, command flags, rule outputs



def evaluation_settings(name, dataset, model):
    """An evaluation's config block with its `overrides` entry for the dataset applied, then its
    `model_overrides` entry for the model (deletion: an LLM's fewer passes)."""
    block = dict(config.get(name) or {})
    by_dataset, by_model = block.pop("overrides", {}), block.pop("model_overrides", {})
    return {**block, **by_dataset.get(dataset, {}), **by_model.get(model, {})}


# The registry's evaluations of the standard shape (a trained run and its report split in; a result
# JSON, the files of its `outputs` and a benchmark out; its `<name>:` block as --settings) get their
# rule here: evaluate_<name>, writing eval/<name>/{dataset}/{model}/{method}/seed{seed}.json.
# A rule made in a loop must bind the loop's evaluation through params (values, or default arguments
# of lambdas): snakemake evaluates a `shell:` expression again when the job runs, in this file's
# namespace, where `ev` is by then the loop's last evaluation. So the shell string is one constant.
REGISTRY_SHELL = ("afa {params.name} --run {params.run:q} --data {params.data:q} --out {output.result:q}"
                  "{params.outputs}{params.settings} --meta {params.meta:q} --log {log:q}")


def output_flags(output, files):
    """` --<flag> <file>` for each of an evaluation's `outputs` (rule output keys: the flags' names)."""
    return "".join(f" --{key.replace('_', '-')} {shlex.quote(getattr(output, key))}" for key in files)


for ev in [e for e in EVALUATIONS.values() if e.rule_outputs is not None]:
    _files = {flag.lstrip("-").replace("-", "_"): end for (flag, _), end in zip(ev.outputs, ev.rule_outputs)}
    _stem = OUT + f"/eval/{ev.name}/{{dataset}}/{{model}}/{{method}}/seed{{seed}}"

    rule:
        name:
            f"evaluate_{ev.name}"
        input:
            **TRAINED,
            test=OUT + "/data/{dataset}/test.jsonl.gz",
        output:
            result=_stem + ".json",
            **{key: _stem + end for key, end in _files.items()},
        params:
            name=ev.name,
            data=OUT + "/data/{dataset}",
            run=RUN,
            meta=lambda wc: as_json(dict(wc.items())),
            outputs=lambda wc, output, files=tuple(_files): output_flags(output, files),
            settings=lambda wc, name=ev.name, takes=bool(ev.settings): (
                " --settings " + shlex.quote(as_json(evaluation_settings(name, wc.dataset, wc.model))) if takes else ""),
        log:
            OUT + f"/logs/evaluate_{ev.name}/{{dataset}}/{{model}}/{{method}}/seed{{seed}}.log",
        benchmark:
            OUT + f"/benchmarks/evaluate_{ev.name}/{{dataset}}/{{model}}/{{method}}/seed{{seed}}.tsv",
        conda:
            "../../env/train.yml"
        shell:
            REGISTRY_SHELL


rule evaluate_alignment:
    input:
        **TRAINED,
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
        settings=as_json({k: v for k, v in config.get("alignment", {}).items() if k not in EVALUATIONS["alignment"].ignore}),
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


def probe_lexicon(wc):
    source = RUNS.lexicon(wc.dataset)
    if not source:
        raise ValueError(f"config: the probe of {wc.dataset!r} needs its polar words; lexicons has no entry for it")
    return OUT + f"/data/{source}/lexicon.json"


rule evaluate_probe:
    input:
        **TRAINED,
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
        settings=as_json({**{k: v for k, v in PROBE.items() if k not in EVALUATIONS["probe"].ignore},
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
