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


def make_sample(mirror: Path, out: Path) -> None:
    rng = random.Random(SEED)
    mirror, out = Path(mirror), Path(out)
    for name, sizes in SIZES.items():
        spec = DATASETS[name]
        if name == "agnews":
            pool = read_jsonl_gz(mirror / name / "test.jsonl.gz")
            drawn = rng.sample(pool, sizes["train"] + sizes["test"])
            parts = {"train": drawn[:sizes["train"]], "test": drawn[sizes["train"]:]}
        else:
            parts = {split: rng.sample(read_jsonl_gz(mirror / name / f"{split}.jsonl.gz"), n)
                     for split, n in sizes.items()}
        for split, rows in parts.items():
            assert split in spec.mirror_splits.values()
            write_jsonl_gz(out / name / f"{split}.jsonl.gz", rows)
    files = sorted(p for p in out.rglob("*.jsonl.gz"))
    (out / "SHA256SUMS").write_text("".join(f"{sha256(p)}  ./{p.relative_to(out).as_posix()}\n" for p in files))
