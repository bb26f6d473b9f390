"""Draw the embedded sample (``afa/sample_data``) from a mirror with a fixed seed.

The sample keeps the mirror layout, so the same reader serves both. AG News has only its test
split in the staged mirror, so the sample's AG News *train* rows are drawn from that test split,
disjoint from the sample's test rows: good enough for a smoke run, never for a reported number.
"""

from __future__ import annotations

import random
from pathlib import Path

from afa.data import DATASETS, read_jsonl_gz
from afa.io import sha256, write_jsonl_gz

SEED = 20251220
# rows per (dataset, mirror split); long documents get fewer rows to keep the repo small
SIZES = {
    "sst2": {"train": 1200, "dev": 300},
    "imdb": {"train": 400, "test": 200},
    "agnews": {"train": 800, "test": 300},
    "eraser_movies": {"train": 100, "val": 40},
    "sst_phrases": {"train": 600, "dev": 200},
}
# (dataset, sample split) -> the mirror split its rows are drawn from, where that is another one;
# sample splits drawn from one mirror split come from one draw, so they share no row
DRAWN_FROM = {("agnews", "train"): "test"}


def make_sample(mirror: Path, out: Path) -> None:
    rng = random.Random(SEED)
    mirror, out = Path(mirror), Path(out)
    for name, sizes in SIZES.items():
        spec = DATASETS[name]
        pools: dict[str, list[str]] = {}  # mirror split -> the sample splits drawn from it, in order
        for split in sizes:
            assert split in spec.mirror_splits.values()
            pools.setdefault(DRAWN_FROM.get((name, split), split), []).append(split)
        parts = {}
        for pool, splits in pools.items():
            drawn = rng.sample(read_jsonl_gz(mirror / name / f"{pool}.jsonl.gz"), sum(sizes[s] for s in splits))
            for split in splits:
                parts[split], drawn = drawn[:sizes[split]], drawn[sizes[split]:]
        for split, rows in parts.items():
            write_jsonl_gz(out / name / f"{split}.jsonl.gz", rows)
    files = sorted(p for p in out.rglob("*.jsonl.gz"))
    (out / "SHA256SUMS").write_text("".join(f"{sha256(p)}  ./{p.relative_to(out).as_posix()}\n" for p in files))
