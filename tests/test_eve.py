"""EVE's decoder options (dropout, the last hidden nonlinearity) and the ``eve`` preset."""

import re

import numpy as np
import pyro
import pytest
import torch

from pyro_deepseq.api import DeepSequence
from pyro_deepseq.cli import fit, predict
from pyro_deepseq.data.alignment import Alignment
from pyro_deepseq.data.synthetic import default_family
from pyro_deepseq.errors import DataError
from pyro_deepseq.inference import settings
from pyro_deepseq.inference.checkpoint import load_checkpoint, save_checkpoint
from pyro_deepseq.inference.config import ModelConfig, TrainConfig
from pyro_deepseq.inference.training import Trainer
from pyro_deepseq.models import BayesianVAE, LadderVAE, VanillaVAE, latent_means
from pyro_deepseq.models.networks import local_params
from pyro_deepseq.models.objective import per_sequence_elbo
from pyro_deepseq.scoring import score_variants

from .conftest import random_batch

LENGTH, LETTERS = 7, 20
SMALL = dict(latent_dim=3, encoder_hidden=(16,), decoder_hidden=(6, 12))
BUILDERS = {
    "bayesian": lambda **o: BayesianVAE(LENGTH, LETTERS, conv_size=5, **SMALL, **o),
    "vanilla": lambda **o: VanillaVAE(LENGTH, LETTERS, **SMALL, **o),
    "ladder-dense": lambda **o: LadderVAE(LENGTH, LETTERS, decoder="dense", **SMALL, **o),
    "ladder-sparse": lambda **o: LadderVAE(LENGTH, LETTERS, conv_size=5, **SMALL, **o),
}
TINY = ["--latent-dim", "4", "--encoder-hidden", "64", "--decoder-hidden", "16", "64", "--quiet"]


def pair(name: str, **options):
    """The model with dropout 0.5, and the same parameters without dropout."""
    pyro.set_rng_seed(0)
    with_dropout = BUILDERS[name](decoder_dropout=0.5, **options)
    pyro.set_rng_seed(0)
    without = BUILDERS[name](**options)
    without.load_state_dict(with_dropout.state_dict())  # dropout adds no parameters
    return with_dropout, without


def elbos(vae, seed: int = 3) -> torch.Tensor:
    pyro.set_rng_seed(seed)
    with local_params(), torch.no_grad():
        return per_sequence_elbo(vae.model, vae.guide, random_batch(5, LENGTH, LETTERS, 1.0), None)


@pytest.mark.parametrize("name", list(BUILDERS))
def test_dropout_acts_in_training_mode_only(name):
    with_dropout, without = pair(name)
    assert torch.equal(elbos(with_dropout.eval()), elbos(without))
    assert not torch.allclose(elbos(with_dropout.train()), elbos(without))


@pytest.mark.parametrize("name", list(BUILDERS))
def test_last_activation_is_the_decoders_last_hidden_nonlinearity(name):
    pyro.set_rng_seed(0)
    relu = BUILDERS[name](last_activation="relu")
    pyro.set_rng_seed(0)
    sigmoid = BUILDERS[name]()
    found = [type(m).__name__ for m in relu.model.decoder.modules()]
    assert "ReLU" in found and "Sigmoid" not in found
    assert "Sigmoid" in [type(m).__name__ for m in sigmoid.model.decoder.modules()]
    assert not torch.allclose(elbos(relu), elbos(sigmoid))


@pytest.mark.parametrize("name", ["bayesian", "vanilla"])
def test_scoring_turns_dropout_off_and_restores_the_mode(name):
    with_dropout, without = pair(name)
    variants = np.random.default_rng(0).integers(0, LETTERS, (6, LENGTH)).astype(np.uint8)
    wild = variants[0]

    def score(vae):
        pyro.set_rng_seed(1)
        return score_variants(vae, variants, wild, LETTERS, samples=4).delta

    first = score(with_dropout.train())  # as the trainer leaves it
    assert with_dropout.training
    np.testing.assert_array_equal(first, score(with_dropout))
    np.testing.assert_array_equal(first, score(without))
    latent_means(with_dropout, variants)
    assert with_dropout.training


