"""The discriminator study: can some D, trained alone on masked copies, tell *which* tokens were masked?

AFA's reward can only teach attention the task if D's output depends on which tokens a mask hides.
That is measurable without training a target: train D, exactly as AFA trains it (`AFA.forward`
masks, `AFA.discriminator_step` updates D 1:1 on originals and first copies), on copies of the
train split whose masks come from a fixed policy, then run the mechanism probe
(`afa.evaluation.probe`: polar vs POS-matched neutral, tail vs random, random vs random, random vs
none) on validation sentences with that D.

- `policy`: ``uniform`` (K maskable tokens uniformly at random: AFA's exploration, eps = 1) or
  ``attention`` (AFA's own sampler on the run's attention row: Plackett-Luce, eps exploration).
  The run (a trained baseline) gives the tokenizer, the attention row and the probe's target.
- `disc`: any `afa.settings.DiscConfig` (width, blocks, learning rate, ...); `masking` and `refill`
  as in `AFAConfig`; masking ``generator`` reads its G (`generator`: `afa.settings.GeneratorConfig`)
  from the folder `train_generator` wrote (one G per dataset, trained once on the train split with
  G's own seed), or trains that same G in the job when given none.
- A fixed budget, the same for every variant: `steps` updates of D on batches of `batch_size`
  train texts (a seeded draw with replacement of the first `max_train` rows, or all). `probe_at`
  names earlier budgets at which the same D is probed as well: what D sees can change with training
  (on SST-2 a small D's preference for polar words appeared within 400 updates and was gone by
  2,895), and one training to the largest budget costs less than one per budget. A probe leaves D's
  training as it was (its RNG state is restored): D at `steps` is the same with or without them.

The result holds D's running accuracy over its last `window` updates, the wall time per update (D's
forward for the rewards, the masking and D's update: AFA's cost on D's side), and the probe's summary,
rows and per-example rewards (the probe's own format) at `steps`; `budgets` holds the same per budget
(`probe_at` and `steps`), and each example row its budget (`steps`). Layer: evaluation (uses
afa.method, the probe).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import torch

from afa import models
from afa.evaluation import EVALUATIONS
from afa.evaluation import probe as probe_mod
from afa.io import write_jsonl_gz, write_result

log = logging.getLogger(__name__)

DEFAULTS = EVALUATIONS["disc_study"].defaults()  # afa.evaluation.options.DiscStudy


def check_settings(settings: dict | None) -> dict:
    """The study's settings over its defaults; a bad option, D setting or probe setting: one line."""
    from afa.settings import AFAConfig

    s = EVALUATIONS["disc_study"].check(settings)
    late = [n for n in s["probe_at"] if n >= s["steps"]]
    if late:
        raise ValueError(f"disc_study.probe_at must name budgets below steps ({s['steps']}), got {late[0]}")
    AFAConfig.from_dict(afa_settings(s))  # D's settings, masking, K and eps: AFAConfig's checks and lines
    probe_mod.check_settings(s["probe"])
    return s


def afa_settings(s: dict) -> dict:
    """The AFA whose D-side the study runs: M = 2 (D trains on the first copy), no policy term."""
    return {"K": s["K"], "M": 2, "eps": 1.0 if s["policy"] == "uniform" else s["eps"], "masking": s["masking"],
            "refill": s["refill"], "lambda": 0.0, "entropy_weight": 0.0, "reward": "detect", "disc": s["disc"],
            "generator": s["generator"]}


