"""Atomic writes: a failed or killed job must never leave a half-written result behind."""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import json
import os
import subprocess
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path next to `path`; move it into place only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # the real suffix stays last: tools such as papermill look at it
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp makes the file private (0600); a result on a shared cluster gets the umask's mode
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_json(path, obj) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def write_result(path, obj: dict) -> None:
    """A result file (metrics, evaluations): `obj` plus the provenance of the code that made it."""
    write_json(path, {**obj, "provenance": provenance()})


@functools.lru_cache(maxsize=1)
def provenance() -> dict:
    """Package version, git commit of the code (and whether it had uncommitted changes), and a
    hash of the objective's source: results made by different objective code must not be mixed."""
    import afa

    src = Path(afa.__file__).parent
    objective = hashlib.sha256(b"".join((src / f).read_bytes()
                                        for f in ("objective.py", "method.py", "discriminator.py"))).hexdigest()[:16]

    def git(*args):
        try:
            return subprocess.run(["git", "-C", str(src), *args], capture_output=True, text=True, timeout=10,
                                  check=True).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None

    commit = git("rev-parse", "HEAD")
    dirty = bool(git("status", "--porcelain", "--", ".")) if commit else None
    return {"afa_version": afa.__version__, "commit": commit, "dirty": dirty, "objective_sha": objective}


def read_json(path) -> dict:
    return json.loads(Path(path).read_text())


def write_jsonl_gz(path, records) -> int:
    n = 0
    with atomic_path(path) as tmp:
        # No name and mtime=0 in the gzip header: the bytes depend on the records alone,
        # so checksums are reproducible.
        with open(tmp, "wb") as f, gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0) as gz:
            for rec in records:
                gz.write((json.dumps(rec, ensure_ascii=False) + "\n").encode("utf-8"))
                n += 1
    return n


def sha256(path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
