"""Each evaluation's settings: one dataclass per evaluation, the config block of the same name.

A field carries its default, its documentation and its constraints (`afa.settings.setting`), and the
registry (`afa.evaluation.EVALUATIONS`) derives everything else from the class: the check of a
settings dict (`Evaluation.check`: unknown keys and bad values, one line naming the option), the
command's `--settings` help, and the config schema's block (`afa.config_check.filled_schema`). The
classes live here, not in their modules, so that the command line and the workflow read them
without importing torch or TextAttack.
"""

from __future__ import annotations

from dataclasses import dataclass

from afa.settings import MASKINGS, setting

RECIPES = ("deepwordbug", "pwws", "pruthi", "textfooler_offline")  # TextAttack recipes (afa.evaluation.attacks)


@dataclass
class Deletion:
    """Token deletion by attention against random deletion (faithfulness; afa.evaluation.deletion)."""

    levels: list = setting([1, 2, 3, 5, 10, 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5],
                           "deletion levels: an integer is a token count, a number in (0, 1) a share of the maskable "
                           "tokens (ERASER's bins: 0.01, 0.05, 0.1, 0.2, 0.5)", type="array", minItems=1,
                           items={"oneOf": [{"type": "integer", "minimum": 1},
                                            {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}]})
    random_draws: int = setting(3, "random deletions per level and example", type="integer", minimum=1)
    mode: str = setting("delete", "delete the tokens | mask: replace them by [MASK]", enum=["delete", "mask"])
    seed: int = setting(0, "seeds the random deletions and the max_examples draw", type="integer")
    max_examples: int | None = setting(None, "a seeded subset of the report split, the same for every run (null: all)",
                                       type=["integer", "null"], minimum=1)


@dataclass
class Alignment:
    """Rationale alignment of the attention row (plausibility; afa.evaluation.alignment)."""

    sst_rule: str = setting("polarity", "SST word labels -> rationale mask: polarity (the sentence's side) | strong "
                            "(labels 0 and 4) | mirror (the staged mask)", enum=["mirror", "polarity", "strong"])
    truncated: str = setting("drop", "words past the model's max_length: drop them | zero: score them 0",
                             enum=["drop", "zero"])
    iou_threshold: float = setting(0.5, "ERASER's IOU-F1 match threshold", type="number", minimum=0, maximum=1)
    batch_size: int = setting(64, "examples per forward pass", type="integer", minimum=1)
    chance_draws: int = setting(20, "seeded draws of random word scores behind chance_iou_f1", type="integer", minimum=1)
    chance_seed: int = setting(0, "seeds those draws", type="integer")


@dataclass
class Probe:
    """The mechanism probe: does each reward prefer masking polar words? (afa.evaluation.probe)."""

    n: int = setting(200, "a seeded draw of validation sentences per run (all when fewer)", type="integer", minimum=2)
    K: list = setting([1, 2], "tokens per mask; each K gets its own rows", type="array", minItems=1, uniqueItems=True,
                      items={"type": "integer", "minimum": 1})
    seed: int = setting(0, "seeds the sentence draw and, per K and sentence, every mask", type="integer", minimum=0)
    masking_for_baseline: str = setting("delete", "masking of a baseline's copies (confidence_drop only; AFA runs "
                                        "use their own masking; a baseline has no generator)",
                                        enum=[m for m in MASKINGS if m != "generator"])
    batch_size: int = setting(64, "copies per forward pass", type="integer", minimum=1)
    bootstrap_resamples: int = setting(10000, "resamples of the per-run intervals over sentences", type="integer",
                                       minimum=1)
    bootstrap_seed: int = setting(0, "seeds them", type="integer")


