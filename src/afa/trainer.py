"""`AFATrainer`: a `transformers.Trainer` that trains any ``AutoModelForSequenceClassification``
with AFA, L = L_cls + lambda * L_adv, and the discriminator D one update behind each target update.

    trainer = AFATrainer(model=model, args=TrainingArguments(...), processing_class=tokenizer,
                         train_dataset=data, afa_config=AFAConfig(K=3, masking="delete"))
    trainer.train()                                       # trainer.afa: D, its optimizer, the sampler

Per optimizer step: every micro-batch adds lambda * L_adv to the Trainer's loss (rewards from D
as it stands); after the step D takes `disc_steps` updates on the last micro-batch. The AFA
statistics are averaged between logs and logged with the loss. The Trainer's `loss` is
L_cls + lambda * L_adv, so it cannot be compared with a baseline's: compare `L_cls`. L_adv is split
into `policy_term` (the REINFORCE term, -mean[(r - b) log q], the adversary's own signal) and
`entropy_bonus` (-beta * H(pi)); with the default beta 0.3 the bonus is most of L_adv, so a moving
L_adv is not by itself AFA at work. `AFATrainer(afa_config=AFAConfig(lambda_=0))` trains a baseline
that logs the same statistics (D still learns and scores, its reward reaches no gradient). What each
statistic means and its healthy range: docs/statistics.md. Every checkpoint folder holds
the AFA module (`AFA.save_pretrained`: D and its settings) and, with the optimizer, ``afa_state.pt``
(D's optimizer, the sampler's generator, the collapse window), so ``train(resume_from_checkpoint=)``
continues AFA where it stopped. With ``save_only_model`` a checkpoint keeps D but not that state.
With ``disc_warmup`` D first trains alone (`AFA.warm_up`) on batches of the train dataloader, when
training begins and not again on a resume; its statistics are logged at step 0.
Under distributed training each process keeps its own D, trained on its own batches.
"""

from __future__ import annotations

import logging
import os

import torch
from safetensors.torch import load_file
from transformers import Trainer, TrainerCallback

from afa.hf import POOLINGS, attention_row, default_pooling, eager, maskable_tokens, track_attention
from afa.method import AFA, AFAConfig, unigram_distribution
from afa.tokens import mask_token_id

AFA_STATE = "afa_state.pt"
log = logging.getLogger("afa.trainer")


