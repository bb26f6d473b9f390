"""Datasets, their three sources, and the one schema every later stage reads.

Every source is brought into the *mirror layout* first (``<root>/<dataset>/<split>.jsonl.gz``,
optionally with ``<root>/SHA256SUMS``), the layout of the staged copies in ``shared/data``:
  - ``sample``: the small sample committed in this package (``afa/sample_data``), the default;
  - ``mirror``: a local folder in that layout, for clusters and machines without a network;
  - ``hub``:    the Hugging Face hub through ``datasets.load_dataset``, written into that layout.
``prepare`` then turns a mirror-layout folder into the normalised splits train / validation /
test (test = the paper's report split) that training and evaluation read.

A dataset is one ``DatasetSpec`` in ``DATASETS``: its labels, its splits in each source, its hub
columns, its text clean-up and the rules its rows follow. No code elsewhere branches on a dataset's
name, and the workflow's config schema takes its dataset names from ``DATASETS``.
"""

from __future__ import annotations

import gzip
import json
import random
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from afa.io import sha256, write_json, write_jsonl_gz

SPLITS = ("train", "validation", "test")


class DataError(ValueError):
    """Bad or missing input data; the message names the file, the line and the field."""


@dataclass(frozen=True)
class HubSource:
    """Where a dataset lies on the Hugging Face hub, and how its published schema maps onto ours."""
    repo: str  # the id passed to ``datasets.load_dataset``
    splits: dict[str, str]  # mirror-layout split -> hub split
    columns: dict[str, str]  # mirror-layout field -> hub column
    # the hub label column's ClassLabel names, in code order: a re-encoded hub copy fails loudly
    label_names: tuple[str, ...]
    # more mirror-layout fields from the renamed row, for what the hub stores in another form
    derive: Callable[[dict], dict] | None = None


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset: everything the rest of the code knows about it. Nothing else branches on a name."""
    name: str
    num_labels: int
    label_names: tuple[str, ...]
    # source split name in the mirror layout for our "train" and "test" (the report split)
    mirror_splits: dict[str, str]
    hub: HubSource | None = None
    # the record field that holds a row's id; rows without one get their line number
    id_field: str | None = None
    # text clean-up, applied to the text from every source, so that all sources agree
    clean: Callable[[str], str] | None = None
    # a null label marks a row outside the task (neutral SST sentences), which is skipped
    skip_null_label: bool = False
    # rows carry 'tokens' and a 0/1 'rationale_mask' per token; the text is the tokens joined
    has_rationales: bool = False
    # Train rows are phrases cut from train sentences (SST-2), so a random row split would leak:
    # validation is carved from whole sentences instead (see ``split_sentences``).
    train_is_phrases: bool = False


def drop_html_breaks(text: str) -> str:
    """IMDB's reviews keep the site's ``<br />`` tags: markup, not words."""
    return re.sub(r"<br\s*/?>", " ", text)


def evidence_rationale(row: dict) -> dict:
    """Tokens and rationale mask from the hub's ERASER row: a review and its evidence *strings*.

    The hub keeps each evidence's text but not its token span, so the mask marks every run of
    whole review tokens equal to an evidence string (``match_evidences``). That is exact when each
    evidence string occurs once in its review, and a superset of the annotated spans when one
    occurs more often. Checked on the staged ERASER train / val, whose spans are known: 156 of
    13,878 / 20 of 1,517 evidence strings occur more than once, none nowhere; 1,543 of 1,600 /
    190 of 200 reviews get the annotated mask exactly, and 132 of 106,877 / 39 of 9,953 marked
    tokens are extra. ``evidence_ambiguous`` / ``evidence_unmatched`` count the row's evidence
    strings found more than once / nowhere, so an inexact row can be told from an exact one.
    """
    tokens = row["text"].split()  # the review is ERASER's tokenised document, one sentence a line
    mask, ambiguous, unmatched = match_evidences(tokens, row["evidences"])
    return {"tokens": tokens, "rationale_mask": mask,
            "evidence_ambiguous": ambiguous, "evidence_unmatched": unmatched}


def match_evidences(tokens: list[str], evidences: list[str]) -> tuple[list[int], int, int]:
    """(0/1 per token: inside a run of whole tokens equal to an evidence string,
    evidence strings found more than once, evidence strings found nowhere)."""
    mask, ambiguous, unmatched = [0] * len(tokens), 0, 0
    for ev in evidences:
        run = ev.split()
        n = len(run)
        starts = [s for s in range(len(tokens) - n + 1) if n and tokens[s:s + n] == run]
        ambiguous += len(starts) > 1
        unmatched += not starts
        for s in starts:
            mask[s:s + n] = [1] * n
    return mask, ambiguous, unmatched


def evidence_mask(tokens: list[str], evidences: list[str]) -> list[int]:
    return match_evidences(tokens, evidences)[0]


# The hub schemas, as published. Checked against the loading scripts each hub copy was built by
# (huggingface/datasets, datasets/{sst2,imdb,ag_news,movie_rationales}/<name>.py) and the cards'
# dataset_info (stanfordnlp/sst2, stanfordnlp/imdb; TFDS's catalogue of the hub's
# movie_rationales and ag_news):
#   stanfordnlp/sst2: idx int32, sentence string, label ClassLabel(negative, positive);
#       train 67,349 / validation 872 / test 1,821 (test labels -1). The sentences are GLUE's tsv
#       rows, which end in a space that the mirror's lack (hence ``str.strip``).
#   stanfordnlp/imdb (config plain_text): text string, label ClassLabel(neg, pos); train 25,000 /
#       test 25,000 / unsupervised 50,000 (labels -1). No id or rating column: a hub row's id is
#       its line number (the mirror's, e.g. train_pos_2064, are not on the hub).
#   fancyzhx/ag_news: text string (title + " " + description), label ClassLabel(World, Sports,
#       Business, Sci/Tech); train 120,000 / test 7,600. The mirror's text is the same, stripped.
#   eraser-benchmark/movie_rationales (formerly movie_rationales): review string (ERASER's docs
#       file, one tokenised sentence a line), label ClassLabel(NEG, POS), evidences sequence of
#       string (each evidence's text, no token span; see ``evidence_rationale``); train 1,600 /
#       validation 200 / test 199. No annotation_id column: a hub row's id is its line number.
# The full SST trees (sst_phrases) have no hub source; the mirror is theirs.
DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in [
        DatasetSpec("sst2", 2, ("negative", "positive"), {"train": "train", "test": "dev"},
                    HubSource("stanfordnlp/sst2", {"train": "train", "dev": "validation"},
                              {"idx": "idx", "text": "sentence", "label": "label"}, ("negative", "positive")),
                    id_field="idx", clean=str.strip, train_is_phrases=True),
        DatasetSpec("imdb", 2, ("negative", "positive"), {"train": "train", "test": "test"},
                    HubSource("stanfordnlp/imdb", {"train": "train", "test": "test"},
                              {"text": "text", "label": "label"}, ("neg", "pos")),
                    id_field="id", clean=drop_html_breaks),
        DatasetSpec("agnews", 4, ("World", "Sports", "Business", "Sci/Tech"),
                    {"train": "train", "test": "test"},
                    HubSource("fancyzhx/ag_news", {"train": "train", "test": "test"},
                              {"text": "text", "label": "label"}, ("World", "Sports", "Business", "Sci/Tech")),
                    clean=str.strip),
        DatasetSpec("eraser_movies", 2, ("negative", "positive"), {"train": "train", "test": "val"},
                    HubSource("eraser-benchmark/movie_rationales", {"train": "train", "val": "validation"},
                              {"text": "review", "label": "label", "evidences": "evidences"}, ("NEG", "POS"),
                              derive=evidence_rationale),
                    id_field="annotation_id", has_rationales=True),
        DatasetSpec("sst_phrases", 2, ("negative", "positive"), {"train": "train", "test": "dev"},
                    id_field="id", skip_null_label=True, has_rationales=True),
    ]
}


def rationale_datasets() -> list[str]:
    """The datasets with per-token rationales, which alignment can score."""
    return [name for name, spec in DATASETS.items() if spec.has_rationales]


def get_spec(name: str) -> DatasetSpec:
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; known datasets: {', '.join(DATASETS)}")
    return DATASETS[name]


def sample_root() -> Path:
    return Path(str(resources.files("afa") / "sample_data"))


# ----------------------------------------------------------------------------- reading

def verify_checksum(root: Path, path: Path) -> None:
    """Check `path` against ``root/SHA256SUMS`` when that file exists and lists it."""
    sums = root / "SHA256SUMS"
    if not sums.exists():
        return
    rel = path.relative_to(root).as_posix()
    for line in sums.read_text().splitlines():
        digest, _, name = line.strip().partition("  ")
        if name.removeprefix("./") == rel:
            if sha256(path) != digest:
                raise DataError(f"{path}: checksum mismatch against {sums} (corrupt or altered file)")
            return


def read_jsonl_gz(path: Path) -> list[dict]:
    """The JSON objects of a gzipped JSON-lines file; bad bytes, JSON or records name the line."""
    records = []
    try:
        with gzip.open(path, "rb") as f:  # bytes, decoded per line: a bad byte is reported at its line
            for lineno, raw in enumerate(f, 1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    raise DataError(f"{path}:{lineno}: not UTF-8 text (byte 0x{raw[e.start]:02x} at column "
                                    f"{e.start + 1})") from None
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as e:
                    raise DataError(f"{path}:{lineno}: not valid JSON ({e.msg})") from None
                if not isinstance(rec, dict):
                    raise DataError(f"{path}:{lineno}: a record must be a JSON object, got {type(rec).__name__} "
                                    f"{line.strip()[:40]!r}")
                records.append(rec)
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise DataError(f"{path}: truncated or corrupt gzip file ({e})") from None
    return records


def mirror_file(root: Path, spec: DatasetSpec, split: str) -> Path:
    """The file holding our `split` ("train" or "test") of `spec` in a mirror-layout folder."""
    if not root.is_dir():
        raise DataError(f"data mirror folder {root} does not exist (config: data.mirror)")
    path = root / spec.name / f"{spec.mirror_splits[split]}.jsonl.gz"
    if not path.exists():
        hint = ""
        if split == "train":
            hint = (f"; {spec.name} has no train split in this source, and training needs one "
                    f"(use data.source: hub, or add {path.name} to the mirror)")
        raise DataError(f"{path} does not exist{hint}")
    return path


def normalise(rec: dict, spec: DatasetSpec, path: Path, lineno: int) -> dict | None:
    """One record in our schema: id, text, label (+ tokens, rationale_mask). None = skipped."""
    where = f"{path}:{lineno}"
    if "label" not in rec:
        raise DataError(f"{where}: record has no 'label' field")
    label = rec["label"]
    if label is None and spec.skip_null_label:
        return None
    if not isinstance(label, int) or isinstance(label, bool) or not 0 <= label < spec.num_labels:
        raise DataError(f"{where}: label {label!r} out of range 0..{spec.num_labels - 1} "
                        f"for dataset {spec.name}")
    text = rec.get("text")
    if isinstance(text, str) and spec.clean:
        text = spec.clean(text)
    if not isinstance(text, str) or not text.strip():
        raise DataError(f"{where}: record has no non-empty 'text' field")
    check_unicode(text, where, "text")
    rid = rec.get(spec.id_field) if spec.id_field else None
    out = {"id": str(lineno if rid is None else rid), "text": text, "label": label}
    if spec.has_rationales:
        tokens, mask = rec.get("tokens"), rec.get("rationale_mask")
        if not isinstance(tokens, list) or not isinstance(mask, list) or len(tokens) != len(mask):
            raise DataError(f"{where}: rationale dataset needs 'tokens' and 'rationale_mask' "
                            "lists of equal length")
        bad = next((i for i, t in enumerate(tokens) if not isinstance(t, str) or not t), None)
        if bad is not None:
            raise DataError(f"{where}: 'tokens'[{bad}] is {tokens[bad]!r}, not a non-empty string")
        check_unicode(" ".join(tokens), where, "tokens")
        bad = next((i for i, m in enumerate(mask) if isinstance(m, bool) or m not in (0, 1)), None)
        if bad is not None:
            raise DataError(f"{where}: 'rationale_mask'[{bad}] is {mask[bad]!r}, not 0 or 1")
        out["tokens"], out["rationale_mask"] = tokens, [int(m) for m in mask]
        out["text"] = " ".join(tokens)  # keeps token i of the rationale = word i of the text
        if "token_labels" in rec:  # SST: each word's own 0-4 sentiment, for other rationale rules
            if not isinstance(rec["token_labels"], list) or len(rec["token_labels"]) != len(tokens):
                raise DataError(f"{where}: 'token_labels' must be a list as long as 'tokens'")
            out["token_labels"] = rec["token_labels"]
    return out


def check_unicode(text: str, where: str, field: str) -> None:
    """JSON can carry a lone surrogate ("\\ud800"), which no UTF-8 writer or tokenizer takes."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise DataError(f"{where}: field {field!r} holds a lone surrogate {text[e.start]!r} at character "
                        f"{e.start}, which is not text") from None


