"""The hub path (the default of config/paper.yaml), run offline through a patched
``datasets.load_dataset`` on fixtures in the hub's published schemas.

Each fixture holds the committed sample's own rows, written the way the hub publishes them
(column names, splits, ClassLabel encodings; the sources are listed above ``afa.data.DATASETS``).
Downloaded and prepared, they must give the splits the sample gives for the same rows.
"""

import json

import datasets
import pytest
from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

from afa import cli, data
from afa.data import DataError

datasets.disable_progress_bars()  # they would write to the stderr that the one-line checks read

SETTINGS = {"validation_fraction": 0.1, "validation_sentence_fraction": 0.07, "split_seed": 13}


def sample(name: str, split: str) -> list[dict]:
    return data.read_jsonl_gz(data.sample_root() / name / f"{split}.jsonl.gz")


def review(rec: dict) -> str:
    """An ERASER docs file: the tokens, one sentence a line."""
    return "".join(" ".join(rec["tokens"][a:b]) + "\n" for a, b in rec["sentence_bounds"])


def sst2_hub() -> DatasetDict:
    features = Features({"idx": Value("int32"), "sentence": Value("string"),
                         "label": ClassLabel(names=["negative", "positive"])})
    # GLUE's sentences end in a space; its test split has no labels (-1)
    rows = lambda recs: {"idx": [r["idx"] for r in recs], "sentence": [r["text"] + " " for r in recs],
                         "label": [r["label"] for r in recs]}
    test = sample("sst2", "dev")[:5]
    return DatasetDict({"train": Dataset.from_dict(rows(sample("sst2", "train")), features),
                        "validation": Dataset.from_dict(rows(sample("sst2", "dev")), features),
                        "test": Dataset.from_dict({**rows(test), "label": [-1] * len(test)}, features)})


def imdb_hub() -> DatasetDict:
    features = Features({"text": Value("string"), "label": ClassLabel(names=["neg", "pos"])})
    rows = lambda recs: {"text": [r["text"] for r in recs], "label": [r["label"] for r in recs]}
    unsup = sample("imdb", "test")[:5]
    return DatasetDict({"train": Dataset.from_dict(rows(sample("imdb", "train")), features),
                        "test": Dataset.from_dict(rows(sample("imdb", "test")), features),
                        "unsupervised": Dataset.from_dict({**rows(unsup), "label": [-1] * len(unsup)}, features)})


def agnews_hub() -> DatasetDict:
    features = Features({"text": Value("string"),
                         "label": ClassLabel(names=["World", "Sports", "Business", "Sci/Tech"])})
    # the hub's loading script joined title and description with one space
    rows = lambda recs: {"text": [r["title"] + " " + r["description"] for r in recs], "label": [r["label"] for r in recs]}
    return DatasetDict({"train": Dataset.from_dict(rows(sample("agnews", "train")), features),
                        "test": Dataset.from_dict(rows(sample("agnews", "test")), features)})


def eraser_hub() -> DatasetDict:
    features = Features({"review": Value("string"), "label": ClassLabel(names=["NEG", "POS"]),
                         "evidences": datasets.List(Value("string"))})
    # the hub keeps each evidence's text, not its span, in annotation order (not document order)
    rows = lambda recs: {"review": [review(r) for r in recs], "label": [r["label"] for r in recs],
                         "evidences": [[" ".join(r["tokens"][s:e]) for s, e in reversed(r["evidence_spans"])]
                                       for r in recs]}
    return DatasetDict({"train": Dataset.from_dict(rows(sample("eraser_movies", "train")), features),
                        "validation": Dataset.from_dict(rows(sample("eraser_movies", "val")), features),
                        "test": Dataset.from_dict(rows(sample("eraser_movies", "val")[:5]), features)})


HUB = {"sst2": sst2_hub, "imdb": imdb_hub, "agnews": agnews_hub, "eraser_movies": eraser_hub}


