import csv
import gzip
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def claims_rows(path) -> dict:
    """claims.csv's rows by claim, setting and column; a control row by its metric as well."""
    return {(r["claim"], r["setting"], r["column"]) + ((r["metric_kind"],) if r["column"] == "control" else ()): r
            for r in csv.DictReader(open(path))}


def write_gz(path: Path, records) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
    return path


@pytest.fixture
def mirror(tmp_path):
    """A tiny mirror-layout folder with an SST-2 train and dev split."""
    root = tmp_path / "mirror"
    write_gz(root / "sst2" / "train.jsonl.gz",
             [{"idx": i, "text": f"good film {i}" if i % 2 else f"bad film {i}", "label": i % 2} for i in range(40)])
    write_gz(root / "sst2" / "dev.jsonl.gz", [{"idx": i, "text": "fine", "label": i % 2} for i in range(10)])
    return root
