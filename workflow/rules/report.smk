# Report: each notebook (jupytext percent .py in notebooks/) executed by papermill into OUT,
# as .ipynb and HTML, with its table as CSV (and its figure as PNG).

RENDER = ("afa render --notebook {input.notebook:q} --out {output.ipynb:q} --html {output.html:q}"
          " --parameters {params.parameters:q} --log {log:q}")


def read(page, evaluation, ending):
    """A file (the `ending` of its result path, afa.evaluation's registry via STEMS; `train`: of the run
    folder) for every run whose `evaluation` the report page reads (afa.runs.RunTable.read)."""
    return RUNS.files(page, evaluation, (RUN if evaluation == "train" else STEMS[evaluation]) + ending)


rule main_table:
    input:
        notebook="notebooks/main_table.py",
        metrics=read("main_table", "accuracy", ".json"),
        predictions=read("main_table", "accuracy", ".predictions.csv"),
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
        results=read("deletion_curves", "deletion", ".json"),
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
        results=read("rationale_table", "alignment", ".json"),
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
        examples=read("attention_heatmaps", "alignment", ".examples.jsonl.gz"),
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
        metrics=read("signal_health", "train", "/train_metrics.json"),
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
        results=read("robustness_table", "robustness", ".json"),
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
        results=read("probe_table", "probe", ".json"),
        examples=read("probe_table", "probe", ".examples.jsonl.gz"),
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


CLAIMS = RUNS.claims  # config `claims` over its defaults


rule claims:
    input:
        notebook="notebooks/claims.py",
        accuracy=read("claims", "accuracy", ".json"),
        predictions=read("claims", "accuracy", ".predictions.csv"),
        deletion=read("claims", "deletion", ".json"),
        alignment=read("claims", "alignment", ".json"),
        alignment_examples=read("claims", "alignment", ".examples.jsonl.gz"),
        robustness=read("claims", "robustness", ".json"),
        robustness_examples=read("claims", "robustness", ".csv"),
        train=read("claims", "train", "/train_metrics.json"),
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
            "extra_columns": CLAIMS["extra_columns"], "contrasts": CLAIMS["contrasts"],
            "decomposition": RUNS.decomposition(),
            "control_seeds": CLAIMS["control_seeds"], "method_settings": config["method_settings"],
            "method_overrides": config.get("method_overrides", {}), "same_objective": CLAIMS["same_objective"],
            "not_testable": CLAIMS["not_testable"], "column_not_testable": CLAIMS["column_not_testable"],
            "recipe_chosen_on": CLAIMS["recipe_chosen_on"],
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


rule ablations:
    input:
        notebook="notebooks/ablations.py",
        accuracy=read("ablations", "accuracy", ".json"),
        train=read("ablations", "train", "/train_metrics.json"),
    output:
        ipynb=OUT + "/ablations.ipynb",
        html=OUT + "/ablations.html",
        csv=report(OUT + "/ablations.csv", caption="../report/ablations.rst", category="Tables"),
        png=report(OUT + "/ablations.png", caption="../report/ablations.rst", category="Figures"),
    params:
        parameters=lambda wc, input, output: as_json({
            "accuracy_files": list(input.accuracy), "train_metric_files": list(input.train),
            "method_settings": config["method_settings"], "live": CLAIMS["live"],
            "sweeps": RUNS.sweeps, "out_csv": output.csv, "out_png": output.png}),
    log:
        OUT + "/logs/report/ablations.log",
    benchmark:
        OUT + "/benchmarks/report/ablations.tsv",
    conda:
        "../../env/report.yml"
    shell:
        RENDER


rule discriminator:
    input:
        notebook="notebooks/discriminator.py",
        results=read("discriminator", "disc_study", ".json"),
        examples=read("discriminator", "disc_study", ".examples.jsonl.gz"),
    output:
        ipynb=OUT + "/discriminator.ipynb",
        html=OUT + "/discriminator.html",
        csv=report(OUT + "/discriminator.csv", caption="../report/discriminator.rst", category="Tables"),
        png=report(OUT + "/discriminator.png", caption="../report/discriminator.rst", category="Figures"),
    params:
        parameters=lambda wc, input, output: as_json(
            {"result_files": list(input.results), "out_csv": output.csv, "out_png": output.png,
             "not_testable": (config.get("disc_study") or {}).get("not_testable") or {},
             "confirm_seeds": RUNS.disc_study_stages()["confirm"]}),
    log:
        OUT + "/logs/report/discriminator.log",
    benchmark:
        OUT + "/benchmarks/report/discriminator.tsv",
    conda:
        "../../env/report.yml"
    shell:
        RENDER


def report_pages():
    """The notebooks this configuration renders, the claims first (afa.runs.RunTable.pages): what
    `rule all` asks for and what the front page links to."""
    return [getattr(rules, page) for page in RUNS.pages()]


# The run table for a reader: every run, its kind, the pages that read each of its evaluations, its
# resolved training settings (afa.runs). Written in snakemake's own process, where the table is.
localrules:
    run_table,


rule run_table:
    output:
        OUT + "/runs.tsv",
    params:
        # a changed table (a seed added, a setting changed) is written again
        table=RUNS.tsv(),
    run:
        from afa.io import atomic_path

        with atomic_path(output[0]) as tmp:
            tmp.write_text(params.table)


def caption(name):
    """A page's caption: the file snakemake's --report shows, and the front page too."""
    return f"workflow/report/{name}.rst"


rule index:
    input:
        pages=[p.output.html for p in report_pages()],
        figures=[p.output.png for p in report_pages() if "png" in p.output.keys()],
        captions=[caption(p.rule.name) for p in report_pages()],
        claims=rules.claims.output.csv,
        probe=rules.probe_table.output.csv if "probe_table" in RUNS.pages() else [],
        runs=rules.run_table.output,
    output:
        OUT + "/index.html",
    params:
        parameters=lambda wc, input, output: as_json({
            "title": f"AFA replication: {OUT}", "claims_csv": input.claims, "probe_csv": input.probe or None,
            "runs_tsv": input.runs[0],
            "figures": [{"name": p.rule.name, "image": p.output.png, "caption": caption(p.rule.name), "notebook": p.output.html}
                        for p in report_pages() if "png" in p.output.keys()],
            "notebooks": [{"name": p.rule.name, "html": p.output.html, "caption": caption(p.rule.name)} for p in report_pages()]}),
    log:
        OUT + "/logs/report/index.log",
    conda:
        "../../env/report.yml"
    shell:
        "afa index --out {output:q} --parameters {params.parameters:q} --log {log:q}"
