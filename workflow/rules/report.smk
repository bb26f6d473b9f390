# Report: each notebook (jupytext percent .py in notebooks/) executed by papermill into OUT,
# as .ipynb and HTML, with its table as CSV (and its figure as PNG).
from afa import claims as afa_claims  # the claims table's defaults and the paper's claim datasets
from afa import tables as afa_tables  # which methods form a hyper-parameter sweep

STATS = config.get("statistics", {})
BOOT = {"bootstrap_resamples": STATS.get("bootstrap_resamples", 10000), "bootstrap_seed": STATS.get("bootstrap_seed", 0)}
RENDER = ("afa render --notebook {input.notebook:q} --out {output.ipynb:q} --html {output.html:q}"
          " --parameters {params.parameters:q} --log {log:q}")
# The per-run evaluation files the notebooks read (without their extension)
ACCURACY = OUT + "/eval/accuracy/{dataset}/{model}/{method}/seed{seed}"
ALIGNMENT = OUT + "/eval/alignment/{rationales}/{dataset}/{model}/{method}/seed{seed}"
DELETION = OUT + "/eval/deletion/{dataset}/{model}/{method}/seed{seed}"
ROBUSTNESS_RUN = OUT + "/eval/robustness/{dataset}/{model}/{method}/seed{seed}"
PROBE_RUN = OUT + "/eval/probe/{dataset}/{model}/{method}/seed{seed}"


rule main_table:
    input:
        notebook="notebooks/main_table.py",
        metrics=runs(ACCURACY + ".json"),
        predictions=runs(ACCURACY + ".predictions.csv"),
    output:
        ipynb=OUT + "/main_table.ipynb",
        html=OUT + "/main_table.html",
        csv=report(OUT + "/main_table.csv", caption="../report/main_table.rst", category="Tables"),
    params:
        parameters=lambda wc, input, output: as_json({"metric_files": list(input.metrics), "out_csv": output.csv, **BOOT}),
    log:
        OUT + "/logs/report/main_table.log",
    benchmark:
        OUT + "/benchmarks/report/main_table.tsv",
    conda:
        "../../env/report.yml"
    shell:
        RENDER


rule deletion_curves:
    input:
        notebook="notebooks/deletion_curves.py",
        results=runs(DELETION + ".json"),
    output:
        ipynb=OUT + "/deletion_curves.ipynb",
        html=OUT + "/deletion_curves.html",
        csv=report(OUT + "/deletion_curves.csv", caption="../report/deletion_curves.rst", category="Tables"),
        png=report(OUT + "/deletion_curves.png", caption="../report/deletion_curves.rst", category="Figures"),
    params:
        parameters=lambda wc, input, output: as_json(
            {"result_files": list(input.results), "out_csv": output.csv, "out_png": output.png, **BOOT}),
    log:
        OUT + "/logs/report/deletion_curves.log",
    benchmark:
        OUT + "/benchmarks/report/deletion_curves.tsv",
    conda:
        "../../env/report.yml"
    shell:
        RENDER


rule rationale_table:
    input:
        notebook="notebooks/rationale_table.py",
        results=alignment_runs(ALIGNMENT + ".json"),
    output:
        ipynb=OUT + "/rationale_table.ipynb",
        html=OUT + "/rationale_table.html",
        csv=report(OUT + "/rationale_table.csv", caption="../report/rationale_table.rst", category="Tables"),
    params:
        parameters=lambda wc, input, output: as_json({"result_files": list(input.results), "out_csv": output.csv, **BOOT}),
    log:
        OUT + "/logs/report/rationale_table.log",
    benchmark:
        OUT + "/benchmarks/report/rationale_table.tsv",
    conda:
        "../../env/report.yml"
    shell:
        RENDER


