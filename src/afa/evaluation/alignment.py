"""Rationale alignment (plausibility): does the attention row A_{n,:} point at the words humans marked?

Paper claim: AFA's attention agrees better with human rationales than the baseline's.

Rationales are given per *word* of the dataset's own tokenisation (ERASER's tokens, SST's PTB
tokens); the model sees its own tokens (our word-level tokenizer splits punctuation off, MiniLM
splits words into pieces). Each word's score is the attention mass summed over the model tokens
it produced (the row stays a distribution over words). Words cut off by the model's max_length get
no score: with ``truncated: drop`` (default) an example is scored over the words the model saw
only, with ``zero`` the unseen words count with score 0 (rationale words there are misses).
Examples whose scored words hold no rationale word are skipped and counted.

Per example: AUPRC of the word scores against the mask (average precision), and precision/recall/F1
of the top-k words with k = the example's number of rationale words; these are averaged over
examples. IOU-F1 is ERASER's dataset-level partial-match F1 (threshold 0.5) of the top-k words'
contiguous spans against the gold spans, micro (ERASER's) and macro averaged.

Reference scorers that never read the text, scored over the same words through the same code
(``baselines``). Chance: ``chance_auprc`` is the exact expected AP of a random ranking, per example
and then averaged (``metrics.random_average_precision``; on short sentences far above the rationale
rate); ``positive_rate`` is the rationale rate, which is the chance level of top-k precision, recall
and F1 (k = rationale length); ``chance_iou_f1`` is the mean IOU-F1 of ``chance_draws`` seeded draws
of random scores. Position only: attention rows often lean on positions (the first tokens, the last
before [SEP]) and reviews tend to open or close on their verdict, so a ranking by position alone is
what an attention row must beat before it can be said to follow content. Neither direction is
privileged, so both are reported: ``position_first_*`` (earlier words rank higher) and
``position_last_*``.

SST phrases (``sst_rule``): SST gives every word its own sentiment label 0-4 (the leaf of the parse
tree). ``polarity`` marks a word when its label lies on the sentence's side (0-1 for a negative
sentence, 3-4 for a positive one) — the mirror's ``rationale_mask``; ``strong`` only the extreme
label (0 or 4). SST words are no human rationale in ERASER's sense: a proxy, documented as such.

Words labelled in training (``unseen_*``): SST-2's train split holds single words as phrases with
their own label, and most SST dev rationale words are among them, so a model can point at them
because training told it their sentiment one by one. The ``unseen_*`` scores rank only the words
whose lower-cased form is never a one-word phrase of the train split the model was trained on
(``labelled_words``): AUPRC per example over those words, its chance level, and the share of the
rationale words they hold. A train split without one-word phrases (IMDB, ERASER) leaves them null.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from afa.data import read_trained_split
from afa.evaluation.metrics import auprc, iou_f1, random_average_precision, spans_from_mask, topk_token_f1
from afa.inference import open_run, predict
from afa.evaluation import EVALUATIONS
from afa.io import read_json, write_jsonl_gz, write_result

DEFAULTS = EVALUATIONS["alignment"].defaults()  # afa.evaluation.options.Alignment
RULES = ("mirror", "polarity", "strong")
# Strictly monotone, so no ties: the top-k words are the first (or last) k.
POSITION_SCORERS = {"position_first": lambda n: np.arange(n, 0, -1.0), "position_last": lambda n: np.arange(1.0, n + 1)}


def labelled_words(train_records: list[dict]) -> frozenset[str]:
    """Lower-cased texts of the train phrases that are one word: words whose label training showed."""
    return frozenset(t.lower() for t in (r["text"].strip() for r in train_records) if t and len(t.split()) == 1)


def rationale_mask(record: dict, rule: str) -> list[int]:
    """The 0/1 word mask of one record under an SST rule (other datasets: their own mask)."""
    if rule not in RULES:
        raise ValueError(f"unknown rationale rule {rule!r} (config: alignment.sst_rule); use one of {RULES}")
    if rule == "mirror" or "token_labels" not in record:
        return record["rationale_mask"]
    side = {0: (0, 1), 1: (3, 4)}[record["label"]] if rule == "polarity" else {0: (0,), 1: (4,)}[record["label"]]
    return [int(lab in side) for lab in record["token_labels"]]


def word_scores(row, word_ids: list, n_words: int) -> tuple[np.ndarray, np.ndarray]:
    """(score per word = summed attention of its model tokens, seen: the word produced a token)."""
    scores, seen = np.zeros(n_words), np.zeros(n_words, dtype=bool)
    for a, w in zip(np.asarray(row, dtype=float), word_ids):
        if w is not None:  # special tokens ([CLS], [SEP]) belong to no word
            scores[w] += a
            seen[w] = True
    return scores, seen


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """0/1 mask of the k highest scores, ties to the earlier word (as in ``topk_token_f1``)."""
    top = np.zeros(len(scores), dtype=int)
    top[np.argsort(-scores, kind="stable")[:k]] = 1
    return top


def score_example(scores: np.ndarray, mask: np.ndarray) -> dict:
    """One example's agreement of word scores with its rationale mask: AUPRC, top-k token F1, spans."""
    k = int(mask.sum())
    f1 = topk_token_f1(scores, mask, k)
    return {"auprc": auprc(scores, mask), "token_precision": f1["precision"], "token_recall": f1["recall"],
            "token_f1": f1["f1"], "k": k, "pred_spans": spans_from_mask(top_k(scores, k)),
            "gold_spans": spans_from_mask(mask)}


