"""``deepseq tune``: a search of settings ranked by held-out likelihood, on Ray Tune."""

import json
import sys
from types import SimpleNamespace

import pandas as pd
import pytest

from pyro_deepseq import DeepSequence
from pyro_deepseq.cli import tune
from pyro_deepseq.data.synthetic import default_family
from pyro_deepseq.errors import DataError
from pyro_deepseq.workflows.tune import Search, read_space, table, trial_settings

from .conftest import write

SPACE = {
    "latent_dim": [2, 4],
    "encoder_hidden": [[32]],
    "decoder_hidden": [[16, 32]],
    "lr": {"loguniform": [1e-3, 1e-2]},
}


@pytest.mark.parametrize(
    "text, message",
    [
        ("{", "not JSON"),
        ("[]", "give an object of settings"),
        ('{"lr": []}', "lr: give a list of choices"),
        ('{"lr": {"normal": [0, 1]}}', "lr: give a list of choices or one of uniform"),
        ('{"latnt_dim": [2]}', "not settings of fit: latnt_dim"),
    ],
)
def test_a_bad_space_names_the_file_and_setting(tmp_path, text, message):
    path = write(tmp_path / "space.json", text)
    with pytest.raises(DataError, match=message) as raised:
        read_space(path)
    assert str(path) in str(raised.value)


def test_without_ray_tune_the_search_says_how_to_get_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    assert tune.main([str(default_family()[0]), "--out", str(tmp_path / "search")]) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: the search runs on Ray Tune, which is not installed")
    assert "pip install -e '.[cluster]'" in error


def test_a_bad_alignment_is_reported_before_ray_starts(tmp_path, capsys):
    bad = write(tmp_path / "bad.a2m", ">focus\nACDE\n>other\nAC\n")
    assert tune.main([str(bad), "--out", str(tmp_path / "search")]) == 1
    assert capsys.readouterr().err.startswith(f"error: {bad}, line 3: record 'other'")
    assert not (tmp_path / "search").exists()


def test_a_trial_takes_its_model_settings_only():
    search = Search("x.a2m", "out", SPACE, steps=300, holdout=0.2, seed=3)
    vae = trial_settings({"model": "bayesian", "latent_dim": 4, "encoder_hidden": [32]}, search)
    assert vae == {
        "model": "bayesian",
        "preset": "fast",
        "holdout": 0.2,
        "seed": 3,
        "steps": 300,
        "latent_dim": 4,
        "encoder_hidden": (32,),
    }
    site = trial_settings({"model": "independent", "latent_dim": 4, "lr": 0.01}, search)
    assert site == {"model": "independent", "holdout": 0.2, "seed": 3, "steps": 300}


def test_every_trial_reports_at_the_same_rungs_even_after_a_resume():
    search = Search("x.a2m", "out", SPACE, steps=6000, rungs=4)
    # A trial continued from a checkpoint at step 1,000 next reports at 1,500, as the others did.
    assert [search.next_rung(step) for step in (0, 1000, 1500, 4499, 5999)] == [
        1500,
        1500,
        3000,
        4500,
        6000,
    ]


def test_a_trial_that_failed_before_reporting_is_a_row_with_its_error(tmp_path):
    # Tune's record of a trial that diverged at once: no metrics, no config, its settings on disk.
    folder = tmp_path / "tune" / "run_trial_6f777_00003_3_lr=0.0086_2026-12-07_02-50-29"
    folder.mkdir(parents=True)
    write(folder / "params.json", json.dumps({"latent_dim": 30, "lr": 0.0086}))
    failed = SimpleNamespace(metrics=None, config=None, error=ValueError("diverged"), path=folder)
    search = Search("x.a2m", str(tmp_path), SPACE, steps=300)
    (row,) = table([failed], search).to_dict("records")
    assert row["trial"] == "6f777_00003" and row["status"] == "error" and row["steps"] == 0
    assert row["latent_dim"] == 30 and row["lr"] == 0.0086 and row["model"] == "bayesian"
    assert row["folder"] == str(tmp_path / "trials" / "6f777_00003")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_tune_ranks_trials_by_heldout_likelihood_and_continues(tmp_path, capsys):
    pytest.importorskip("ray.tune")
    a2m, dms = default_family()
    space = write(tmp_path / "space.json", json.dumps(SPACE))
    argv = [str(a2m), "--out", str(tmp_path / "search"), "--space", str(space)]
    argv += ["--trials", "4", "--steps", "200", "--rungs", "2", "--seed", "1", "--theta", "0.3"]
    argv += ["--mutations", str(dms), "--samples", "10"]
    assert tune.main(argv) == 0
    printed = capsys.readouterr().out
    trials = pd.read_csv(tmp_path / "search" / "trials.csv")
    assert len(trials) == 5 and trials["heldout_loglik"].notna().all()  # 4 and the floor
    assert list(trials["heldout_loglik"]) == sorted(trials["heldout_loglik"], reverse=True)
    assert set(trials["status"]) <= {"done", "stopped early"}
    (site,) = trials[trials["model"] == "independent"].itertuples()
    assert site.trial == "site-independent" and pd.isna(site.latent_dim)
    same = DeepSequence(a2m, model="independent", holdout=0.1, seed=1, theta=0.3).fit()
    assert site.heldout_loglik == pytest.approx(same.heldout_log_likelihood)  # same sequences
    vaes = trials[trials["model"] == "bayesian"]
    assert len(vaes) == 4 and vaes["latent_dim"].isin([2, 4]).all()
    assert trials["rho"].notna().all() and trials["rho"].min() > 0.5  # for analysis, beside it
    best = trials.iloc[0]
    assert f"best: trial {best['trial']}, held-out log-likelihood" in printed
    model = DeepSequence.load(tmp_path / "search" / "best")
    assert model.heldout_log_likelihood == pytest.approx(best["heldout_loglik"])
    assert model.model_config.model == best["model"] and model.train_config.theta == 0.3

    assert tune.main(argv) == 0  # the same command again: Tune's saved search, nothing retrained
    assert "continuing the search" in capsys.readouterr().out
    again = pd.read_csv(tmp_path / "search" / "trials.csv")
    pd.testing.assert_frame_equal(again.drop(columns="rho"), trials.drop(columns="rho"))
