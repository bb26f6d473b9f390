"""AFA as a library: the attention row of any Hugging Face model, and AFATrainer. Tiny models
built from configs: nothing is downloaded."""

import copy
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerCallback

from afa import models
from afa.hf import attention_row, default_pooling, maskable_tokens, track_attention
from afa.method import AFA, AFAConfig

TEXTS = ["a wonderful moving film", "dull", "the plot is thin but the acting is superb", "superb",
         "thin and dull", "a moving plot", "wonderful acting", "the film is dull"]
LABELS = [1, 0, 1, 1, 0, 1, 1, 0]
TINY_D = {"d_model": 16, "heads": 2, "d_ff": 32}


def tiny_bert(layers=2, **overrides):
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=layers, num_attention_heads=2,
                                  intermediate_size=32, max_position_embeddings=32, **overrides)
    cfg._attn_implementation = "eager"
    return BertModel(cfg).eval()


def tiny_llama(**overrides):
    from transformers import LlamaConfig, LlamaModel

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
                      num_key_value_heads=2, max_position_embeddings=32, pad_token_id=0, **overrides)
    cfg._attn_implementation = "eager"
    return LlamaModel(cfg).eval()


def padded(seqs, side):
    """(input_ids, attention_mask) with `side` padding (pad id 0)."""
    T = max(map(len, seqs))
    ids, att = torch.zeros(len(seqs), T, dtype=torch.long), torch.zeros(len(seqs), T, dtype=torch.long)
    for i, s in enumerate(seqs):
        where = slice(0, len(s)) if side == "right" else slice(T - len(s), T)
        ids[i, where], att[i, where] = torch.tensor(s), 1
    return ids, att


SEQS = [[2, 10, 11, 12, 13, 3], [2, 14, 3], [2, 15, 16, 17, 3]]


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("kind, pooling", [("bert", "first"), ("llama", "last")])
def test_attention_row_pools_the_right_token_under_either_padding(kind, pooling, side):
    model = tiny_bert() if kind == "bert" else tiny_llama()
    ids, att = padded(SEQS, side)
    kwargs = {}
    if kind == "bert":  # absolute positions: left padding needs them counted from the first real token
        kwargs["position_ids"] = (att.cumsum(-1) - 1).clamp_min(0)
    with torch.no_grad():
        A = attention_row(model(ids, attention_mask=att, output_attentions=True, **kwargs), att, pooling)
    assert torch.allclose(A.sum(-1), torch.ones(len(SEQS)), atol=1e-5)
    assert (A[att == 0] == 0).all()
    for i, s in enumerate(SEQS):  # each row is the one the sequence gets alone, unpadded
        alone_ids = torch.tensor([s])
        with torch.no_grad():
            alone = attention_row(model(alone_ids, output_attentions=True), torch.ones_like(alone_ids), pooling)[0]
        assert torch.allclose(A[i][att[i] == 1], alone, atol=1e-5)


def test_first_and_last_pooling_read_different_rows():
    model = tiny_bert()
    ids, att = padded(SEQS, "right")
    with torch.no_grad():
        out = model(ids, attention_mask=att, output_attentions=True)
    probs = out.attentions[-1].mean(1)
    assert torch.allclose(attention_row(out, att, "first"), probs[:, 0] * att)
    last = att.sum(-1) - 1
    assert torch.allclose(attention_row(out, att, "last"), probs[torch.arange(3), last] * att)


def test_row_is_read_before_attention_dropout_in_train_mode():
    # one layer and no other dropout: the pre-dropout row in train mode is the eval row exactly
    model = tiny_bert(layers=1, attention_probs_dropout_prob=0.5, hidden_dropout_prob=0.0)
    ids, att = padded(SEQS, "right")
    with torch.no_grad():
        clean = attention_row(model(ids, attention_mask=att, output_attentions=True), att)
    tracker = track_attention(model)
    model.train()
    A = attention_row(model(ids, attention_mask=att, output_attentions=True), att, "first", tracker)
    assert torch.allclose(A, clean, atol=1e-6)
    assert A.requires_grad  # L_adv's gradient reaches the target through it
    with pytest.raises(ValueError, match="post-dropout"):  # the same call without the tracker
        attention_row(model(ids, attention_mask=att, output_attentions=True), att)