def alignment(model, tokenizer, records: list[dict], max_length: int, sst_rule: str = "polarity",
              truncated: str = "drop", iou_threshold: float = 0.5, batch_size: int = 64, device="cpu",
              chance_draws: int = 20, chance_seed: int = 0, labelled: frozenset[str] = frozenset()):
    """(summary dict, per-example rows) of one model against the records' rationales; `labelled`:
    the words of ``labelled_words``, left out of the ``unseen_*`` scores."""
    if truncated not in ("drop", "zero"):
        raise ValueError(f"unknown truncated option {truncated!r} (config: alignment.truncated); use drop or zero")
    enc = tokenizer([r["tokens"] for r in records], is_split_into_words=True, truncation=True, max_length=max_length)
    _, rows = predict(model, tokenizer, enc["input_ids"], batch_size, device)
    per_example, skipped, coverage, unseen_masks = [], 0, [], []
    for i, r in enumerate(records):
        mask = np.asarray(rationale_mask(r, sst_rule), dtype=int)
        scores, seen = word_scores(rows[i], enc.word_ids(i), len(r["tokens"]))
        coverage.append(mask[seen].sum() / max(1, mask.sum()))
        tokens = [t for t, s in zip(r["tokens"], seen) if s or truncated == "zero"]
        if truncated == "drop":
            scores, mask = scores[seen], mask[seen]
        if mask.sum() == 0 or mask.sum() == len(mask):  # AUPRC needs both classes
            skipped += 1
            continue
        unseen = np.array([t.lower() not in labelled for t in tokens], dtype=bool)
        u_mask = mask[unseen]
        scoreable = bool(labelled) and 0 < u_mask.sum() < len(u_mask)
        if scoreable:
            unseen_masks.append(u_mask)
        per_example.append({"id": r["id"], "label": r["label"], "words": int(len(mask)), **score_example(scores, mask),
                            "tokens": tokens, "scores": [round(float(s), 6) for s in scores], "mask": mask.tolist(),
                            "unseen_words": int(unseen.sum()), "unseen_rationale_words": int(u_mask.sum()),
                            "unseen_auprc": auprc(scores[unseen], u_mask) if scoreable else None})
    if not per_example:
        raise ValueError("no example has both rationale and non-rationale words among the words the model sees")
    summary = {**summarize(per_example, iou_threshold), "n": len(per_example), "skipped": skipped,
               "rationale_coverage": float(np.mean(coverage)),
               **baselines([e["mask"] for e in per_example], iou_threshold, chance_draws, chance_seed),
               **unseen_summary(per_example, unseen_masks, len(labelled))}
    return summary, per_example


def unseen_summary(per_example: list[dict], unseen_masks: list, n_labelled: int) -> dict:
    """The ``unseen_*`` fields: null where training labelled no single word or no example is scoreable."""
    scored = [e["unseen_auprc"] for e in per_example if e["unseen_auprc"] is not None]
    rationale = sum(int(np.sum(e["mask"])) for e in per_example)
    return {"labelled_words": n_labelled, "unseen_n": len(scored),
            "unseen_auprc": float(np.mean(scored)) if scored else None,
            "unseen_chance_auprc": float(np.mean([random_average_precision(int(m.sum()), len(m)) for m in unseen_masks]))
            if unseen_masks else None,
            "unseen_rationale_share": sum(e["unseen_rationale_words"] for e in per_example) / rationale
            if n_labelled else None}


