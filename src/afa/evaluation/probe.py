"""Mechanism probe: does each AFA reward prefer masking sentiment-bearing tokens?

AFA can only teach attention to point at the words that carry the label if its reward pays more
for masking those words than for masking others. This probe measures that preference directly on
a trained run, outside training: on held-out sentences (a seeded draw of ``n`` from the prepared
``validation`` split, never the report split ``test``) it builds, per sentence and per K,
  - ``polar``: K sentiment-bearing tokens (the lexicon's ``polar`` words, SST word labels);
  - ``neutral``: K of the lexicon's ``neutral`` tokens with the same multiset of part-of-speech
    tags (NLTK universal tagset, tagged in context), so that "polar" does not just mean "content
    word" (most neutral tokens are determiners and punctuation);
  - ``random`` and ``random2``: two independent draws of K maskable tokens (any kind);
  - ``tail``: the last K maskable tokens (deleted, the copy reads as the same text cut K tokens
    earlier, with no hole inside it);
  - ``none``: the sentence itself, unmasked;
masks them with the run's own masking mode (D was trained on that mode only, refilled deletions
included; a baseline has no D and uses ``masking_for_baseline``) and scores each copy with every reward the run has:
``detect`` = softplus(z) and ``deceive`` = softplus(-z) from D's logit z (AFA runs that trained a
D), and ``confidence_drop`` = p(y^|X) - p(y^|X~) from the target (every run).

Rows (``first_vs_second``: reward of the first copy minus that of the second, per sentence):
  - ``polar_vs_neutral``: the test. Same count, same POS tags, same length (every mode keeps or
    removes exactly K tokens), so only which words were masked differs;
  - ``polar_vs_random``, ``neutral_vs_random``: the same against an unselected K-token mask (what
    AFA's exploration draws), also of equal length;
  - ``random_vs_random``: an A/A control: two draws of the same kind, so its share must be 50 % up
    to sampling noise; it calibrates the intervals of the other rows;
  - ``random_vs_none``: the length-only control: K random tokens removed (``delete``: a copy exactly
    K tokens shorter) or replaced, against the sentence itself. It is the reward for masking at all,
    whichever tokens; with ``replace`` D sees [MASK] and is right whatever was masked, with
    ``delete`` it can read length. A reward that is large here but 50 % on the rows above carries
    the act of masking, not the choice of tokens;
  - ``tail_vs_random``: where the K tokens go, at equal count and length: the last K against K
    random ones. A D that reads the holes deletion leaves inside a text scores ``random`` higher; a D
    that reads only the copy's length (or truncation) scores them alike.
Length groups: every row is given over ``all`` sentences and, when some of them fill ``max_length``
(IMDB at 256 tokens; SST-2 never does), also over ``at_max_length`` (the tokenizer cut the text, or
it fits exactly) and ``below_max_length``. A deleted copy of a cut text is shorter than every cut
original, so a D can tell those apart by length alone; the discriminator's accuracies are given per
group too. Rows of a group of fewer than 2 sentences have NaN intervals.
Per row: the share of sentences where the first copy earns the higher reward (ties count half),
the mean difference and the paired effect size d = mean(diff) / sd(diff) (NaN when every difference
is the same), each with a 95 % percentile bootstrap interval over sentences (scipy, seeded), and
the sentences used. ``detect`` and ``deceive`` are monotone in the same z in opposite directions:
their shares are complements, reported both because each is a reward AFA trains with.

All rows of one K use the same sentences: those with at least K polar tokens that a POS-matched
neutral mask exists for; the others are counted as skipped, by reason. Polar tokens are drawn in a
seeded random order, each kept while its tag still has an unused neutral token, so a matched mask
is found whenever one exists. Every draw is seeded by (``seed``, K, the sentence's position in the
split): runs that share a tokenizer get the same masks on the same sentences.

Tokens and words: a lexicon word is a word of the tokenizer's own pre-tokenisation that became a
single token (lower-cased). The scratch model's tokenizer is word-level, so every word qualifies;
for word-piece tokenizers (MiniLM) a word split into several pieces is never polar or neutral
(masking one piece of it would not mask the word), though its pieces may be drawn by ``random``.
Special tokens (including [UNK]) are never masked, as in AFA.
"""