def patch_hub(monkeypatch, repo: str, splits: DatasetDict) -> list:
    """`datasets.load_dataset` answers `repo` with `splits`, as the hub would; returns the calls."""
    calls = []

    def load_dataset(path, name=None, split=None, **kwargs):
        calls.append(path)
        if path != repo:
            raise FileNotFoundError(f"Dataset '{path}' doesn't exist on the Hub")
        return splits if split is None else splits[split]

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    return calls


def prepared(folder) -> dict[str, list[dict]]:
    return {split: data.read_prepared(folder, split) for split in data.SPLITS}


def test_every_hub_fixture_is_a_hub_dataset_of_the_registry():
    assert {name for name, spec in data.DATASETS.items() if spec.hub} == set(HUB)


@pytest.mark.parametrize("name", ["sst2", "agnews"])
def test_hub_prepares_the_same_splits_as_the_sample(name, monkeypatch, tmp_path):
    """SST-2's ids are the hub's `idx`; AG News has no id in either source (the line number)."""
    calls = patch_hub(monkeypatch, data.DATASETS[name].hub.repo, HUB[name]())
    root = data.download(name, "hub", tmp_path / "hub")
    assert calls == [data.DATASETS[name].hub.repo]
    data.prepare(name, root, tmp_path / "from_hub", **SETTINGS)
    data.prepare(name, data.sample_root(), tmp_path / "from_sample", **SETTINGS)
    hub, mirror = prepared(tmp_path / "from_hub"), prepared(tmp_path / "from_sample")
    assert hub == mirror
    assert all(len(rows) > 0 for rows in hub.values())
    split = json.loads((tmp_path / "from_hub" / "split.json").read_text())
    assert split == json.loads((tmp_path / "from_sample" / "split.json").read_text())


def test_hub_imdb_is_the_sample_but_for_ids(monkeypatch, tmp_path):
    """The hub has no id column: a hub row's id is its line number, the mirror's its aclImdb file."""
    patch_hub(monkeypatch, "stanfordnlp/imdb", imdb_hub())
    root = data.download("imdb", "hub", tmp_path / "hub")
    data.prepare("imdb", root, tmp_path / "from_hub", **SETTINGS)
    data.prepare("imdb", data.sample_root(), tmp_path / "from_sample", **SETTINGS)
    hub, mirror = prepared(tmp_path / "from_hub"), prepared(tmp_path / "from_sample")
    ids = {"train": [r["id"] for r in sample("imdb", "train")], "test": [r["id"] for r in sample("imdb", "test")]}
    for split in data.SPLITS:
        source = "test" if split == "test" else "train"
        assert [{**r, "id": ids[source][int(r["id"]) - 1]} for r in hub[split]] == mirror[split]
    # the unsupervised split (labels -1) is not ours and was not written
    assert sorted(p.name for p in (root / "imdb").iterdir()) == ["test.jsonl.gz", "train.jsonl.gz"]
    assert any("<br" in r["text"] for r in sample("imdb", "train"))
    assert not any("<br" in r["text"] for rows in hub.values() for r in rows)


def ambiguous(rec: dict) -> bool:
    """Some evidence string of `rec` occurs more than once in its tokens."""
    toks = rec["tokens"]
    return any(sum(toks[i:i + e - s] == toks[s:e] for i in range(len(toks) - (e - s) + 1)) > 1
               for s, e in rec["evidence_spans"])