def summarize(scored: list[dict], iou_threshold: float) -> dict:
    """Dataset scores of ``score_example`` rows: per-example metrics averaged, IOU-F1 over all spans."""
    iou = {avg: iou_f1([e["pred_spans"] for e in scored], [e["gold_spans"] for e in scored], iou_threshold, avg)
           for avg in ("micro", "macro")}
    summary = {key: float(np.mean([e[key] for e in scored]))
               for key in ("auprc", "token_precision", "token_recall", "token_f1")}
    return {**summary, "iou_f1": iou["micro"]["f1"], "iou_f1_macro": iou["macro"]["f1"]}


def baselines(masks: list, iou_threshold: float = 0.5, chance_draws: int = 20, chance_seed: int = 0) -> dict:
    """Chance and position-only scores of the examples' masks (every mask holds both classes)."""
    masks = [np.asarray(m, dtype=int) for m in masks]
    out = {"positive_rate": float(np.mean([m.mean() for m in masks])),
           "chance_auprc": float(np.mean([random_average_precision(int(m.sum()), len(m)) for m in masks]))}
    rng, gold = np.random.default_rng(chance_seed), [spans_from_mask(m) for m in masks]
    # IOU-F1 only needs the top-k spans; skipping the AP of every draw keeps this cheap.
    draws = [iou_f1([spans_from_mask(top_k(rng.random(len(m)), int(m.sum()))) for m in masks], gold,
                    iou_threshold)["f1"] for _ in range(chance_draws)]
    out["chance_iou_f1"] = float(np.mean(draws)) if draws else float("nan")
    for name, scorer in POSITION_SCORERS.items():
        s = summarize([score_example(scorer(len(m)), m) for m in masks], iou_threshold)
        out.update({f"{name}_{key}": s[key] for key in ("auprc", "token_f1", "iou_f1")})
    return out


def trained_rows(run_dir: Path, train_data: Path) -> list[dict]:
    """The train rows the run learnt from: the prepared split, capped as the train settings it
    recorded cap it (the whole split for a run without train_metrics.json)."""
    path = Path(run_dir) / "train_metrics.json"
    return read_trained_split(train_data, "train", read_json(path).get("train", {}) if path.exists() else {})


def evaluate(run_dir: Path, data_dir: Path, out_json: Path, out_examples: Path, settings: dict | None = None,
             meta: dict | None = None, device: str = "auto", train_data: Path | None = None) -> dict:
    """`train_data`: the prepared folder of the dataset the run was trained on (``labelled_words``:
    of the rows it trained on, when its train settings capped them)."""
    s = EVALUATIONS["alignment"].check(settings)
    labelled = labelled_words(trained_rows(run_dir, train_data)) if train_data is not None else frozenset()
    tokenizer, model, spec, records, device = open_run(run_dir, data_dir, "test", device)
    if not records or "tokens" not in records[0]:
        raise ValueError(f"{data_dir}/test.jsonl.gz has no 'tokens'/'rationale_mask': not a rationale dataset")
    summary, per_example = alignment(model, tokenizer, records, spec["max_length"], s["sst_rule"], s["truncated"],
                                     s["iou_threshold"], s["batch_size"], device, s["chance_draws"],
                                     s["chance_seed"], labelled)
    write_jsonl_gz(out_examples, [{k: v for k, v in e.items() if k not in ("pred_spans", "gold_spans")}
                                  for e in per_example])
    result = {**(meta or {}), **summary, "settings": s}
    write_result(out_json, result)
    return result


def examples(file: str) -> list[dict]:
    """The per-example rows of the .examples.jsonl.gz beside a result JSON."""
    import gzip
    import json

    with gzip.open(file.replace(".json", ".examples.jsonl.gz"), "rt") as f:
        return [json.loads(line) for line in f]


def values(file: str, metric: str = "auprc"):
    """Per-example `metric` of a result JSON (null, e.g. `unseen_auprc` unscoreable: NaN), by example id."""
    import pandas as pd

    rows = examples(file)
    return pd.Series([r.get(metric) for r in rows], index=[str(r["id"]) for r in rows], dtype=float)
