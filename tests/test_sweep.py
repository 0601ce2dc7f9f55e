"""The sweep: families × seeds fitted, scored and ensembled, on Ray or one after another."""

import json
import sys

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from pyro_deepseq import fit, sweep
from pyro_deepseq.data.synthetic import default_family, write_family
from pyro_deepseq.errors import DataError

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
    (family,) = sweep.read_runs(runs)
    assert family.alignment == str(tmp_path / "x.a2m") and family.mutations is None
    assert family.seeds == (3, 4) and family.model == "vanilla"
    assert family.fit_args[:2] == ("--steps", "100") and family.predict_args[-1] == "--no-plots"


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
        ("name,alignment\na,x.a2m\na,y.a2m\n", "repeated: a"),
        ("name,alignment\n", "no families in it"),
    ],
)
def test_read_runs_names_the_file_and_line_of_a_mistake(tmp_path, text, message):
    runs = write(tmp_path / "runs.csv", text)
    with pytest.raises(DataError, match=str(runs)) as error:
        sweep.read_runs(runs)
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
    assert "[10 done, 0 running, 3 failed, 13 jobs" in printed
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
    assert list(broken["status"]) == ["failed", "failed"]
    assert "missing.a2m: alignment file not found" in broken["error"].iloc[0]
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
    assert "--no-plots --resume\n" in (folder / "fit.log").read_text()
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