def load_split(root: Path, dataset: str, split: str) -> list[dict]:
    """Read, verify and normalise our `split` ("train" or "test") from a mirror-layout folder."""
    spec = get_spec(dataset)
    path = mirror_file(Path(root), spec, split)
    verify_checksum(Path(root), path)
    out = []
    for lineno, rec in enumerate(read_jsonl_gz(path), 1):
        norm = normalise(rec, spec, path, lineno)
        if norm is not None:
            out.append(norm)
    if not out:
        raise DataError(f"{path}: no usable records")
    return out


# ----------------------------------------------------------------------------- sources

def download(dataset: str, source: str, out_root: Path, mirror: str | None = None) -> Path:
    """Bring `dataset` from `source` into mirror layout under `out_root`; return the root to read.

    The sample and a mirror are read in place (after checksum verification in ``load_split``);
    only the hub is written out, so a cluster job downloads once and later jobs read locally.
    """
    spec = get_spec(dataset)
    if source == "sample":
        return sample_root()
    if source == "mirror":
        if not mirror:
            raise DataError("data.source is 'mirror' but data.mirror (the folder) is not set")
        root = Path(mirror).expanduser().resolve()
        mirror_file(root, spec, "train")  # fail now, not at training time
        mirror_file(root, spec, "test")
        return root
    if source == "hub":
        return download_hub(spec, Path(out_root))
    raise DataError(f"unknown data source {source!r} (config: data.source); "
                    "use one of sample, mirror, hub")


