"""The evaluation registry (afa.evaluation): each evaluation's settings are one dataclass, from which
the check of a settings dict, the command's --settings help and the config schema's block come."""

import dataclasses
import subprocess

import pytest
from conftest import REPO

from afa import config_check
from afa.evaluation import EVALUATIONS

WITH_SETTINGS = [e for e in EVALUATIONS.values() if e.settings]


@pytest.mark.parametrize("ev", WITH_SETTINGS, ids=lambda e: e.name)
def test_an_empty_block_is_the_defaults_and_an_unknown_key_names_the_known_ones(ev):
    assert ev.check({}) == ev.defaults() == dataclasses.asdict(ev.settings())
    with pytest.raises(ValueError, match=rf"^unknown {ev.name} setting 'nope' \(config: {ev.name}\); known: "):
        ev.check({"nope": 1})
    assert ev.check({k: 1 for k in ev.ignore}) == ev.defaults()  # the block's run-selection keys are not settings


@pytest.mark.parametrize("ev, option, bad, message", [
    ("deletion", "levels", [0], "deletion.levels must be a list, not empty: each a positive integer or a number in (0, 1)"),
    ("deletion", "mode", "cut", "deletion.mode must be one of delete, mask, got 'cut'"),
    ("alignment", "iou_threshold", float("nan"), "alignment.iou_threshold must be a number in [0, 1], got nan"),
    ("probe", "n", 1, "probe.n must be an integer >= 2, got 1"),
    ("robustness", "query_budget", 0, "robustness.query_budget must be null or a positive integer, got 0"),
    ("disc_study", "eps", 2, "disc_study.eps must be a number in [0, 1], got 2"),
])
def test_a_bad_value_is_one_line_naming_the_option_and_what_it_must_be(ev, option, bad, message):
    with pytest.raises(ValueError) as e:
        EVALUATIONS[ev].check({option: bad})
    assert str(e.value).startswith(message)


@pytest.mark.parametrize("ev", [e for e in WITH_SETTINGS if e.block], ids=lambda e: e.name)
def test_the_config_schema_block_is_the_settings_class_plus_its_run_selection_keys(ev):
    """disc_study's block is a study design (variants, maskings, policies -> settings): hand-written."""
    block = config_check.filled_schema(REPO / "config/schema.yaml")["properties"][ev.name]["properties"]
    fields = {f.name for f in dataclasses.fields(ev.settings)}
    extra = {"deletion": {"overrides", "model_overrides"}}.get(ev.name, set())
    assert set(block) == fields | set(ev.ignore) | extra
    for f in dataclasses.fields(ev.settings):
        assert block[f.name]["description"] == f.metadata["doc"]


def test_deletion_overrides_are_checked_against_the_same_class():
    schema = config_check.filled_schema(REPO / "config/schema.yaml")
    config = config_check.read_yaml(REPO / "config/config.yaml")
    config["deletion"]["overrides"] = {"imdb": {"max_exampels": 10}}
    assert config_check.schema_error(config, schema) == (
        "config: deletion.overrides.imdb: Additional properties are not allowed ('max_exampels' was unexpected)")


@pytest.mark.parametrize("ev", WITH_SETTINGS, ids=lambda e: e.name)
def test_settings_help_lists_every_option_with_its_default(ev):
    out = subprocess.run(["afa", ev.name, "--help"], capture_output=True, text=True, check=True).stdout
    flat = " ".join(out.split())
    for f in dataclasses.fields(ev.settings):
        assert f"{f.name} (" in flat, f.name


def test_every_reader_is_its_evaluation_module_s_values():
    for ev in EVALUATIONS.values():
        assert ev.values == hasattr(ev.module(), "values"), ev.name
