"""The command line stops on bad input with one line that names the culprit."""

import subprocess

from conftest import write_gz


def afa(*args):
    return subprocess.run(["afa", *args], capture_output=True, text=True)


def test_truncated_file_is_one_clear_line(mirror, tmp_path):
    path = mirror / "sst2" / "train.jsonl.gz"
    path.write_bytes(path.read_bytes()[:-20])
    rec = tmp_path / "rec.json"
    assert afa("download", "--dataset", "sst2", "--source", "mirror", "--mirror", str(mirror),
               "--out", str(tmp_path / "hub"), "--record", str(rec)).returncode == 0
    r = afa("prepare", "--dataset", "sst2", "--record", str(rec), "--out", str(tmp_path / "data"))
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [f"afa prepare: error: {path}: truncated or corrupt gzip file "
                                             "(Compressed file ended before the end-of-stream marker was reached)"]
    assert not (tmp_path / "data" / "train.jsonl.gz").exists()


def test_unknown_dataset_is_one_clear_line(tmp_path):
    r = afa("download", "--dataset", "nope", "--source", "sample", "--out", str(tmp_path), "--record", str(tmp_path / "r.json"))
    assert r.returncode == 1
    assert "afa download: error: unknown dataset 'nope'" in r.stderr
    assert not (tmp_path / "r.json").exists()


def test_bad_settings_json(tmp_path):
    r = afa("prepare", "--dataset", "sst2", "--record", str(tmp_path / "r.json"), "--out", str(tmp_path), "--settings", "{oops")
    assert r.returncode == 1 and "a JSON option is not valid JSON" in r.stderr


def test_label_out_of_range_through_the_cli(tmp_path):
    write_gz(tmp_path / "m" / "sst2" / "train.jsonl.gz", [{"text": "x", "label": 3}])
    write_gz(tmp_path / "m" / "sst2" / "dev.jsonl.gz", [{"text": "x", "label": 0}])
    (tmp_path / "r.json").write_text('{"root": "%s"}' % (tmp_path / "m"))
    r = afa("prepare", "--dataset", "sst2", "--record", str(tmp_path / "r.json"), "--out", str(tmp_path / "d"))
    assert r.returncode == 1 and "train.jsonl.gz:1: label 3 out of range 0..1" in r.stderr


def test_bad_validation_option_is_one_clear_line(mirror, tmp_path):
    (tmp_path / "r.json").write_text('{"root": "%s"}' % mirror)
    r = afa("prepare", "--dataset", "sst2", "--record", str(tmp_path / "r.json"), "--out", str(tmp_path / "d"),
            "--settings", '{"validation_sentence_fraction": 1.5}')
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        "afa prepare: error: data.validation_sentence_fraction must be a number in (0, 1), got 1.5"]
    assert not (tmp_path / "d").exists()


def test_result_files_record_the_code_that_made_them(tmp_path):
    import afa
    from afa.io import provenance, read_json, write_result

    write_result(tmp_path / "r.json", {"accuracy": 0.5})
    got = read_json(tmp_path / "r.json")
    assert got["accuracy"] == 0.5 and got["provenance"] == provenance()
    p = got["provenance"]
    assert p["afa_version"] == afa.__version__ and len(p["objective_sha"]) == 16
    assert p["commit"] is None or len(p["commit"]) == 40  # None outside a git checkout (an installed wheel)


def test_atomic_writes_get_the_umask_mode_not_mkstemps_private_one(tmp_path):
    import os

    from afa.io import write_json

    old = os.umask(0o022)
    try:
        write_json(tmp_path / "r.json", {})
    finally:
        os.umask(old)
    assert (tmp_path / "r.json").stat().st_mode & 0o777 == 0o644


def test_a_registered_evaluation_becomes_a_command(monkeypatch, capsys):
    from afa import cli
    from afa.evaluation import EVALUATIONS, Evaluation

    seen = {}
    monkeypatch.setitem(EVALUATIONS, "toy", Evaluation("toy", "a toy", outputs=(("--extra", "x"),),
                                                       call=lambda m, a: seen.update(vars(a))))
    monkeypatch.setattr(Evaluation, "run", lambda self, args: self.call(None, args))
    assert cli.main(["toy", "--run", "r", "--data", "d", "--out", "o.json", "--extra", "e",
                     "--meta", '{"seed": 1}']) == 0
    assert seen["extra"].name == "e" and seen["meta"] == {"seed": 1}


def train_settings_error(tmp_path, settings):
    import json

    r = subprocess.run(["afa", "train", "--data", str(tmp_path), "--out", str(tmp_path / "run"), "--dataset", "sst2",
                        "--seed", "1", "--max-length", "16", "--settings", json.dumps(settings)],
                       capture_output=True, text=True)
    assert r.returncode == 1 and not (tmp_path / "run").exists()
    return r.stderr.strip()


def test_afa_train_settings_errors_are_one_line_naming_the_key(tmp_path):
    method = {"objective": "baseline"}
    assert train_settings_error(tmp_path, {"model": {"kind": "hf"}, "method": method}) == \
        "afa train: error: settings: a model of kind 'hf' needs model.name_or_path"
    assert train_settings_error(tmp_path, {"model": {"kind": "scratch"}, "train": {"epoch": 1}, "method": method}).startswith(
        "afa train: error: settings: train has unknown key 'epoch'; known: batch_size, checkpoint_every,")
    assert train_settings_error(tmp_path, {"model": {"kind": "bert"}, "method": method}) == \
        "afa train: error: settings: model.kind must be one of scratch, hf, llm, got 'bert'"
    assert train_settings_error(tmp_path, {"model": {"kind": "scratch"}, "methods": method}) == \
        "afa train: error: --settings: unknown key 'methods'; it holds model, method and (optionally) train"


def test_afa_train_help_lists_every_train_setting_with_its_default():
    import re

    from afa.train import TRAIN_CAPS, TRAIN_DEFAULTS

    text = " ".join(subprocess.run(["afa", "train", "--help"], capture_output=True, text=True).stdout.split())
    for key, default in TRAIN_DEFAULTS.items():
        assert re.search(rf"\b{key} {re.escape(str(default))}\b", text), f"--help lacks {key} {default}"
    assert all(k in text for k in TRAIN_CAPS)
