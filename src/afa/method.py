"""AFA as a module: its state (`AFA`: the discriminator, its optimizer, the mask sampler's
generator), built from its settings (`afa.settings.AFAConfig`). The maths is in `afa.objective`;
a training loop uses it like this (the pipeline's `afa.train` and `AFATrainer` both do exactly this):

    afa = AFA(AFAConfig(K=3, masking="delete"), vocab_size, max_length, mask_id, pad_id)
    afa.warm_up(batches)                                    # D alone first, if disc_warmup > 0
    out = target(input_ids, attention_mask)                 # logits and the attention row A
    loss, stats = afa.objective(L_cls, out.attention, input_ids, attention_mask, maskable)
    loss.backward(); opt.step()                             # loss = L_cls + lambda * L_adv
    afa.discriminator_step()                                # then D, 1:1 by default

`state_dict()` holds everything a resume needs (D, its optimizer, the generator, the collapse
window), so a checkpointer treats AFA like any module.
"""

from __future__ import annotations

import collections
import json
import logging
from pathlib import Path

import torch
from torch import nn

from afa import objective as obj
from afa.discriminator import build as build_discriminator
from afa.discriminator import disc_accuracy, loss_disc
# the settings, named here too: `from afa.method import AFAConfig` is how the pipeline and users reach them
from afa.settings import (EXPLORE_SCORINGS, MASKINGS, REWARDS, SELECTIONS, AFAConfig,  # noqa: F401
                          DiscConfig)

log = logging.getLogger("afa.method")

def unigram_distribution(ids: list[list[int]], vocab_size: int, special_ids) -> torch.Tensor:
    """The train split's token frequencies [V], special tokens excluded: what `unigram` draws from."""
    counts = torch.zeros(vocab_size, dtype=torch.float64)
    flat = torch.tensor([t for x in ids for t in x], dtype=torch.long)
    counts.index_add_(0, flat, torch.ones_like(flat, dtype=torch.float64))
    counts[list(special_ids)] = 0
    if counts.sum() == 0:
        raise ValueError("unigram masking: the train split has no non-special token")
    return (counts / counts.sum()).float()