rule attention_heatmaps:
    input:
        notebook="notebooks/attention_heatmaps.py",
        examples=alignment_runs(ALIGNMENT + ".examples.jsonl.gz"),
    output:
        ipynb=OUT + "/attention_heatmaps.ipynb",
        html=OUT + "/attention_heatmaps.html",
        png=report(OUT + "/attention_heatmaps.png", caption="../report/attention_heatmaps.rst", category="Figures"),
    params:
        parameters=lambda wc, input, output: as_json(
            {"example_files": list(input.examples), "n_examples": STATS.get("heatmap_examples", 6), "out_png": output.png}),
    log:
        OUT + "/logs/report/attention_heatmaps.log",
    benchmark:
        OUT + "/benchmarks/report/attention_heatmaps.tsv",
    conda:
        "../../env/report.yml"
    shell:
        RENDER


rule signal_health:
    input:
        notebook="notebooks/signal_health.py",
        metrics=runs(RUN + "/train_metrics.json"),
    output:
        ipynb=OUT + "/signal_health.ipynb",
        html=OUT + "/signal_health.html",
        csv=report(OUT + "/signal_health.csv", caption="../report/signal_health.rst", category="Tables"),
        png=report(OUT + "/signal_health.png", caption="../report/signal_health.rst", category="Figures"),
    params:
        parameters=lambda wc, input, output: as_json(
            {"metric_files": list(input.metrics), "out_csv": output.csv, "out_png": output.png}),
    log:
        OUT + "/logs/report/signal_health.log",
    benchmark:
        OUT + "/benchmarks/report/signal_health.tsv",
    conda:
        "../../env/report.yml"
    shell:
        RENDER


rule robustness_table:
    input:
        notebook="notebooks/robustness_table.py",
        results=robustness_runs(ROBUSTNESS_RUN + ".json"),
    output:
        ipynb=OUT + "/robustness_table.ipynb",
        html=OUT + "/robustness_table.html",
        csv=report(OUT + "/robustness_table.csv", caption="../report/robustness_table.rst", category="Tables"),
    params:
        parameters=lambda wc, input, output: as_json({"result_files": list(input.results), "out_csv": output.csv, **BOOT}),
    log:
        OUT + "/logs/report/robustness_table.log",
    benchmark:
        OUT + "/benchmarks/report/robustness_table.tsv",
    conda:
        "../../env/report.yml"
    shell:
        RENDER


rule probe_table:
    input:
        notebook="notebooks/probe_table.py",
        results=probe_runs(PROBE_RUN + ".json"),
        examples=probe_runs(PROBE_RUN + ".examples.jsonl.gz"),
    output:
        ipynb=OUT + "/probe_table.ipynb",
        html=OUT + "/probe_table.html",
        csv=report(OUT + "/probe_table.csv", caption="../report/probe_table.rst", category="Tables"),
    params:
        parameters=lambda wc, input, output: as_json({"result_files": list(input.results), "out_csv": output.csv, **BOOT}),
    log:
        OUT + "/logs/report/probe_table.log",
    benchmark:
        OUT + "/benchmarks/report/probe_table.tsv",
    conda:
        "../../env/report.yml"
    shell:
        RENDER


CLAIMS = {**afa_claims.DEFAULTS, **config.get("claims", {})}
CLAIMS["min_effect"] = {**afa_claims.DEFAULTS["min_effect"], **config.get("claims", {}).get("min_effect", {})}


def control_datasets():
    """Datasets whose baseline also trains claims.control_seeds (null: the accuracy claims' datasets)."""
    wanted = CLAIMS["control_datasets"]
    return [d for d in config["datasets"] if d in (afa_claims.ACCURACY_DATASETS if wanted is None else wanted)]


def control_runs(pattern, datasets=None, **extra):
    """`pattern` for the A/A control's own runs: the baseline at claims.control_seeds, for every
    model (of claims.control_models; null: all) that trains a baseline on a control dataset (of
    `datasets` only, if given). No other method trains them."""
    wanted = CLAIMS["control_models"]
    return [pattern.format(dataset=ds, model=m, method=afa_claims.BASELINE, seed=s, **extra)
            for ds in control_datasets() if datasets is None or ds in datasets
            for m in dict.fromkeys(m for m, meth, _ in combos(ds) if meth == afa_claims.BASELINE)
            if wanted is None or m in wanted for s in CLAIMS["control_seeds"]]