def download_hub(spec: DatasetSpec, out_root: Path) -> Path:
    """Write `spec`'s hub splits into mirror layout under `out_root` (see ``HubSource``).

    Every split and column the spec names is checked before a row is written, and every label
    against the spec's range, so a hub copy whose schema has changed stops the download with one
    line naming the dataset, the split and the column.
    """
    hub = spec.hub
    if hub is None:
        raise DataError(f"{spec.name} has no hub source; use data.source: mirror")
    import datasets  # heavy import, only needed here

    try:
        splits = datasets.load_dataset(hub.repo)
    except OSError as e:  # no network, or no such hub id: datasets' own error, as one line
        raise DataError(f"hub {hub.repo}: cannot load it for dataset {spec.name} ({e}); "
                        "without a network use data.source: mirror") from None
    for hub_split in hub.splits.values():
        if hub_split not in splits:
            raise DataError(f"hub {hub.repo}: no split {hub_split!r} for dataset {spec.name} "
                            f"(the hub has: {', '.join(splits)})")
        check_hub_columns(spec, hub_split, splits[hub_split])
    for mirror_split, hub_split in hub.splits.items():
        rows = (hub_record(spec, hub_split, i, r) for i, r in enumerate(splits[hub_split]))
        write_jsonl_gz(out_root / spec.name / f"{mirror_split}.jsonl.gz", rows)
    return out_root


