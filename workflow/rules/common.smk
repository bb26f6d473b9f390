# Shared names and checks for every rule file.
import json

OUT = config["outdir"]
RUN = OUT + "/models/{dataset}/{model}/{method}/seed{seed}"
SPLITS = ["train", "validation", "test"]


def check_names():
    """Every name a list selects must be defined; fail before any job runs."""
    for key, table in (("models", "model_settings"), ("methods", "method_settings")):
        for name in config[key]:
            if name not in config[table]:
                raise ValueError(f"config: {key} lists {name!r}, which {table} does not define "
                                 f"(defined: {', '.join(config[table])})")
    for ds in config["datasets"]:
        if ds not in config["max_length"]:
            raise ValueError(f"config: max_length has no entry for dataset {ds!r}")


check_names()


wildcard_constraints:
    dataset="|".join(config["datasets"]),
    model="[A-Za-z0-9_]+",
    method="[A-Za-z0-9_]+",
    seed=r"\d+",


def runs(pattern):
    """`pattern` for every (dataset, model, method, seed) of the configuration."""
    return expand(pattern, dataset=config["datasets"], model=config["models"],
                  method=config["methods"], seed=config["seeds"])


def as_json(obj):
    return json.dumps(obj, sort_keys=True)