def test_tracker_never_returns_an_earlier_forwards_row():
    model = tiny_bert(layers=1)
    tracker = track_attention(model)
    ids, att = padded(SEQS, "right")
    with torch.no_grad():
        model(ids[:1, :3], attention_mask=att[:1, :3], output_attentions=True)  # caught by the hook
        out = model(ids, attention_mask=att, output_attentions=True)
    assert attention_row(out, att, "first", tracker).shape == ids.shape
    assert tracker.probs is None  # taken: no graph held until the next step


def test_functional_attention_dropout_is_pre_dropout_at_zero_and_refused_above():
    model = tiny_llama()  # no attention dropout module; attention_dropout = 0
    tracker = track_attention(model)
    ids, att = padded(SEQS, "left")
    with torch.no_grad():
        clean = attention_row(model(ids, attention_mask=att, output_attentions=True), att, "last", tracker)
        model.train()
        assert torch.allclose(attention_row(model(ids, attention_mask=att, output_attentions=True), att, "last",
                                            tracker), clean)
    dropped = tiny_llama(attention_dropout=0.2).train()
    track_attention(dropped)
    with pytest.raises(ValueError, match=r"config\.attention_dropout = 0\.2"):
        dropped(ids, attention_mask=att, output_attentions=True)


def test_attention_row_names_a_missing_attention_and_a_bad_pooling():
    ids, att = padded(SEQS, "right")
    with torch.no_grad():
        out = tiny_bert()(ids, attention_mask=att)
    with pytest.raises(ValueError, match="output_attentions=True"):
        attention_row(out, att)
    with pytest.raises(ValueError, match="pooling must be one of first, last"):
        attention_row(out, att, "cls")


def test_maskable_tokens_are_real_and_not_special():
    tok = models.build_word_tokenizer(TEXTS, 100, 1, 16)
    batch = models.collate(tok, models.encode(tok, TEXTS, 16), "cpu")
    got = maskable_tokens(batch["input_ids"], batch["attention_mask"], tok)
    assert torch.equal(got, batch["maskable"])  # the pipeline's rule
    assert torch.equal(got, maskable_tokens(batch["input_ids"], batch["attention_mask"], tok.all_special_ids))
    assert not got[:, 0].any() and not got[batch["attention_mask"] == 0].any()


def test_default_pooling_is_last_for_decoders_only():
    from transformers import BertConfig, DistilBertConfig, GPT2Config, LlamaConfig

    assert [default_pooling(c()) for c in (BertConfig, DistilBertConfig, LlamaConfig, GPT2Config)] == \
        ["first", "first", "last", "last"]
    assert default_pooling(BertConfig(is_decoder=True)) == "last"


def test_import_afa_is_light_and_exports_the_library():
    code = "import sys, afa; assert 'torch' not in sys.modules, 'import afa loaded torch'"
    subprocess.run([sys.executable, "-c", code], check=True)
    from afa import AFA, AFAConfig, AFATrainer, attention_row, maskable_tokens, track_attention  # noqa: F401

    assert AFATrainer.__module__ == "afa.trainer" and AFA.__module__ == "afa.method"
    with pytest.raises(ImportError, match="cannot import name 'Trainer'"):  # unknown names still fail
        from afa import Trainer  # noqa: F401


# ----------------------------------------------------------------------------- AFATrainer

@pytest.fixture(scope="module")
def tokenizer():
    return models.build_word_tokenizer(TEXTS, 100, 1, 16)


@pytest.fixture(scope="module")
def dataset(tokenizer):
    from datasets import Dataset

    return Dataset.from_dict({"text": TEXTS, "label": LABELS}).map(
        lambda b: tokenizer(b["text"], truncation=True, max_length=16), batched=True)


def make_trainer(tokenizer, dataset, out, afa_config=None, **args):
    from transformers import TrainingArguments

    from afa import AFATrainer

    model = tiny_seq_classifier(len(tokenizer))
    settings = dict(max_steps=1, per_device_train_batch_size=4, learning_rate=1e-2, logging_steps=1,
                    save_strategy="no", report_to="none", use_cpu=True, seed=0, disable_tqdm=True)
    return AFATrainer(model=model, processing_class=tokenizer, train_dataset=dataset,
                      afa_config=afa_config or AFAConfig(K=2, M=2, masking="replace", disc=TINY_D),
                      args=TrainingArguments(str(out), **{**settings, **args}))