def check_hub_columns(spec: DatasetSpec, hub_split: str, ds) -> None:
    hub, where = spec.hub, f"hub {spec.hub.repo}, split {hub_split!r}"
    for column in hub.columns.values():
        if column not in ds.column_names:
            raise DataError(f"{where}: no column {column!r} for dataset {spec.name} "
                            f"(columns: {', '.join(ds.column_names)})")
    label = hub.columns["label"]
    names = getattr(ds.features[label], "names", None)  # a ClassLabel says how it encodes labels
    if names is not None and tuple(names) != hub.label_names:
        raise DataError(f"{where}: column {label!r} encodes {list(names)}, dataset {spec.name} "
                        f"expects {list(hub.label_names)}")


def hub_record(spec: DatasetSpec, hub_split: str, i: int, r: dict) -> dict:
    """One hub row in the fields of the mirror layout (the row's hub columns, renamed)."""
    hub = spec.hub
    rec = {name: r[column] for name, column in hub.columns.items()}
    label = rec["label"]
    if not isinstance(label, int) or isinstance(label, bool) or not 0 <= label < spec.num_labels:
        raise DataError(f"hub {hub.repo}, split {hub_split!r}, row {i}: column {hub.columns['label']!r} "
                        f"is {label!r}, not a label 0..{spec.num_labels - 1} of dataset {spec.name}")
    if hub.derive:
        rec |= hub.derive(rec)
    return rec


