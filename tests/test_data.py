"""The data layer: the three sources, the one schema, and a clear error for each bad input."""

import gzip
import hashlib
import json
import os
import re
import subprocess
import sys

import pytest
import yaml
from conftest import REPO, write_gz

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


def test_config_schema_takes_its_dataset_names_from_the_registry():
    """The schema names no dataset: workflow/Snakefile fills its two enums from ``DATASETS``."""
    schema = yaml.safe_load((REPO / "config" / "schema.yaml").read_text())
    assert schema["$defs"]["dataset"]["enum"] == schema["$defs"]["rationale_dataset"]["enum"] == []
    text = (REPO / "config" / "schema.yaml").read_text()
    assert not [name for name in data.DATASETS if re.search(rf"\b{name}\b", text)]
    from afa import config_check

    filled = config_check.filled_schema(REPO / "config" / "schema.yaml")  # what the workflow validates with
    assert filled["$defs"]["dataset"]["enum"] == list(data.DATASETS)
    assert filled["$defs"]["rationale_dataset"]["enum"] == data.rationale_datasets() == ["eraser_movies", "sst_phrases"]
    assert "config_check.filled_schema(schema_path)" in (REPO / "workflow" / "Snakefile").read_text()


def test_sample_checksums_match():
    root = data.sample_root()
    lines = (root / "SHA256SUMS").read_text().splitlines()
    assert len(lines) == 10
    for line in lines:
        digest, name = line.split("  ")
        assert hashlib.sha256((root / name).read_bytes()).hexdigest() == digest


def test_prepare_carves_validation_deterministically(mirror, tmp_path):
    sizes = data.prepare("sst2", mirror, tmp_path / "a", validation_sentence_fraction=0.25, split_seed=3)
    assert sizes == {"train": 30, "validation": 10, "test": 10}
    data.prepare("sst2", mirror, tmp_path / "b", validation_sentence_fraction=0.25, split_seed=3)
    for split in ("train", "validation", "test"):
        assert (tmp_path / "a" / f"{split}.jsonl.gz").read_bytes() == (tmp_path / "b" / f"{split}.jsonl.gz").read_bytes()
    train_ids = {r["id"] for r in data.read_prepared(tmp_path / "a", "train")}
    val_ids = {r["id"] for r in data.read_prepared(tmp_path / "a", "validation")}
    assert not train_ids & val_ids


def test_caps_subsample(mirror, tmp_path):
    sizes = data.prepare("sst2", mirror, tmp_path, validation_sentence_fraction=0.1, max_train=8, max_test=5)
    assert sizes == {"train": 8, "validation": 1, "test": 5}


# ------------------------------------------------------------------ a validation split that does not leak

# SST-2 style: lower-cased, tokenised sentences, each with phrases of its own (here its runs of up
# to three tokens); short phrases such as "a quiet" or "." are shared between sentences.
SENTENCES = ["the film is a quiet triumph .", "a quiet , sad film .", "the acting is flat",
             "it never finds its footing .", "a triumph of style over substance",
             "the cast is game", "nothing here is new , or funny .", "its footing is never sure"]


def phrase_rows(end=""):
    """`end`: GLUE's (and the hub's) SST-2 sentences end in a space; SST-2's clean-up strips it."""
    texts = list(dict.fromkeys(SENTENCES + [" ".join(t[i:i + n]) for t in map(str.split, SENTENCES)
                                            for n in (1, 2, 3) for i in range(len(t) - n + 1)]))
    return [{"idx": i, "text": t + end, "label": i % 2} for i, t in enumerate(texts)]


def inside(a: str, b: str) -> bool:
    """`a` is a run of whole tokens of `b` (b itself included)."""
    return f" {a.strip()} " in f" {b.strip()} "


@pytest.fixture(params=["", " "], ids=["mirror", "hub"])
def phrases(tmp_path, request):
    root = tmp_path / "phrases"
    write_gz(root / "sst2" / "train.jsonl.gz", phrase_rows(request.param))
    write_gz(root / "sst2" / "dev.jsonl.gz", [{"idx": 0, "text": "a film", "label": 1}])
    return root


def texts(data_dir, split):
    return [r["text"] for r in data.read_prepared(data_dir, split)]


def test_sentences_are_rows_inside_no_other_row():
    keys = ["good film 1", "good film 11", "good film", "film 1", "a quiet film", "quiet film"]
    assert data.maximal_texts(keys) == ["good film 1", "good film 11", "a quiet film"]