def tiny_seq_classifier(vocab_size):
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=vocab_size, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=32, max_position_embeddings=32, num_labels=2)
    cfg._attn_implementation = "eager"
    return BertForSequenceClassification(cfg)


def snapshot(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items() if torch.is_tensor(v)}


def changed(before, after):
    return {k for k in before if not torch.equal(before[k], after[k])}


def test_one_step_trains_target_and_discriminator_and_logs_afa_stats(tokenizer, dataset, tmp_path):
    trainer = make_trainer(tokenizer, dataset, tmp_path)
    target, D = snapshot(trainer.model), snapshot(trainer.afa.D)
    trainer.train()
    assert "bert.encoder.layer.1.attention.self.query.weight" in changed(target, snapshot(trainer.model))
    assert changed(D, snapshot(trainer.afa.D)) >= {"encoder.tok.weight", "head.weight"}
    (logged,) = [h for h in trainer.state.log_history if "loss" in h]
    for stat in ("L_cls", "L_adv", "policy_term", "entropy_bonus", "disc_acc", "adv_sd", "attn_entropy", "reward",
                 "explore_rate", "L_D"):
        assert isinstance(logged[stat], float), stat
    assert logged["loss"] == pytest.approx(logged["L_cls"] + 0.5 * logged["L_adv"], abs=1e-4)  # loss: 4 decimals
    # L_adv is the adversary's term plus the bonus, logged apart so the bonus is not read as AFA at work
    assert logged["L_adv"] == pytest.approx(logged["policy_term"] + logged["entropy_bonus"], abs=1e-6)
    assert logged["entropy_bonus"] == pytest.approx(-0.3 * logged["attn_entropy"], abs=1e-6)


def test_texts_with_k_or_fewer_maskable_tokens_are_counted_in_one_warning(tokenizer, caplog):
    from datasets import Dataset

    data = Dataset.from_dict({"text": ["dull", "a moving film", "superb", "the plot is thin and dull"],
                              "label": [0, 1, 1, 0]})
    data = data.map(lambda b: tokenizer(b["text"], truncation=True, max_length=16), batched=True)
    with caplog.at_level("WARNING", logger="afa.trainer"):
        make_trainer(tokenizer, data, "unused", AFAConfig(K=3, M=2, masking="replace", disc=TINY_D))
    (record,) = [r for r in caplog.records if "maskable" in r.message]
    assert "3 of 4 training texts (75.0 %) have K = 3 or fewer maskable tokens" in record.message


def test_a_label_outside_the_models_classes_is_one_line(tokenizer, dataset, tmp_path):
    bad = dataset.map(lambda r: {"label": 2 if r["label"] else 0})
    trainer = make_trainer(tokenizer, bad, tmp_path)
    with pytest.raises(ValueError, match=r"^AFATrainer: a batch has label 2, outside the model's 2 classes \(0-1\)"):
        trainer.train()


def test_L_adv_reaches_the_target(tokenizer, dataset, tmp_path):
    def after_one_step(lambda_):
        trainer = make_trainer(tokenizer, dataset, tmp_path / str(lambda_),
                               AFAConfig(K=2, M=2, lambda_=lambda_, disc=TINY_D))
        trainer.train()
        return snapshot(trainer.model)
    assert "bert.encoder.layer.1.attention.self.query.weight" in changed(after_one_step(0.0), after_one_step(5.0))


def test_discriminator_steps_once_per_optimizer_step_under_accumulation(tokenizer, dataset, tmp_path):
    trainer = make_trainer(tokenizer, dataset, tmp_path, max_steps=2, per_device_train_batch_size=2,
                           gradient_accumulation_steps=2)
    calls = []
    trainer.afa.register_forward_hook(lambda *a: calls.append("afa"))
    inner = trainer.afa.discriminator_step
    trainer.afa.discriminator_step = lambda: calls.append("D") or inner()
    trainer.train()
    assert calls == ["afa", "afa", "D", "afa", "afa", "D"]
    first_param = next(trainer.afa.D.parameters())
    assert int(trainer.afa.opt_D.state[first_param]["step"]) == 2