# ----------------------------------------------------------------------------- splits

def prepare(dataset: str, root: Path, out_dir: Path, validation_fraction: float = 0.1,
            validation_sentence_fraction: float = 0.07, split_seed: int = 13,
            max_train: int | None = None, max_test: int | None = None) -> dict[str, int]:
    """Write train / validation / test for `dataset` into `out_dir`; return their sizes.

    Validation is carved from train with `split_seed` (none of the staged sets has a
    validation split that is not also its report split) so that it shares no text with train:
    whole sentences where train rows are phrases of sentences (`validation_sentence_fraction` of
    them), rows otherwise (`validation_fraction` of them). ``split.json`` records what was held out
    and dropped. Caps subsample with the same seed.
    """
    check_fraction("validation_fraction", validation_fraction)
    check_fraction("validation_sentence_fraction", validation_sentence_fraction)
    spec = get_spec(dataset)
    train = load_split(root, dataset, "train")
    test = load_split(root, dataset, "test")
    rng = random.Random(split_seed)
    option, fraction, carve = (
        ("validation_sentence_fraction", validation_sentence_fraction, split_sentences)
        if spec.train_is_phrases else ("validation_fraction", validation_fraction, split_rows))
    kept, validation, record = carve(train, fraction, rng)
    if not kept:
        raise DataError(f"{dataset}: data.{option} {fraction} leaves no train rows "
                        f"({len(train)} read); lower it")
    splits = {"train": kept, "validation": validation, "test": test}
    if max_train:
        splits["train"] = splits["train"][:max_train]
        splits["validation"] = splits["validation"][:max(1, round(max_train * fraction))]
    if max_test and len(test) > max_test:
        splits["test"] = random.Random(split_seed).sample(test, max_test)
    sizes = {name: write_jsonl_gz(Path(out_dir) / f"{name}.jsonl.gz", recs)
             for name, recs in splits.items()}
    train_keys = {text_key(r["text"]) for r in splits["train"]}
    record |= {"dataset": dataset, "split_seed": split_seed, "train_rows_read": len(train),
               "max_train": max_train, "max_test": max_test, "sizes": sizes,
               # the report split is the official one and is left as it is; this says how much
               # of it a model has seen verbatim in training
               "test_rows_also_in_train": sum(text_key(r["text"]) in train_keys for r in splits["test"])}
    write_json(Path(out_dir) / "split.json", record)
    return sizes


