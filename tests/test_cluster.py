"""The sweep on a Ray cluster of several nodes: token, clear errors, and a node lost mid-fit.

The cluster is Ray's own testing harness (:mod:`tests.ray_cluster`) on loopback, with token
authentication on, as the guide's recipe sets it up; the sweep runs as a user runs it, in a
process of its own.
"""

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from pyro_deepseq.data.synthetic import default_family
from pyro_deepseq.workflows.cluster import problem

from .conftest import write

pytest.importorskip("ray")

TINY_FIT = "--steps 100 --latent-dim 4 --encoder-hidden 64 --decoder-hidden 16 64 --batch-size 64"
#: Long enough to lose its node after a checkpoint and before its end.
LONG_FIT = TINY_FIT.replace("--steps 100", "--steps 3000 --checkpoint-every 50 --log-every 50")
HEADER = "name,alignment,mutations,model,seeds,fit_args,predict_args\n"


class RayCluster:
    """The harness in its child process: its address, and commands to add or remove nodes."""

    def __init__(self, env: dict):
        harness = Path(__file__).with_name("ray_cluster.py")
        self.process = subprocess.Popen(
            [sys.executable, str(harness)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.address = self.process.stdout.readline().strip()

    def ask(self, command: str) -> None:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        assert self.process.stdout.readline().strip() == "ok", command

    def stop(self) -> None:
        self.process.communicate("quit\n", timeout=120)


@pytest.fixture(scope="module")
def token_env(tmp_path_factory):
    """The environment of every node and of the sweep: token authentication, a token file."""
    token = tmp_path_factory.mktemp("token") / "auth_token"
    token.write_text(secrets.token_hex(32))
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
    return {**env, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token)}


@pytest.fixture(scope="module")
def cluster(token_env):
    """A head node without CPUs and one worker node with one."""
    cluster = RayCluster(token_env)
    try:
        cluster.ask("add 1")
        yield cluster
    finally:
        cluster.stop()


def sweep(runs: Path, out: Path, address: str, env: dict, log=None):
    """``deepseq sweep`` in a process of its own: run to its end, or started printing to ``log``."""
    argv = [sys.executable, "-m", "pyro_deepseq", "sweep", str(runs), "--out", str(out)]
    argv += ["--address", address]
    if log is None:
        return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)


def runs_file(folder: Path, fit: str = TINY_FIT) -> Path:
    a2m, dms = default_family()
    return write(folder / "runs.csv", HEADER + f"synth,{a2m},{dms},vanilla,0,{fit},--samples 10\n")


def a_closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def assert_one_line_error(done, *words: str) -> None:
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert all(word in lines[0] for word in words), lines[0]


def test_no_cluster_at_the_address_is_one_line_naming_the_fix(tmp_path):
    port = a_closed_port()
    done = sweep(runs_file(tmp_path), tmp_path / "out", f"127.0.0.1:{port}", dict(os.environ))
    assert_one_line_error(done, f"no Ray cluster answers at 127.0.0.1:{port}", "ray start --head")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "change, says",
    [
        ({"RAY_AUTH_TOKEN": "not-the-cluster-token"}, "this machine's token is not the cluster's"),
        ({"RAY_AUTH_MODE": "disabled"}, "it asks for a token and this machine sends none"),
        ({"RAY_AUTH_TOKEN_PATH": "/nonexistent/auth_token"}, "this machine has no token"),
    ],
)
def test_a_wrong_or_missing_token_is_one_line_naming_the_fix(
    tmp_path, cluster, token_env, change, says
):
    done = sweep(runs_file(tmp_path), tmp_path / "out", cluster.address, {**token_env, **change})
    assert_one_line_error(done, says, "RAY_AUTH_MODE=token")


def test_a_node_lost_during_a_fit_is_retried_elsewhere_and_resumes(tmp_path, cluster, token_env):
    """The fit's node is removed after a checkpoint; the sweep, one command, still completes."""
    out = tmp_path / "out"
    folder = out / "synth" / "seed0"
    log = tmp_path / "sweep.log"
    with open(log, "w") as handle:
        running = sweep(runs_file(tmp_path, LONG_FIT), out, cluster.address, token_env, handle)
        try:
            deadline = time.monotonic() + 180
            while not (folder / "model.pt").exists() and running.poll() is None:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
            cluster.ask("remove 0")  # the only worker node: the fit's
            cluster.ask("add 1")  # where the fit is tried again
            assert running.wait(timeout=240) == 0, log.read_text()
        finally:
            running.kill()
    printed = log.read_text()
    summary = pd.read_csv(out / "summary.csv", dtype={"seed": str}).set_index("seed")
    assert (summary["status"] == "done").all()
    assert summary.loc["0", "fit_tries"] == 2 and summary.loc["0", "steps"] == 3000
    assert 0 < summary.loc["0", "resumed_from"] < 3000  # from its checkpoint, not from step 0
    assert summary.loc["0", "retried"].startswith("fit try 1: its node (")  # and its address
    assert summary.loc["0", "retried"].endswith(") was lost: pre-empted, stopped or crashed")
    assert "was lost: pre-empted, stopped or crashed; trying again (try 2 of 3" in printed
    history = pd.read_csv(folder / "history.csv")
    assert list(history["step"]) == list(range(50, 3001, 50))
    log = (folder / "fit.log").read_text()
    assert f"resuming from step {int(summary.loc['0', 'resumed_from']):,}" in log


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_tune_runs_unchanged_against_the_cluster(tmp_path, cluster, token_env):
    pytest.importorskip("ray.tune")
    space = {"model": ["vanilla"], "latent_dim": [2, 4], "encoder_hidden": [[32]]}
    write(tmp_path / "space.json", json.dumps(space))
    argv = [sys.executable, "-m", "pyro_deepseq", "tune", str(default_family()[0])]
    argv += ["--out", str(tmp_path / "search"), "--space", str(tmp_path / "space.json")]
    argv += ["--trials", "2", "--steps", "100", "--rungs", "1", "--address", cluster.address]
    done = subprocess.run(argv, capture_output=True, text=True, env=token_env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    trials = pd.read_csv(tmp_path / "search" / "trials.csv")
    drawn = trials[trials["trial"] != "site-independent"]
    assert len(drawn) == 2 and (drawn["steps"] == 100).all() and len(trials) == 3
    assert (tmp_path / "search" / "best" / "model.pt").exists()


def test_what_a_node_lacks_is_named_with_the_fix():
    """The messages of :func:`check_nodes` (one machine's nodes cannot lack a file or folder)."""
    fine = {"package": True, "marker": "m", "missing": []}
    assert problem("10.0.0.7", fine, "m", "/scratch/out") is None
    no_package = problem("10.0.0.7", {**fine, "package": False}, "m", "/scratch/out")
    assert no_package.startswith("node 10.0.0.7 cannot import pyro_deepseq: install it")
    missing = problem("10.0.0.7", {**fine, "missing": ["/data/a.a2m"]}, "m", "/scratch/out")
    assert "node 10.0.0.7 does not see /data/a.a2m" in missing and "shared file system" in missing
    unshared = problem("10.0.0.7", {**fine, "marker": None}, "m", "/scratch/out")
    assert "does not see the output folder /scratch/out" in unshared
    assert "would not find its checkpoint" in unshared
