"""Names, defaults and checks of the robustness settings (config block `robustness`).

No TextAttack import here: settings are checked before the slow import, and both
``afa.evaluation.attacks`` and ``afa.evaluation.robustness`` read the names from this module.
"""

from __future__ import annotations

from afa.data import DataError
from afa.evaluation import settings_with_defaults

RECIPES = ("deepwordbug", "pwws", "pruthi", "textfooler_offline")
DEFAULTS = {"recipes": list(RECIPES), "n": 20, "sample": "first", "seed": 0, "query_budget": 300,
            "model_batch_size": 32, "textfooler": {}}
TEXTFOOLER_DEFAULTS = {
    "max_candidates": 50,               # TextFooler's K nearest neighbours
    "min_cos_sim": 0.5,                 # TextAttack's TextFooler value; on GloVe 50-d it rarely binds (docs/evaluations.md)
    "glove_vocab": 65000,               # most frequent all-letter GloVe words; the counter-fitted vocabulary has 65,713
    "antonym_guard": True,              # reject swaps to a WordNet antonym
    "pos_constraint": True,             # NLTK universal POS tags must match (nouns and verbs may swap)
    "sentence_threshold": 0.840845057,  # 1 - 0.5 / pi: TextFooler's USE threshold as TextAttack reads it; null = off
    "sentence_metric": "angular",
    "sentence_window": 15,              # words around the swap that are encoded
    "skip_short": True,                 # texts shorter than the window are not checked (as in TextAttack)
}
TEXTFOOLER_KEYS = set(TEXTFOOLER_DEFAULTS)
# keys of the config block that pick which runs are attacked, not how: not attack settings
SELECTION = ("datasets", "methods", "models")


def check_settings(settings: dict | None) -> dict:
    """Defaults filled in, the run-selection keys dropped; a bad value stops here with the config option named."""
    try:
        s = settings_with_defaults("robustness", DEFAULTS, settings, ignore=SELECTION)
    except ValueError as e:
        raise DataError(str(e)) from None
    bad = [r for r in s["recipes"] if r not in RECIPES]
    if bad or not s["recipes"]:
        raise DataError(f"unknown attack recipe {bad[0]!r} (config: robustness.recipes); use one of {', '.join(RECIPES)}"
                        if bad else "config: robustness.recipes is empty")
    if not isinstance(s["n"], int) or s["n"] < 1:
        raise DataError(f"config: robustness.n must be a positive integer, got {s['n']!r}")
    if s["sample"] not in ("first", "random"):
        raise DataError(f"unknown sample {s['sample']!r} (config: robustness.sample); use first or random")
    if s["query_budget"] is not None and (not isinstance(s["query_budget"], int) or s["query_budget"] < 1):
        raise DataError(f"config: robustness.query_budget must be a positive integer or null, got {s['query_budget']!r}")
    unknown = set(s["textfooler"]) - TEXTFOOLER_KEYS
    if unknown:
        raise DataError(f"unknown option(s) {', '.join(sorted(unknown))} (config: robustness.textfooler); "
                        f"known: {', '.join(sorted(TEXTFOOLER_KEYS))}")
    s["textfooler"] = {**TEXTFOOLER_DEFAULTS, **s["textfooler"]}
    return s
