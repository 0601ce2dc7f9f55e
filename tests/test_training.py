"""The shared training loop's pieces: schedules, configs, held-out split and early stopping."""

import math

import pyro
import pytest
import torch

from pyro_deepseq.data.alignment import Alignment
from pyro_deepseq.data.synthetic import default_family
from pyro_deepseq.errors import DataError
from pyro_deepseq.inference import training
from pyro_deepseq.inference.config import ModelConfig, TrainConfig, from_dict, to_dict
from pyro_deepseq.inference.schedules import kl_weight, learning_rate
from pyro_deepseq.models import build_model


@pytest.mark.parametrize(
    ("step", "warmup", "cycle", "expected"),
    [
        (0, 0, 0, 1.0),
        (5, 0, 0, 1.0),
        (0, 10, 0, 0.1),
        (4, 10, 0, 0.5),
        (9, 10, 0, 1.0),
        (99, 10, 0, 1.0),
        (24, 10, 20, 0.5),
        (39, 10, 20, 1.0),
        (40, 10, 20, 0.1),
    ],
)
def test_kl_weight_table(step, warmup, cycle, expected):
    assert kl_weight(step, warmup, cycle) == pytest.approx(expected)


def test_learning_rate_schedules():
    assert learning_rate(700, 1e-3, 1000, "constant") == 1e-3
    assert learning_rate(0, 1e-3, 1000, "cosine") == pytest.approx(1e-3)
    assert learning_rate(500, 1e-3, 1000, "cosine") == pytest.approx(5e-4)
    assert learning_rate(1000, 1e-3, 1000, "cosine") == pytest.approx(0.0, abs=1e-12)
    assert math.isclose(learning_rate(250, 2.0, 1000, "cosine"), 1 + math.cos(math.pi / 4))


def test_configs_round_trip_and_reject_unknown_or_bad_values():
    config = TrainConfig(steps=7, lr=0.01)
    assert from_dict(TrainConfig, to_dict(config)) == config
    model = ModelConfig(decoder_hidden=(5, 6, 7))
    assert from_dict(ModelConfig, to_dict(model)) == model
    with pytest.raises(DataError, match="unknown TrainConfig setting.*: warp"):
        from_dict(TrainConfig, {"warp": 9})
    for bad in (
        {"batch_size": 0},
        {"holdout": 1.0},
        {"sampling": "greedy"},
        {"lr_schedule": "step"},
        {"eval_every": 75, "log_every": 50},
    ):
        with pytest.raises(DataError):
            TrainConfig(**bad)


def _trainer(tmp_path, **settings):
    alignment = Alignment.from_file(default_family()[0])
    model_config = ModelConfig(latent_dim=2, encoder_hidden=(16,), decoder_hidden=(16,))
    config = TrainConfig(**{"batch_size": 16, "log_every": 10, **settings})
    pyro.set_rng_seed(0)
    vae = build_model(model_config, 60, 20)
    return training.Trainer(vae, alignment, model_config, config, tmp_path / "model.pt")


def test_heldout_rows_are_never_trained_on(tmp_path):
    trainer = _trainer(tmp_path, holdout=0.25)
    held = set(trainer.heldout_rows.tolist())
    weights = trainer.alignment.weights
    assert 0.25 <= weights[sorted(held)].sum() / weights.sum() < 0.3  # of Neff, whole clusters
    assert held.isdisjoint(trainer.sampler.rows.tolist())
    drawn = torch.cat([trainer.sampler.rows[trainer.sampler.draw().index] for _ in range(50)])
    assert held.isdisjoint(drawn.tolist())


def test_early_stopping_restores_the_best_parameters(tmp_path, monkeypatch):
    trainer = _trainer(tmp_path, holdout=0.1, steps=1000, eval_every=20, patience=2)
    heldout_values = iter([-10.0, -11.0, -12.0, -13.0])
    real_terms = training.elbo_terms
    snapshots = []

    def scripted(model, guide, batch):
        if batch is trainer.heldout:  # a held-out ELBO that only gets worse after the first
            snapshots.append({k: v.clone() for k, v in trainer.vae.state_dict().items()})
            return {"elbo": next(heldout_values)}
        return real_terms(model, guide, batch)

    monkeypatch.setattr(training, "elbo_terms", scripted)
    progress = trainer.run(show_progress=False)
    assert progress.stopped_early and progress.step == 60
    assert progress.history["heldout_elbo"][1::2] == [-10.0, -11.0, -12.0]
    for name, value in trainer.vae.state_dict().items():
        assert torch.equal(value, snapshots[0][name]), name


def test_kl_warmup_trains_from_the_first_step(tmp_path):
    progress = _trainer(tmp_path, steps=40, kl_warmup=20).run(show_progress=False)
    assert progress.history["kl_weight"] == [0.5, 1.0, 1.0, 1.0]  # logged every 10 steps


def test_pausing_keeps_the_learning_rate_schedule(tmp_path):
    straight = _trainer(tmp_path / "a", steps=20, lr_schedule="cosine")
    straight.run(show_progress=False)
    paused = _trainer(tmp_path / "b", steps=20, lr_schedule="cosine")
    assert paused.run(show_progress=False, until=10).step == 10  # a logging step (see run)
    paused.run(show_progress=False)
    lr = dict(zip(paused.progress.history["step"], paused.progress.history["lr"], strict=True))
    assert [lr[step] for step in straight.progress.history["step"]] == straight.progress.history[
        "lr"
    ]
    for (name, a), b in zip(
        straight.vae.state_dict().items(), paused.vae.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), name


def test_divergence_stops_with_advice_and_keeps_the_last_checkpoint(tmp_path):
    trainer = _trainer(tmp_path, steps=30, checkpoint_every=10)
    trainer.run(show_progress=False, until=10)
    saved = (tmp_path / "model.pt").read_bytes()
    trainer.config = TrainConfig(batch_size=16, log_every=10, steps=30, lr=1e6)  # far too high
    with pytest.raises(
        DataError, match=r"diverged near step 1\d: .* 1e\+06\. Lower --lr.*model\.pt, is kept"
    ):
        trainer.run(show_progress=False)
    assert (tmp_path / "model.pt").read_bytes() == saved


def test_parameters_gone_nan_between_logs_are_not_checkpointed(tmp_path):
    trainer = _trainer(tmp_path, steps=60, log_every=40, eval_every=520, checkpoint_every=1)
    trainer.run(show_progress=False, until=10)
    saved = (tmp_path / "model.pt").read_bytes()
    with torch.no_grad():  # no distribution checks a decoder weight: the checkpoint must
        trainer.vae.model.decoder.out.weight[0, 0] = float("nan")
    with pytest.raises(DataError, match="diverged near step 12: the parameters are"):
        trainer.run(show_progress=False)
    assert trainer.progress.step == 11
    assert (tmp_path / "model.pt").read_bytes() == saved
