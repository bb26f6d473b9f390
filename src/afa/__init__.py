"""Adversarial Feedback for Attention (AFA): a replication of arXiv 2512.20661.

Layers, lowest first (a module only imports from layers below it):
    io -> data -> models -> objective, discriminator -> train -> evaluate -> cli
"""

__version__ = "0.1.0"