def test_checkpoint_holds_the_afa_state_and_resume_restores_it(tokenizer, dataset, tmp_path):
    # a constant learning rate: the two-step run's schedule is then the four-step run's first half
    settings = dict(per_device_train_batch_size=2, lr_scheduler_type="constant")
    unbroken = make_trainer(tokenizer, dataset, tmp_path / "unbroken", max_steps=4, **settings)
    unbroken.train()

    first = make_trainer(tokenizer, dataset, tmp_path / "run", max_steps=2, save_strategy="steps", save_steps=2,
                         **settings)
    first.train()
    ckpt = tmp_path / "run" / "checkpoint-2"
    assert {"afa.safetensors", "afa_config.json", "afa_state.pt"} <= {p.name for p in ckpt.iterdir()}
    saved = load_file(str(ckpt / "afa.safetensors"))
    assert not changed(snapshot(first.afa), saved)
    assert not changed(snapshot(first.afa.D), snapshot(AFA.from_pretrained(ckpt).D))

    resumed = make_trainer(tokenizer, dataset, tmp_path / "run", max_steps=4, **settings)
    assert changed(snapshot(first.afa), snapshot(resumed.afa))  # a fresh D before the resume
    at_start = {}

    class Look(TrainerCallback):  # on_train_begin comes after the checkpoint is loaded
        def on_train_begin(self, *args, **kwargs):
            at_start.update(weights=snapshot(resumed.afa), extra=copy.deepcopy(resumed.afa.get_extra_state()))

    resumed.add_callback(Look())
    resumed.train(resume_from_checkpoint=str(ckpt))
    assert not changed(snapshot(first.afa), at_start["weights"])
    state, want = at_start["extra"], first.afa.get_extra_state()
    assert torch.equal(state["generator"], want["generator"]) and state["step"] == want["step"] == 2
    assert torch.equal(state["opt_D"]["state"][0]["exp_avg"], want["opt_D"]["state"][0]["exp_avg"])
    # and the two steps after it land where the unbroken four-step run did, target and D alike
    assert not changed(snapshot(unbroken.afa), snapshot(resumed.afa))
    assert not changed(snapshot(unbroken.model), snapshot(resumed.model))


def test_a_decoder_is_pooled_at_its_last_token_under_left_padding(tokenizer, dataset, tmp_path):
    from transformers import LlamaConfig, LlamaForSequenceClassification, TrainingArguments

    from afa import AFATrainer

    tokenizer = copy.deepcopy(tokenizer)
    tokenizer.padding_side = "left"
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=32, num_labels=2,
                      pad_token_id=tokenizer.pad_token_id)
    cfg._attn_implementation = "eager"
    trainer = AFATrainer(model=LlamaForSequenceClassification(cfg), processing_class=tokenizer,
                         train_dataset=dataset, afa_config=AFAConfig(K=2, M=2, disc=TINY_D),
                         args=TrainingArguments(str(tmp_path), max_steps=1, per_device_train_batch_size=4,
                                                logging_steps=1, save_strategy="no", report_to="none", use_cpu=True))
    assert trainer.pooling == "last"
    rows = []
    real_compute = trainer.afa.forward
    trainer.afa.forward = lambda A, ids, att, *rest, **kw: rows.append((A, att)) or real_compute(A, ids, att, *rest, **kw)
    trainer.train()
    ((A, att),) = rows
    assert (att[:, 0] == 0).any() and (att[:, -1] == 1).all()  # left-padded
    assert torch.allclose(A.sum(-1), torch.ones(len(A)), atol=1e-5) and (A[att == 0] == 0).all()


def test_confidence_drop_and_unigram_masking_need_no_extra_arguments(tokenizer, dataset, tmp_path):
    trainer = make_trainer(tokenizer, dataset, tmp_path, AFAConfig(K=2, M=2, reward="confidence_drop",
                                                                   masking="unigram"))
    assert trainer.afa.D is None
    assert trainer.afa.unigram.sum() == pytest.approx(1.0)
    assert (trainer.afa.unigram[tokenizer.all_special_ids] == 0).all()
    trainer.train()
    (logged,) = [h for h in trainer.state.log_history if "loss" in h]
    assert "L_adv" in logged and "disc_acc" not in logged
    assert trainer.model.training  # classify put it back in train mode