def span_by_span(keys):
    """The definition of maximal_texts, spelt out: every proper span of every text looked up."""
    distinct = dict.fromkeys(keys)
    inside = {" ".join(t[i:j]) for k in distinct for t in [k.split()] for i in range(len(t))
              for j in range(i + 1, len(t) + 1 - (i == 0))} & set(distinct)
    return [k for k in distinct if k not in inside]


def test_maximal_texts_agree_with_the_span_by_span_definition_on_random_phrase_sets():
    import random

    rng = random.Random(0)
    for _ in range(300):  # few words, so that texts repeat inside one another in every way
        vocab = [f"w{i}" for i in range(rng.randint(1, 4))]
        keys = []
        for _ in range(rng.randint(1, 6)):
            toks = [rng.choice(vocab) for _ in range(rng.randint(1, 8))]
            keys.append(" ".join(toks))
            for _ in range(rng.randint(0, 5)):
                i = rng.randrange(len(toks))
                keys.append(" ".join(toks[i:rng.randint(i + 1, len(toks))]))
        rng.shuffle(keys)
        assert data.maximal_texts(keys) == span_by_span(keys), keys


@pytest.mark.parametrize("row", ["varied", "one word repeated"])
def test_one_20000_word_row_does_not_stall_the_sentence_split(tmp_path, row):
    """The span-by-span search grew as n^3 in a row's words (250 words 0.09 s, 1,000 words 4.7 s:
    a 20,000-word row about ten hours). Linear now: the whole split takes seconds."""
    import random
    import time

    rng = random.Random(1)
    words = ["good", "bad", "film", "the", "a"]
    long = " ".join(rng.choice(words) for _ in range(20_000)) if row == "varied" else " ".join(["a"] * 20_000)
    rows = [{"idx": i, "text": f"{rng.choice(words)} film {i}", "label": i % 2} for i in range(300)]
    rows += [{"idx": 300, "text": long, "label": 1}, {"idx": 301, "text": "a a", "label": 0}]
    start = time.process_time()
    kept, validation, record = data.split_sentences(rows, 0.5, random.Random(0))
    assert time.process_time() - start < 30  # a bound for a hang, not a speed target (span by span: hours)
    assert record["sentences_found"] == 301  # the 300 short rows and the long one; "a a" lies inside it


def test_sentence_split_shares_no_text_with_train(phrases, tmp_path):
    data.prepare("sst2", phrases, tmp_path, validation_sentence_fraction=0.25, split_seed=1)
    val, train = texts(tmp_path, "validation"), texts(tmp_path, "train")
    assert len(val) == 2 and {v.strip() for v in val} <= set(SENTENCES)  # whole sentences, like the report split
    assert not [(t, v) for t in train for v in val if inside(t, v) or inside(v, t)]
    # exactly the rows inside a held-out sentence leave train; the other sentences stay whole
    rows = data.read_jsonl_gz(phrases / "sst2" / "train.jsonl.gz")
    assert sorted(train) == sorted(r["text"].strip() for r in rows if not any(inside(r["text"], v) for v in val))
    record = json.loads((tmp_path / "split.json").read_text())
    assert record["validation_by"] == "sentences"
    assert (record["sentences_found"], record["sentences_held_out"]) == (len(SENTENCES), 2)
    assert record["train_rows_read"] == len(rows) == len(train) + len(val) + record["train_rows_dropped_for_overlap"]


def test_sentence_split_is_deterministic_for_a_seed(phrases, tmp_path):
    def prepare(out, seed, hash_seed):
        code = ("import sys; from afa import data; data.prepare('sst2', sys.argv[1], sys.argv[2], "
                "validation_sentence_fraction=0.25, split_seed=int(sys.argv[3]))")
        # set and dict orders of strings change with the hash seed; the split must not
        subprocess.run([sys.executable, "-c", code, str(phrases), str(out), str(seed)], check=True,
                       env={**os.environ, "PYTHONHASHSEED": str(hash_seed)})
        return {split: (out / f"{split}.jsonl.gz").read_bytes() for split in ("train", "validation")}

    assert prepare(tmp_path / "a", 1, 1) == prepare(tmp_path / "b", 1, 2)
    prepare(tmp_path / "c", 2, 1)
    assert sorted(texts(tmp_path / "a", "validation")) != sorted(texts(tmp_path / "c", "validation"))


