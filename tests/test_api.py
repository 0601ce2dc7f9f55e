"""The Python API end to end on the synthetic family, and its agreement with the commands."""

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import spearmanr

from pyro_deepseq import Alignment, DataError, DeepSequence, Ensemble
from pyro_deepseq.cli import fit, predict
from pyro_deepseq.data.synthetic import default_family

TINY = {"latent_dim": 4, "encoder_hidden": (64,), "decoder_hidden": (16, 64), "batch_size": 64}


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    out = tmp_path_factory.mktemp("api") / "run"
    return DeepSequence(model="vanilla", steps=20, out=out, **TINY).fit(progress=False)


def test_fit_writes_the_commands_checkpoint(model):
    assert model.step == 20 and len(model.history) > 0
    assert {"model.pt", "history.csv", "config.json"} <= {p.name for p in model.out.iterdir()}
    assert DeepSequence.load(model.out).step == 20


def test_predict_is_the_commands_table(model, tmp_path, capsys):
    out = tmp_path / "cli.csv"
    assert predict.main(["--checkpoint", str(model.out), "--samples", "3", "--out", str(out)]) == 0
    from_cli = pd.read_csv(out)
    from_api = model.predict(samples=3).table
    assert list(from_api.columns) == list(from_cli.columns)
    assert np.allclose(from_api["prediction"], from_cli["prediction"], atol=1e-4)
    assert len(from_api) == 2140


def test_predict_takes_mutants_and_reports_unscoreable_ones(model):
    predictions = model.predict(["H1A", "Y2C:H3D", "Q1A"], samples=2)
    assert list(predictions.table["mutant"]) == ["H1A", "Y2C:H3D"]
    assert list(predictions.unscoreable["mutant"]) == ["Q1A"]  # its wild type is H
    with pytest.raises(DataError, match="no measured column"):
        predictions.spearman()
    measured = model.predict(samples=2)
    assert measured.score_column == "DMS_score" and -1 <= measured.spearman() <= 1
    assert measured.spearman() == pytest.approx(
        spearmanr(measured.table["DMS_score"], measured.table["prediction"]).statistic
    )


def test_singles_embed_and_figures(model):
    singles = model.singles(samples=2)
    alignment = Alignment.from_file(default_family()[0])
    assert singles.shape == (alignment.num_positions, 2 + len(alignment.alphabet))
    assert (singles[list(alignment.alphabet)] != 0).sum().sum() == alignment.num_positions * 19
    latent = model.embed()
    assert list(latent.columns) == [
        "z1",
        "z2",
        "z3",
        "z4",
        "sd_z1",
        "sd_z2",
        "sd_z3",
        "sd_z4",
        "weight",
    ]
    assert len(latent) == alignment.num_sequences and (latent.filter(like="sd_") > 0).all().all()
    assert model.plot_history().axes and model.plot_latent().axes


def test_save_load_and_resume_equal_an_uninterrupted_run(tmp_path):
    settings = {"model": "vanilla", "steps": 20, **TINY, "log_every": 10, "checkpoint_every": 10}
    whole = DeepSequence(out=tmp_path / "whole", **settings).fit(progress=False)
    part = DeepSequence(out=tmp_path / "part", **settings).fit(steps=10, progress=False)
    part.save(tmp_path / "copy")
    with pytest.raises(DataError, match="exists"):
        part.save(tmp_path / "copy")
    resumed = DeepSequence.load(tmp_path / "copy", steps=20).fit(progress=False)
    assert resumed.step == 20
    for name, value in whole.vae.state_dict().items():
        assert torch.equal(value, resumed.vae.state_dict()[name]), name


def test_an_existing_run_is_not_overwritten_and_load_keeps_settings(model):
    with pytest.raises(DataError, match="holds a run with other settings"):
        DeepSequence(model="vanilla", out=model.out)
    with pytest.raises(DataError, match="latent-dim"):
        DeepSequence.load(model.out, latent_dim=8)


def test_an_ensemble_averages_its_members(model, tmp_path):
    other = DeepSequence(model="vanilla", steps=20, seed=1, out=tmp_path / "b", **TINY)
    other.fit(progress=False)
    table = Ensemble([model, other]).predict(["H1A", "Y2C"], samples=2).table
    members = table.filter(like="prediction_")
    assert members.shape[1] == 2
    assert np.allclose(table["prediction"], members.mean(axis=1), atol=1e-5)
    assert len(Ensemble.load([model.out, tmp_path / "b"])) == 2


def test_the_fit_command_trains_what_the_api_trains(tmp_path, capsys):
    flags = ["--model", "vanilla", "--steps", "10", "--latent-dim", "4", "--encoder-hidden", "64"]
    flags += ["--decoder-hidden", "16", "64", "--batch-size", "64", "--no-plots", "--quiet"]
    assert fit.main([*flags, "--out", str(tmp_path / "cli")]) == 0
    api = DeepSequence(model="vanilla", steps=10, out=tmp_path / "api", **TINY).fit(progress=False)
    cli = DeepSequence.load(tmp_path / "cli")
    for name, value in api.vae.state_dict().items():
        assert torch.equal(value, cli.vae.state_dict()[name]), name
