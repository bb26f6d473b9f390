"""The paper's evaluations as functions of a model, its tokenizer and data: for your own model.

    from afa import evaluate
    result, per_example = evaluate.accuracy(model, tokenizer, texts, labels)
    result, per_example = evaluate.deletion(model, tokenizer, texts, labels, {"levels": [0.1, 0.2, 0.5]})
    result, per_example = evaluate.alignment(model, tokenizer, texts, labels, rationales)

`model` is any transformers sequence classifier (its attention row is read in eager mode,
`afa.hf.as_target`), one of the pipeline's models, or a folder: what `AFATrainer.save_model` or
`save_pretrained` wrote, or a pipeline run; with a folder, `tokenizer` is None and the folder's own
is read. `texts` are strings, `labels` class ids; `rationales` (alignment) one 0/1 per whitespace-
separated word of each text. Each function returns its result (the numbers the pipeline's result
file holds) and one record per example. `settings` are the pipeline's config block of the same name
(`config/config.yaml`: deletion, alignment), plus `max_length` (default: the tokenizer's, at most
512) and `device`; an unknown key is one line naming the known ones.

Layer: evaluation (a user of the library and of the pipeline's model loader; nothing imports it).
"""

from __future__ import annotations

from pathlib import Path

from afa.evaluation import settings_with_defaults

COMMON = {"max_length": None, "device": "cpu", "batch_size": 64}


def _model(model, tokenizer, settings: dict):
    """(model, tokenizer, max_length): a folder loaded, a transformers model wrapped for its attention row."""
    from afa import models
    from afa.hf import as_target

    if isinstance(model, (str, Path)):
        tokenizer, model, spec = models.load(Path(model), settings["device"])
        longest = spec.get("max_length")
    else:
        if tokenizer is None:
            raise ValueError("evaluate: a model object needs its tokenizer (tokenizer=None only with a folder)")
        model = as_target(model).to(settings["device"]).eval()
        longest = None
    if settings["max_length"]:
        return model, tokenizer, settings["max_length"]
    limit = getattr(tokenizer, "model_max_length", None)  # tokenizers without one report a huge sentinel
    return model, tokenizer, min(longest or (limit if isinstance(limit, int) and limit < 10**6 else 512), 512)


def accuracy(model, tokenizer, texts: list[str], labels, settings: dict | None = None) -> tuple[dict, list[dict]]:
    """Accuracy and macro-F1; per example its prediction and whether it is right."""
    from afa.evaluation.accuracy import accuracy as score
    from afa.tokens import encode

    s = settings_with_defaults("accuracy", COMMON, settings)
    model, tokenizer, max_length = _model(model, tokenizer, s)
    result = score(model, tokenizer, encode(tokenizer, list(texts), max_length), labels, s["batch_size"], s["device"])
    pred = result.pop("predictions")
    return result, [{"id": i, "label": int(y), "prediction": int(p), "correct": int(int(y) == int(p))}
                    for i, (y, p) in enumerate(zip(labels, pred))]


def deletion(model, tokenizer, texts: list[str], labels, settings: dict | None = None) -> tuple[dict, list[dict]]:
    """Token deletion (faithfulness): per level the accuracy after deleting the top-attention tokens
    against random ones, ERASER comprehensiveness and sufficiency (over ERASER's bins in `eraser`
    when `levels` holds them); per example its comprehensiveness and sufficiency over all levels."""
    from afa.evaluation.deletion import DEFAULTS, token_deletion
    from afa.tokens import encode

    defaults = {**{k: v for k, v in DEFAULTS.items() if k != "max_examples"}, **COMMON}
    s = settings_with_defaults("deletion", defaults, settings)
    model, tokenizer, max_length = _model(model, tokenizer, s)
    result = token_deletion(model, tokenizer, encode(tokenizer, list(texts), max_length), labels, s["levels"],
                            s["random_draws"], s["mode"], s["seed"], s["batch_size"], s["device"])
    per = result.pop("per_example")
    if result.get("eraser"):
        result["eraser"].pop("per_example")
    return result, [{"id": i, "label": int(y), "comprehensiveness": c, "sufficiency": f}
                    for i, (y, c, f) in enumerate(zip(labels, per["comprehensiveness"], per["sufficiency"]))]


def alignment(model, tokenizer, texts: list[str], labels, rationales: list[list[int]],
              settings: dict | None = None) -> tuple[dict, list[dict]]:
    """Agreement of the attention row with human rationales (plausibility): AUPRC, top-k token F1 and
    IOU-F1 of each word's attention mass against its 0/1 rationale mark, with chance and position-only
    references; per example its scores (examples whose words are all, or none, rationale are skipped)."""
    from afa.evaluation.alignment import DEFAULTS
    from afa.evaluation.alignment import alignment as score

    defaults = {**{k: v for k, v in DEFAULTS.items() if k != "sst_rule"}, **COMMON}
    s = settings_with_defaults("alignment", defaults, settings)
    records = []
    for i, (text, y, mask) in enumerate(zip(texts, labels, rationales)):
        words = text.split()
        if len(mask) != len(words):
            raise ValueError(f"evaluate.alignment: text {i} has {len(words)} words and {len(mask)} rationale marks")
        records.append({"id": str(i), "label": int(y), "tokens": words, "rationale_mask": [int(m) for m in mask]})
    model, tokenizer, max_length = _model(model, tokenizer, s)
    return score(model, tokenizer, records, max_length, "mirror", s["truncated"], s["iou_threshold"], s["batch_size"],
                 s["device"], s["chance_draws"], s["chance_seed"])
