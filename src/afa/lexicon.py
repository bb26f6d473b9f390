"""Sentiment-bearing words from the SST word labels: what the signal-health log and the mechanism
probe call "polar". A word is polar when the majority of its own (leaf) labels in the *train*
trees lies off neutral (0-1 or 3-4 of 0-4), neutral when it is 2; only train sentences are read,
so no dev or test label leaks into training diagnostics.
"""

from __future__ import annotations

import collections
from pathlib import Path

from afa.data import DataError, read_prepared
from afa.io import write_json


def build(records: list[dict]) -> dict:
    votes = collections.defaultdict(collections.Counter)
    for r in records:
        if "token_labels" not in r:
            raise DataError(f"record {r.get('id')!r}: the lexicon needs SST 'token_labels' (dataset sst_phrases)")
        for word, label in zip(r["tokens"], r["token_labels"]):
            votes[word.lower()][label != 2] += 1
    polar = sorted(w for w, v in votes.items() if v[True] > v[False])
    neutral = sorted(w for w, v in votes.items() if v[True] <= v[False])
    return {"polar": polar, "neutral": neutral, "n_sentences": len(records)}


def make(data_dir: Path, out: Path) -> dict:
    lex = build(read_prepared(data_dir, "train"))
    write_json(out, lex)
    return {"polar": len(lex["polar"]), "neutral": len(lex["neutral"]), "sentences": lex["n_sentences"]}
