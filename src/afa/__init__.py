"""Adversarial Feedback for Attention (AFA): a replication of arXiv 2512.20661.

Layers, lowest first (a module imports only from layers below it):
    io -> data -> models -> objective, discriminator -> inference, checkpoint -> train
       -> evaluation (metrics, accuracy, deletion, alignment; attack_settings, attack_resources
          -> attacks -> robustness) -> stats -> tables, report -> cli
"""

__version__ = "0.1.0"