@dataclass
class DiscStudy:
    """The discriminator study: a D trained alone on masked copies, then probed (afa.evaluation.disc_study)."""

    disc: dict = setting({}, "D's settings (AFAConfig.disc: width, blocks, kind, learning rate)", type="object")
    masking: str = setting("delete", "how a copy is made (AFAConfig.masking)", enum=list(MASKINGS))
    refill: bool = setting(False, "delete only: a cut text's copy takes its next tokens (AFAConfig.refill)",
                           type="boolean")
    generator: dict = setting({}, "masking generator: G's settings (AFAConfig.generator; trained in the job on the "
                              "train split, the same G in every cell of a dataset)", type="object")
    policy: str = setting("uniform", "uniform: K maskable tokens at random | attention: AFA's sampler on the run's "
                          "attention row", enum=["uniform", "attention"])
    K: int = setting(3, "tokens per training mask", type="integer", minimum=1)
    eps: float = setting(0.1, "policy attention: AFA's exploration rate", type="number", minimum=0, maximum=1)
    steps: int = setting(1000, "D's updates: the budget, the same for every cell", type="integer", minimum=1)
    probe_at: list = setting([], "earlier budgets, each below `steps`: the same D is probed after each of these "
                             "updates too (one training, a row per budget)", type="array",
                             items={"type": "integer", "minimum": 1})
    batch_size: int = setting(64, "train texts per update", type="integer", minimum=1)
    seed: int = setting(0, "D's seed: its initial draw, its batches and its masks", type="integer")
    max_train: int | None = setting(None, "the first rows of train the batches are drawn from (null: all)",
                                    type=["integer", "null"], minimum=1)
    window: int = setting(100, "D's reported accuracy: the mean over its last `window` updates", type="integer",
                          minimum=1)
    probe: dict = setting({}, "the probe's settings (the `probe` block's)", type="object")


@dataclass
class TextFooler:
    """textfooler_offline: TextFooler rebuilt from offline parts (afa.evaluation.attacks)."""

    max_candidates: int = setting(50, "GloVe 6B 50-d nearest neighbours (cosine) per word", type="integer", minimum=1)
    min_cos_sim: float = setting(0.5, "TextAttack's TextFooler value; on GloVe 50-d it rarely binds", type="number",
                                 exclusiveMinimum=0, maximum=1)
    glove_vocab: int = setting(65000, "most frequent all-letter GloVe words (the counter-fitted vocabulary: 65,713)",
                               type="integer", minimum=100)
    antonym_guard: bool = setting(True, "reject swaps to a WordNet antonym", type="boolean")
    pos_constraint: bool = setting(True, "NLTK universal POS tags must agree (nouns and verbs may swap)", type="boolean")
    sentence_threshold: float | None = setting(0.840845057, "MiniLM angular similarity over a window (TextFooler's "
                                               "USE value, 1 - 0.5 / pi); null: off", type=["number", "null"],
                                               minimum=-1, maximum=1)
    sentence_metric: str = setting("angular", "angular | cosine", enum=["angular", "cosine"])
    sentence_window: int = setting(15, "words around the swap that are encoded", type="integer", minimum=1)
    skip_short: bool = setting(True, "texts shorter than the window are not checked (as in TextAttack)", type="boolean")


@dataclass
class Robustness:
    """TextAttack attacks on n report-split examples per run (afa.evaluation.robustness)."""

    recipes: list = setting(list(RECIPES), "the attack recipes", type="array", minItems=1, uniqueItems=True,
                            items={"enum": list(RECIPES)})
    n: int = setting(20, "report-split examples attacked per run", type="integer", minimum=1)
    sample: str = setting("first", "the first n examples | random: a draw of n with `seed`", enum=["first", "random"])
    seed: int = setting(0, "example i of a recipe is attacked under seed + i", type="integer", minimum=0)
    query_budget: int | None = setting(300, "model queries per example (null: no limit)", type=["integer", "null"],
                                       minimum=1)
    model_batch_size: int = setting(32, "texts per model call", type="integer", minimum=1)
    textfooler: TextFooler = setting(TextFooler, "textfooler_offline's options")