def test_sample_sst2_keeps_a_useful_validation_split(tmp_path):
    sizes = data.prepare("sst2", data.sample_root(), tmp_path)
    val, train = texts(tmp_path, "validation"), texts(tmp_path, "train")
    assert sizes["validation"] >= 20 and sizes["train"] >= 1000
    assert not [(t, v) for t in train for v in val if inside(t, v) or inside(v, t)]


def test_repeated_texts_do_not_straddle_validation_and_train(tmp_path):
    rows = [{"id": str(i), "text": f"review number {i % 10}", "label": i % 2} for i in range(30)]
    write_gz(tmp_path / "m" / "imdb" / "train.jsonl.gz", rows)
    write_gz(tmp_path / "m" / "imdb" / "test.jsonl.gz", [{"id": "t", "text": "review number 3", "label": 0}])
    data.prepare("imdb", tmp_path / "m", tmp_path / "d", validation_fraction=0.2)
    val, train = texts(tmp_path / "d", "validation"), texts(tmp_path / "d", "train")
    assert len(val) == 6 and not set(val) & set(train)
    record = json.loads((tmp_path / "d" / "split.json").read_text())
    assert record["validation_by"] == "rows" and record["test_rows_also_in_train"] == int("review number 3" in train)
    assert len(train) + len(val) + record["train_rows_dropped_for_overlap"] == 30


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


@pytest.mark.parametrize("lines, message", [
    ([b'{"text": "ok", "label": 0}', b'{"text": "caf\xe9", "label": 1}'],
     r"train\.jsonl\.gz:2: not UTF-8 text \(byte 0xe9 at column 14\)"),
    ([b'{"text": "ok", "label": 0}', b'5'], r"train\.jsonl\.gz:2: a record must be a JSON object, got int '5'"),
    ([b'["text", 0]'], r"train\.jsonl\.gz:1: a record must be a JSON object, got list"),
    ([b'{"text": "bad \\ud800 text", "label": 0}'],
     r"train\.jsonl\.gz:1: field 'text' holds a lone surrogate '\\ud800' at character 4, which is not text"),
])
def test_bad_bytes_and_records_name_file_and_line(mirror, lines, message):
    with gzip.open(mirror / "sst2" / "train.jsonl.gz", "wb") as f:
        f.write(b"\n".join(lines) + b"\n")
    with pytest.raises(DataError, match=message):
        data.load_split(mirror, "sst2", "train")


@pytest.mark.parametrize("field, value, message", [
    ("rationale_mask", [0, "x"], r"eraser_movies/train\.jsonl\.gz:1: 'rationale_mask'\[1\] is 'x', not 0 or 1"),
    ("rationale_mask", [0, 2], r":1: 'rationale_mask'\[1\] is 2, not 0 or 1"),
    ("tokens", ["good", None], r":1: 'tokens'\[1\] is None, not a non-empty string"),
    ("tokens", ["good", "\ud800"], r":1: field 'tokens' holds a lone surrogate"),
])
def test_bad_rationale_fields_name_file_line_and_field(tmp_path, field, value, message):
    row = {"annotation_id": "a", "label": 1, "text": "good film", "tokens": ["good", "film"], "rationale_mask": [1, 0], field: value}
    write_gz(tmp_path / "eraser_movies" / "train.jsonl.gz", [row])
    with pytest.raises(DataError, match=message):
        data.load_split(tmp_path, "eraser_movies", "train")


@pytest.mark.parametrize("option", ["validation_fraction", "validation_sentence_fraction"])
@pytest.mark.parametrize("value", [0, 1.5, "0.1", True])
def test_bad_validation_fraction_names_the_option(mirror, tmp_path, option, value):
    with pytest.raises(DataError, match=re.escape(f"data.{option} must be a number in (0, 1), got {value!r}")):
        data.prepare("sst2", mirror, tmp_path, **{option: value})


def test_fraction_that_empties_train_names_the_option(tmp_path):
    write_gz(tmp_path / "sst2" / "train.jsonl.gz", [{"text": t, "label": 0} for t in ["a fine film", "fine", "film"]])
    write_gz(tmp_path / "sst2" / "dev.jsonl.gz", [{"text": "x", "label": 0}])
    with pytest.raises(DataError, match=r"sst2: data\.validation_sentence_fraction 0\.5 leaves no train rows"):
        data.prepare("sst2", tmp_path, tmp_path / "out", validation_sentence_fraction=0.5)


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