from __future__ import annotations

import collections
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from scipy import stats

from afa import models
from afa import objective as obj
from afa.data import DataError
from afa.evaluation import EVALUATIONS
from afa.inference import autocast
from afa.io import read_json, write_jsonl_gz, write_result
from afa.settings import MASKINGS  # the probe's maskings are AFA's

log = logging.getLogger(__name__)

DEFAULTS = EVALUATIONS["probe"].defaults()  # afa.evaluation.options.Probe
COPIES = ("polar", "neutral", "random", "random2", "tail")  # the masked copies, in the order they are batched
MASKS = ("none",) + COPIES
COMPARISONS = {"polar_vs_neutral": ("polar", "neutral"), "polar_vs_random": ("polar", "random"),
               "neutral_vs_random": ("neutral", "random"), "random_vs_random": ("random", "random2"),
               "random_vs_none": ("random", "none"), "tail_vs_random": ("tail", "random")}
CONTROLS = {
    "polar_vs_neutral": "the test: polar vs neutral tokens, same count, POS tags and length",
    "polar_vs_random": "polar vs K random maskable tokens, same count and length",
    "neutral_vs_random": "neutral (POS-matched) vs K random maskable tokens, same count and length",
    "random_vs_random": "A/A control: two random K-token masks; 50 % up to sampling noise",
    "random_vs_none": "length-only control: K random tokens masked (delete: K tokens shorter) vs the sentence",
    "tail_vs_random": "the last K maskable tokens vs K random ones, same count and length: holes vs length",
}
LENGTHS = ("at_max_length", "below_max_length")  # the groups besides "all", when a split has both
READINGS = {
    "detect": "softplus(z), z = D's logit of P(masked): rises with z",
    "deceive": "softplus(-z): falls with z; its shares are the complements of detect's",
    "confidence_drop": "p(y^|X) - p(y^|X~) from the target (no D); 0 for the unmasked sentence",
}

Tagger = Callable[[list[str]], list[str]]


# ----------------------------------------------------------------------------- inputs

def check_settings(settings: dict | None) -> dict:
    """The probe's settings over its defaults (afa.evaluation.options.Probe): one line naming a bad option."""
    return EVALUATIONS["probe"].check(settings)


def read_lexicon(path) -> tuple[set[str], set[str]]:
    """(polar words, neutral words) of a lexicon JSON written by ``afa lexicon``."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: the probe needs a lexicon (`afa lexicon`, the lexicon rule; "
                                "config: lexicons)")
    try:
        lex = read_json(path)
        polar, neutral = set(lex["polar"]), set(lex["neutral"])
    except (ValueError, KeyError, TypeError) as e:
        raise DataError(f"{path} is not a lexicon of `afa lexicon` (a JSON object with 'polar' and 'neutral' "
                        f"word lists): {type(e).__name__} {e}") from None
    if not polar or not neutral:
        raise DataError(f"{path}: the lexicon has no {'polar' if not polar else 'neutral'} word")
    return polar, neutral


def nltk_tagger(resources) -> Tagger:
    """NLTK's averaged-perceptron tagger, universal tagset, from the folder of ``prepare-attack-resources``."""
    from afa.resources.nltk_data import use_resources

    use_resources(resources)  # before NLTK is imported: it reads NLTK_DATA once
    import nltk

    return lambda words: [t for _, t in nltk.pos_tag(words, tagset="universal")]


# ----------------------------------------------------------------------------- sentences and masks

@dataclass
class Sentence:
    index: int               # position in the split: seeds the masks of this sentence
    id: str
    label: int
    ids: list[int]           # model token ids, truncated to max_length
    tokens: list[str]
    kind: list[str | None]   # per position: "polar", "neutral", or None (other word, piece, special)
    tag: list[str | None]    # universal POS tag of a single-token word, else None
    maskable: list[int]      # positions AFA may mask: real, non-special tokens
    length: str              # "at_max_length" (cut by the tokenizer, or fits exactly) or "below_max_length"
    continuation: list[int]  # the text's next tokens past the cut (AFAConfig.refill), else []


