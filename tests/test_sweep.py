"""The sweep: families × seeds fitted, scored and ensembled, on Ray or one after another."""

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import spearmanr

from pyro_deepseq.cli import fit, sweep
from pyro_deepseq.data.synthetic import default_family, write_family
from pyro_deepseq.errors import DataError
from pyro_deepseq.inference.checkpoint import load_checkpoint
from pyro_deepseq.workflows import retries
from pyro_deepseq.workflows.runs import read_runs

from .conftest import write

TINY_FIT = (
    "--steps 100 --latent-dim 4 --encoder-hidden 64 --decoder-hidden 16 64 --batch-size 64 "
    "--no-plots"
)
HEADER = "name,alignment,mutations,model,seeds,fit_args,predict_args\n"


def family_row(name: str, a2m, dms, seeds: str = "0 1") -> str:
    return f"{name},{a2m},{dms},vanilla,{seeds},{TINY_FIT},--samples 10 --no-plots\n"


@pytest.fixture(scope="module")
def families(tmp_path_factory):
    """Two small synthetic families: the embedded one and another drawn with seed 1."""
    folder = tmp_path_factory.mktemp("families")
    other = write_family(folder / "other", seed=1)
    return default_family(), other


def test_read_runs_resolves_paths_and_parses_arguments(tmp_path):
    runs = write(tmp_path / "runs.csv", HEADER + family_row("a", "x.a2m", "", seeds='"3,4"'))
    (family,) = read_runs(runs)
    assert family.alignment == str(tmp_path / "x.a2m") and family.mutations is None
    assert family.seeds == (3, 4) and family.model == "vanilla"
    assert family.fit_args[:2] == ("--steps", "100") and family.predict_args[-1] == "--no-plots"
    settings = dict(family.settings)  # what the fit job gives DeepSequence
    assert settings == {
        "model": "vanilla",
        "steps": 100,
        "latent_dim": 4,
        "encoder_hidden": (64,),
        "decoder_hidden": (16, 64),
        "batch_size": 64,
    }
    assert dict(family.scoring)["samples"] == 10


