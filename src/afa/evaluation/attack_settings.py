"""Names, defaults and checks of the robustness settings (config block `robustness`).

No TextAttack import here: settings are checked before the slow import, and both
``afa.evaluation.attacks`` and ``afa.evaluation.robustness`` read the names from this module.
"""

from __future__ import annotations

from afa.data import DataError
from afa.evaluation import EVALUATIONS, settings_with_defaults
from afa.evaluation.options import RECIPES  # the public name, here and in afa.evaluation.robustness

# the defaults are afa.evaluation.options.Robustness's (the one source: the schema and --settings' help read it)
DEFAULTS = {**EVALUATIONS["robustness"].defaults(), "textfooler": {}}
TEXTFOOLER_DEFAULTS = EVALUATIONS["robustness"].defaults()["textfooler"]
TEXTFOOLER_KEYS = set(TEXTFOOLER_DEFAULTS)
# keys of the config block that pick which runs are attacked, not how: not attack settings
SELECTION = EVALUATIONS["robustness"].ignore


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