class AFA(nn.Module):
    """The adversary: samples masks from the target's attention, scores them, returns L_adv."""

    def __init__(self, config: AFAConfig, vocab_size: int, max_length: int, mask_id: int, pad_id: int,
                 unigram: torch.Tensor | None = None, seed: int = 0, vocab: torch.Tensor | None = None,
                 tokenizer=None, pieces: torch.Tensor | None = None, mlm=None):
        """`vocab`: the only ids D will read (see afa.discriminator; None: all `vocab_size`). A pretrained
        D (`disc.kind`) needs the target's `tokenizer`, or the `pieces` table it was saved with.
        Masking generator needs `mlm`, a trained `afa.generator.MaskedLM` over the same vocabulary
        (`afa.generator.train_mlm`); it is frozen and saved with AFA's state."""
        super().__init__()
        self.config = config
        self.mask_id, self.pad_id, self.seed = mask_id, pad_id, seed
        self.vocab_size, self.max_length = vocab_size, max_length
        if config.masking == "unigram" and unigram is None:
            raise ValueError("AFAConfig.masking 'unigram' needs `unigram` (see unigram_distribution)")
        self.register_buffer("unigram", unigram if unigram is not None else torch.zeros(0))
        if config.masking == "generator" and mlm is None:
            raise ValueError("AFAConfig.masking 'generator' needs `mlm` (see afa.generator.train_mlm)")
        self.mlm = mlm.requires_grad_(False).eval() if mlm is not None else None
        d = config.disc
        self.D = build_discriminator(d, vocab_size, max_length, vocab, tokenizer, pieces) if config.uses_discriminator else None
        # fused: one kernel over all of D (its 100 k-row embedding dominates; the per-tensor loop
        # was most of D's update on CPU, benchmarks/step_cost.py)
        self.opt_D = torch.optim.AdamW(self.D.parameters(), lr=d.lr, fused=True) if self.D is not None else None
        self.generator, self._pending_generator_state = None, None
        self.D_acc = collections.deque(maxlen=config.collapse_window)
        self.warned_at = -config.collapse_window
        self.step, self._for_D = 0, None
        self.warmed_up = 0  # D's warm-up updates done (AFAConfig.disc_warmup): a resumed run does not redo them

    # -------------------------------------------------------------------------- the objective

    def forward(self, attention, input_ids, attention_mask, maskable, classify=None, continuation=None):
        """(L_adv, stats) for one batch. `classify(ids, att) -> logits` is the target, needed by
        the confidence_drop reward only; `continuation` [B, >= K] (each text's next tokens past the
        cut, `pad_id` where none; `afa.tokens.continuations`), by `refill` only. L_adv includes the
        entropy bonus -beta H(pi)."""
        c = self.config
        if c.refill and continuation is None:
            raise ValueError("AFAConfig.refill needs continuation= (each text's next tokens past the cut: "
                             "afa.tokens.continuations)")
        log_pi = obj.policy_log_probs(attention, maskable)
        if c.reward == "none":  # the entropy_only control: the bonus alone, nothing masked, nothing drawn
            H = obj.attention_entropy(log_pi)
            L_adv = -c.entropy_weight * H.mean()
            self.step += 1
            return L_adv, {"L_adv": L_adv.detach(), "attn_entropy": H.detach().mean()}
        B = input_ids.shape[0]
        g = self._generator(input_ids.device)
        k = obj.mask_sizes(maskable, c.K, c.K_fraction)
        idx, valid, explored = obj.sample_masks(log_pi, maskable, c.K, c.M, c.eps, c.selection == "topk", g, k)
        X, att = obj.apply_masks(input_ids, attention_mask, idx, valid, self.mask_id, self.pad_id, c.masking,
                                 self.unigram, g, *((continuation, obj.content_end(maskable)) if c.refill else (None, None)),
                                 proposer=self.proposer)
        stats = {}
        if c.uses_discriminator:
            r, stats["disc_acc"] = self._rewards_from_D(input_ids, attention_mask, X, att, B)
            first = torch.arange(B, device=X.device) * c.M  # D trains on a balanced 1:1 set
            self._for_D = (input_ids, attention_mask, X[first], att[first])
        else:
            if classify is None:
                raise ValueError("reward 'confidence_drop' needs classify=target (the target's logits)")
            r = self._confidence_drop(classify, input_ids, attention_mask, X, att, B)
        log_q, weight = obj.mask_log_prob(log_pi, maskable, idx, valid, explored, c.eps, c.explore_scoring)
        L_pg, b, adv = obj.loss_adv(r, log_q, weight, c.normalize_advantage)
        H = obj.attention_entropy(log_pi)
        L_adv = L_pg - c.entropy_weight * H.mean()
        sets = idx.masked_fill(~valid, -1).sort(-1).values
        stats.update(L_adv=L_adv.detach(), reward=r.mean(), adv_sd=(r - b).std(1, unbiased=False).mean(),
                     identical_masks=(sets == sets[:, :1]).all(-1).all(-1).float().mean(),
                     attn_entropy=H.detach().mean(), explore_rate=explored.float().mean())
        self.step += 1
        return L_adv, stats

    def objective(self, L_cls, attention, input_ids, attention_mask, maskable, model=None, continuation=None,
                  accumulation: int = 1):
        """The AFA step of every training loop (the pipeline's `afa.train.train_step` and
        `AFATrainer.compute_loss`): (L = L_cls + lambda L_adv, the batch's statistics, L_cls first).
        `model`: the target, read by the confidence_drop reward only (in eval mode, without grad);
        `accumulation`: the gradient-accumulation steps L_adv is divided by, where L_cls arrives
        divided already. Call `discriminator_step()` after the optimizer step."""
        classify = eval_logits(model) if self.config.reward == "confidence_drop" else None
        L_adv, stats = self(attention, input_ids, attention_mask, maskable, classify=classify, continuation=continuation)
        if accumulation != 1:
            L_adv = L_adv / accumulation
        return L_cls + self.config.lambda_ * L_adv, {"L_cls": L_cls.detach(), **stats}

    @property
    def proposer(self):
        """apply_masks' proposer of masking generator (None otherwise)."""
        return self.mlm.proposer(self.mask_id) if self.mlm is not None else None

    @torch.no_grad()
    def _rewards_from_D(self, ids, att, X, att_X, B):
        """r for the B*M copies, and D's accuracy on originals and copies: one eval-mode pass."""
        was_training = self.D.training
        self.D.eval()  # no dropout noise in r
        T = max(ids.shape[1], X.shape[1])
        z = self.D(torch.cat([pad_to(ids, T, self.pad_id), pad_to(X, T, self.pad_id)]),
                   torch.cat([pad_to(att, T, 0), pad_to(att_X, T, 0)])).float()
        self.D.train(was_training)
        z_orig, z_masked = z[:B], z[B:]
        acc = disc_accuracy(z_orig, z_masked)
        self.D_acc.append(acc)  # a device tensor: read back only when the window is checked
        self._check_collapse()
        return obj.reward_from_logit(z_masked, self.config.reward).view(B, self.config.M), acc

    @torch.no_grad()
    def _confidence_drop(self, classify, ids, att, X, att_X, B):
        logits = classify(torch.cat([ids, X]), torch.cat([att, att_X])).float()
        return obj.confidence_drop(logits[:B], logits[B:].view(B, self.config.M, -1))

    def discriminator_step(self):
        """`disc_steps` updates of D on the last batch's originals (0) and first copies (1)."""
        if self.D is None or self._for_D is None:
            return None
        L_D, _ = self._update_D(*self._for_D, self.config.disc_steps)
        self._for_D = None
        return L_D

    def _update_D(self, ids, att, X, att_X, steps: int):
        """`steps` updates of D on originals (0) and copies (1): (its last loss, the logits of that last
        update, detached), or Nones. No accuracy here: the training loop's D step need not compute one."""
        B, T = ids.shape[0], max(ids.shape[1], X.shape[1])
        # one pass over originals and copies together: one backward through D's embedding table
        both = torch.cat([pad_to(ids, T, self.pad_id), pad_to(X, T, self.pad_id)])
        both_att = torch.cat([pad_to(att, T, 0), pad_to(att_X, T, 0)])
        L_D = z = None
        for _ in range(steps):
            z = self.D(both, both_att)
            L_D = loss_disc(z[:B], z[B:])
            self.opt_D.zero_grad(set_to_none=True)
            L_D.backward()
            self.opt_D.step()
        if L_D is None:
            return None, None
        return L_D.detach(), z.detach()

    def warm_up(self, batches) -> dict | None:
        """D's warm-up (`AFAConfig.disc_warmup`): that many updates of D alone, before the target's first
        step, each on the next batch of `batches` (dicts with input_ids, attention_mask, maskable and, with
        refill, continuation), every text masked at K uniform tokens (eps = 1, no attention read): the
        discriminator study's training of D (afa.evaluation.disc_study). Then `disc_steps` 0 keeps that D
        for the whole run. The global RNG and the mask sampler are left as they were, so the target's
        training draws what it would draw without a warm-up. Returns {steps, disc_acc (training-pass
        accuracy over the last 100 updates), L_D}; None when there is nothing to do (no D, no warm-up,
        or done already: a resumed run)."""
        c = self.config
        if self.D is None or self.warmed_up >= c.disc_warmup:
            return None
        accuracy, L_D, g, batches = [], None, None, iter(batches)
        with torch.random.fork_rng():
            for step in range(c.disc_warmup):
                batch = next(batches, None)
                if batch is None:
                    raise ValueError(f"AFA.warm_up: AFAConfig.disc_warmup is {c.disc_warmup}, but `batches` "
                                     f"ran out after {step}")
                ids, att, maskable = batch["input_ids"], batch["attention_mask"], batch["maskable"]
                if g is None:  # the warm-up's own draws: the training's sampler stays untouched
                    g = torch.Generator(device=ids.device).manual_seed(self.seed)
                continuation = batch.get("continuation")
                if c.refill and continuation is None:
                    raise ValueError("AFA.warm_up: AFAConfig.refill needs each batch's continuation "
                                     "(afa.tokens.continuations)")
                log_pi = obj.policy_log_probs(att.float(), maskable)
                idx, valid, _ = obj.sample_masks(log_pi, maskable, c.K, 1, 1.0, False, g,
                                                 obj.mask_sizes(maskable, c.K, c.K_fraction))
                X, att_X = obj.apply_masks(ids, att, idx, valid, self.mask_id, self.pad_id, c.masking, self.unigram, g,
                                           *((continuation, obj.content_end(maskable)) if c.refill else (None, None)),
                                           proposer=self.proposer)
                L_D, z = self._update_D(ids, att, X, att_X, 1)
                accuracy.append(disc_accuracy(z[:ids.shape[0]], z[ids.shape[0]:]))
        self.warmed_up = c.disc_warmup
        return {"steps": c.disc_warmup, "disc_acc": float(torch.stack(accuracy[-100:]).mean()), "L_D": float(L_D)}

    def _check_collapse(self):
        """Warn when D sits near chance (no signal) or near perfect (saturated reward) for a window."""
        w = self.D_acc
        # every `collapse_window` steps, so a GPU waits for D's accuracy once a window, not each step
        if len(w) < w.maxlen or self.step % w.maxlen or self.step - self.warned_at < w.maxlen:
            return
        mean = float(sum(w)) / len(w)
        if mean < 0.55 or mean > 0.98:
            kind = "near chance: the reward carries no signal" if mean < 0.55 else "near 100 %: the reward saturates"
            log.warning("step %d: discriminator accuracy %.3f over the last %d steps is %s", self.step, mean, len(w), kind)
            self.warned_at = self.step

    # -------------------------------------------------------------------------- state

    def _generator(self, device) -> torch.Generator:
        device = torch.device(device)
        if self.generator is None or self.generator.device != device:
            state = self._pending_generator_state if self.generator is None else self.generator.get_state()
            self.generator = torch.Generator(device=device).manual_seed(self.seed)
            if state is not None:
                self.generator.set_state(state.cpu())
            self._pending_generator_state = None
        return self.generator

    def get_extra_state(self):
        """What `state_dict()` carries besides tensors: D's optimizer, the sampler's generator, the collapse window."""
        gen = self.generator.get_state() if self.generator is not None else self._pending_generator_state
        return {"opt_D": self.opt_D.state_dict() if self.opt_D is not None else None, "generator": gen,
                "D_acc": [float(a) for a in self.D_acc], "warned_at": self.warned_at, "step": self.step,
                "warmed_up": self.warmed_up}

    def set_extra_state(self, state):
        """Restore `get_extra_state()`'s state (the generator is rebuilt on the next batch's device)."""
        if self.opt_D is not None and state["opt_D"] is not None:
            self.opt_D.load_state_dict(state["opt_D"])
        self.generator, self._pending_generator_state = None, state["generator"]
        self.D_acc.clear()
        self.D_acc.extend(state["D_acc"])
        self.warned_at, self.step = state["warned_at"], state["step"]
        self.warmed_up = state.get("warmed_up", 0)  # a state saved before disc_warmup existed had none

    def save_pretrained(self, folder: Path) -> None:
        """``afa.safetensors`` (D and the unigram table) and ``afa_config.json``: what a probe needs."""
        from safetensors.torch import save_file

        from afa.io import atomic_path, write_json

        folder = Path(folder)
        write_json(folder / "afa_config.json", {"config": self.config.to_dict(), "vocab_size": self.vocab_size,
                                                "max_length": self.max_length, "mask_id": self.mask_id,
                                                "pad_id": self.pad_id, "seed": self.seed,
                                                **({"mlm_vocab_size": self.mlm.vocab_size} if self.mlm else {})})
        tensors = {k: v.detach().contiguous().clone() for k, v in self.state_dict().items() if torch.is_tensor(v)}
        with atomic_path(folder / "afa.safetensors") as tmp:
            save_file(tensors, str(tmp))

    @classmethod
    def from_pretrained(cls, folder: Path, device: str = "cpu") -> "AFA":
        from safetensors.torch import load_file

        meta = json.loads((Path(folder) / "afa_config.json").read_text())
        tensors = load_file(str(Path(folder) / "afa.safetensors"), device=str(device))
        if any(k.startswith("D.encoder.tok") for k in tensors):
            tensors.setdefault("D.vocab", torch.zeros(0, dtype=torch.long))  # saved before D kept a vocabulary
        stored = lambda key: tensors[key] if key in tensors and tensors[key].numel() else None  # empty: none
        config = AFAConfig.from_dict(meta["config"])
        mlm = None
        if "mlm_vocab_size" in meta:  # masking generator: G's weights load below with the rest
            from afa.generator import MaskedLM

            mlm = MaskedLM(config.generator, meta["mlm_vocab_size"], meta["max_length"], tensors["mlm.banned"])
        afa = cls(config, meta["vocab_size"], meta["max_length"], meta["mask_id"], meta["pad_id"], stored("unigram"),
                  meta["seed"], stored("D.vocab"), pieces=stored("D.pieces"), mlm=mlm)
        # strict for the tensors (a renamed or missing D weight must not load as a random D);
        # only the extra state (optimizer, generator) is absent: a probe needs none of it
        missing, unexpected = afa.load_state_dict(tensors, strict=False)
        missing = [k for k in missing if k != "_extra_state"]
        if missing or unexpected:
            raise ValueError(f"{Path(folder) / 'afa.safetensors'}: does not match afa_config.json "
                             f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
        return afa.to(device).eval()


def eval_logits(model):
    """The target as confidence_drop's `classify`: eval mode (no dropout noise in r); AFA calls it
    without grad. Any model whose forward takes input_ids and attention_mask and returns .logits."""
    def classify(input_ids, attention_mask):
        model.eval()
        try:
            return model(input_ids=input_ids, attention_mask=attention_mask).logits
        finally:
            model.train()
    return classify


def pad_to(x: torch.Tensor, T: int, value: int) -> torch.Tensor:
    """`x` [B, t] padded on the right with `value` to [B, T]."""
    return x if x.shape[1] == T else torch.nn.functional.pad(x, (0, T - x.shape[1]), value=value)
