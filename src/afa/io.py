"""Writes that a failed, killed or concurrent job cannot leave half done.

- `atomic_path`: a file appears whole or not at all.
- `exclusive`: one process at a time writes a folder (an OS lock, freed when its holder dies).
- `replace_owned_folder`: a folder that a command rebuilds whole is replaced only if this project
  wrote it (it carries `OWNED_MARKER`); any other folder at that path is left alone.
- `failpoint`: named points where the test suite kills a job on purpose (tests/test_faults.py),
  after the fashion of etcd's gofail; a no-op unless ``AFA_FAILPOINT`` is set.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import gzip
import hashlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

OWNED_MARKER = ".afa-owned"
_hits: dict[str, int] = {}


def failpoint(name: str) -> None:
    """Die here, as a SIGKILL would, when ``AFA_FAILPOINT`` names this point.

    ``AFA_FAILPOINT=<name>`` kills at the point's first hit, ``<name>#<n>`` at its n-th.
    ``AFA_FAILPOINT_LOG=<file>`` appends every hit's name to the file (how a test lists them).
    """
    spec, log = os.environ.get("AFA_FAILPOINT"), os.environ.get("AFA_FAILPOINT_LOG")
    if not spec and not log:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if log:
        with open(log, "a") as f:
            f.write(f"{name}#{_hits[name]}\n")
    if spec in (name, f"{name}#{_hits[name]}") and (spec != name or _hits[name] == 1):
        os.kill(os.getpid(), signal.SIGKILL)


class Busy(RuntimeError):
    """Another live process is writing the folder."""


@contextlib.contextmanager
def exclusive(folder: str | os.PathLike, what: str = "folder"):
    """Hold ``<folder>/.lock`` while the block runs; refuse at once, naming the holder, if a live
    process holds it. The lock is the kernel's (POSIX ``lockf``, which NFS also honours): it dies
    with its holder, however that dies, so a stale lock file never blocks."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ".lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        if e.errno not in (errno.EACCES, errno.EAGAIN):  # a file system without locks (an NFS without lockd)
            logging.getLogger("afa.io").warning("%s: cannot lock (%s); a second workflow writing this %s would "
                                                "not be stopped", path, e.strerror, what)
        else:
            owner = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise Busy(f"{folder}: this {what} is being written by {owner} (lock {path}); two workflows "
                       "share this outdir: let the other finish, or give this one another outdir") from None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{socket.gethostname()} pid {os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock; the file stays (removing it would race a new holder)


def check_replaceable(out: Path, command: str) -> None:
    """Stop, before any work, if `out` exists and is neither empty nor a folder this project wrote."""
    out = Path(out)
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise FileExistsError(f"{out} exists and is not a folder; `afa {command}` leaves it as it is: "
                              "remove it yourself or choose another --out")
    if out.is_dir() and any(out.iterdir()) and not (out / OWNED_MARKER).exists():
        raise FileExistsError(f"{out} exists and is not a folder that `afa {command}` wrote (no {OWNED_MARKER} "
                              "in it); it is left as it is: remove it yourself or choose another --out")


def replace_owned_folder(staging: Path, out: Path, command: str) -> None:
    """Move the complete folder `staging` to `out`, first removing an older `out` that this project
    wrote (it carries OWNED_MARKER) or an empty one. Any other existing `out` stops the command
    (`check_replaceable`) and is not touched."""
    out = Path(out)
    check_replaceable(out, command)
    (Path(staging) / OWNED_MARKER).write_text(f"written by `afa {command}`, which replaces this folder whole\n")
    if out.exists():
        shutil.rmtree(out)
    os.replace(staging, out)


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
        failpoint(f"write {path.name}")
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


# the code whose change can change what AFA trains: its maths, its state, D, its settings' defaults
# and checks (settings.py was part of method.py until 2026-12-05), the layers D is built of, and the
# generator G of masking generator
OBJECTIVE_CODE = ("objective.py", "method.py", "discriminator.py", "settings.py", "layers.py", "generator.py")


@functools.lru_cache(maxsize=1)
def provenance() -> dict:
    """Package version, git commit of the code (and whether it had uncommitted changes), and a
    hash of the objective's source: results made by different objective code must not be mixed."""
    import afa

    src = Path(afa.__file__).parent
    objective = hashlib.sha256(b"".join((src / f).read_bytes()
                                        for f in OBJECTIVE_CODE)).hexdigest()[:16]

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
