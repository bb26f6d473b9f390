"""Accuracy and macro-F1 on the report split, plus per-example predictions for paired tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

from afa.inference import load_run, predict
from afa.io import atomic_path, write_result


def accuracy(model, tokenizer, ids: list[list[int]], labels, batch_size: int = 128, device="cpu") -> dict:
    """Accuracy and macro-F1 of `model` (one of afa's, or any Hugging Face sequence classifier) on
    token ids (`afa.models.encode`), and its predictions."""
    logits, _ = predict(model, tokenizer, ids, batch_size, device)
    y, pred = np.asarray(labels), logits.argmax(-1).numpy()
    return {"accuracy": float(accuracy_score(y, pred)), "macro_f1": float(f1_score(y, pred, average="macro")),
            "n": len(ids), "predictions": pred.tolist()}


def evaluate(run_dir: Path, data_dir: Path, out_json: Path, out_predictions: Path,
             batch_size: int = 128, device: str = "auto", meta: dict | None = None) -> dict:
    """`accuracy` of a run folder's model on its dataset's report split, with per-example predictions, to files."""
    tokenizer, model, rows, ids, device = load_run(run_dir, data_dir, "test", device)
    scores = accuracy(model, tokenizer, ids, [r["label"] for r in rows], batch_size, device)
    pred = scores.pop("predictions")
    result = {**(meta or {}), **scores}
    with atomic_path(out_predictions) as tmp:
        with open(tmp, "w") as f:
            f.write("id,label,pred,correct\n")
            for r, p in zip(rows, pred):
                f.write(f"{r['id']},{r['label']},{int(p)},{int(p == r['label'])}\n")
    write_result(out_json, result)
    return result


def values(file: str, metric: str = "correct"):
    """0/1 correctness (or `metric`, a column) per example, from the .predictions.csv beside a result JSON."""
    import pandas as pd

    p = pd.read_csv(file.replace(".json", ".predictions.csv"), dtype={"id": str})
    return p.set_index("id")[metric].astype(float)