class AFATrainer(Trainer):
    """A `transformers.Trainer` that trains a sequence classifier with AFA: L = L_cls + lambda L_adv, and D
    one update after each optimizer step. Its state is `self.afa` (an `afa.method.AFA`); see the module
    docstring for what it logs and how a checkpoint holds D."""
    def __init__(self, *args, afa_config: AFAConfig | dict | None = None, pooling: str | None = None,
                 max_length: int | None = None, unigram: torch.Tensor | None = None, mlm=None, **kwargs):
        """Trainer's own arguments, plus: `afa_config` (an AFAConfig, or its dict form with "lambda");
        `pooling` "first" | "last" (default: from the model config, see afa.hf.default_pooling);
        `max_length`, the longest input D must read (default: the tokenizer's, else the model's);
        `unigram` [V] for masking "unigram" (default: counted from train_dataset's input_ids);
        `mlm` for masking "generator", an `afa.generator.MaskedLM` over the tokenizer's vocabulary
        (default: trained here on train_dataset's input_ids under `afa_config.generator`)."""
        config = as_config(afa_config)  # bad settings fail here, before the Trainer sets up devices
        if pooling is not None and pooling not in POOLINGS:
            raise ValueError(f"AFATrainer: pooling must be one of {', '.join(POOLINGS)}, got {pooling!r}")
        super().__init__(*args, **kwargs)
        tokenizer, model = self.processing_class, self.model
        if model is None or tokenizer is None:
            raise ValueError("AFATrainer needs model= and its tokenizer as processing_class= "
                             "(AFA reads the [MASK], padding and special token ids from it)")
        if not eager(model):  # say so now, not at the first step (or through a deprecated fallback)
            raise ValueError(f"AFATrainer: the model's attention is {model.config._attn_implementation!r} and "
                             f"{type(model).__name__} cannot switch it; AFA reads attention probabilities, which "
                             "only eager attention returns: load it with attn_implementation='eager'")
        if tokenizer.pad_token_id is None:
            raise ValueError("AFATrainer: the tokenizer has no pad token; set tokenizer.pad_token "
                             "(decoders: tokenizer.eos_token) and model.config.pad_token_id")
        mask_id = mask_token_id(tokenizer)
        if mask_id is None and config.masking == "replace":
            raise ValueError("AFATrainer: masking 'replace' needs a [MASK] or [UNK] token, and the tokenizer has "
                             "neither; use masking 'delete' or 'unigram'")
        vocab_size = max(model.get_input_embeddings().num_embeddings, len(tokenizer))
        self.max_length = max_length or longest_input(tokenizer, model.config)
        if config.masking == "unigram" and unigram is None:
            unigram = unigram_from(self.train_dataset, vocab_size, tokenizer.all_special_ids)
        if config.masking == "generator" and mlm is None:
            mlm = mlm_from(self.train_dataset, config, vocab_size, self.max_length, mask_id, tokenizer)
        self.afa = AFA(config, vocab_size, self.max_length, tokenizer.pad_token_id if mask_id is None else mask_id,
                       tokenizer.pad_token_id, unigram, seed=self.args.seed, tokenizer=tokenizer,
                       mlm=mlm).to(self.args.device)
        self.pooling = pooling or default_pooling(model.config)
        self.special_ids = tokenizer.all_special_ids
        self.attention_tracker = track_attention(model)
        self._afa_sums = {}  # name -> (sum, count) since the last log
        self.add_callback(DiscriminatorStep(self))
        self.num_labels = getattr(model.config, "num_labels", None)
        warn_short_texts(self.train_dataset, config.K, self.special_ids)

    # -------------------------------------------------------------------------- the loss

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        """L_cls + lambda L_adv in training (the Trainer's `loss`); L_cls alone in evaluation."""
        # AFAConfig.refill reads a `continuation` column (K ids a row, pad-padded: afa.tokens.continuations;
        # remove_unused_columns=False keeps it), which the model must not see
        continuation = inputs.get("continuation")
        inputs = {k: v for k, v in inputs.items() if k != "continuation"}
        check_labels(inputs.get("labels"), self.num_labels)
        if not model.training:  # evaluation: the classifier's loss alone
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        loss, outputs = super().compute_loss(model, {**inputs, "output_attentions": True}, True, num_items_in_batch)
        ids = inputs["input_ids"]
        att = inputs.get("attention_mask", torch.ones_like(ids))
        if ids.shape[1] > self.max_length:
            raise ValueError(f"AFATrainer: a batch of length {ids.shape[1]} exceeds max_length {self.max_length} "
                             f"(D's positions); truncate the inputs or pass a larger max_length")
        A = attention_row(outputs, att, self.pooling, self.attention_tracker)
        # The Trainer divides the loss by the accumulation steps unless the model or compute_loss_func
        # normalises it over the whole step; L_adv is a per-batch mean, so it is divided then.
        divided = (self.model_accepts_loss_kwargs and num_items_in_batch is not None) or self.compute_loss_func is not None
        loss, stats = self.afa.objective(loss, A, ids, att, maskable_tokens(ids, att, self.special_ids), model=model,
                                         continuation=continuation,
                                         accumulation=self.current_gradient_accumulation_steps if divided else 1)
        beta = self.afa.config.entropy_weight
        self._keep_stats({**stats, "entropy_bonus": -beta * stats["attn_entropy"],
                          "policy_term": stats["L_adv"] + beta * stats["attn_entropy"]})
        return (loss, outputs) if return_outputs else loss

    def warm_up(self) -> None:
        """D's warm-up (`AFAConfig.disc_warmup`, `AFA.warm_up`) on batches of the train dataloader, before
        the first step (a resumed run has done it: AFA's state records it); its statistics are logged."""
        if not self.afa.config.disc_warmup:
            return

        def batches():
            while True:
                for inputs in self.get_train_dataloader():
                    ids = inputs["input_ids"]
                    att = inputs.get("attention_mask", torch.ones_like(ids))
                    yield {"input_ids": ids, "attention_mask": att, "continuation": inputs.get("continuation"),
                           "maskable": maskable_tokens(ids, att, self.special_ids)}

        stats = self.afa.warm_up(batches())
        if stats is not None:
            log.info("AFATrainer: D warmed up alone: %s", stats)
            self.state.log_history.append({"step": 0, **{f"disc_warmup_{k}": v for k, v in stats.items()}})

    def discriminator_step(self) -> None:
        """D's `disc_steps` updates on the last micro-batch (called after each optimizer step)."""
        L_D = self.afa.discriminator_step()
        if L_D is not None:
            self._keep_stats({"L_D": L_D})

    # -------------------------------------------------------------------------- logs

    def _keep_stats(self, stats: dict) -> None:
        # summed as tensors: no device sync per step, one when the Trainer logs
        for k, v in stats.items():
            total, n = self._afa_sums.get(k, (0, 0))
            self._afa_sums[k] = (total + v.detach().float(), n + 1)

    def log(self, logs: dict, *args, **kwargs) -> None:
        """The Trainer's log, with the AFA statistics averaged since the last one."""
        if "loss" in logs:  # the training log, not evaluation's or the final summary
            logs.update({k: float(total) / n for k, (total, n) in self._afa_sums.items()})
            self._afa_sums = {}
        super().log(logs, *args, **kwargs)

    # -------------------------------------------------------------------------- checkpoints

    def save_model(self, output_dir: str | None = None, _internal_call: bool = False):
        """The classifier as the Trainer saves it, and the AFA module (`AFA.save_pretrained`) beside it."""
        super().save_model(output_dir, _internal_call)
        if self.args.should_save:
            self.afa.save_pretrained(output_dir or self.args.output_dir)

    def _save_optimizer_and_scheduler(self, output_dir):
        super()._save_optimizer_and_scheduler(output_dir)
        if self.args.should_save:
            torch.save({k: v for k, v in self.afa.state_dict().items() if not torch.is_tensor(v)},
                       os.path.join(output_dir, AFA_STATE))

    def _load_optimizer_and_scheduler(self, checkpoint):
        super()._load_optimizer_and_scheduler(checkpoint)
        if checkpoint is None:
            return
        if not os.path.exists(os.path.join(checkpoint, AFA_STATE)):
            raise FileNotFoundError(f"AFATrainer: checkpoint {checkpoint} holds no AFA state ({AFA_STATE}); "
                                    f"it was not written by AFATrainer, or with save_only_model")
        tensors = load_file(os.path.join(checkpoint, "afa.safetensors"), device=str(self.args.device))
        extra = torch.load(os.path.join(checkpoint, AFA_STATE), weights_only=True, map_location="cpu")
        self.afa.load_state_dict({**tensors, **extra})