def control_alignment_runs(pattern):
    """`control_runs` for every alignment pair whose models come from a control dataset."""
    return [f for pair in alignment_pairs() for f in control_runs(pattern, [pair["trained_on"]],
                                                                  rationales=pair["rationales"])]


def claims_methods():
    """The methods the claims table reads: the baseline, its two columns and their K variants (claim 4)."""
    names = [afa_claims.BASELINE, CLAIMS["live"], CLAIMS["paper_literal"]]
    for m in names[1:]:
        names += afa_claims.k_variants(config["method_settings"], m)
    return list(dict.fromkeys(names))


def check_claims():
    """The columns' methods exist, and the control seeds are not seeds the comparisons use."""
    for key in ("live", "paper_literal"):
        if CLAIMS[key] not in config["method_settings"]:
            raise ValueError(f"config: claims.{key} is {CLAIMS[key]!r}, which method_settings does not define "
                             f"(defined: {', '.join(config['method_settings'])})")
    for ds in control_datasets():
        shared = sorted(set(CLAIMS["control_seeds"]) & {s for _, _, s in combos(ds)})
        if shared:
            raise ValueError(f"config: claims.control_seeds {shared} are also seeds of {ds!r}; the A/A control "
                             "needs baseline seeds that no comparison uses")


check_claims()


def claims_only(files):
    """The evaluation files of the claims' methods (<...>/<method>/seed<N>.<ext>)."""
    return [f for f in files if f.split("/")[-2] in claims_methods()]


rule claims:
    input:
        notebook="notebooks/claims.py",
        accuracy=runs(ACCURACY + ".json", methods=claims_methods(), ablations=True) + control_runs(ACCURACY + ".json"),
        predictions=runs(ACCURACY + ".predictions.csv", methods=claims_methods(), ablations=True) + control_runs(ACCURACY + ".predictions.csv"),
        # the A/A control reads every evaluation a claim row reads per example (robustness apart)
        deletion=runs(DELETION + ".json", methods=claims_methods()) + control_runs(DELETION + ".json"),
        alignment=claims_only(alignment_runs(ALIGNMENT + ".json")) + control_alignment_runs(ALIGNMENT + ".json"),
        alignment_examples=claims_only(alignment_runs(ALIGNMENT + ".examples.jsonl.gz"))
        + control_alignment_runs(ALIGNMENT + ".examples.jsonl.gz"),
        robustness=claims_only(robustness_runs(ROBUSTNESS_RUN + ".json")),
        robustness_examples=claims_only(robustness_runs(ROBUSTNESS_RUN + ".csv")),
        train=runs(RUN + "/train_metrics.json", methods=claims_methods(), ablations=True) + control_runs(RUN + "/train_metrics.json"),
    output:
        ipynb=OUT + "/claims.ipynb",
        html=OUT + "/claims.html",
        csv=report(OUT + "/claims.csv", caption="../report/claims.rst", category="Tables"),
        aa=OUT + "/aa_splits.csv",
    params:
        parameters=lambda wc, input, output: as_json({
            "accuracy_files": list(input.accuracy), "deletion_files": list(input.deletion),
            "alignment_files": list(input.alignment), "robustness_files": list(input.robustness),
            "train_metric_files": list(input.train), "live": CLAIMS["live"], "paper_literal": CLAIMS["paper_literal"],
            "control_seeds": CLAIMS["control_seeds"], "method_settings": config["method_settings"],
            "method_overrides": config.get("method_overrides", {}), "same_objective": CLAIMS["same_objective"],
            "not_testable": CLAIMS["not_testable"], "recipe_chosen_on": CLAIMS["recipe_chosen_on"],
            "model_kinds": {name: m["kind"] for name, m in config["model_settings"].items()},
            "model_settings": config["model_settings"], "model_overrides": config.get("model_overrides", {}),
            "min_effect": CLAIMS["min_effect"], "primary": CLAIMS["primary"], "out_csv": output.csv, "aa_csv": output.aa}),
    log:
        OUT + "/logs/report/claims.log",
    benchmark:
        OUT + "/benchmarks/report/claims.tsv",
    conda:
        "../../env/report.yml"
    shell:
        RENDER