def train_discriminator(target, tokenizer, train_ids: list[list[int]], max_length: int, s: dict, device,
                        continuation: list[list[int]] | None = None, other_ids=(), at_budget=None, mlm=None):
    """(AFA with its D trained under settings `s`, {steps, seconds, seconds_per_step, disc_acc}).
    `at_budget(afa, trained)` is called after each of `s["probe_at"]`'s updates with the same record
    so far; D's RNG streams are restored after it."""
    from afa.train import build_afa, random_batches

    torch.manual_seed(s["seed"])
    afa = build_afa(afa_settings(s), tokenizer, train_ids, max_length, device, s["seed"], other_ids, mlm)
    batches = random_batches(tokenizer, train_ids, s["batch_size"], s["seed"], device, continuation)
    accuracy, start, paused = [], time.perf_counter(), 0.0

    def record(steps):
        seconds = time.perf_counter() - start - paused
        return {"steps": steps, "seconds": seconds, "seconds_per_step": seconds / steps,
                "disc_acc": float(torch.stack(accuracy[-s["window"]:]).mean())}

    target.eval()
    for step, batch in zip(range(s["steps"]), batches):
        ids, att = batch["input_ids"], batch["attention_mask"]
        with torch.no_grad():
            # uniform: eps = 1 draws every mask uniformly, whatever the row; the row is then only shape
            A = att.float() if s["policy"] == "uniform" else target(ids, att).attention.float()
            _, stats = afa(A, ids, att, batch["maskable"], continuation=batch.get("continuation"))
        afa.discriminator_step()
        accuracy.append(stats["disc_acc"])
        if (step + 1) % max(1, s["steps"] // 10) == 0:
            log.info("step %d/%d: D accuracy %.3f over the last %d", step + 1, s["steps"],
                     float(torch.stack(accuracy[-s["window"]:]).mean()), min(len(accuracy), s["window"]))
        if step + 1 in s["probe_at"] and at_budget is not None:
            pause, was_training = time.perf_counter(), afa.D.training
            with torch.random.fork_rng():
                at_budget(afa, record(step + 1))
            afa.D.train(was_training)
            paused += time.perf_counter() - pause
    return afa, record(s["steps"])


def encoded_splits(tokenizer, data_dir: Path, val_rows: list[dict], max_length: int, s: dict):
    """(train rows, their ids, the validation ids): what D and G train on and what D is fed."""
    from afa.data import read_prepared

    train_rows = read_prepared(data_dir, "train")
    if s["max_train"] is not None:
        train_rows = train_rows[:s["max_train"]]
    return (train_rows, models.encode(tokenizer, [r["text"] for r in train_rows], max_length),
            models.encode(tokenizer, [r["text"] for r in val_rows], max_length))


def train_generator(run_dir: Path, data_dir: Path, out_dir: Path, settings: dict | None = None,
                    device: str = "auto") -> dict:
    """The G of masking generator for every cell on the run's dataset (`settings`: the study's; its
    `generator` and `max_train` are read), trained once and saved (`afa.generator.save`): the G a cell
    would train itself, and the statistics it records."""
    from afa.generator import save, train_mlm
    from afa.inference import open_run
    from afa.settings import AFAConfig

    s = check_settings({**(settings or {}), "masking": "generator"})
    tokenizer, _, spec, val_rows, device = open_run(run_dir, data_dir, "validation", device)
    _, train_ids, val_ids = encoded_splits(tokenizer, data_dir, val_rows, spec["max_length"], s)
    config = AFAConfig.from_dict(afa_settings(s)).generator
    G, stats = train_mlm(config, train_ids, len(tokenizer), spec["max_length"], models.mask_token_id(tokenizer),
                         tokenizer.pad_token_id, tokenizer.all_special_ids, val_ids, device)
    save(G, out_dir)
    return stats


def evaluate(run_dir: Path, data_dir: Path, lexicon: Path, resources: Path | None, out_json: Path, out_examples: Path,
             settings: dict | None = None, meta: dict | None = None, device: str = "auto",
             tagger: probe_mod.Tagger | None = None, generator: Path | None = None) -> dict:
    """Train a D under `settings` on the run's dataset (train split), probe it on validation, write both.
    `run_dir`: a trained run (a baseline): its tokenizer, attention row and target; `generator`: the
    folder of `train_generator` (masking generator; None: G is trained here)."""
    s = check_settings(settings)
    (polar, neutral), tagger, (tokenizer, target, spec, val_rows, device) = probe_mod.open_validation(
        run_dir, data_dir, lexicon, resources, tagger, device, "disc_study")
    max_length = spec["max_length"]
    train_rows, train_ids, val_ids = encoded_splits(tokenizer, data_dir, val_rows, max_length, s)
    mlm = None
    if generator is not None and s["masking"] == "generator":
        from afa.generator import load

        mlm = load(generator, device)
    continuation = (models.continuations(tokenizer, [r["text"] for r in train_rows], train_ids, s["K"])
                    if s["refill"] else None)
    budgets, examples = [], []

    def probe_now(afa, trained):
        afa.D.eval()
        unigram = afa.unigram if afa.unigram.numel() else None
        summary, rows = probe_mod.probe(target, tokenizer, val_rows, polar, neutral, tagger, max_length, s["masking"],
                                        afa.D, unigram, s["probe"], device, s["refill"], afa.proposer)
        budgets.append({"train": trained, **summary})
        examples.extend({**row, "steps": trained["steps"]} for row in rows)

    afa, trained = train_discriminator(target, tokenizer, train_ids, max_length, s, device, continuation, val_ids,
                                       at_budget=probe_now, mlm=mlm)
    probe_now(afa, trained)
    if afa.mlm is not None:  # masking generator: how well G fills a masked token, against the most frequent one
        for b in budgets:
            b["train"]["generator"] = afa.mlm.train_stats
    # the cell's names (meta: the study's masking name, e.g. "refill") over the probe's own fields (its
    # masking is AFA's, "delete" for a refill cell): the study's table tells cells apart by them
    result = {"split": "validation", **budgets[-1], "budgets": budgets, "settings": s, **(meta or {})}
    write_jsonl_gz(out_examples, examples)
    write_result(out_json, result)
    return result


BAR = {"d": 0.3, "acc": (0.6, 0.95), "alpha": 0.05}  # issue 32's bar; Holm added 2026-12-06 (docs/evaluations.md)


def row_effect(per_seed) -> dict:
    """One probe comparison of one cell over D's seeds: the share of sentences where the first copy
    earns more (`share`, with its interval) and the effect size d (per seed, the per-sentence
    differences in units of their sd; then `afa.stats.seed_effect` over seeds, the sentence draw the
    seeds share counted: `d`, `d_low`, `d_high`, `d_p_greater`, the one-sided p of d > 0).

    `per_seed`: one pandas Series of per-sentence reward differences per seed, indexed by sentence
    id (the sentences every seed scored are used)."""
    import numpy as np

    from afa.evaluation.probe import wins
    from afa.stats import seed_effect

    share = seed_effect([wins(x) - 0.5 for x in per_seed])
    out = {"share": share["estimate"] + 0.5, "share_low": share["ci_low"] + 0.5, "share_high": share["ci_high"] + 0.5}
    if all(len(x) > 1 for x in per_seed):
        with np.errstate(all="ignore"):
            d = seed_effect([x / np.std(x, ddof=1) for x in per_seed])
        out.update(d=d["estimate"], d_low=d["ci_low"], d_high=d["ci_high"], d_p_greater=d["p_greater"])
    return out


def meets_bar(table, cell: list[str], bar: dict = BAR):
    """Which readings of the study's table meet the bar that part 2 of issue 32 trains AFA on: a
    screen on D's first seeds, then a confirmation on new seeds of what the screen let through.

    `table`: a row per reading (`cell` columns, a budget among them), `stage` ("screen": D's seeds
    of `disc_study.seeds`; "confirm": those of `disc_study.confirm.seeds`; absent: all "screen"),
    K, length `group` ("all"; where texts are cut also "below_max_length" and "at_max_length"), with
    `polar_vs_neutral_d` (effect size of polar over neutral masks, mean over the stage's seeds),
    `polar_vs_neutral_d_p_greater` (one-sided p of it > 0, the seed as the unit, `row_effect`) and
    `disc_acc`. At AFA's K (the largest):

    - a row passes the screen (`screened`) when d > bar["d"], its p < alpha unadjusted and D's
      accuracy lies in bar["acc"]; a reading is screened in (`screened_in`, on its "all" row) when
      its "all" row passes and, where its texts are cut, its "below_max_length" row too: there a
      deleted copy is no shorter than a real text, so length cannot make the preference;
    - the confirmation reads only the new seeds: a screened-in reading's "confirm" row passes
      (`passes`) when d > bar["d"], its p survives Holm's adjustment over every screened-in reading
      (`p_holm`; a reading whose new seeds are not in yet counts as p 1) and D's accuracy is in the
      band; it meets the bar (`meets_bar`, on its "all" row) when it passes below the cut too.

    Why two stages: with 3 seeds a one-sided t has 2 degrees of freedom, and Holm over the study's
    ~40 readings asks for p < 0.05 / 40, a t of about 19: no effect the study could plausibly see
    passes (tests/test_disc_study.py simulates it at the variance components of the committed
    cells). The screen spends no error rate; the confirmation's new seeds are independent of the
    selection, so Holm over the few readings screened in keeps the family-wise rate at alpha. The
    sentences are the same in both stages: a confirmed reading is confirmed for new trainings of D,
    and its interval still counts the sentence draw, but the screen's selection on that draw is not
    undone (the sd of the shared sentence mean, about 0.05 in d at 132 sentences; the 0.3 threshold keeps
    it from passing a null reading). Returns a copy with `screened`,
    `screened_in`, `p_holm`, `passes` and `meets_bar`.
    """
    import numpy as np

    from afa.stats import holm

    t = table.copy()
    for col in ("polar_vs_neutral_d", "polar_vs_neutral_d_p_greater", "disc_acc"):
        if col not in t:
            t[col] = np.nan
    if "stage" not in t:
        t["stage"] = "screen"
    top = t.K == t.K.max()
    effect = (t.polar_vs_neutral_d > bar["d"]) & t.disc_acc.between(*bar["acc"]) & top
    key = lambda r: tuple(r[cell])  # noqa: E731 (a reading: cell and budget, at AFA's K)

    def with_below(stage: str, col: str) -> list[bool]:
        below = {key(r): r[col] for _, r in t[(t.stage == stage) & (t.group == "below_max_length") & top].iterrows()}
        return [bool(r.stage == stage and r[col] and r.group == "all" and below.get(key(r), True))
                for _, r in t.iterrows()]

    t["screened"] = ((t.stage == "screen") & effect & (t.polar_vs_neutral_d_p_greater < bar["alpha"])).astype(bool)
    t["screened_in"] = with_below("screen", "screened")
    family = {key(r) for _, r in t[t.screened_in].iterrows()}
    t["p_holm"] = np.nan
    for group in t.group.dropna().unique():
        rows = t[(t.stage == "confirm") & top & (t.group == group)]
        rows = rows.loc[[key(r) in family for _, r in rows.iterrows()]] if len(rows) else rows
        p = rows.polar_vs_neutral_d_p_greater.fillna(1.0).to_numpy(dtype=float)
        t.loc[rows.index, "p_holm"] = holm(np.concatenate([p, np.ones(len(family) - len(rows))]))[: len(rows)]
    t["passes"] = (effect & (t.p_holm < bar["alpha"])).astype(bool)
    t["meets_bar"] = with_below("confirm", "passes")
    return t
