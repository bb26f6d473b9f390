# Report: each notebook (jupytext percent .py in notebooks/) executed by papermill into OUT,
# as .ipynb and HTML, with its table as CSV.


rule main_table:
    input:
        notebook="notebooks/main_table.py",
        metrics=runs(OUT + "/eval/accuracy/{dataset}/{model}/{method}/seed{seed}.json"),
    output:
        ipynb=OUT + "/main_table.ipynb",
        html=OUT + "/main_table.html",
        csv=OUT + "/main_table.csv",
    params:
        parameters=lambda wc, input, output: as_json({"metric_files": list(input.metrics), "out_csv": output.csv}),
    log:
        OUT + "/logs/report/main_table.log",
    conda:
        "../../env/report.yml"
    shell:
        "afa render --notebook {input.notebook:q} --out {output.ipynb:q} --html {output.html:q}"
        " --parameters {params.parameters:q} --log {log:q}"


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
            {"result_files": list(input.results), "out_csv": output.csv, "out_png": output.png}),
    log:
        OUT + "/logs/report/deletion_curves.log",
    conda:
        "../../env/report.yml"
    shell:
        "afa render --notebook {input.notebook:q} --out {output.ipynb:q} --html {output.html:q}"
        " --parameters {params.parameters:q} --log {log:q}"