def test_generator_masking_trains_its_g_on_the_train_dataset_and_saves_it_with_d(tokenizer, dataset, tmp_path):
    g = {"d_model": 16, "layers": 1, "heads": 2, "d_ff": 32, "steps": 5}
    trainer = make_trainer(tokenizer, dataset, tmp_path, AFAConfig(K=2, M=2, masking="generator", generator=g,
                                                                   disc=TINY_D))
    assert trainer.afa.mlm is not None and trainer.afa.mlm.vocab_size >= len(tokenizer)
    trainer.train()
    (logged,) = [h for h in trainer.state.log_history if "loss" in h]
    assert "disc_acc" in logged
    trainer.save_model(str(tmp_path / "final"))
    assert any(k.startswith("mlm.") for k in load_file(str(tmp_path / "final" / "afa.safetensors")))


@pytest.mark.parametrize("bad, message", [({"K": 0}, "AFAConfig.K must be a positive integer"),
                                          ({"lamda": 1.0}, "AFAConfig: unknown setting 'lamda'"),
                                          ({"disc": {"heads": 3}}, "AFAConfig.disc.d_model"),
                                          ({"disc": {"foo": 1}}, "AFAConfig.disc: unknown setting 'foo'; known: "),
                                          ({"lambda_": float("nan")}, r"AFAConfig.lambda must be a non-negative number, got nan \(not a finite number\)"),
                                          ({"lambda_": "0.5"}, "AFAConfig.lambda must be a non-negative number, got '0.5'"),
                                          ("K=3", "afa_config must be an AFAConfig or a dict")])