def read_sentences(tokenizer, rows: list[dict], indices, max_length: int, polar: set[str], neutral: set[str],
                   tagger: Tagger, continuation_length: int = 0) -> list[Sentence]:
    texts = [rows[i]["text"] for i in indices]
    enc = tokenizer(texts, truncation=True, max_length=max_length, return_offsets_mapping=True)
    cont = (models.continuations(tokenizer, texts, enc["input_ids"], continuation_length) if continuation_length
            else [[] for _ in texts])
    special = set(tokenizer.all_special_ids)
    out = []
    for j, (i, text) in enumerate(zip(indices, texts)):
        ids, offsets, word_ids = enc["input_ids"][j], enc["offset_mapping"][j], enc.word_ids(j)
        pieces = collections.defaultdict(list)  # word -> its token positions, in order
        for p, w in enumerate(word_ids):
            if w is not None:
                pieces[w].append(p)
        words = [text[offsets[ps[0]][0]:offsets[ps[-1]][1]] for ps in pieces.values()]
        tags = tagger(words) if words else []
        if len(tags) != len(words):
            raise ValueError(f"the POS tagger returned {len(tags)} tags for {len(words)} words: {words!r}")
        kind, tag = [None] * len(ids), [None] * len(ids)
        for word, t, ps in zip(words, tags, pieces.values()):
            if len(ps) == 1 and ids[ps[0]] not in special:
                w = word.lower()
                kind[ps[0]] = "polar" if w in polar else "neutral" if w in neutral else None
                tag[ps[0]] = t
        out.append(Sentence(i, str(rows[i].get("id", i)), int(rows[i]["label"]), ids,
                            tokenizer.convert_ids_to_tokens(ids), kind, tag,
                            [p for p, t in enumerate(ids) if t not in special],
                            LENGTHS[0] if len(ids) >= max_length else LENGTHS[1], cont[j]))
    return out


def choose_masks(s: Sentence, K: int, seed: int) -> dict[str, list[int]] | str:
    """{mask: K positions} for the copies of one sentence (COPIES), or why it is skipped."""
    rng = np.random.default_rng([seed, K, s.index])
    polar = [p for p in s.maskable if s.kind[p] == "polar"]
    neutral = [p for p in s.maskable if s.kind[p] == "neutral"]
    if len(polar) < K:
        return "too_few_polar"
    free = collections.Counter(s.tag[p] for p in neutral)
    chosen = []
    for p in rng.permutation(polar).tolist():
        if free[s.tag[p]]:
            chosen.append(p)
            free[s.tag[p]] -= 1
            if len(chosen) == K:
                break
    if len(chosen) < K:
        return "no_pos_match"
    matched = []
    for t, c in sorted(collections.Counter(s.tag[p] for p in chosen).items()):
        matched += rng.choice([p for p in neutral if s.tag[p] == t], c, replace=False).tolist()
    draw = lambda: sorted(rng.choice(s.maskable, K, replace=False).tolist())  # noqa: E731
    return {"polar": sorted(chosen), "neutral": sorted(matched), "random": draw(), "random2": draw(),
            "tail": s.maskable[-K:]}


# ----------------------------------------------------------------------------- rewards

