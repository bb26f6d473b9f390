"""Token deletion (faithfulness): remove the tokens the model's own attention row ranks highest,
and see how much its prediction suffers, against removing as many random tokens.

Paper claim: AFA's attention points at tokens that matter, so deleting its top-attention tokens
costs more accuracy than it does for the baseline.

For each report-split example and each level (an int: that many tokens; a float in (0, 1): that
fraction of the example's maskable tokens, at least one):
  - the top-k maskable tokens by A_{n,:} (the row AFA trains) are deleted (``mode: mask``
    replaces them by [MASK] instead), and separately *only* they are kept (ERASER sufficiency);
  - k random maskable tokens are deleted, over ``random_draws`` seeded draws.
Per level: accuracy after each deletion and its drop from the full-input accuracy;
comprehensiveness = mean p(y|x) - p(y|x without top-k) and sufficiency = mean p(y|x) - p(y|top-k
only), with y the class predicted on the full input (DeYoung et al. 2020). The aggregates are the
means over all levels, and ``eraser``: the same means over ERASER's bins only (1, 5, 10, 20, 50 % of
the tokens; DeYoung et al. 2020), the figures comparable with published ones, when `levels` has them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from afa import models
from afa.evaluation.metrics import aopc
from afa.inference import load_run, predict
from afa.evaluation import EVALUATIONS
from afa.io import atomic_path, write_result

ERASER_LEVELS = (0.01, 0.05, 0.1, 0.2, 0.5)
DEFAULTS = EVALUATIONS["deletion"].defaults()  # afa.evaluation.options.Deletion


def level_size(level, n_maskable: int) -> int:
    """Tokens a deletion level removes: an int is a count, a float a share of the maskable tokens (at least 1)."""
    k = level if isinstance(level, int) else max(1, round(level * n_maskable))
    return min(k, n_maskable)


def remove(ids: list[int], positions, mode: str, mask_id: int) -> list[int]:
    """`ids` without the tokens at `positions` (mode delete), or with [MASK] there (mode mask)."""
    drop = set(positions)
    if mode == "delete":
        return [t for i, t in enumerate(ids) if i not in drop]
    if mode == "mask":
        return [mask_id if i in drop else t for i, t in enumerate(ids)]
    raise ValueError(f"unknown deletion mode {mode!r} (config: deletion.mode); use delete or mask")


def keep_only(ids: list[int], positions, special: set[int]) -> list[int]:
    """`ids` with only the tokens at `positions` and the special tokens kept (ERASER sufficiency)."""
    keep = set(positions)
    return [t for i, t in enumerate(ids) if i in keep or t in special]


def token_deletion(model, tokenizer, ids: list[list[int]], labels: np.ndarray, levels, random_draws: int = 3,
                   mode: str = "delete", seed: int = 0, batch_size: int = 128, device="cpu") -> dict:
    """Token deletion on a model and its tokenizer (any transformers classifier, or the pipeline's models):
    per level, the accuracy and confidence drop when the top-attention tokens are deleted, against
    `random_draws` draws of as many random tokens; ERASER comprehensiveness, sufficiency and AOPC."""
    labels = np.asarray(labels)
    logits, rows = predict(model, tokenizer, ids, batch_size, device)
    probs = torch.softmax(logits, -1).numpy()
    pred = probs.argmax(-1)
    p_full = probs[np.arange(len(ids)), pred]
    acc_full = float((pred == labels).mean())
    special = set(tokenizer.all_special_ids)
    mask_id = models.mask_token_id(tokenizer)
    maskable = [[i for i, t in enumerate(x) if t not in special] for x in ids]
    # most attended first; a stable sort keeps the earlier token first among ties
    ranked = [sorted(m, key=lambda i, r=r: -float(r[i])) for m, r in zip(maskable, rows)]
    rng = np.random.default_rng(seed)

    def accuracy_and_p(edited):
        """Accuracy on the edited inputs, and the probability of the class predicted on the full ones."""
        p = torch.softmax(predict(model, tokenizer, edited, batch_size, device)[0], -1).numpy()
        return float((p.argmax(-1) == labels).mean()), p[np.arange(len(edited)), pred]

    per_level, p_del, p_rand, p_kept = [], [], [], []
    for level in levels:
        ks = [level_size(level, len(m)) for m in maskable]
        acc_top, p_top = accuracy_and_p([remove(x, r[:k], mode, mask_id) for x, r, k in zip(ids, ranked, ks)])
        _, p_only = accuracy_and_p([keep_only(x, r[:k], special) for x, r, k in zip(ids, ranked, ks)])
        draws = [accuracy_and_p([remove(x, rng.choice(m, k, replace=False) if k else [], mode, mask_id)
                                 for x, m, k in zip(ids, maskable, ks)]) for _ in range(random_draws)]
        acc_rand = float(np.mean([a for a, _ in draws]))
        p_r = np.mean([p for _, p in draws], axis=0)
        p_del.append(p_top)
        p_rand.append(p_r)
        p_kept.append(p_only)
        per_level.append({"level": level, "mean_k": float(np.mean(ks)),
                          "accuracy_attention": acc_top, "accuracy_random": acc_rand,
                          "drop_attention": acc_full - acc_top, "drop_random": acc_full - acc_rand,
                          "comprehensiveness": float(np.mean(p_full - p_top)),
                          "comprehensiveness_random": float(np.mean(p_full - p_r)),
                          "sufficiency": float(np.mean(p_full - p_only))})
    p_del, p_rand, p_kept = np.stack(p_del, 1), np.stack(p_rand, 1), np.stack(p_kept, 1)

    def aopcs(cols):
        """AOPC over the levels `cols`, in aggregate and per example (for paired tests over examples)."""
        return {"aopc_comprehensiveness": aopc(p_full, p_del[:, cols]),
                "aopc_comprehensiveness_random": aopc(p_full, p_rand[:, cols]),
                "aopc_sufficiency": aopc(p_full, p_kept[:, cols]),
                "per_example": {"comprehensiveness": (p_full[:, None] - p_del[:, cols]).mean(1).round(6).tolist(),
                                "sufficiency": (p_full[:, None] - p_kept[:, cols]).mean(1).round(6).tolist()}}

    eraser = [levels.index(lv) for lv in ERASER_LEVELS if lv in levels]
    return {"accuracy_full": acc_full, "n": len(ids), "levels": per_level, **aopcs(list(range(len(levels)))),
            "eraser": aopcs(eraser) if len(eraser) == len(ERASER_LEVELS) else None}

def evaluate(run_dir: Path, data_dir: Path, out_json: Path, out_csv: Path, settings: dict | None = None,
             meta: dict | None = None, device: str = "auto") -> dict:
    """`token_deletion` on a run folder's model over its dataset's report split (settings: DEFAULTS), to files."""
    s = EVALUATIONS["deletion"].check(settings)
    tokenizer, model, rows, ids, device = load_run(run_dir, data_dir, "test", device)
    if s["max_examples"] and len(rows) > s["max_examples"]:
        # a seeded subset, the same for every run, keeps 50 passes over IMDB's 25 k reviews affordable
        keep = sorted(np.random.default_rng(s["seed"]).choice(len(rows), s["max_examples"], replace=False))
        rows, ids = [rows[i] for i in keep], [ids[i] for i in keep]
    result = token_deletion(model, tokenizer, ids, np.array([r["label"] for r in rows]), s["levels"],
                            s["random_draws"], s["mode"], s["seed"], device=device)
    result = {**(meta or {}), **result, "settings": s}
    result["per_example"]["id"] = [r["id"] for r in rows]
    if result["eraser"]:
        result["eraser"]["per_example"]["id"] = result["per_example"]["id"]
    with atomic_path(out_csv) as tmp:
        keys = list(result["levels"][0])
        lines = [",".join(keys)] + [",".join(str(lv[k]) for k in keys) for lv in result["levels"]]
        tmp.write_text("\n".join(lines) + "\n")
    write_result(out_json, result)
    return result


def block(result: dict) -> tuple[dict, str]:
    """A result's AOPC block: ERASER's bins when evaluated at them, else all levels."""
    return (result["eraser"], "eraser") if result.get("eraser") else (result, "all")


def values(file: str, metric: str = "comprehensiveness", eraser: bool | None = None):
    """Per-example `metric` of a result JSON, over ERASER's bins (`eraser` True) or all levels (False);
    None: ERASER's bins where the file has them. A pandas Series indexed by example id."""
    import pandas as pd

    from afa.io import read_json

    result = read_json(file)
    chosen = block(result)[0] if eraser is None else result["eraser"] if eraser else result
    ex = chosen["per_example"]
    return pd.Series(ex[metric], index=[str(i) for i in ex["id"]], dtype=float)