def test_bad_afa_config_is_refused_naming_the_field(tokenizer, dataset, tmp_path, bad, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make_trainer(tokenizer, dataset, tmp_path, bad)


def test_refill_reads_a_continuation_column_that_the_model_never_sees(tokenizer, tmp_path):
    from datasets import Dataset

    texts = [f"{t} {t}" for t in TEXTS]
    enc = tokenizer(texts, truncation=True, max_length=6)
    pad = tokenizer.pad_token_id
    cont = [c + [pad] * (2 - len(c)) for c in models.continuations(tokenizer, texts, enc["input_ids"], 2)]
    data = Dataset.from_dict({"label": LABELS, **enc, "continuation": cont})
    trainer = make_trainer(tokenizer, data, tmp_path, AFAConfig(K=2, M=2, refill=True, disc=TINY_D),
                           remove_unused_columns=False, per_device_train_batch_size=len(texts))
    lengths = []
    trainer.afa.D.register_forward_hook(lambda m, args, out: lengths.append(args[1].sum(-1)))
    trainer.train()  # BERT's forward would refuse a `continuation` argument
    first = lengths[0]  # the reward pass: the batch's originals (shuffled), then M copies each
    B = len(texts)
    orig, copies = first[:B], first[B:].view(B, 2)
    # a cut text's copy: 2 tokens deleted, as many of its next tokens as it has (up to 2) put back
    expected = sorted(6 - 2 + sum(i != pad for i in c) for x, c in zip(enc["input_ids"], cont) if len(x) == 6)
    assert sorted(copies[orig == 6].min(-1).values.tolist()) == expected and 6 in expected
    assert (copies[orig < 6] == orig[orig < 6, None] - 2).all()  # not cut: plain deletion


# ----------------------------------------------------------------------------- evaluations on any model

def test_the_evaluations_take_any_transformers_classifier_and_its_tokenizer(tokenizer):
    """accuracy, token deletion and rationale alignment, called on a transformers model as it is (its
    output has no `.attention`: `afa.hf.as_target` reads the row), agree with the same model wrapped by hand."""
    from afa.evaluation.accuracy import accuracy
    from afa.evaluation.alignment import alignment
    from afa.evaluation.deletion import token_deletion
    from afa.hf import Target, attention_row

    model = tiny_seq_classifier(len(tokenizer)).eval()
    ids = models.encode(tokenizer, TEXTS, 16)
    acc = accuracy(model, tokenizer, ids, LABELS)
    with torch.no_grad():
        batch = models.collate(tokenizer, ids[:2], "cpu")
        out = model(**{k: batch[k] for k in ("input_ids", "attention_mask")}, output_attentions=True)
        assert acc["predictions"][:2] == out.logits.argmax(-1).tolist()
        row = attention_row(out, batch["attention_mask"], "first")
        assert torch.allclose(Target(model)(batch["input_ids"], batch["attention_mask"]).attention, row)
    dele = token_deletion(model, tokenizer, ids, LABELS, levels=[1, 2], random_draws=1)
    assert dele["n"] == len(TEXTS) and len(dele["per_example"]["comprehensiveness"]) == len(TEXTS)
    assert dele == token_deletion(Target(model), tokenizer, ids, LABELS, levels=[1, 2], random_draws=1)
    records = [{"id": str(i), "label": y, "tokens": t.split(), "rationale_mask": [int(i % 2 == 0) for i in range(len(t.split()))]}
               for i, (t, y) in enumerate(zip(TEXTS, LABELS)) if len(t.split()) >= 2]
    summary, per_example = alignment(model, tokenizer, records, 16)
    assert summary["n"] == len(per_example) > 0 and 0 <= summary["auprc"] <= 1


def test_a_model_loaded_with_sdpa_is_read_as_with_eager_attention(tokenizer):
    """BERT cannot switch its attention after loading; asked for attentions, transformers falls back
    to eager, so the row is the eager model's."""
    from afa.hf import as_target

    eager_model = tiny_seq_classifier(len(tokenizer)).eval()
    sdpa_model = tiny_seq_classifier(len(tokenizer)).eval()
    sdpa_model.config._attn_implementation = "sdpa"
    batch = models.collate(tokenizer, models.encode(tokenizer, TEXTS, 16), "cpu")
    with torch.no_grad():
        rows = [as_target(m)(batch["input_ids"], batch["attention_mask"]).attention for m in (eager_model, sdpa_model)]
    assert torch.allclose(*rows, atol=1e-6)
    target = as_target(eager_model)
    assert as_target(target) is target  # a module that gives .logits and .attention is taken as it is


def test_afa_accuracy_reads_a_folder_that_afatrainer_saved(tokenizer, dataset, tmp_path):
    """`afa accuracy --run <AFATrainer.save_model folder>`: the transformers folder is the run."""
    import json
    import subprocess
    import sys

    from afa import data

    trainer = make_trainer(tokenizer, dataset, tmp_path / "out")
    trainer.train()
    trainer.save_model(str(tmp_path / "final"))
    prepared = tmp_path / "data"
    data.prepare("sst2", data.sample_root(), prepared, max_train=40, max_test=12)
    r = subprocess.run([sys.executable, "-m", "afa.cli", "accuracy", "--run", str(tmp_path / "final"), "--data",
                        str(prepared), "--out", str(tmp_path / "acc.json"), "--predictions", str(tmp_path / "p.csv")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads((tmp_path / "acc.json").read_text())["n"] == 12


def test_afatrainer_refuses_a_model_without_eager_attention_when_built(tokenizer, dataset, tmp_path, monkeypatch):
    """A model reloaded by from_pretrained comes back with sdpa: one line at construction, not an
    error from inside the first step."""
    import test_library

    def sdpa(vocab_size, make=tiny_seq_classifier):
        model = make(vocab_size)
        model.config._attn_implementation = "sdpa"  # as from_pretrained loads it; BERT cannot switch back
        return model

    monkeypatch.setattr(test_library, "tiny_seq_classifier", sdpa)
    with pytest.raises(ValueError, match=r"AFATrainer: the model's attention is 'sdpa' and BertForSequenceClassification "
                                         r"cannot switch it; AFA reads attention probabilities"):
        make_trainer(tokenizer, dataset, tmp_path)


def test_the_evaluation_api_takes_a_model_or_its_folder_and_texts(tokenizer, dataset, tmp_path):
    """afa.evaluate: the same numbers from the model object and from the folder save_model wrote;
    one record per example; an unknown setting and a rationale of the wrong length are one line."""
    from afa import evaluate

    trainer = make_trainer(tokenizer, dataset, tmp_path)
    trainer.train()
    trainer.save_model(str(tmp_path / "final"))
    acc, records = evaluate.accuracy(trainer.model, tokenizer, TEXTS, LABELS)
    again, _ = evaluate.accuracy(tmp_path / "final", None, TEXTS, LABELS)
    assert acc == again and len(records) == len(TEXTS) and set(records[0]) == {"id", "label", "prediction", "correct"}
    result, per = evaluate.deletion(trainer.model, tokenizer, TEXTS, LABELS, {"levels": [1, 2], "random_draws": 1})
    assert [lv["level"] for lv in result["levels"]] == [1, 2] and len(per) == len(TEXTS) and "per_example" not in result
    with pytest.raises(ValueError, match=r"^unknown deletion setting 'level' \(config: deletion\); known: batch_size"):
        evaluate.deletion(trainer.model, tokenizer, TEXTS, LABELS, {"level": [1]})
    with pytest.raises(ValueError, match="evaluate.alignment: text 0 has 4 words and 2 rationale marks"):
        evaluate.alignment(trainer.model, tokenizer, TEXTS, LABELS, [[0, 1]] * len(TEXTS))


def test_the_pipeline_loop_and_afatrainer_take_the_same_afa_step(tokenizer, dataset, tmp_path, monkeypatch):
    """One AFA step (AFA.objective: L = L_cls + lambda L_adv and its statistics) for both training
    loops, so a change to it reaches both; the loss it returns is that sum, exactly."""
    from test_objective import tiny_afa

    from afa.method import AFA
    from afa.train import train_step

    calls, step = [], AFA.objective

    def recorded(self, L_cls, *args, **kwargs):
        loss, stats = step(self, L_cls, *args, **kwargs)
        calls.append((loss.detach(), L_cls.detach(), stats["L_adv"], self.config.lambda_))
        return loss, stats

    monkeypatch.setattr(AFA, "objective", recorded)
    model, afa, batch = tiny_afa()
    train_step(model, torch.optim.AdamW(model.parameters()), None, afa, batch, torch.tensor([1, 0, 1, 0]), "cpu", 1.0, 0)
    make_trainer(tokenizer, dataset, tmp_path).train()
    assert len(calls) == 2
    for loss, L_cls, L_adv, lam in calls:
        assert torch.equal(loss, L_cls + lam * L_adv)


def test_afatrainer_warms_d_up_before_the_first_step_and_a_resumed_run_does_not_again(tokenizer, dataset, tmp_path):
    config = AFAConfig(K=2, M=2, masking="replace", disc=TINY_D, disc_warmup=5, disc_steps=0)
    settings = dict(per_device_train_batch_size=2, lr_scheduler_type="constant", max_steps=2)
    trainer = make_trainer(tokenizer, dataset, tmp_path, config, save_strategy="steps", save_steps=1, **settings)
    fresh, first_step = snapshot(trainer.afa.D), {}

    class Look(TrainerCallback):
        def on_step_begin(self, *args, **kwargs):
            first_step.setdefault("D", snapshot(trainer.afa.D))

    trainer.add_callback(Look())
    trainer.train()
    steps_of = lambda t: int(t.afa.opt_D.state[next(t.afa.D.parameters())]["step"])  # noqa: E731
    assert changed(fresh, first_step["D"]) and steps_of(trainer) == 5  # D trained alone before the target
    assert not changed(first_step["D"], snapshot(trainer.afa.D))  # disc_steps 0: then held as it was
    (logged,) = [h for h in trainer.state.log_history if "disc_warmup_steps" in h]
    assert logged["disc_warmup_steps"] == 5 and 0 <= logged["disc_warmup_disc_acc"] <= 1

    resumed = make_trainer(tokenizer, dataset, tmp_path, config, **settings)
    resumed.train(resume_from_checkpoint=str(tmp_path / "checkpoint-1"))
    assert steps_of(resumed) == 5 and not changed(snapshot(trainer.afa.D), snapshot(resumed.afa.D))
    assert not changed(snapshot(trainer.model), snapshot(resumed.model))