@torch.no_grad()
def score(items: list[tuple[Sentence, dict]], tokenizer, target, D, masking: str, mask_id: int,
          unigram: torch.Tensor | None, generator: torch.Generator | None, batch_size: int, device,
          refill: bool = False, proposer=None) -> dict:
    """{reward: array [N, len(MASKS)]} and, with D, its logits under "z"; columns in MASKS order."""
    z_all, drop_all = [], []
    for start in range(0, len(items), batch_size):
        chunk = items[start:start + batch_size]
        batch = models.collate(tokenizer, [s.ids for s, _ in chunk], device,
                               [s.continuation for s, _ in chunk] if refill else None)
        ids, att = batch["input_ids"], batch["attention_mask"]
        idx = torch.tensor([[m[c] for c in COPIES] for _, m in chunk], device=device)  # [B, copies, K]
        refilled = (batch["continuation"], obj.content_end(batch["maskable"])) if refill else ()
        X, att_X = obj.apply_masks(ids, att, idx, torch.ones_like(idx, dtype=torch.bool), mask_id,
                                   tokenizer.pad_token_id, masking, unigram, generator, *(refilled or (None, None)),
                                   proposer=proposer)
        B = len(chunk)
        with autocast(device):
            logits = target(ids, att).logits.float()
            logits_X = target(X, att_X).logits.float().view(B, len(COPIES), -1)
            if D is not None:
                z = torch.cat([D(ids, att).float()[:, None], D(X, att_X).float().view(B, len(COPIES))], 1)
                z_all.append(z.cpu())
        drop = obj.confidence_drop(logits, logits_X)
        drop_all.append(torch.cat([torch.zeros(B, 1, device=drop.device), drop], 1).cpu())
    out = {"confidence_drop": torch.cat(drop_all).numpy()}
    if D is not None:
        z = torch.cat(z_all)
        out.update(z=z.numpy(), detect=obj.reward_from_logit(z, "detect").numpy(),
                   deceive=obj.reward_from_logit(z, "deceive").numpy())
    return out


# ----------------------------------------------------------------------------- statistics

def wins(diff: np.ndarray) -> np.ndarray:
    """1 where the first copy earns more, 0.5 on a tie, 0 where it earns less."""
    return (diff > 0) + 0.5 * (diff == 0)


