"""Training is deterministic under a seed, and a run killed mid-epoch resumes to the same result."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from afa import data

SETTINGS = {"model": {"kind": "scratch", "d_model": 32, "layers": 1, "heads": 2, "d_ff": 64},
            "train": {"epochs": 3, "batch_size": 16, "checkpoint_every": 2, "log_every": 1, "patience": 5},
            "method": {"objective": "afa", "M": 2, "disc": {"d_model": 32, "d_ff": 64}}}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    out = tmp_path_factory.mktemp("data")
    data.prepare("sst2", data.sample_root(), out, max_train=160, max_test=20)
    return out


def train(prepared, run, settings=SETTINGS):
    return subprocess.Popen([sys.executable, "-m", "afa.cli", "train", "--data", str(prepared), "--out", str(run),
                             "--dataset", "sst2", "--seed", "5", "--max-length", "32",
                             "--settings", json.dumps(settings), "--log", str(run) + ".log"],
                            env={**os.environ, "OMP_NUM_THREADS": "1"})


def result(run):
    m = json.loads((run / "train_metrics.json").read_text())
    for volatile in ("wall_s", "resumed_at_step"):
        m.pop(volatile)
    m.get("disc_warmup", {}).pop("seconds", None)  # D's warm-up's wall time
    return m, load_file(str(run / "model.safetensors")), (run / "dynamics.jsonl").read_text()


def assert_same(a, b):
    (ma, wa, da), (mb, wb, db) = a, b
    assert ma == mb
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    assert da == db


def test_two_runs_with_one_seed_are_identical(prepared, tmp_path):
    for name in ("a", "b"):
        assert train(prepared, tmp_path / name).wait() == 0
    assert_same(result(tmp_path / "a"), result(tmp_path / "b"))
    assert not (tmp_path / "a" / "checkpoint").exists()  # removed once the run is complete


# D warmed up alone first (AFAConfig.disc_warmup), then held fixed: a resume must not warm it up again
WARMED = {**SETTINGS, "method": {**SETTINGS["method"], "disc_warmup": 6, "disc_steps": 0}}


@pytest.mark.parametrize("settings", [SETTINGS, WARMED], ids=["afa", "warmed_up_d"])
def test_killed_run_resumes_to_the_unbroken_result(prepared, tmp_path, settings):
    assert train(prepared, tmp_path / "unbroken", settings).wait() == 0
    run = tmp_path / "killed"
    p = train(prepared, run, settings)
    latest = run / "checkpoint" / "latest.json"
    while p.poll() is None:  # kill as soon as a mid-epoch checkpoint exists
        if latest.exists() and json.loads(latest.read_text())["dir"] != "ckpt-10":
            p.send_signal(signal.SIGKILL)
            break
        time.sleep(0.002)
    assert p.wait() == -signal.SIGKILL, "the run finished before it could be killed"
    assert not (run / "train_metrics.json").exists()
    killed_at = json.loads(latest.read_text())["dir"]
    assert train(prepared, run, settings).wait() == 0
    assert f"resuming from {run / 'checkpoint' / killed_at}" in (tmp_path / "killed.log").read_text()
    assert json.loads((run / "train_metrics.json").read_text())["resumed_at_step"] is not None
    assert_same(result(tmp_path / "unbroken"), result(run))
    if settings is WARMED:  # warmed up once, in the first attempt, and D's weights are the unbroken run's
        assert (tmp_path / "killed.log").read_text().count("D warmed up alone") == 1
        assert result(run)[0]["disc_warmup"]["steps"] == 6
        a, b = (load_file(str(r / "afa.safetensors")) for r in (tmp_path / "unbroken", run))
        assert all(torch.equal(a[k], b[k]) for k in a)


def test_checkpoint_from_other_settings_is_not_resumed(prepared, tmp_path):
    run = tmp_path / "r"
    p = train(prepared, run)
    latest = run / "checkpoint" / "latest.json"
    while p.poll() is None and not latest.exists():
        time.sleep(0.002)
    p.send_signal(signal.SIGKILL)
    assert p.wait() == -signal.SIGKILL and latest.exists(), "the run ended before a checkpoint could be killed"
    changed = {**SETTINGS, "train": {**SETTINGS["train"], "lr": 5e-4}}
    assert train(prepared, run, changed).wait() == 0
    log = (tmp_path / "r.log").read_text()
    assert "settings, data or training code changed since it was written" in log
    assert json.loads((run / "train_metrics.json").read_text())["resumed_at_step"] is None


def test_reading_stats_back_only_at_logs_gives_the_same_run(prepared, tmp_path, monkeypatch):
    """On a GPU the loop reads the step's stats back only when it logs, checkpoints or ends an epoch
    (no sync per step). Forced on CPU, that path gives the same weights, metrics and dynamics."""
    from afa import train as train_module

    settings = {**SETTINGS, "train": {**SETTINGS["train"], "epochs": 2, "log_every": 5, "checkpoint_every": 4}}
    args = ("sst2", settings["model"], settings["train"], settings["method"], 5, 32)
    torch.set_num_threads(1)
    train_module.train(prepared, tmp_path / "every", *args)
    monkeypatch.setattr(train_module, "reads_back_every_step", lambda device: False)
    calls = []
    monkeypatch.setattr(train_module, "host_stats", lambda stats, step, f=train_module.host_stats: calls.append(step) or f(stats, step))
    train_module.train(prepared, tmp_path / "lazy", *args)
    assert_same(result(tmp_path / "every"), result(tmp_path / "lazy"))
    steps = json.loads((tmp_path / "lazy" / "train_metrics.json").read_text())["steps"]
    per_epoch = steps // 2
    # read back at logs (every 5), checkpoints (every 4) and epoch ends only; host_stats names step - 1
    assert calls == [s - 1 for s in range(1, steps + 1) if s % 5 == 0 or s % 4 == 0 or s % per_epoch == 0]


def test_a_train_time_cap_trains_exactly_as_the_same_cap_at_prepare_time(prepared, tmp_path):
    """train.max_train / max_validation (one model's subset in an overlay of many) read the first rows
    of the prepared splits: the rows, and so the run, that data.max_train gives at prepare time."""
    full = tmp_path / "full"
    data.prepare("sst2", data.sample_root(), full, max_test=20)
    sizes = json.loads((prepared / "split.json").read_text())["sizes"]
    assert json.loads((full / "split.json").read_text())["sizes"]["train"] > sizes["train"]
    capped = {**SETTINGS, "train": {**SETTINGS["train"], "max_train": sizes["train"],
                                    "max_validation": sizes["validation"]}}
    procs = [subprocess.Popen([sys.executable, "-m", "afa.cli", "train", "--data", str(d), "--out", str(tmp_path / name),
                               "--dataset", "sst2", "--seed", "5", "--max-length", "32", "--settings", json.dumps(s),
                               "--log", str(tmp_path / name) + ".log"], env={**os.environ, "OMP_NUM_THREADS": "1"})
             for name, d, s in (("at_prepare", prepared, SETTINGS), ("at_train", full, capped))]
    assert [p.wait() for p in procs] == [0, 0]
    (ma, wa, da), (mb, wb, db) = result(tmp_path / "at_prepare"), result(tmp_path / "at_train")
    assert (mb["n_train"], mb["n_validation"]) == (sizes["train"], sizes["validation"])
    assert {k: v for k, v in mb["train"].items() if not k.startswith("max_")} == ma["train"]
    assert mb["history"] == ma["history"] and da == db
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def test_a_bad_train_time_cap_names_the_setting(prepared):
    with pytest.raises(data.DataError, match=r"train.max_validation must be a positive integer or null, got 0"):
        data.read_trained_split(prepared, "validation", {"max_validation": 0})
    assert len(data.read_trained_split(prepared, "train", {"max_train": 7})) == 7
    assert data.read_trained_split(prepared, "train", {}) == data.read_prepared(prepared, "train")
