# Evaluation: one rule per evaluation of the registry (afa.evaluation.EVALUATIONS), made here from its
# entry: accuracy and macro-F1 on the report split with per-example predictions; token deletion;
# rationale alignment (a rationale dataset scored with models trained on any dataset); the mechanism
# probe (does each reward prefer masking sentiment-bearing tokens? validation split, datasets with a
# lexicon); TextAttack robustness. Which runs each is asked for is the run table's (afa.runs).
import shlex

from afa.evaluation import EVALUATIONS  # the registry: name, command flags, files, rule outputs


def evaluation_settings(ev, dataset, model):
    """An evaluation's config block less its run-selection keys (`ignore`), with its `overrides` entry
    for the dataset applied, then its `model_overrides` entry for the model (deletion: an LLM's fewer
    passes); a bootstrap its settings have and the block leaves out comes from `statistics`."""
    block = {k: v for k, v in (config.get(ev.name) or {}).items() if k not in ev.ignore}
    by_dataset, by_model = block.pop("overrides", {}), block.pop("model_overrides", {})
    settings = {**block, **by_dataset.get(dataset, {}), **by_model.get(model, {})}
    return {**{k: v for k, v in BOOT.items() if k in ev.defaults()}, **settings}


def eval_stem(ev):
    """A run's result of `ev` without its ending: eval/<name>/[<rationales>/]<dataset>/<model>/<method>/seed<seed>."""
    return f"{ev.name}/" + ("{rationales}/" if ev.data == "rationales" else "") + "{dataset}/{model}/{method}/seed{seed}"


# The files behind the registry's `inputs` flags: flag -> (the rule's input key, its file, the flag's
# value; None: the file itself).
FLAG_FILES = {
    "--train-data": ("train", OUT + "/data/{dataset}/train.jsonl.gz", OUT + "/data/{dataset}"),
    "--lexicon": ("lexicon", probe_lexicon, None),
    "--resources": ("resources", ATTACK_RESOURCES + "/resources.json", ATTACK_RESOURCES),
}


def output_flags(output, keys):
    """` --<flag> <file>` for each of an evaluation's `outputs` (rule output keys: the flags' names)."""
    return "".join(f" --{key.replace('_', '-')} {shlex.quote(getattr(output, key))}" for key in keys)


def input_flags(wc, input, flags):
    """` <flag> <value>` for each of an evaluation's `inputs` flags (FLAG_FILES: its file, or its folder)."""
    return "".join(f" {flag} {shlex.quote(value.format(**dict(wc.items())) if value else input[key])}"
                   for flag, (key, _, value) in ((f, FLAG_FILES[f]) for f in flags))


# A rule made in a loop must bind the loop's evaluation through params (values, or default arguments
# of lambdas): snakemake evaluates a `shell:` expression again when the job runs, in this file's
# namespace, where `ev` is by then the loop's last evaluation. So the shell string is one constant.
REGISTRY_SHELL = ("OMP_NUM_THREADS={threads} afa {params.name} --run {params.run:q} --data {params.data:q}"
                  " --out {output.result:q}{params.outputs}{params.inputs}{params.settings}"
                  " --meta {params.meta:q} --log {log:q}")
STEMS = {}  # evaluation -> its per-run result path without the ending (the report pages read them)

for ev in [e for e in EVALUATIONS.values() if e.rule_outputs is not None]:
    _outputs = {flag.lstrip("-").replace("-", "_"): end for (flag, _), end in zip(ev.outputs, ev.rule_outputs)}
    _inputs = tuple(flag for flag, _ in ev.inputs)
    _data = OUT + "/data/{" + ("rationales" if ev.data == "rationales" else "dataset") + "}"
    _stem = STEMS[ev.name] = OUT + "/eval/" + eval_stem(ev)

    rule:
        name:
            f"evaluate_{ev.name}"
        input:
            **TRAINED,
            **{ev.split: f"{_data}/{ev.split}.jsonl.gz"},
            **{FLAG_FILES[flag][0]: FLAG_FILES[flag][1] for flag in _inputs},
        output:
            result=_stem + ".json",
            **{key: _stem + end for key, end in _outputs.items()},
        params:
            name=ev.name,
            data=_data,
            run=RUN,
            meta=lambda wc: as_json(dict(wc.items())),
            outputs=lambda wc, output, keys=tuple(_outputs): output_flags(output, keys),
            inputs=lambda wc, input, flags=_inputs: input_flags(wc, input, flags),
            settings=lambda wc, ev=ev: (
                " --settings " + shlex.quote(as_json(evaluation_settings(ev, wc.dataset, wc.model))) if ev.settings else ""),
        log:
            OUT + f"/logs/evaluate_{eval_stem(ev)}.log",
        benchmark:
            OUT + f"/benchmarks/evaluate_{eval_stem(ev)}.tsv",
        threads: config.get("threads", {}).get(ev.threads, 1) if ev.threads else 1
        conda:
            f"../../env/{ev.extra or 'train'}.yml"
        shell:
            REGISTRY_SHELL