def test_hub_eraser_masks_are_exact_where_each_evidence_occurs_once(monkeypatch, tmp_path):
    patch_hub(monkeypatch, "eraser-benchmark/movie_rationales", eraser_hub())
    root = data.download("eraser_movies", "hub", tmp_path / "hub")
    data.prepare("eraser_movies", root, tmp_path / "from_hub", **SETTINGS)
    data.prepare("eraser_movies", data.sample_root(), tmp_path / "from_sample", **SETTINGS)
    hub, mirror = prepared(tmp_path / "from_hub"), prepared(tmp_path / "from_sample")
    raw = {"train": sample("eraser_movies", "train"), "test": sample("eraser_movies", "val")}
    exact = inexact = 0
    for split in data.SPLITS:
        rows = raw["test" if split == "test" else "train"]
        assert len(hub[split]) == len(mirror[split]) > 0
        for h, m in zip(hub[split], mirror[split]):
            src = rows[int(h["id"]) - 1]  # no annotation_id on the hub: the id is the line number
            assert src["annotation_id"] == m["id"]
            assert {**h, "id": m["id"], "rationale_mask": m["rationale_mask"]} == m
            if not ambiguous(src):
                assert h["rationale_mask"] == m["rationale_mask"]
                exact += 1
            else:
                # every annotated token is marked; the extra ones are other occurrences of an evidence
                assert all(a >= b for a, b in zip(h["rationale_mask"], m["rationale_mask"]))
                evidences = [src["tokens"][s:e] for s, e in src["evidence_spans"]]
                for i in (i for i, (a, b) in enumerate(zip(h["rationale_mask"], m["rationale_mask"])) if a > b):
                    assert any(src["tokens"][j:j + len(ev)] == ev for ev in evidences
                               for j in range(i - len(ev) + 1, i + 1))
                inexact += h["rationale_mask"] != m["rationale_mask"]
    assert exact > 100 and inexact > 0  # the sample has both kinds of review
    written = data.read_jsonl_gz(root / "eraser_movies" / "train.jsonl.gz")
    assert [r["evidence_ambiguous"] > 0 for r in written] == [ambiguous(r) for r in raw["train"]]
    assert not any(r["evidence_unmatched"] for r in written)


def test_evidence_found_twice_marks_both_and_says_so():
    row = {"text": "a great cast , a great script .\nbad ending", "evidences": ["a great", "bad"]}
    got = data.evidence_rationale(row)
    assert got["tokens"] == "a great cast , a great script . bad ending".split()
    assert got["rationale_mask"] == [1, 1, 0, 0, 1, 1, 0, 0, 1, 0]
    assert (got["evidence_ambiguous"], got["evidence_unmatched"]) == (1, 0)
    assert data.evidence_rationale({"text": "no such words", "evidences": ["great"]})["evidence_unmatched"] == 1


def test_cli_runs_the_hub_path(monkeypatch, tmp_path, capsys):
    patch_hub(monkeypatch, "stanfordnlp/sst2", sst2_hub())
    rec = tmp_path / "source.json"
    assert cli.main(["download", "--dataset", "sst2", "--source", "hub", "--mirror", "",
                     "--out", str(tmp_path / "hub"), "--record", str(rec)]) == 0
    assert json.loads(rec.read_text()) == {"dataset": "sst2", "source": "hub", "root": str(tmp_path / "hub")}
    assert cli.main(["prepare", "--dataset", "sst2", "--record", str(rec), "--out", str(tmp_path / "d"),
                     "--settings", json.dumps(SETTINGS)]) == 0
    data.prepare("sst2", data.sample_root(), tmp_path / "s", **SETTINGS)
    assert prepared(tmp_path / "d") == prepared(tmp_path / "s")


def test_a_new_hub_dataset_is_one_registry_entry(monkeypatch, tmp_path):
    """Nothing but the spec says how a dataset is read, cleaned and split."""
    spec = data.DatasetSpec("yelp_polarity", 2, ("negative", "positive"), {"train": "train", "test": "test"},
                            data.HubSource("fancyzhx/yelp_polarity", {"train": "train", "test": "test"},
                                           {"text": "text", "label": "label"}, ("1", "2")),
                            clean=lambda t: t.replace("\\n", " ").strip())
    monkeypatch.setitem(data.DATASETS, spec.name, spec)
    features = Features({"text": Value("string"), "label": ClassLabel(names=["1", "2"])})
    rows = {"text": [f"review {i}\\nline two " for i in range(20)], "label": [i % 2 for i in range(20)]}
    patch_hub(monkeypatch, "fancyzhx/yelp_polarity",
              DatasetDict({"train": Dataset.from_dict(rows, features), "test": Dataset.from_dict(rows, features)}))
    root = data.download("yelp_polarity", "hub", tmp_path / "hub")
    sizes = data.prepare("yelp_polarity", root, tmp_path / "d", validation_fraction=0.25)
    assert sizes == {"train": 15, "validation": 5, "test": 20}
    test = data.read_prepared(tmp_path / "d", "test")
    assert test[0] == {"id": "1", "text": "review 0 line two", "label": 0}


