"""The data layer: the three sources, the one schema, and a clear error for each bad input."""

import gzip
import hashlib

import pytest
from conftest import write_gz

from afa import data
from afa.data import DataError


def test_sample_has_every_dataset_in_our_schema():
    root = data.sample_root()
    for name, spec in data.DATASETS.items():
        for split in ("train", "test"):
            rows = data.load_split(root, name, split)
            assert len(rows) >= 40
            assert all(0 <= r["label"] < spec.num_labels and r["text"] for r in rows)
            if spec.has_rationales:
                assert all(len(r["tokens"]) == len(r["rationale_mask"]) == len(r["text"].split()) for r in rows)


def test_sample_checksums_match():
    root = data.sample_root()
    lines = (root / "SHA256SUMS").read_text().splitlines()
    assert len(lines) == 10
    for line in lines:
        digest, name = line.split("  ")
        assert hashlib.sha256((root / name).read_bytes()).hexdigest() == digest


def test_prepare_carves_validation_deterministically(mirror, tmp_path):
    sizes = data.prepare("sst2", mirror, tmp_path / "a", validation_fraction=0.25, split_seed=3)
    assert sizes == {"train": 30, "validation": 10, "test": 10}
    data.prepare("sst2", mirror, tmp_path / "b", validation_fraction=0.25, split_seed=3)
    for split in ("train", "validation", "test"):
        assert (tmp_path / "a" / f"{split}.jsonl.gz").read_bytes() == (tmp_path / "b" / f"{split}.jsonl.gz").read_bytes()
    train_ids = {r["id"] for r in data.read_prepared(tmp_path / "a", "train")}
    val_ids = {r["id"] for r in data.read_prepared(tmp_path / "a", "validation")}
    assert not train_ids & val_ids


def test_caps_subsample(mirror, tmp_path):
    sizes = data.prepare("sst2", mirror, tmp_path, validation_fraction=0.1, max_train=8, max_test=5)
    assert sizes == {"train": 8, "validation": 1, "test": 5}


def test_imdb_line_breaks_are_removed():
    rec = data.normalise({"id": "x", "text": "a<br />b<br/>c", "label": 1}, data.DATASETS["imdb"], "f", 1)
    assert rec["text"] == "a b c"


def test_neutral_sst_sentences_are_dropped():
    rec = {"id": "1", "text": "so so", "label": None, "tokens": ["so", "so"], "rationale_mask": [0, 0]}
    assert data.normalise(rec, data.DATASETS["sst_phrases"], "f", 1) is None


def test_evidence_mask_marks_whole_token_runs():
    tokens = "a truly great film , truly great".split()
    assert data.evidence_mask(tokens, ["truly great", "film"]) == [0, 1, 1, 1, 0, 1, 1]


# ------------------------------------------------------------------ bad input, one clear message each

def test_truncated_gzip_names_the_file(mirror):
    path = mirror / "sst2" / "train.jsonl.gz"
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(DataError, match=r"train\.jsonl\.gz: truncated or corrupt gzip"):
        data.load_split(mirror, "sst2", "train")


def test_record_without_label_names_file_and_line(mirror):
    write_gz(mirror / "sst2" / "train.jsonl.gz", [{"text": "ok", "label": 0}, {"text": "no label"}])
    with pytest.raises(DataError, match=r"train\.jsonl\.gz:2: record has no 'label' field"):
        data.load_split(mirror, "sst2", "train")


def test_label_out_of_range(mirror):
    write_gz(mirror / "sst2" / "train.jsonl.gz", [{"text": "ok", "label": 7}])
    with pytest.raises(DataError, match=r":1: label 7 out of range 0\.\.1 for dataset sst2"):
        data.load_split(mirror, "sst2", "train")


def test_invalid_json_line(mirror):
    with gzip.open(mirror / "sst2" / "train.jsonl.gz", "wt") as f:
        f.write('{"text": "ok", "label": 0}\n{oops\n')
    with pytest.raises(DataError, match=r":2: not valid JSON"):
        data.load_split(mirror, "sst2", "train")


def test_unknown_dataset(mirror):
    with pytest.raises(DataError, match=r"unknown dataset 'sst3'; known datasets: sst2, imdb"):
        data.load_split(mirror, "sst3", "train")


def test_missing_mirror_folder(tmp_path):
    with pytest.raises(DataError, match=r"data mirror folder .*nowhere does not exist \(config: data\.mirror\)"):
        data.download("sst2", "mirror", tmp_path, str(tmp_path / "nowhere"))


def test_dataset_without_train_split_fails_clearly(tmp_path):
    write_gz(tmp_path / "agnews" / "test.jsonl.gz", [{"text": "x", "label": 0}])
    with pytest.raises(DataError, match=r"agnews has no train split in this source, and training needs one"):
        data.download("agnews", "mirror", tmp_path / "out", str(tmp_path))


def test_flipped_byte_fails_checksum(mirror):
    path = mirror / "sst2" / "dev.jsonl.gz"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    (mirror / "SHA256SUMS").write_text(f"{digest}  ./sst2/dev.jsonl.gz\n")
    data.load_split(mirror, "sst2", "test")  # intact: passes
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=r"dev\.jsonl\.gz: checksum mismatch"):
        data.load_split(mirror, "sst2", "test")


def test_unknown_source(tmp_path):
    with pytest.raises(DataError, match=r"unknown data source 'ftp' \(config: data\.source\)"):
        data.download("sst2", "ftp", tmp_path)


def test_hub_source_without_network_is_not_silent(tmp_path):
    with pytest.raises(DataError, match="sst_phrases has no hub source"):
        data.download("sst_phrases", "hub", tmp_path)
