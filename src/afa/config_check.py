"""The workflow's configuration, read and checked with one line that names the culprit.

Snakemake parses ``--configfile`` files itself, before any code of the workflow runs, and its
message for a YAML syntax error names neither the file nor the line ("Config file is not valid JSON
or YAML"), while a missing file gives a traceback. The workflow reads its own base file through
`read_yaml` (file:line:column), and ``afa check-config --configfile <overlays>`` checks a whole
configuration the same way: syntax, then the schema, with the path of the bad key.
"""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

BASE = Path("config/config.yaml")
SCHEMA = Path("config/schema.yaml")


def read_yaml(path: str | Path) -> dict:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"{path}: no such config file") from None
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not UTF-8 text (byte {e.start})") from None
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ValueError(f"{where}: not valid YAML ({getattr(e, 'problem', None) or e})") from None
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise ValueError(f"{path}: a config file must map keys to values, got a {type(config).__name__}")
    return config


def merge(base: dict, over: dict) -> dict:
    """`over` laid on `base` key by key, nested mappings merged (snakemake's update_config)."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def filled_schema(path: str | Path = SCHEMA) -> dict:
    """The schema with its dataset enums filled from the registry (afa.data.DATASETS), its method
    block from AFA's settings (afa.settings.AFAConfig) plus the pipeline's `objective`, and each
    evaluation's settings from its settings class (afa.evaluation.options)."""
    from afa import data
    from afa.settings import AFAConfig

    schema = read_yaml(path)
    schema["$defs"]["dataset"]["enum"] = list(data.DATASETS)
    schema["$defs"]["rationale_dataset"]["enum"] = data.rationale_datasets()
    method = AFAConfig.json_schema()
    method["properties"] = {"objective": {"enum": ["baseline", "afa"], "description": "baseline: L_cls alone; "
                                          "afa: L_cls + lambda L_adv"}, **method["properties"]}
    schema["$defs"]["method"] = method
    # each evaluation's settings, from its settings class (afa.evaluation.options), beside the block's
    # own run-selection keys
    from afa.evaluation import EVALUATIONS

    for ev in EVALUATIONS.values():
        if ev.settings and ev.block:  # a new evaluation's block needs no line in schema.yaml
            block = schema["properties"].setdefault(ev.name, {"type": "object", "additionalProperties": False,
                                                              "description": ev.help})
            block["properties"] = {**block.get("properties", {}), **ev.schema()["properties"]}
    schema["$defs"]["deletion"] = EVALUATIONS["deletion"].schema()
    return schema


def schema_error(config: dict, schema: dict) -> str | None:
    """One line for the most relevant schema violation, naming the key's path; None if valid."""
    import jsonschema

    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(config))
    if error is None:
        return None
    where = ".".join(str(part) for part in error.absolute_path) or "the top level"
    return f"config: {where}: {error.message}"


def check(overlays=(), base: str | Path = BASE, schema: str | Path = SCHEMA) -> dict:
    """The merged configuration of `base` and `overlays`, or ValueError with one line."""
    config = read_yaml(base)
    for path in overlays:
        config = merge(config, read_yaml(path))
    problem = schema_error(config, filled_schema(schema))
    if problem:
        raise ValueError(problem)
    return config