@pytest.mark.parametrize(
    "text, message",
    [
        ("name,alignment,colour\na,x.a2m,red\n", "unknown columns ['colour']"),
        ("name,mutations\na,x.csv\n", "needs the columns alignment"),
        ("name,alignment\na,\n", "line 2: alignment is empty"),
        ("name,alignment\na,x.a2m\nb c,x.a2m\n", "line 3: name 'b c' must be"),
        ("name,alignment,seeds\na,x.a2m,0 zero\n", "line 2: invalid literal"),
        ("name,alignment,seeds\na,x.a2m,1 1\n", "line 2: seeds must be distinct"),
        ("name,alignment,fit_args\na,x.a2m,--steps 'unclosed\n", "line 2: No closing quotation"),
        ("name,alignment,fit_args\na,x.a2m,--steps many\n", "line 2: fit_args: argument --steps"),
        ("name,alignment,fit_args\na,x.a2m,--out here\n", "line 2: fit_args: --out here is not"),
        ("name,alignment,predict_args\na,x.a2m,--samples\n", "line 2: predict_args: argument"),
        ("name,alignment\na,x.a2m\na,y.a2m\n", "repeated: a"),
        ("name,alignment\n", "no families in it"),
    ],
)
def test_read_runs_names_the_file_and_line_of_a_mistake(tmp_path, text, message):
    runs = write(tmp_path / "runs.csv", text)
    with pytest.raises(DataError, match=str(runs)) as error:
        read_runs(runs)
    assert message in str(error.value)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_sweep_on_local_ray_then_skips_what_is_done(tmp_path, families, capsys):
    pytest.importorskip("ray")
    (a2m, dms), (other_a2m, other_dms) = families
    runs = write(
        tmp_path / "runs.csv",
        HEADER
        + family_row("synth", a2m, dms)
        + family_row("other", other_a2m, other_dms)
        + family_row("broken", tmp_path / "missing.a2m", dms, seeds="0"),
    )
    out = tmp_path / "sweep"
    argv = [str(runs), "--out", str(out), "--cpus-per-job", "1"]
    assert sweep.main(argv) == 1  # the broken family failed; the others finished
    printed = capsys.readouterr().out
    assert "[10 done, 0 running, 1 failed, 2 skipped, 13 jobs" in printed
    summary = pd.read_csv(out / "summary.csv", dtype={"seed": str})
    assert list(summary["family"]) == ["synth"] * 3 + ["other"] * 3 + ["broken"] * 2
    assert list(summary["seed"]) == ["0", "1", "ensemble"] * 2 + ["0", "ensemble"]
    good = summary[summary["family"] != "broken"]
    assert (good["status"] == "done").all() and good["error"].isna().all()
    assert (good["n_scored"] == 2140).all()
    seeds = good[good["seed"] != "ensemble"]
    assert (seeds["steps"] == 100).all() and (seeds["device"] == "cpu").all()
    assert (seeds["rho"] > 0.45).all()  # 100 tiny steps; measured 0.67-0.72
    broken = summary[summary["family"] == "broken"]
    assert list(broken["status"]) == ["failed", "skipped"]
    assert "missing.a2m: alignment file not found" in broken["error"].iloc[0]
    assert broken["error"].iloc[1] == "fit seed 0 failed"  # the cause is on the failing row
    assert "score broken seed 0: skipped: fit seed 0 failed" in printed
    assert (out / "summary.png").stat().st_size > 5000

    for family in ("synth", "other"):  # what the sweep wrote is what fit and predict write
        folder = out / family
        members = [pd.read_csv(folder / f"seed{k}" / "predictions.csv") for k in (0, 1)]
        assert all((folder / f"seed{k}" / "model.pt").is_file() for k in (0, 1))
        together = pd.read_csv(folder / "ensemble_predictions.csv")
        mean = (members[0]["prediction"] + members[1]["prediction"]) / 2
        np.testing.assert_allclose(together["prediction"], mean)
        rho = spearmanr(together["prediction"], together["DMS_score"]).statistic
        row = summary[(summary["family"] == family) & (summary["seed"] == "ensemble")]
        assert row["rho"].iloc[0] == pytest.approx(rho)
        assert f"{family}: ensemble ρ = {rho:.4f} over 2,140 variants" in printed

    checkpoint = out / "synth" / "seed0" / "model.pt"
    written = checkpoint.stat().st_mtime_ns
    assert sweep.main(argv) == 1  # again: completed jobs are skipped, the failed one retried
    printed = capsys.readouterr().out
    assert printed.count("skipped (done before)") == 8
    assert "fit broken seed 0: failed" in printed
    assert checkpoint.stat().st_mtime_ns == written
    again = pd.read_csv(out / "summary.csv", dtype={"seed": str})
    pd.testing.assert_series_equal(again["rho"], summary["rho"])


def test_sequential_sweep_resumes_a_fit_that_was_cut_off(tmp_path, families, capsys):
    (a2m, dms), _ = families
    runs = write(tmp_path / "runs.csv", HEADER + family_row("synth", a2m, dms, seeds="0"))
    folder = tmp_path / "sweep" / "synth" / "seed0"
    first = [f"--alignment={a2m}", "--model=vanilla", "--out", str(folder), "--quiet"]
    assert fit.main([*first, *TINY_FIT.split()[2:], "--steps", "40"]) == 0  # cut off at 40
    assert sweep.main([str(runs), "--out", str(tmp_path / "sweep"), "--sequential"]) == 0
    record = json.loads((folder / "fit.json").read_text())
    assert record["status"] == "done" and record["steps"] == 100
    assert "resuming from step 40" in (folder / "fit.log").read_text()
    assert "ensemble synth: done" in capsys.readouterr().out


def test_a_changed_job_is_not_mixed_with_the_old_one(tmp_path, families, capsys):
    (a2m, dms), _ = families
    runs = write(tmp_path / "runs.csv", HEADER + family_row("synth", a2m, "", seeds="0"))
    argv = [str(runs), "--out", str(tmp_path / "sweep"), "--sequential"]
    assert sweep.main(argv) == 0
    runs.write_text(runs.read_text().replace("--steps 100", "--steps 150"))
    assert sweep.main(argv) == 1
    summary = pd.read_csv(tmp_path / "sweep" / "summary.csv")
    assert "was run with other settings" in summary["error"].iloc[0]
    assert "fit synth seed 0: failed" in capsys.readouterr().out