def effect_size(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Paired d = mean / sd (ddof 1); NaN or inf where the sd is 0."""
    with np.errstate(all="ignore"):
        return np.mean(x, axis=axis) / np.std(x, axis=axis, ddof=1)


def interval(x: np.ndarray, statistic, resamples: int, seed: int) -> tuple[float, float]:
    """95 % percentile bootstrap interval over sentences."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        # zero-variance resamples give d = inf: an honest unbounded end, not a warning per row
        warnings.simplefilter("ignore", RuntimeWarning)
        ci = stats.bootstrap((x,), statistic, n_resamples=resamples, confidence_level=0.95, method="percentile",
                             vectorized=True, random_state=np.random.default_rng(seed)).confidence_interval
    return float(ci.low), float(ci.high)


def compare(diff: np.ndarray, resamples: int, seed: int) -> dict:
    """The statistics of one row from the per-sentence differences first - second."""
    w = wins(diff)
    d = float(effect_size(diff)) if diff.std() > 0 else float("nan")
    row = {"n": int(diff.size), "share": float(w.mean()), "ties": float((diff == 0).mean()),
           "mean_diff": float(diff.mean()), "effect_size": d}
    if diff.size < 2:
        return {**row, **{f"{k}_{end}": float("nan") for k in ("share", "mean_diff", "effect_size") for end in ("low", "high")}}
    for key, x, statistic in (("share", w, np.mean), ("mean_diff", diff, np.mean), ("effect_size", diff, effect_size)):
        lo, hi = (interval(x, statistic, resamples, seed) if key != "effect_size" or d == d
                  else (float("nan"), float("nan")))
        row[f"{key}_low"], row[f"{key}_high"] = lo, hi
    return row


# ----------------------------------------------------------------------------- the probe

def discriminator_accuracy(z: np.ndarray) -> dict:
    """D's accuracy on the unmasked sentences (z < 0) and on each kind of copy (z > 0); z is [N, MASKS]."""
    return {"n": int(len(z)), "accuracy_unmasked": float((z[:, 0] < 0).mean()),
            "accuracy_masked": {c: float((z[:, j + 1] > 0).mean()) for j, c in enumerate(COPIES)},
            "mean_logit": {c: float(z[:, j].mean()) for j, c in enumerate(MASKS)}}


def probe(target, tokenizer, rows: list[dict], polar: set[str], neutral: set[str], tagger: Tagger, max_length: int,
          masking: str, D=None, unigram: torch.Tensor | None = None, settings: dict | None = None,
          device="cpu", refill: bool = False, proposer=None) -> tuple[dict, list[dict]]:
    """(summary, per-example rows) of one target (and its D, if any) on `rows` (held-out sentences);
    `refill`: deleted copies take the text's next tokens past the cut, as the run's D saw them;
    `proposer`: masking generator's (afa.method.AFA.proposer)."""
    s = check_settings(settings)
    if masking not in MASKINGS:
        raise ValueError(f"unknown masking {masking!r}; use one of {', '.join(MASKINGS)}")
    if masking == "unigram" and unigram is None:
        raise ValueError("masking 'unigram' needs the train split's unigram distribution")
    if masking == "generator" and proposer is None:
        raise ValueError("masking 'generator' needs the run's generator (afa.method.AFA.proposer)")
    if refill and masking != "delete":
        raise ValueError(f"refill is a deletion option; the masking is {masking!r}")
    # a seeded subset, the same for every run, so runs are compared on the same sentences
    picked = (list(range(len(rows))) if s["n"] >= len(rows)
              else sorted(np.random.default_rng(s["seed"]).choice(len(rows), s["n"], replace=False).tolist()))
    sentences = read_sentences(tokenizer, rows, picked, max_length, polar, neutral, tagger,
                               max(s["K"]) if refill else 0)
    rewards = (["detect", "deceive"] if D is not None else []) + ["confidence_drop"]
    generator = torch.Generator(device=device).manual_seed(s["seed"]) if masking in ("unigram", "generator") else None
    mask_id = models.mask_token_id(tokenizer)
    kinds = collections.Counter(x.kind[p] or "other" for x in sentences for p in x.maskable)

    table, per_K, examples = [], [], []
    for K in s["K"]:
        chosen = [(x, choose_masks(x, K, s["seed"])) for x in sentences]
        items = [(x, m) for x, m in chosen if isinstance(m, dict)]
        skipped = collections.Counter(m for _, m in chosen if isinstance(m, str))
        entry = {"K": K, "n": len(items), "skipped": {r: skipped[r] for r in ("too_few_polar", "no_pos_match")}}
        for x, m in chosen:
            if isinstance(m, str):
                examples.append({"id": x.id, "K": K, "label": x.label, "length": x.length, "skipped": m})
        if not items:
            log.warning("K=%d: no sentence has %d polar tokens with a POS-matched neutral mask", K, K)
            per_K.append(entry)
            continue
        scored = score(items, tokenizer, target, D, masking, mask_id, unigram, generator, s["batch_size"], device,
                       refill, proposer)
        length = np.array([x.length for x, _ in items])
        groups = {"all": np.ones(len(items), dtype=bool)}
        if len(set(length)) > 1:  # split by length only where the split has both kinds
            groups.update({g: length == g for g in LENGTHS})
        entry["sentences_by_length"] = {g: int(m.sum()) for g, m in groups.items()}
        if D is not None:
            entry["discriminator"] = discriminator_accuracy(scored["z"])
            if len(groups) > 1:
                entry["discriminator"]["by_length"] = {g: discriminator_accuracy(scored["z"][m])
                                                       for g, m in groups.items() if g != "all"}
        per_K.append(entry)
        for reward in rewards:
            r = scored[reward].astype(np.float64)
            for name, (first, second) in COMPARISONS.items():
                diff = r[:, MASKS.index(first)] - r[:, MASKS.index(second)]
                for g, m in groups.items():
                    table.append({"K": K, "group": g, "reward": reward, "comparison": name, "first": first,
                                  "second": second, **compare(diff[m], s["bootstrap_resamples"], s["bootstrap_seed"])})
        for j, (x, m) in enumerate(items):
            examples.append({"id": x.id, "K": K, "label": x.label, "length": x.length, "skipped": None, "tokens": x.tokens,
                             "masks": m, "tags": {c: [x.tag[p] for p in m[c]] for c in ("polar", "neutral")},
                             # unrounded: the table's bootstrap recomputes the differences, ties included
                             "rewards": {rw: {c: float(scored[rw][j, i]) for i, c in enumerate(MASKS)} for rw in rewards},
                             **({"logit": {c: float(scored["z"][j, i]) for i, c in enumerate(MASKS)}}
                                if D is not None else {})})
    lengths = collections.Counter(x.length for x in sentences)
    summary = {"masking": masking, "refill": refill, "rewards": rewards, "sentences": len(sentences),
               "sentences_by_length": {g: lengths[g] for g in LENGTHS},
               "maskable_tokens": {k: kinds[k] for k in ("polar", "neutral", "other")}, "per_K": per_K, "rows": table,
               "controls": CONTROLS, "readings": {r: READINGS[r] for r in rewards}}
    return summary, examples


# ----------------------------------------------------------------------------- a trained run

def load_adversary(run_dir: Path, masking_for_baseline: str, device):
    """(D or None, masking, refill, unigram or None, what the run is, masking generator's proposer or
    None) from a run folder."""
    from afa.method import AFA, AFAConfig

    if (run_dir / "afa_config.json").exists():
        if not (run_dir / "afa.safetensors").exists():
            raise FileNotFoundError(f"{run_dir / 'afa.safetensors'} does not exist beside afa_config.json "
                                    "(an interrupted save? retrain the run)")
        afa = AFA.from_pretrained(run_dir, device)
        unigram = afa.unigram if afa.unigram.numel() else None
        return afa.D, afa.config.masking, afa.config.refill, unigram, "afa", afa.proposer
    metrics = run_dir / "train_metrics.json"
    method = read_json(metrics)["method"] if metrics.exists() else {"objective": "baseline"}
    if method.get("objective") == "afa":
        # trained before the discriminator was saved: its masking is known, its D is gone
        config = AFAConfig.from_dict(method)
        log.warning("%s: an AFA run without afa.safetensors (trained before D was saved): confidence_drop only",
                    run_dir)
        return None, config.masking, config.refill, None, "afa_without_saved_D", None
    return None, masking_for_baseline, False, None, "baseline", None


def open_validation(run_dir: Path, data_dir: Path, lexicon: Path, resources: Path | None, tagger: Tagger | None,
                    device: str, who: str):
    """What a probe of a run reads: (polar, neutral words), the POS tagger (NLTK's from `resources`
    unless `tagger` is given), and the run with its validation split (`afa.inference.open_run`)."""
    from afa.inference import open_run

    words = read_lexicon(lexicon)
    run_dir = Path(run_dir)
    if not (run_dir / "model.safetensors").exists():
        raise FileNotFoundError(f"{run_dir / 'model.safetensors'} does not exist: not a trained run (the train rule)")
    if tagger is None:
        if resources is None:
            raise ValueError(f"{who} needs NLTK's POS tagger: pass --resources (the prepare_attack_resources folder)")
        tagger = nltk_tagger(resources)
    return words, tagger, open_run(run_dir, data_dir, "validation", device)


def evaluate(run_dir: Path, data_dir: Path, lexicon: Path, resources: Path | None, out_json: Path, out_examples: Path,
             settings: dict | None = None, meta: dict | None = None, device: str = "auto",
             tagger: Tagger | None = None) -> dict:
    """Probe one trained run on its dataset's validation split; write the summary and per-example rows.

    `tagger` (words -> universal POS tags) replaces NLTK's, which is read from `resources`.
    """
    from afa.method import unigram_distribution

    s = check_settings(settings)
    (polar, neutral), tagger, (tokenizer, model, spec, rows, device) = open_validation(
        run_dir, data_dir, lexicon, resources, tagger, device, "the probe")
    D, masking, refill, unigram, kind, proposer = load_adversary(Path(run_dir), s["masking_for_baseline"], device)
    if masking == "unigram" and unigram is None:
        from afa.data import read_prepared

        train_ids = models.encode(tokenizer, [r["text"] for r in read_prepared(data_dir, "train")], spec["max_length"])
        unigram = unigram_distribution(train_ids, len(tokenizer), tokenizer.all_special_ids).to(device)
    summary, examples = probe(model, tokenizer, rows, polar, neutral, tagger, spec["max_length"], masking, D, unigram,
                              s, device, refill, proposer)
    result = {**(meta or {}), "run_kind": kind, "split": "validation", **summary, "settings": s}
    write_jsonl_gz(out_examples, examples)
    write_result(out_json, result)
    return result
