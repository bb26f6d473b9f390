"""Adversarial Feedback for Attention (AFA): a replication of arXiv 2512.20661, and the method as a
library:

    from afa import AFA, AFAConfig, AFATrainer, attention_row, track_attention, maskable_tokens

`AFAConfig` and `DiscConfig` (settings) are the objective's settings, `AFA` (method) its state; `attention_row`,
`track_attention` and `maskable_tokens` (hf) read a Hugging Face model's outputs for it;
`AFATrainer` (trainer) is a `transformers.Trainer` that adds AFA to a sequence classifier.
They are imported on first use, so `import afa` (the command line) loads neither torch nor the Trainer.

Layers, lowest first (a module imports only from layers below it):
    io, settings, layers, tokens -> objective, discriminator -> method, hf -> trainer   (the library)
    data -> models -> inference, checkpoint
       -> lexicon, train -> resources (nltk_data) -> evaluation (registry; metrics, accuracy, deletion,
          alignment, probe; attack_settings -> attacks -> robustness), evaluate (the evaluations on
          your own model) -> stats -> tables, report -> cli
"""

import importlib

__version__ = "0.1.0"

_PUBLIC = {"AFA": "afa.method", "AFAConfig": "afa.settings", "DiscConfig": "afa.settings", "AFATrainer": "afa.trainer",
           "attention_row": "afa.hf", "track_attention": "afa.hf", "maskable_tokens": "afa.hf"}
# No __all__: these names load on first use, and the API reference (pdoc) documents them in their
# own modules.


def __getattr__(name):
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'afa' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_PUBLIC))