def test_without_ray_the_sweep_says_how_to_get_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    runs = write(tmp_path / "runs.csv", "name,alignment\na,x.a2m\n")
    assert sweep.main([str(runs), "--out", str(tmp_path / "sweep")]) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: the sweep runs on Ray")
    assert "pip install -e '.[cluster]'" in error


# --- failures: workers killed, user errors, Ctrl-C ---------------------------------------------

KILLABLE_FIT = TINY_FIT.replace("--steps 100", "--steps 2000 --checkpoint-every 20 --log-every 10")


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _workers_running(function: str) -> list[int]:
    """Pids of this test's Ray workers running ``function`` now (from their process titles)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if not (entry / "cmdline").read_bytes().startswith(f"ray::{function}".encode()):
                continue
            pid = int(entry.name)
            while pid > 1 and pid != os.getpid():  # only workers of the Ray this process started
                pid = _parent(pid)
        except (OSError, ValueError, IndexError):
            continue
        if pid == os.getpid():
            found.append(int(entry.name))
    return found


def _when(condition, seconds: float = 600) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError
        time.sleep(0.02)


def _in_background(action) -> threading.Thread:
    thread = threading.Thread(target=action, daemon=True)
    thread.start()
    return thread


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_fit_whose_worker_is_killed_resumes_and_ends_as_if_never_killed(
    tmp_path, families, capfd
):
    pytest.importorskip("ray")
    (a2m, dms), _ = families
    row = family_row("synth", a2m, dms, seeds="0").replace(TINY_FIT, KILLABLE_FIT)
    runs = write(
        tmp_path / "runs.csv",
        HEADER + row + family_row("broken", tmp_path / "missing.a2m", dms, seeds="0"),
    )
    out = tmp_path / "sweep"
    folder = out / "synth" / "seed0"
    killed = {}

    def kill_the_fit_after_its_first_checkpoint():
        _when(lambda: (folder / "model.pt").exists() and len(_workers_running("fit_job")) == 1)
        (pid,) = _workers_running("fit_job")  # the other family's fit failed at once
        os.kill(pid, signal.SIGKILL)
        killed["history"] = load_checkpoint(folder / "model.pt")["progress"]["history"]

    killer = _in_background(kill_the_fit_after_its_first_checkpoint)
    assert sweep.main([str(runs), "--out", str(out), "--cpus-per-job", "1"]) == 1  # broken
    killer.join()
    printed = capfd.readouterr()
    at = killed["history"]["step"][-1]
    assert 20 <= at < 2000  # killed after its first checkpoint, before its end

    summary = pd.read_csv(out / "summary.csv", dtype={"seed": str})
    synth = summary[summary["family"] == "synth"]
    assert (synth["status"] == "done").all() and synth["error"].isna().all()
    assert list(synth["fit_tries"].fillna(0)) == [2, 0] and synth["steps"].iloc[0] == 2000
    assert "fit synth seed 0: its worker process died (killed, or crashed); trying again " in (
        printed.out
    )
    assert printed.out.count("trying again") == 1  # the user's error is not tried again
    broken = summary[summary["family"] == "broken"].set_index("seed")
    assert (
        broken.loc["0", "fit_tries"] == 1
        and "missing.a2m: alignment file" in (broken.loc["0", "error"])
    )
    assert broken.loc["ensemble", "status"] == "skipped"
    assert "ensemble broken: skipped: fit seed 0 failed" in printed.out

    # The try after the kill resumed from the checkpoint: the rows written before the kill are
    # kept as they were (their clock times too), and the run ends where an unkilled one does.
    history = pd.read_csv(folder / "history.csv")
    assert list(history["step"]) == list(range(10, 2001, 10))
    before = history[history["step"] <= at]
    np.testing.assert_array_equal(before["seconds"], killed["history"]["seconds"])
    log = (folder / "fit.log").read_text()
    assert log.count("\n$ ") + log.startswith("$ ") == 2 and "resuming from step" in log
    reference = tmp_path / "reference"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the job had
    try:
        argv = ["--alignment", str(a2m), "--seed", "0", "--out", str(reference), "--quiet"]
        assert fit.main([*argv, "--model=vanilla", *KILLABLE_FIT.split()]) == 0
    finally:
        torch.set_num_threads(threads)
    resumed, unbroken = (load_checkpoint(f)["state_dict"] for f in (folder, reference))
    for name, value in unbroken.items():
        assert torch.equal(resumed[name], value), name
    unkilled = pd.read_csv(reference / "history.csv")
    np.testing.assert_array_equal(history["loss"], unkilled["loss"])

    files = [out / "summary.csv", *out.rglob("*.log"), *out.rglob("*.json")]
    for text in [printed.out, printed.err, *(f.read_text() for f in files)]:
        assert "\x1b" not in text  # no terminal escape codes


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_ctrl_c_stops_the_sweep_with_its_fits_saved(tmp_path, families, capfd):
    pytest.importorskip("ray")
    (a2m, _), _ = families
    row = family_row("synth", a2m, "", seeds="0").replace(TINY_FIT, KILLABLE_FIT)
    runs = write(tmp_path / "runs.csv", HEADER + row)
    folder = tmp_path / "sweep" / "synth" / "seed0"
    argv = [str(runs), "--out", str(tmp_path / "sweep")]

    def ctrl_c_after_the_first_checkpoint():
        _when(lambda: (folder / "model.pt").exists())
        os.kill(os.getpid(), signal.SIGINT)

    interrupter = _in_background(ctrl_c_after_the_first_checkpoint)
    assert sweep.main(argv) == 130
    interrupter.join()
    assert "interrupted: stopping 1 running jobs" in capfd.readouterr().err
    assert "interrupted at step" in (folder / "fit.log").read_text()  # it saved on the way out
    assert not (folder / "fit.json").exists()  # no outcome: the next run continues it
    assert sweep.main([*argv, "--sequential"]) == 0
    assert json.loads((folder / "fit.json").read_text())["steps"] == 2000
    assert "resuming from step" in (folder / "fit.log").read_text()


def test_ray_failures_are_told_apart():
    exceptions = pytest.importorskip("ray.exceptions")
    crashed = retries.diagnose(exceptions.WorkerCrashedError())
    assert crashed.retriable and not crashed.out_of_memory
    assert retries.diagnose(exceptions.NodeDiedError("node 1 died")).retriable
    cause = DataError("x.a2m: alignment file not found")
    bug = exceptions.RayTaskError("fit_job", "Traceback ...", cause)
    told = retries.diagnose(bug)
    assert not told.retriable and told.message == "DataError: x.a2m: alignment file not found"
    text = (
        "Task was killed due to the node running low on memory.\n\x1b[36mMemory on the node "
        "(IP: 10.0.0.1, ID: ab) where the task (task ID: cd, name=fit_job, pid=7, memory used="
        "3.00GB) was running was 15.50GB / 16.00GB (0.97), which exceeds the threshold"
    )
    memory = retries.diagnose(exceptions.OutOfMemoryError(text))
    assert memory.retriable and memory.memory_used == 3e9
    assert memory.message == (
        "killed for lack of memory (it had 3.00 GB of a node using 15.50 of 16.00 GB)"
    )
    assert retries.memory_request(memory, largest_node=10e9) == 3.75e9
    assert retries.memory_request(memory, largest_node=2e9) is None  # no node has enough
    assert "a larger --cpus-per-job" in retries.given_up(memory, 1, no_node_fits=True)
    unsaid = retries.diagnose(exceptions.OutOfMemoryError("Task was killed"))
    assert retries.memory_request(unsaid, largest_node=10e9) == 10e9  # alone on a node
    assert (
        retries.plain("\x1b[36mray::ensemble_job()\x1b[39m (pid=1)")
        == "ray::ensemble_job() (pid=1)"
    )


def test_a_job_whose_fit_failed_is_skipped_saying_which(tmp_path, families, capsys):
    (_, dms), _ = families
    runs = write(
        tmp_path / "runs.csv", HEADER + family_row("broken", tmp_path / "no.a2m", dms, seeds="0 1")
    )
    assert sweep.main([str(runs), "--out", str(tmp_path / "sweep"), "--sequential"]) == 1
    printed = capsys.readouterr().out
    assert "score broken seed 1: skipped: fit seed 1 failed" in printed
    assert "ensemble broken: skipped: fit seeds 0, 1 failed" in printed
    assert "2 of 3 rows failed, 1 skipped" in printed
