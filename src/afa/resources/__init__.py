"""Infrastructure the evaluations need but that is not the method: offline data built from PyPI
artefacts (``nltk_data``: the NLTK data TextAttack and the probe's POS tagger read)."""
