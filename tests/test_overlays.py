"""Every overlay in config/ builds its DAG (dry run) on top of config/paper.yaml and the mirror:
the schema accepts it, its methods and datasets resolve, its outdir is its own, and the runs its DAG
trains are its run table's (afa.runs), no more and no fewer."""

import re
import subprocess

import pytest
from conftest import REPO

from afa import config_check
from afa.runs import RunTable

BASES = {"config.yaml", "paper.yaml", "mirror.yaml", "schema.yaml"}
OVERLAYS = sorted(p.name for p in (REPO / "config").glob("*.yaml") if p.name not in BASES)
STACKED = {"speed_check_plain.yaml": ["speed_check.yaml"],   # an overlay of an overlay, as its header says
           "claims_finished.yaml": ["claims.yaml"], "paper_sst2_recipe.yaml": ["claims.yaml"],
           "disc_study.yaml": ["claims.yaml"]}
# overlays that narrow another's runs and render into its outdir on purpose (profiles/report, from its files)
NARROWING = {"claims_finished.yaml"}


def outdir(name):
    found = re.search(r"^outdir:\s*(\S+)", (REPO / "config" / name).read_text(), re.M)
    return found.group(1) if found else None


def test_the_known_overlays_are_found():
    assert {"claims.yaml", "cpu.yaml", "llm.yaml", "signal.yaml"} <= set(OVERLAYS)


def trained(stdout):
    """(dataset, model, method, seed) of every train job a dry run's output lists."""
    jobs = re.findall(r"^(?:local)?rule train:\n(?:    .*\n)*?    wildcards: dataset=(\w+), model=(\w+), method=(\w+), "
                      r"seed=(\d+)", stdout, re.M)
    return sorted((ds, m, meth, int(s)) for ds, m, meth, s in jobs)


def table_runs(files):
    config = config_check.check([REPO / f for f in files], base=REPO / "config/config.yaml",
                                schema=REPO / "config/schema.yaml")
    return sorted((r.dataset, r.model, r.method, r.seed) for r, _ in RunTable(config).runs())


@pytest.mark.parametrize("overlay", [None, *OVERLAYS])
def test_overlay_builds_its_dag_and_trains_its_run_table(overlay):
    """None: config/config.yaml alone (the sample, README command 1), the others on paper.yaml and the mirror."""
    stack = [*STACKED.get(overlay, []), overlay] if overlay else []
    files = ["config/paper.yaml", "config/mirror.yaml", *(f"config/{o}" for o in stack)] if overlay else []
    r = subprocess.run(["snakemake", "-n", "--forceall", "--nolock", "--cores", "1",
                        *(["--configfile", *files] if files else [])], cwd=REPO, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    if overlay:
        # the last outdir of the stack, else paper.yaml's; never the sample's (README command 1 owns it)
        assert next((d for d in map(outdir, reversed(stack)) if d), outdir("paper.yaml")) != "results/sample"
    assert re.search(r"^total\s+\d+", r.stdout, re.M), r.stdout[-2000:]
    jobs = trained(r.stdout)
    assert jobs and jobs == table_runs(files)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_afa_check_config_accepts_every_overlay(overlay):
    stack = ["paper.yaml", "mirror.yaml", *STACKED.get(overlay, []), overlay]
    r = subprocess.run(["afa", "check-config", "--configfile", *(f"config/{o}" for o in stack)], cwd=REPO,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.startswith("config OK: outdir "), r.stderr


def test_no_two_overlays_write_one_outdir():
    """Each overlay's results are its own folder (results/paper is the claims overlay's alone): two
    overlays on one outdir would take each other's committed outputs as up to date."""
    dirs = {o: next((d for d in map(outdir, reversed([*STACKED.get(o, []), o])) if d), outdir("paper.yaml"))
            for o in OVERLAYS if o not in NARROWING}
    assert dirs["claims.yaml"] == "results/paper"
    assert all(outdir(o) is None for o in NARROWING)  # a narrowing overlay keeps its parent's outdir
    assert len(set(dirs.values())) == len(dirs), dirs


def test_the_discriminator_study_trains_only_its_two_baselines():
    """config/disc_study.yaml's header: only the baselines its cells read train there. Its per_dataset
    merges into claims.yaml's (recursively), so a dataset it names without `methods` would keep the
    claims grid's AFA columns and train them into results/discriminator."""
    runs = table_runs(["config/paper.yaml", "config/mirror.yaml", "config/claims.yaml", "config/disc_study.yaml"])
    assert runs == [("imdb", "scratch", "baseline", 1), ("sst2", "scratch", "baseline", 1)]
