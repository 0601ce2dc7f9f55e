"""The fit and predict commands end to end on the embedded synthetic family (tiny networks)."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pyro
import pytest
import torch

from pyro_deepseq.cli import fit, predict
from pyro_deepseq.data.alignment import Alignment
from pyro_deepseq.data.synthetic import default_family
from pyro_deepseq.inference import settings
from pyro_deepseq.inference.checkpoint import load_checkpoint
from pyro_deepseq.inference.config import ModelConfig, TrainConfig
from pyro_deepseq.inference.training import Trainer
from pyro_deepseq.models import build_model, meanfield

from .conftest import BLAT, BLAT_DMS, needs_shared

TINY = [
    "--latent-dim",
    "4",
    "--encoder-hidden",
    "64",
    "--decoder-hidden",
    "16",
    "64",
    "--batch-size",
    "64",
    "--quiet",
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny run shared by the tests that only read it."""
    out = tmp_path_factory.mktemp("runs") / "tiny"
    assert fit.main(["--steps", "200", "--log-every", "20", "--out", str(out), *TINY]) == 0
    return out


def test_fit_writes_checkpoint_history_and_config(trained):
    state = load_checkpoint(trained / "model.pt")
    assert state["progress"]["step"] == 200
    assert state["alignment"]["focus"] == "SYNTH/1-60"
    assert state["model_config"]["encoder_hidden"] == [64]
    history = pd.read_csv(trained / "history.csv")
    assert history["step"].tolist() == list(range(20, 201, 20))
    assert {"loss", "reconstruction", "kl_latent", "lr", "seconds"} <= set(history.columns)
    assert history["loss"].iloc[-1] < history["loss"].iloc[0]
    config = json.loads((trained / "config.json").read_text())
    assert config["train"]["steps"] == 200 and config["model"]["latent_dim"] == 4


def test_predict_scores_the_synthetic_table_by_default(trained, capsys):
    assert predict.main(["--checkpoint", str(trained / "model.pt"), "--samples", "20"]) == 0
    out = capsys.readouterr().out
    table = pd.read_csv(trained / "predictions.csv")
    assert list(table.columns) == ["mutant", "prediction", "stderr", "DMS_score"]
    assert len(table) == 2140 and (table["stderr"] > 0).all()
    rho = table["prediction"].corr(table["DMS_score"], method="spearman")
    assert f"Spearman ρ = {rho:.4f}" in out
    assert rho > 0.3  # 200 tiny steps; measured 0.6
    assert predict.main(["--checkpoint", str(trained), "--samples", "2"]) == 1
    assert "predictions.csv exists; pass --force" in capsys.readouterr().err
    assert predict.main(["--checkpoint", str(trained), "--samples", "2", "--force"]) == 0


def test_predict_singles_covers_every_substitution(trained):
    out = trained / "all_singles.csv"
    assert (
        predict.main(
            ["--checkpoint", str(trained), "--singles", "--samples", "2", "--out", str(out)]
        )
        == 0
    )
    table = pd.read_csv(out)
    assert len(table) == 60 * 19 and list(table.columns) == ["mutant", "prediction", "stderr"]
    matrix = pd.read_csv(trained / "all_singles_matrix.csv")
    assert matrix.shape == (60, 22) and (trained / "all_singles.png").stat().st_size > 5000


def test_plots_and_excel_output(trained, tmp_path, capsys):
    assert (trained / "history.png").stat().st_size > 5000
    assert (trained / "latent.png").stat().st_size > 5000
    assert (trained / "predictions.png").stat().st_size > 5000  # predicted vs measured
    out = tmp_path / "scores.xlsx"
    args = ["--checkpoint", str(trained), "--samples", "2", "--out", str(out), "--no-plots"]
    assert predict.main(args) == 0
    assert len(pd.read_excel(out)) == 2140 and not out.with_suffix(".png").exists()
    labels = tmp_path / "labels.txt"
    alignment = Alignment.from_file(default_family()[0])
    labels.write_text("".join(f"{h}: group{i % 3}\n" for i, h in enumerate(alignment.headers)))
    run = tmp_path / "labelled"
    fit_args = ["--steps", "5", "--labels", str(labels), "--out", str(run), *TINY]
    assert fit.main(fit_args) == 0
    assert (run / "latent.png").stat().st_size > 5000
    bad = ["--steps", "5", "--labels", str(tmp_path / "none.txt"), "--out", str(tmp_path / "x")]
    assert fit.main([*bad, *TINY]) == 1
    assert "labels file not found" in capsys.readouterr().err
    assert not (tmp_path / "x" / "model.pt").exists()  # refused before training