def test_training_turns_dropout_on(tmp_path):
    """A module left in evaluation mode (by scoring) trains with dropout."""
    alignment = Alignment.from_file(default_family()[0])
    train = TrainConfig(steps=4, batch_size=16, log_every=2, eval_every=2, holdout=0.2)
    losses = {}
    for dropout in (0.0, 0.5):
        model_config = ModelConfig("vanilla", **SMALL, decoder_dropout=dropout)
        pyro.set_rng_seed(0)
        vae = VanillaVAE(alignment.num_positions, 20, **SMALL, decoder_dropout=dropout).eval()
        trainer = Trainer(vae, alignment, model_config, train, tmp_path / f"{dropout}.pt")
        losses[dropout] = trainer.run(show_progress=False).history["loss"]
        assert vae.training
    assert losses[0.0] != losses[0.5]


def test_history_and_heldout_terms_are_evaluated_without_dropout(tmp_path):
    alignment = Alignment.from_file(default_family()[0])
    train = TrainConfig(steps=2, batch_size=16, log_every=2, eval_every=2, holdout=0.2)
    modes = []
    model_config = ModelConfig("vanilla", **SMALL, decoder_dropout=0.5)
    pyro.set_rng_seed(0)
    vae = VanillaVAE(alignment.num_positions, 20, **SMALL, decoder_dropout=0.5)
    trainer = Trainer(vae, alignment, model_config, train, tmp_path / "run.pt")
    evaluate = trainer._evaluate
    trainer._evaluate = lambda: modes.append(vae.training) or evaluate()
    trainer.run(show_progress=False)
    assert modes == [False] and vae.training


@pytest.mark.parametrize(
    "values, message",
    [
        ({"decoder_dropout": 1.0}, "decoder dropout must lie in [0, 1), got 1.0"),
        ({"decoder_dropout": -0.1}, "decoder dropout must lie in [0, 1), got -0.1"),
        ({"last_activation": "tanh"}, "last activation must be one of ('sigmoid', 'relu')"),
    ],
)
def test_bad_values_are_refused(values, message):
    with pytest.raises(DataError, match=re.escape(message)):
        ModelConfig("bayesian", **values)


def test_flags_reach_the_model_config():
    args = fit.build_parser().parse_args(["--decoder-dropout", "0.2", "--last-activation", "relu"])
    given = {k: v for k, v in vars(args).items() if k in fit.HELP}
    model_config, _ = settings.resolve(None, None, given)
    assert (model_config.decoder_dropout, model_config.last_activation) == (0.2, "relu")
    assert ModelConfig().decoder_dropout == 0.0 and ModelConfig().last_activation == "sigmoid"


def test_a_checkpoint_from_before_the_options_loads_with_the_old_model(tmp_path, capsys):
    out = tmp_path / "run"
    assert fit.main(["--steps", "5", "--out", str(out), "--no-plots", *TINY]) == 0
    state = load_checkpoint(out)
    for key in ("decoder_dropout", "last_activation"):
        del state["model_config"][key]
    save_checkpoint(out / "model.pt", state)
    loaded = DeepSequence.load(out)
    assert (loaded.model_config.decoder_dropout, loaded.model_config.last_activation) == (
        0.0,
        "sigmoid",
    )
    assert type(loaded.vae.model.decoder.last_activation).__name__ == "Sigmoid"
    assert predict.main(["--checkpoint", str(out), "--samples", "2"]) == 0


def test_eve_preset_is_eves_published_run():
    model_config, train_config = settings.resolve(None, "eve", {})
    assert model_config == ModelConfig(
        "bayesian",
        latent_dim=50,
        encoder_hidden=(2000, 1000, 300),
        decoder_hidden=(300, 1000, 2000),
        group_sparsity=False,
        conv_size=40,
        temperature=True,
        decoder_dropout=0.1,
        last_activation="relu",
    )
    assert train_config == TrainConfig(
        steps=400_000, batch_size=256, lr=1e-4, lr_schedule="constant", noise_pool_steps=1
    )
    args = fit.build_parser().parse_args(["--preset", "eve", "--steps", "10"])
    assert settings.resolve(args.model, args.preset, {"steps": args.steps})[1].steps == 10