# ------------------------------------------------------------------ a hub copy in another schema

def without_column(dd: DatasetDict, split: str, column: str) -> DatasetDict:
    return DatasetDict({**dd, split: dd[split].remove_columns(column)})


def relabelled(dd: DatasetDict, split: str, row: int, value: int) -> DatasetDict:
    """The hub split with one row's label set to `value`, the label column a plain int."""
    ds = dd[split].cast_column("label", Value("int64"))
    labels = list(ds["label"])
    labels[row] = value
    return DatasetDict({**dd, split: ds.remove_columns("label").add_column("label", labels)})


@pytest.mark.parametrize("name, broken, message", [
    ("sst2", lambda dd: without_column(dd, "train", "sentence"),
     "hub stanfordnlp/sst2, split 'train': no column 'sentence' for dataset sst2 (columns: idx, label)"),
    ("eraser_movies", lambda dd: without_column(dd, "validation", "evidences"),
     "hub eraser-benchmark/movie_rationales, split 'validation': no column 'evidences' for dataset eraser_movies"),
    ("agnews", lambda dd: relabelled(dd, "test", 3, 4),
     "hub fancyzhx/ag_news, split 'test', row 3: column 'label' is 4, not a label 0..3 of dataset agnews"),
    ("imdb", lambda dd: relabelled(dd, "train", 0, -1),
     "hub stanfordnlp/imdb, split 'train', row 0: column 'label' is -1, not a label 0..1 of dataset imdb"),
    ("sst2", lambda dd: DatasetDict({"train": dd["train"], "test": dd["test"]}),
     "hub stanfordnlp/sst2: no split 'validation' for dataset sst2 (the hub has: train, test)"),
    ("imdb", lambda dd: DatasetDict({k: v.cast_column("label", ClassLabel(names=["pos", "neg"])) for k, v in dd.items()}),
     "hub stanfordnlp/imdb, split 'train': column 'label' encodes ['pos', 'neg'], dataset imdb expects ['neg', 'pos']"),
])
def test_bad_hub_input_is_one_line_naming_dataset_split_and_column(name, broken, message, monkeypatch, tmp_path, capsys):
    patch_hub(monkeypatch, data.DATASETS[name].hub.repo, broken(HUB[name]()))
    with pytest.raises(DataError) as e:
        data.download(name, "hub", tmp_path / "hub")
    assert str(e.value).startswith(message) and "\n" not in str(e.value)
    rec = tmp_path / "source.json"
    assert cli.main(["download", "--dataset", name, "--source", "hub", "--out", str(tmp_path / "hub"),
                     "--record", str(rec)]) == 1
    assert capsys.readouterr().err.strip().splitlines() == [f"afa download: error: {e.value}"]
    assert not rec.exists()


@pytest.mark.parametrize("error", [
    ConnectionError("Couldn't reach 'stanfordnlp/imdb' on the Hub (LocalEntryNotFoundError)"),  # no network
    FileNotFoundError("Dataset 'stanfordnlp/imdb' doesn't exist on the Hub or cannot be accessed."),
])
def test_a_hub_that_cannot_be_reached_is_one_line(error, monkeypatch, tmp_path, capsys):
    def load_dataset(path, **kwargs):
        raise error

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    assert cli.main(["download", "--dataset", "imdb", "--source", "hub", "--out", str(tmp_path),
                     "--record", str(tmp_path / "r.json")]) == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        f"afa download: error: hub stanfordnlp/imdb: cannot load it for dataset imdb ({error}); "
        "without a network use data.source: mirror"]
    assert not (tmp_path / "r.json").exists()