class DiscriminatorStep(TrainerCallback):
    """D's warm-up before training, and its update after each target optimizer step (on_step_end: once
    per step, whatever the accumulation)."""

    def __init__(self, trainer: AFATrainer):
        self.trainer = trainer

    def on_train_begin(self, args, state, control, **kwargs):
        """D's warm-up, if any (after a resumed checkpoint has loaded AFA's state)."""
        self.trainer.warm_up()

    def on_step_end(self, args, state, control, **kwargs):
        """D's update, once per optimizer step."""
        self.trainer.discriminator_step()


def check_labels(labels, num_labels) -> None:
    """One line for labels the classifier cannot have (torch would raise a 14-frame IndexError)."""
    if labels is None or num_labels is None or labels.dtype.is_floating_point:
        return  # regression heads take float labels
    low, high = int(labels.min()), int(labels.max())
    if low < 0 or high >= num_labels:
        raise ValueError(f"AFATrainer: a batch has label {low if low < 0 else high}, outside the model's "
                         f"{num_labels} classes (0-{num_labels - 1}); set num_labels= when loading the model, "
                         "or map the labels")


def warn_short_texts(dataset, K: int, special_ids) -> float | None:
    """Warn with the share of training texts that have K or fewer maskable tokens: every mask of such a
    text is the same set, so they carry no contrast between masks and no policy gradient."""
    if dataset is None or not hasattr(dataset, "__len__") or not len(dataset) or "input_ids" not in dataset[0]:
        return None
    special = set(special_ids)
    # a datasets.Dataset gives the column at once; a torch Dataset, row by row
    ids = dataset["input_ids"] if hasattr(dataset, "column_names") else [x["input_ids"] for x in dataset]
    short = sum(sum(t not in special for t in x) <= K for x in ids)
    share = short / len(dataset)
    if short:
        log.warning("AFATrainer: %d of %d training texts (%.1f %%) have K = %d or fewer maskable tokens: all "
                    "their masks are the same tokens, so they give AFA no signal (identical_masks in the logs)",
                    short, len(dataset), 100 * share, K)
    return share


def as_config(afa_config) -> AFAConfig:
    """An AFAConfig from an AFAConfig, its dict form, or None (the defaults)."""
    if afa_config is None:
        return AFAConfig()
    if isinstance(afa_config, AFAConfig):
        return afa_config
    if isinstance(afa_config, dict):
        return AFAConfig.from_dict(afa_config)
    raise TypeError(f"AFATrainer: afa_config must be an AFAConfig or a dict, got {type(afa_config).__name__}")


def longest_input(tokenizer, config) -> int:
    """The longest input D must read: the tokenizer's model_max_length, else the config's positions."""
    # tokenizers without a limit report a huge sentinel (int(1e30))
    n = getattr(tokenizer, "model_max_length", None)
    if n is not None and n < 1_000_000:
        return int(n)
    n = getattr(config, "max_position_embeddings", None)
    if n is None:
        raise ValueError("AFATrainer: neither the tokenizer nor the model config gives a maximum length; "
                         "pass max_length=")
    return int(n)


def unigram_from(dataset, vocab_size: int, special_ids) -> torch.Tensor:
    """The train split's token frequencies, for masking 'unigram' (afa.method.unigram_distribution)."""
    if dataset is None or not hasattr(dataset, "__len__"):
        raise ValueError("AFATrainer: masking 'unigram' needs unigram= or a sized train_dataset with input_ids")
    return unigram_distribution([list(x["input_ids"]) for x in dataset], vocab_size, special_ids)


def mlm_from(dataset, config: AFAConfig, vocab_size: int, max_length: int, mask_id, tokenizer):
    """masking 'generator''s G, trained on the train split's input_ids (afa.generator.train_mlm)."""
    from afa.generator import train_mlm

    if dataset is None or not hasattr(dataset, "__len__"):
        raise ValueError("AFATrainer: masking 'generator' needs mlm= or a sized train_dataset with input_ids")
    G, stats = train_mlm(config.generator, [list(x["input_ids"]) for x in dataset], vocab_size, max_length, mask_id,
                         tokenizer.pad_token_id, tokenizer.all_special_ids)
    log.info("generator: %s", stats)
    return G