def check_fraction(option: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise DataError(f"data.{option} must be a number in (0, 1), got {value!r}")


def text_key(text: str) -> str:
    """The text as its tokens: the hub's SST-2 sentences end in a space the mirror's lack."""
    return " ".join(text.split())


class SpanIndex:
    """Which of a set of texts lie inside a text as a run of whole tokens.

    Every prefix of every indexed text (a chain of hashes, one step per token) is kept, so the walk
    from a start token stops as soon as no indexed text continues it. The walk is also capped at
    the longest indexed text other than the one walked (a text holds only shorter ones), so one very
    long row, even one word repeated, costs time linear in its length rather than cubic. A hash hit
    is checked against the tokens themselves: a collision costs time, never a wrong answer.
    """

    def __init__(self, keys):
        self.keys = {}  # full hash -> the keys with that hash
        self.prefixes = set()
        lengths = []
        for key in dict.fromkeys(keys):
            h = 0
            toks = key.split()
            for t in toks:
                h = hash((h, t))
                self.prefixes.add(h)
            self.keys.setdefault(h, []).append(key)
            lengths.append(len(toks))
        self.top2 = sorted(lengths, reverse=True)[:2] + [0, 0]

    def proper_spans(self, text: str) -> set[str]:
        """The indexed texts, other than `text` itself, that are runs of whole tokens of `text`."""
        toks = text.split()
        n, found = len(toks), set()
        longest_other = self.top2[1] if n == self.top2[0] else self.top2[0]
        cap = min(n - 1, longest_other)
        for i in range(n):
            h = 0
            for j in range(i, min(n, i + cap)):
                h = hash((h, toks[j]))
                if h not in self.prefixes:
                    break
                if h in self.keys:
                    span = toks[i:j + 1]
                    found.update(k for k in self.keys[h] if k.split() == span)
        return found


def maximal_texts(keys: list[str]) -> list[str]:
    """The distinct texts that lie inside no other text as a run of whole tokens, first-seen order.

    On phrase data these are the sentences; found from the rows alone, so the sample, a mirror
    and the hub agree. Linear in each text's length (`SpanIndex`): a 20,000-word row takes a
    fraction of a second (tests/test_data.py), where the span-by-span search took hours.
    """
    distinct = list(dict.fromkeys(keys))  # first-seen order, independent of the hash seed
    index = SpanIndex(distinct)
    inside = set().union(*(index.proper_spans(k) for k in distinct))
    return [k for k in distinct if k not in inside]


def split_sentences(train: list[dict], fraction: float,
                    rng: random.Random) -> tuple[list[dict], list[dict], dict]:
    """Hold out `fraction` of the sentences; drop from train every row that lies inside one.

    Validation is one row per held-out sentence, like the report split (whole sentences).
    A held-out sentence lies inside no train row (it is maximal), and no train row lies inside
    it. A train row that only partly overlaps a held-out sentence is not one of its phrases
    (those all lie inside it) and stays. On the full SST-2 train, 6,774 of the 6,885 maximal
    rows are SST train sentences verbatim; the rest differ from the trees only in tokenisation.
    """
    keys = [text_key(r["text"]) for r in train]
    sentences = maximal_texts(keys)
    n_held = max(1, round(len(sentences) * fraction))
    held = set(rng.sample(sentences, n_held))
    index = SpanIndex(keys)
    covered = held.union(*(index.proper_spans(s) for s in held))  # the train texts inside a held-out sentence
    validation, kept, seen, dropped = [], [], set(), 0
    for rec, key in zip(train, keys):
        if key in held and key not in seen:
            validation.append(rec)
            seen.add(key)
        elif key in covered:
            dropped += 1
        else:
            kept.append(rec)
    rng.shuffle(validation)
    rng.shuffle(kept)
    record = {"validation_by": "sentences", "validation_sentence_fraction": fraction,
              "sentences_found": len(sentences), "sentences_held_out": n_held,
              "train_rows_dropped_for_overlap": dropped}
    return kept, validation, record


def split_rows(train: list[dict], fraction: float,
               rng: random.Random) -> tuple[list[dict], list[dict], dict]:
    """Hold out `fraction` of the rows; drop train rows whose text is also a validation row's."""
    train = list(train)
    rng.shuffle(train)
    n_val = max(1, round(len(train) * fraction))
    validation = train[:n_val]
    val_keys = {text_key(r["text"]) for r in validation}
    # repeated texts (IMDB has some) would otherwise be scored on validation after training on them
    kept = [r for r in train[n_val:] if text_key(r["text"]) not in val_keys]
    record = {"validation_by": "rows", "validation_fraction": fraction,
              "train_rows_dropped_for_overlap": len(train) - n_val - len(kept)}
    return kept, validation, record


def read_prepared(data_dir: Path, split: str) -> list[dict]:
    path = Path(data_dir) / f"{split}.jsonl.gz"
    if not path.exists():
        raise DataError(f"{path} does not exist (run the prepare step first)")
    return read_jsonl_gz(path)


def read_trained_split(data_dir: Path, split: str, train_settings: dict) -> list[dict]:
    """A prepared split as a run trained on it: its first `max_train` / `max_validation` rows when the
    run's train settings cap them. prepare shuffled the split with split_seed, so the cap is a seeded
    subset, and the one `data.max_train` gives at prepare time (the same rows, in the same order):
    a costly model (an LLM) can train on fewer rows than the others of one overlay."""
    key = {"train": "max_train", "validation": "max_validation"}[split]
    cap = train_settings.get(key)
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
        raise DataError(f"train.{key} must be a positive integer or null, got {cap!r}")
    return read_prepared(data_dir, split)[:cap]