def test_predict_scores_designed_sequences_as_their_mutants(trained, tmp_path, capsys):
    a2m, dms = default_family()
    wild = Alignment.from_file(a2m).focus_sequence
    table = pd.read_csv(dms)
    singles = table[table["num_mutations"] == 1].sort_values("DMS_score")
    mutants = ["WT", singles["mutant"].iloc[-1], singles["mutant"].iloc[0]]  # best, worst
    designs = [wild] + [
        wild[: int(m[1:-1]) - 1] + m[-1] + wild[int(m[1:-1]) :] for m in mutants[1:]
    ]
    fasta = tmp_path / "designs.fasta"
    fasta.write_text("".join(f">design {i}\n{d}\n" for i, d in enumerate(designs)))
    listed = tmp_path / "listed.csv"
    pd.DataFrame({"mutant": mutants}).to_csv(listed, index=False)
    common = ["--checkpoint", str(trained), "--samples", "200", "--no-plots"]
    assert predict.main([*common, "--sequences", str(fasta)]) == 0
    assert f"wrote {trained / 'designs_predictions.csv'}" in capsys.readouterr().out
    scored = pd.read_csv(trained / "designs_predictions.csv")
    assert list(scored.columns) == ["name", "mutant", "prediction", "stderr"]
    assert scored["name"].tolist() == ["design 0", "design 1", "design 2"]
    assert scored["mutant"].tolist() == mutants
    assert abs(scored["prediction"].iloc[0]) < 4 * scored["stderr"].iloc[0]  # the wild type
    assert scored["prediction"].iloc[1] > scored["prediction"].iloc[2]
    assert (
        predict.main([*common, "--mutations", str(listed), "--out", str(tmp_path / "m.csv")]) == 0
    )
    by_string = pd.read_csv(tmp_path / "m.csv")  # the same variants, batch and seed
    np.testing.assert_array_equal(scored["prediction"], by_string["prediction"])
    with pytest.raises(SystemExit):  # a usage error
        predict.main([*common, "--sequences", str(fasta), "--singles"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_predict_with_the_iwae_estimator(trained, capsys):
    out = str(trained / "iwae.csv")
    args = ["--checkpoint", str(trained), "--samples", "4", "--out", out]
    assert predict.main([*args, "--estimator", "iwae", "--particles", "3"]) == 0
    table = pd.read_csv(out)
    assert len(table) == 2140 and table["prediction"].corr(table["DMS_score"], "spearman") > 0.3
    assert predict.main([*args, "--particles", "3", "--force"]) == 1
    assert "particles apply to the iwae estimator only" in capsys.readouterr().err


def test_predict_in_bfloat16_keeps_the_predictions_of_float32(trained):
    common = ["--checkpoint", str(trained), "--samples", "20"]
    tables = {}
    for precision in ("float32", "bfloat16"):
        out = trained / f"{precision}.csv"
        assert predict.main([*common, "--precision", precision, "--out", str(out)]) == 0
        tables[precision] = pd.read_csv(out)
    full, low = tables["float32"], tables["bfloat16"]
    moved = (low["prediction"] - full["prediction"]).abs()
    assert (moved < 0.1 * full["stderr"]).all()  # measured: at most 0.04 standard errors
    assert (moved > 0).any()  # the flag reached the decoder


@needs_shared
def test_a_table_of_another_protein_is_refused(trained, capsys):
    code = predict.main(
        [
            "--checkpoint",
            str(trained),
            "--mutations",
            str(BLAT_DMS),
            "--score-column",
            "2500",
            "--out",
            str(trained / "blat.csv"),
        ]
    )
    assert code == 1
    assert "error:" in capsys.readouterr().err
    assert not (trained / "blat.csv").exists()


def test_existing_run_is_never_overwritten_and_resume_keeps_settings(tmp_path, capsys):
    out = tmp_path / "run"
    assert fit.main(["--steps", "20", "--out", str(out), *TINY]) == 0
    assert fit.main(["--steps", "20", "--out", str(out), *TINY]) == 1
    assert "pass --resume" in capsys.readouterr().err
    assert fit.main(["--resume", "--out", str(out), "--lr", "0.5", "--quiet"]) == 1
    assert "--lr (was 0.001)" in capsys.readouterr().err
    assert fit.main(["--resume", "--out", str(out), "--steps", "40", "--quiet"]) == 0
    assert load_checkpoint(out)["progress"]["step"] == 40


def test_resume_before_the_first_checkpoint_starts_the_run(tmp_path, capsys):
    out = tmp_path / "killed-early"
    out.mkdir()  # a run killed before its first checkpoint leaves its folder
    flags = ["--resume", "--out", str(out), "--steps", "10", "--quiet", "--no-plots", *TINY]
    assert fit.main(flags) == 0
    assert "no checkpoint yet, so the run starts from step 0" in capsys.readouterr().out
    assert load_checkpoint(out)["progress"]["step"] == 10


def test_a_checkpoint_is_also_written_by_time(tmp_path, monkeypatch):
    saved_at = []
    original = Trainer.save

    def record(self):
        saved_at.append(self.progress.step)
        original(self)

    monkeypatch.setattr(Trainer, "save", record)
    flags = ["--steps", "20", "--log-every", "5", "--checkpoint-every", "1000", "--quiet"]
    flags += ["--no-plots", *TINY]
    assert fit.main([*flags, "--out", str(tmp_path / "a"), "--checkpoint-seconds", "1e-9"]) == 0
    assert saved_at[:3] == [5, 10, 15]  # at each history row, the time having passed
    saved_at.clear()
    assert fit.main([*flags, "--out", str(tmp_path / "b")]) == 0
    assert saved_at == [20]  # the default 2 minutes never passed: only the final checkpoint


def test_a_diverging_run_says_so_without_a_traceback(tmp_path, capsys):
    out = tmp_path / "hot"
    assert (
        fit.main(["--steps", "40", "--log-every", "10", "--lr", "1e6", "--out", str(out), *TINY])
        == 1
    )
    error = capsys.readouterr().err
    assert "training diverged near step" in error and "Lower --lr" in error
    assert "Traceback" not in error


def test_ctrl_c_saves_a_checkpoint_that_resumes(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    original = Trainer._log

    def interrupt_at_step_20(self, *args):
        original(self, *args)
        if self.progress.step == 20:
            raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "_log", interrupt_at_step_20)
    assert fit.main(["--steps", "60", "--log-every", "10", "--out", str(out), *TINY]) == 130
    assert "interrupted at step 20" in capsys.readouterr().err
    assert load_checkpoint(out)["progress"]["step"] == 20
    monkeypatch.setattr(Trainer, "_log", original)
    assert fit.main(["--resume", "--out", str(out), "--quiet"]) == 0
    assert load_checkpoint(out)["progress"]["step"] == 60


@pytest.mark.parametrize("model", ["vanilla", "bayesian", "ladder", "bayesian-pooled"])
def test_resume_equals_an_uninterrupted_run(tmp_path, model, monkeypatch):
    pooled = model == "bayesian-pooled"
    if pooled:  # every decoder tensor's noise from a pool, resumed mid-round
        monkeypatch.setattr(meanfield, "POOLED_NOISE", 1)
        model = "bayesian"
    alignment = Alignment.from_file(default_family()[0])
    model_config = ModelConfig(model, 3, encoder_hidden=(32,), decoder_hidden=(8, 32))
    train_config = TrainConfig(
        steps=30, batch_size=16, log_every=5, checkpoint_every=15, noise_pool_steps=7
    )

    def new_trainer(path, steps):
        pyro.set_rng_seed(train_config.seed)
        vae = build_model(model_config, 60, 20)
        config = dataclasses.replace(train_config, steps=steps)
        return Trainer(vae, alignment, model_config, config, path)

    straight = new_trainer(tmp_path / "a" / "model.pt", 30)
    straight.run(show_progress=False)
    new_trainer(tmp_path / "b" / "model.pt", 15).run(show_progress=False)  # then "interrupted"
    second = new_trainer(tmp_path / "b" / "model.pt", 30)
    second.restore(load_checkpoint(tmp_path / "b" / "model.pt"))
    second.run(show_progress=False)
    for (name, a), b in zip(
        straight.vae.state_dict().items(), second.vae.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), name
    assert straight.progress.history["loss"] == second.progress.history["loss"]
    assert bool(second.noise_pool.seeds) == pooled  # 30 steps: 2 into the fifth round


def test_site_independent_through_the_same_commands(tmp_path, capsys):
    out = tmp_path / "independent"
    assert fit.main(["--model", "independent", "--out", str(out)]) == 0
    assert predict.main(["--checkpoint", str(out)]) == 0
    table = pd.read_csv(out / "predictions.csv")
    rho = table["prediction"].corr(table["DMS_score"], method="spearman")
    assert rho > 0.5
    assert f"Spearman ρ = {rho:.4f}" in capsys.readouterr().out


def test_site_independent_flag_scores_a_vae_checkpoints_alignment(trained):
    assert predict.main(["--checkpoint", str(trained), "--site-independent"]) == 0
    table = pd.read_csv(trained / "predictions_site_independent.csv")
    assert len(table) == 2140


def test_bad_settings_are_user_errors(tmp_path, capsys):
    assert fit.main(["--steps", "0", "--out", str(tmp_path / "r"), "--quiet"]) == 1
    assert "steps must be at least 1" in capsys.readouterr().err
    assert fit.main(["--alignment", str(tmp_path / "missing.a2m"), "--quiet"]) == 1
    assert "alignment file not found" in capsys.readouterr().err
    assert predict.main(["--checkpoint", str(tmp_path / "none.pt")]) == 1
    assert "checkpoint not found" in capsys.readouterr().err


def test_model_options_and_presets_are_checked(tmp_path, capsys):
    out = str(tmp_path / "run")
    assert fit.main(["--model", "vanilla", "--repeat", "2", "--out", out, "--quiet"]) == 1
    assert "--repeat: not a setting of --model vanilla" in capsys.readouterr().err
    assert fit.main(["--preset", "fast", "--model", "vanilla", "--out", out, "--quiet"]) == 1
    assert "--preset fast is a preset of --model bayesian" in capsys.readouterr().err
    assert fit.main(["--decoder", "dense", "--out", out, "--quiet"]) == 1
    assert "--decoder: not a setting of --model bayesian" in capsys.readouterr().err
    assert fit.main(["--model", "ladder", "--decoder", "conv", "--out", out, "--quiet"]) == 1
    assert "decoder must be one of ('dense', 'sparse')" in capsys.readouterr().err
    assert fit.main(["--repeat", "3", "--out", out, *TINY]) == 1  # 64 hidden units
    assert "must be a multiple of repeat (3)" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_switches_reach_the_model_and_the_saved_config(tmp_path):
    out = tmp_path / "run"
    switches = ["--no-group-sparsity", "--conv-size", "0", "--no-temperature", "--no-bayesian"]
    assert fit.main(["--steps", "5", "--out", str(out), *switches, *TINY]) == 0
    saved = load_checkpoint(out)
    assert saved["model_config"]["bayesian"] is False
    assert saved["model_config"]["conv_size"] == 0
    names = set(saved["state_dict"])
    assert "model.point.out_weight" in names and not any("sparsity" in n for n in names)
    assert saved["state_dict"]["model.point.out_weight"].shape == (64, 60 * 20)
    assert predict.main(["--checkpoint", str(out), "--samples", "2"]) == 0


@pytest.mark.parametrize("decoder", ["dense", "sparse"])
def test_ladder_vae_through_fit_and_predict(tmp_path, decoder):
    out = tmp_path / decoder
    ladder = ["--model", "ladder", "--decoder", decoder, "--ladder-dims", "3", "2"]
    assert (
        fit.main([*ladder, "--ladder-hidden", "16", "--steps", "50", "--out", str(out), *TINY]) == 0
    )
    saved = load_checkpoint(out)
    assert saved["model_config"]["ladder_dims"] == [3, 2]
    assert any(name.startswith("guide.encoder.heads.1.") for name in saved["state_dict"])
    assert predict.main(["--checkpoint", str(out), "--samples", "3"]) == 0
    assert len(pd.read_csv(out / "predictions.csv")) == 2140


def test_seeds_train_an_ensemble_that_predict_averages(tmp_path, capsys):
    out = tmp_path / "ensemble"
    assert fit.main(["--seeds", "0", "1", "--steps", "40", "--out", str(out), *TINY]) == 0
    assert [load_checkpoint(out / f"seed{s}")["train_config"]["seed"] for s in (0, 1)] == [0, 1]
    capsys.readouterr()
    assert predict.main(["--checkpoint", str(out), "--samples", "3"]) == 0
    printed = capsys.readouterr().out
    table = pd.read_csv(out / "ensemble_predictions.csv")
    members = table[["prediction_seed0", "prediction_seed1"]]
    assert np.allclose(table["prediction"], members.mean(axis=1))
    assert np.allclose(
        table["stderr"], (members["prediction_seed0"] - members["prediction_seed1"]).abs() / 2
    )
    assert "for seed0" in printed and "for seed1" in printed and "(ensemble of 2)" in printed
    assert fit.main(["--seeds", "2", "--seed", "3", "--out", str(out), "--quiet"]) == 1
    assert "give --seed or --seeds, not both" in capsys.readouterr().err


@needs_shared
def test_an_ensemble_of_different_proteins_is_refused(tmp_path, trained, capsys):
    blat = tmp_path / "blat"
    assert fit.main(["--model", "independent", "--alignment", str(BLAT), "--out", str(blat)]) == 0
    out = str(tmp_path / "mixed.csv")
    assert predict.main(["--checkpoint", str(trained), str(blat), "--out", out]) == 1
    assert "trained on another focus sequence" in capsys.readouterr().err


def test_paper_preset_is_the_released_run(tmp_path):
    model_config, train_config = settings.resolve(None, "paper", {"steps": 7})
    assert model_config == ModelConfig("bayesian")  # run_svi.py's architecture: the defaults
    assert (model_config.repeat, model_config.conv_size, model_config.logit_p) == (4, 40, 0.001)
    assert (train_config.batch_size, train_config.sampling, train_config.steps) == (
        100,
        "weighted",
        7,
    )
    assert train_config.lr == pytest.approx(3.162e-4, rel=1e-3)
    assert settings.resolve(None, "paper", {})[1].steps == 300_000
    fast_model, fast_train = settings.resolve(None, "fast", {"lr": 1e-3})
    assert (fast_model.encoder_hidden, fast_model.decoder_hidden) == ((500,), (100, 500))
    assert (fast_train.steps, fast_train.lr_schedule, fast_train.lr) == (6000, "cosine", 1e-3)


def test_resume_refuses_an_alignment_that_changed(tmp_path, capsys):
    alignment = tmp_path / "family.a2m"
    alignment.write_text(">P/1-4\nACDE\n>s1\nACDF\n>s2\nWCDE\n")
    out = tmp_path / "run"
    assert fit.main(["--alignment", str(alignment), "--steps", "5", "--out", str(out), *TINY]) == 0
    alignment.write_text(">P/1-4\nACDE\n>s1\nACDF\n>s2\nWCDY\n")
    args = [
        "--alignment",
        str(alignment),
        "--resume",
        "--steps",
        "10",
        "--out",
        str(out),
        "--quiet",
    ]
    assert fit.main(args) == 1
    assert "has changed since the checkpoint was written" in capsys.readouterr().err
    assert load_checkpoint(out)["progress"]["step"] == 5
