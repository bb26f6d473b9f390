# Report: each notebook (jupytext percent .py in notebooks/) executed by papermill into OUT,
# as .ipynb and HTML, with its table as CSV (and its figure as PNG).

STATS = config.get("statistics", {})
BOOT = {"bootstrap_resamples": STATS.get("bootstrap_resamples", 10000), "bootstrap_seed": STATS.get("bootstrap_seed", 0)}
RENDER = ("afa render --notebook {input.notebook:q} --out {output.ipynb:q} --html {output.html:q}"
          " --parameters {params.parameters:q} --log {log:q}")


rule main_table:
    input:
        notebook="notebooks/main_table.py",
        metrics=runs(OUT + "/eval/accuracy/{dataset}/{model}/{method}/seed{seed}.json"),
        predictions=runs(OUT + "/eval/accuracy/{dataset}/{model}/{method}/seed{seed}.predictions.csv"),
    output:
        ipynb=OUT + "/main_table.ipynb",
        html=OUT + "/main_table.html",
        csv=OUT + "/main_table.csv",
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
        results=runs(OUT + "/eval/deletion/{dataset}/{model}/{method}/seed{seed}.json"),
    output:
        ipynb=OUT + "/deletion_curves.ipynb",
        html=OUT + "/deletion_curves.html",
        csv=OUT + "/deletion_curves.csv",
        png=OUT + "/deletion_curves.png",
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
        results=alignment_runs(OUT + "/eval/alignment/{rationales}/{dataset}/{model}/{method}/seed{seed}.json"),
    output:
        ipynb=OUT + "/rationale_table.ipynb",
        html=OUT + "/rationale_table.html",
        csv=OUT + "/rationale_table.csv",
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
        examples=alignment_runs(OUT + "/eval/alignment/{rationales}/{dataset}/{model}/{method}/seed{seed}.examples.jsonl.gz"),
    output:
        ipynb=OUT + "/attention_heatmaps.ipynb",
        html=OUT + "/attention_heatmaps.html",
        png=OUT + "/attention_heatmaps.png",
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
        csv=OUT + "/signal_health.csv",
        png=OUT + "/signal_health.png",
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
        results=robustness_runs(OUT + "/eval/robustness/{dataset}/{model}/{method}/seed{seed}.json"),
    output:
        ipynb=OUT + "/robustness_table.ipynb",
        html=OUT + "/robustness_table.html",
        csv=OUT + "/robustness_table.csv",
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
        results=probe_runs(OUT + "/eval/probe/{dataset}/{model}/{method}/seed{seed}.json"),
        examples=probe_runs(OUT + "/eval/probe/{dataset}/{model}/{method}/seed{seed}.examples.jsonl.gz"),
    output:
        ipynb=OUT + "/probe_table.ipynb",
        html=OUT + "/probe_table.html",
        csv=OUT + "/probe_table.csv",
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
