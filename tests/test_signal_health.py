"""The signal-health notebook on synthetic run folders whose per-run numbers are known by hand."""

import csv
import json
import subprocess

import pytest
from conftest import REPO

AFA = {"objective": "afa", "masking": "replace", "reward": "detect"}
METHODS = {"baseline": {"objective": "baseline"}, "afa": AFA,
           "afa_delete_cd": {**AFA, "masking": "delete", "reward": "confidence_drop",  # no D, so no D accuracy
                             "entropy_weight": 0.3}}


def disc_acc(seed, step):
    return 0.6 + 0.01 * step + 0.001 * seed  # rises over training, differs by seed


def write_run(root, dataset, method, seed, steps, polar):
    """A run logged at steps 1..steps (one line each) and at the end of its only epoch."""
    run = root / "models" / dataset / "scratch" / method / f"seed{seed}"
    run.mkdir(parents=True)
    lines = []
    for step in range(1, steps + 1):
        line = {"step": step, "epoch": 0, "L_cls": 0.7, "attn_entropy": 2.0 - 0.1 * step}
        if METHODS[method]["objective"] == "afa":
            beta = METHODS[method].get("entropy_weight", 0)
            line.update(L_adv=0.01 - beta * line["attn_entropy"], reward=0.3, adv_sd=0.05 * seed,
                        identical_masks=0.25, explore_rate=0.1)
            if METHODS[method]["reward"] != "confidence_drop":
                line["disc_acc"] = disc_acc(seed, step)
        if polar:
            line["polar_mass"] = 0.2 + 0.01 * step
        lines.append(line)
    ends = [{**lines[-1], "step": steps, "val_acc": 0.8, "epoch_end": True}] if lines else [
        {"step": 5, "epoch": 0, "L_cls": 0.7, "attn_entropy": 1.5, "val_acc": 0.7, "epoch_end": True}]
    (run / "dynamics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines + ends))
    (run / "train_metrics.json").write_text(json.dumps({
        "dataset": dataset, "seed": seed, "method": METHODS[method], "val_acc": 0.8 + 0.01 * seed,
        "steps": max(steps, 5), "wall_s": 12.5, "history": []}))
    return run / "train_metrics.json"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """sst2 (with a lexicon): three methods, two seeds, nine logged lines; imdb: baseline only, no lexicon,
    seed 2 shorter than log_every (epoch means only)."""
    tmp_path = tmp_path_factory.mktemp("runs")
    files = [write_run(tmp_path, "sst2", m, s, 9, polar=True) for m in METHODS for s in (1, 2)]
    files += [write_run(tmp_path, "imdb", "baseline", s, 9 if s == 1 else 0, polar=False) for s in (1, 2)]
    out = tmp_path / "out"
    params = {"metric_files": [str(f) for f in files], "out_csv": str(out / "s.csv"), "out_png": str(out / "s.png")}
    out.mkdir()
    r = subprocess.run(["afa", "render", "--notebook", str(REPO / "notebooks" / "signal_health.py"),
                        "--out", str(out / "s.ipynb"), "--html", str(out / "s.html"),
                        "--parameters", json.dumps(params)], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    rows = {(r["dataset"], r["method"], int(r["seed"])): r for r in csv.DictReader(open(out / "s.csv"))}
    return out, rows


def test_one_row_per_run_with_settings(rendered):
    out, rows = rendered
    assert set(rows) == {("sst2", m, s) for m in METHODS for s in (1, 2)} | {("imdb", "baseline", s) for s in (1, 2)}
    cd = rows[("sst2", "afa_delete_cd", 1)]
    assert (cd["model"], cd["masking"], cd["reward"]) == ("scratch", "delete", "confidence_drop")
    assert rows[("sst2", "baseline", 1)]["masking"] == ""
    assert float(rows[("sst2", "afa", 2)]["val_acc"]) == pytest.approx(0.82)
    assert rows[("sst2", "afa", 2)]["steps"] == "9" and float(rows[("sst2", "afa", 2)]["wall_s"]) == 12.5
    assert (out / "s.png").stat().st_size > 0 and (out / "s.html").stat().st_size > 0


def test_thirds_and_first_last_values(rendered):
    _, rows = rendered
    afa = rows[("sst2", "afa", 2)]
    # nine logged lines: early = steps 1-3, late = steps 7-9; the epoch-end line is not a logged batch
    assert float(afa["disc_acc_early"]) == pytest.approx(sum(disc_acc(2, s) for s in (1, 2, 3)) / 3, abs=1e-4)
    assert float(afa["disc_acc_late"]) == pytest.approx(sum(disc_acc(2, s) for s in (7, 8, 9)) / 3, abs=1e-4)
    assert float(afa["adv_sd_late"]) == pytest.approx(0.1) and float(afa["identical_masks_mean"]) == 0.25
    assert [float(afa[c]) for c in ("attn_entropy_first", "attn_entropy_last", "polar_mass_first", "polar_mass_last")] \
        == pytest.approx([1.9, 1.1, 0.21, 0.29])
    assert afa["log_lines"] == "9"


def test_missing_signals_stay_empty_and_short_runs_use_epoch_means(rendered):
    _, rows = rendered
    cd, baseline = rows[("sst2", "afa_delete_cd", 1)], rows[("sst2", "baseline", 1)]
    assert cd["disc_acc_late"] == "" and cd["adv_sd_late"]  # confidence_drop has no D, but an advantage
    assert baseline["adv_sd_mean"] == "" and baseline["polar_mass_last"]  # polar mass is logged without AFA
    assert rows[("imdb", "baseline", 1)]["polar_mass_last"] == ""
    short = rows[("imdb", "baseline", 2)]  # shorter than log_every: its one epoch mean stands in
    assert float(short["attn_entropy_first"]) == 1.5 and short["log_lines"] == "1"


def test_empty_panels_say_why(rendered):
    out, _ = rendered
    text = "".join("".join(o.get("text", "")) for c in json.loads((out / "s.ipynb").read_text())["cells"]
                   for o in c.get("outputs", []))
    assert "imdb / scratch, D accuracy: no AFA run" in text
    assert "imdb / scratch, polar mass: no lexicon" in text
    assert "sst2 / scratch," not in text  # every sst2 signal was logged by some run
    assert "seeds" in text  # the per-method summary was printed


def test_policy_term_and_entropy_bonus_split_L_adv(rendered):
    _, rows = rendered
    # the synthetic L_adv is 0.01 - beta H: the policy term is 0.01 whatever beta is
    mean_H = sum(2.0 - 0.1 * s for s in range(1, 10)) / 9
    cd, afa = rows[("sst2", "afa_delete_cd", 1)], rows[("sst2", "afa", 1)]
    assert float(cd["entropy_bonus_mean"]) == pytest.approx(0.3 * mean_H, abs=1e-4)
    assert float(cd["policy_term_mean"]) == pytest.approx(0.01, abs=1e-4)
    assert float(afa["entropy_bonus_mean"]) == 0 and float(afa["policy_term_mean"]) == pytest.approx(0.01)
    assert rows[("sst2", "baseline", 1)]["policy_term_mean"] == ""  # no L_adv to split
