# The workflow lives in workflow/Snakefile; this file only makes `snakemake` find it from the root.
include: "workflow/Snakefile"

# Snakemake forgets the default target an included file declares (it restores its own after the
# include), so the root names it.
workflow.default_target = "all"