def ablation_methods():
    """The methods of every swept parameter (ablations.parameters) with two values or more among the
    trained methods: those equal to claims.live in all but that parameter. None: no ablations rule."""
    trained = {meth for ds in config["datasets"] for _, meth, _ in combos(ds) + ablation_combos(ds)}
    found = []
    for key in (config.get("ablations") or {}).get("parameters", []):
        swept = [m for m in afa_tables.sweep_variants(config["method_settings"], CLAIMS["live"], key) if m in trained]
        if len(swept) >= 2:
            found += swept
    return list(dict.fromkeys(found))


rule ablations:
    input:
        notebook="notebooks/ablations.py",
        accuracy=runs(ACCURACY + ".json", methods=[afa_claims.BASELINE] + ablation_methods(), ablations=True),
        train=runs(RUN + "/train_metrics.json", methods=[afa_claims.BASELINE] + ablation_methods(), ablations=True),
    output:
        ipynb=OUT + "/ablations.ipynb",
        html=OUT + "/ablations.html",
        csv=report(OUT + "/ablations.csv", caption="../report/ablations.rst", category="Tables"),
        png=report(OUT + "/ablations.png", caption="../report/ablations.rst", category="Figures"),
    params:
        parameters=lambda wc, input, output: as_json({
            "accuracy_files": list(input.accuracy), "train_metric_files": list(input.train),
            "method_settings": config["method_settings"], "live": CLAIMS["live"],
            "sweeps": config["ablations"]["parameters"], "out_csv": output.csv, "out_png": output.png}),
    log:
        OUT + "/logs/report/ablations.log",
    benchmark:
        OUT + "/benchmarks/report/ablations.tsv",
    conda:
        "../../env/report.yml"
    shell:
        RENDER


def report_pages():
    """The notebooks this configuration renders, the claims first: what `rule all` asks for and what
    the front page links to (the robustness table when the config selects runs to attack; the
    probe's when some dataset has a lexicon; the ablations when a swept parameter has two values or
    more among the runs)."""
    pages = [rules.claims, rules.main_table, rules.deletion_curves, rules.rationale_table,
             rules.attention_heatmaps, rules.signal_health]
    pages += [rules.robustness_table] if robustness_runs(RUN) else []
    pages += [rules.probe_table] if probe_runs(RUN) else []
    pages += [rules.ablations] if ablation_methods() else []
    return pages


def caption(name):
    """A page's caption: the file snakemake's --report shows, and the front page too."""
    return f"workflow/report/{name}.rst"


rule index:
    input:
        pages=[p.output.html for p in report_pages()],
        figures=[p.output.png for p in report_pages() if "png" in p.output.keys()],
        captions=[caption(p.rule.name) for p in report_pages()],
        claims=rules.claims.output.csv,
        probe=rules.probe_table.output.csv if probe_runs(RUN) else [],
    output:
        OUT + "/index.html",
    params:
        parameters=lambda wc, input, output: as_json({
            "title": f"AFA replication: {OUT}", "claims_csv": input.claims, "probe_csv": input.probe or None,
            "figures": [{"name": p.rule.name, "image": p.output.png, "caption": caption(p.rule.name), "notebook": p.output.html}
                        for p in report_pages() if "png" in p.output.keys()],
            "notebooks": [{"name": p.rule.name, "html": p.output.html, "caption": caption(p.rule.name)} for p in report_pages()]}),
    log:
        OUT + "/logs/report/index.log",
    conda:
        "../../env/report.yml"
    shell:
        "afa index --out {output:q} --parameters {params.parameters:q} --log {log:q}"
