"""The sample DAG through the Slurm profile, on a real one-node Slurm cluster started for the test.

Needs Debian's slurm-wlm and munge (``.ci/run`` installs them). Outside CI the test is skipped when
they are missing; in CI (CI=true) their absence is a failure, so the test can never pass vacuously.
The node declares one GPU (gres, File=/dev/null), so the profile's GPU requests are really scheduled.
"""

import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from conftest import REPO

BINARIES = ("slurmctld", "slurmd", "sbatch", "squeue", "munged", "munge")
if not all(shutil.which(b) for b in BINARIES):
    if os.environ.get("CI"):
        pytest.fail("Slurm or munge is not installed; .ci/run must install slurm-wlm and munge", pytrace=False)
    pytest.skip("slurm-wlm and munge are not installed", allow_module_level=True)

pytestmark = pytest.mark.slow

CONF = """ClusterName=afa-test
SlurmctldHost={host}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/slurmctld.log
SlurmdLogFile={d}/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
GresTypes=gpu
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
ReturnToService=2
# the profile asks for more CPUs and memory than a CI machine has: declare them, don't drain
SlurmdParameters=config_overrides
NodeName={host} CPUs=8 RealMemory=64000 Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


def munge_works():
    return subprocess.run("munge -n | unmunge", shell=True, capture_output=True).returncode == 0


# The config must sit at Slurm's default path: snakemake's jobstep executor strips every SLURM_*
# variable, SLURM_CONF included, before its nested srun (as on a real cluster, which has /etc/slurm).
ETC = Path("/etc/slurm")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if (ETC / "slurm.conf").exists() and "afa-test" not in (ETC / "slurm.conf").read_text():
        pytest.skip("this machine has a real Slurm configuration in /etc/slurm; not overwriting it")
    d = tmp_path_factory.mktemp("slurm")
    (d / "state").mkdir()
    (d / "spool").mkdir()
    host = socket.gethostname().split(".")[0]
    ETC.mkdir(exist_ok=True)
    (ETC / "slurm.conf").write_text(CONF.format(host=host, d=d))
    (ETC / "gres.conf").write_text("AutoDetect=off\nName=gpu File=/dev/null Count=1\n")
    env = {**os.environ, "SLURM_CONF": str(ETC / "slurm.conf")}
    started = []
    if not munge_works():
        os.makedirs("/run/munge", exist_ok=True)
        shutil.chown("/run/munge", "munge", "munge")
        started.append(subprocess.Popen(["runuser", "-u", "munge", "--", "munged", "--foreground"]))
        for _ in range(50):
            if munge_works():
                break
            time.sleep(0.1)
    started += [subprocess.Popen([daemon, "-D", "-f", env["SLURM_CONF"]], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                for daemon in ("slurmctld", "slurmd")]
    try:
        for _ in range(100):
            out = subprocess.run(["sinfo", "-h", "-o", "%t"], env=env, capture_output=True, text=True).stdout
            if out.strip() == "idle":
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"the Slurm node never became idle: {out!r}\n{(d / 'slurmctld.log').read_text()[-2000:]}")
        yield env, d
    finally:
        for p in reversed(started):  # stop only the daemons this test started
            p.terminate()
            p.wait(timeout=30)
        for name in ("slurm.conf", "gres.conf"):
            (ETC / name).unlink()


def test_sample_dag_runs_through_slurm(cluster, tmp_path):
    env, d = cluster
    for part in ("Snakefile", "workflow", "config", "notebooks", "env", "profiles"):
        src = REPO / part
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / part)
    # the one place a user sets partition and account
    profile = tmp_path / "profiles" / "slurm" / "config.yaml"
    cfg = yaml.safe_load(profile.read_text())
    cfg["default-resources"].update(slurm_partition="debug", slurm_account="ci")
    profile.write_text(yaml.safe_dump(cfg))
    (tmp_path / "override.yaml").write_text(yaml.safe_dump({
        "datasets": ["sst2"], "seeds": [1], "threads": {"train": 1},
        "data": {"source": "sample", "max_train": 100, "max_test": 50},
        "train": {"epochs": 1, "batch_size": 32, "lr": 1.0e-3}, "robustness": {"n": 3, "query_budget": 100},
        "per_dataset": {"sst2": {"methods": ["baseline", "afa"]}},  # not the sample's variant grid
        "probe": {"datasets": []},  # 100 train rows leave the probe no usable validation sentence
        "claims": {"control_seeds": []}}))  # 2 train jobs: no A/A control baseline
    r = subprocess.run(["snakemake", "--profile", "profiles/slurm", "--slurm-init-seconds-before-status-checks", "1",
                        "--seconds-between-status-checks", "2", "--configfile", "override.yaml"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1200)
    log = r.stdout + r.stderr
    assert r.returncode == 0, log[-4000:]
    assert (tmp_path / "results/sample/main_table.csv").exists()
    ctld = (d / "slurmctld.log").read_text()
    submitted = set(re.findall(r"SLURM jobid (\d+)", log)) | set(re.findall(r"jobid (\d+)", log))
    # the main scheduler logs "sched: Allocate", the backfill scheduler "_start_job: Started"
    allocated = set(re.findall(r"(?:sched: Allocate|_start_job: Started) JobId=(\d+)", ctld))
    # download, prepare, 2 x train, 2 x evaluate, main_table: every job went through the scheduler
    assert len(allocated) >= 7, (allocated, log[-2000:])
    assert submitted and submitted <= allocated
    # the training jobs asked the scheduler for the declared GPU, and got it
    train_jobs = re.findall(r"SLURM jobid (\d+) \(log: [^)]*rule_train/", log)
    assert len(train_jobs) == 2
    for job in train_jobs:
        shown = subprocess.run(["scontrol", "show", "job", job], env=env, capture_output=True, text=True).stdout
        assert "gres/gpu=1" in shown or "gres:gpu:1" in shown, shown
