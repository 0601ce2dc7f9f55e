"""Scoring: the ELBO and IWAE estimators of Δ, and Δ's standard error."""

import contextlib

import numpy as np
import pyro
import pytest
import torch

from pyro_deepseq.models import BayesianVAE, VanillaVAE
from pyro_deepseq.models.networks import Encoder, local_params
from pyro_deepseq.models.objective import Minibatch
from pyro_deepseq.scoring.estimators import Scores, _estimates, ensemble, score_variants

LENGTH, LETTERS = 8, 20
SMALL = dict(latent_dim=3, encoder_hidden=(16,), decoder_hidden=(8, 16))


@pytest.fixture(scope="module")
def variants():
    rng = np.random.default_rng(0)
    wild_type = rng.integers(0, LETTERS, LENGTH).astype(np.uint8)
    mutants = np.repeat(wild_type[None], 12, axis=0)
    mutants[np.arange(12), rng.integers(0, LENGTH, 12)] = rng.integers(0, LETTERS, 12)
    return mutants, wild_type


def scores(vae, variants, samples, **options):
    pyro.set_rng_seed(1)
    mutants, wild_type = variants
    return score_variants(vae, mutants, wild_type, LETTERS, samples, **options)


@pytest.mark.parametrize("model", [VanillaVAE, BayesianVAE])
def test_iwae_with_one_particle_estimates_the_elbo(model, variants):
    pyro.set_rng_seed(0)
    vae = model(LENGTH, LETTERS, **SMALL)
    with_kl = scores(vae, variants, 400)
    one_particle = scores(vae, variants, 400, estimator="iwae", particles=1)
    error = np.sqrt(with_kl.stderr**2 + one_particle.stderr**2)
    assert np.all(np.abs(with_kl.delta - one_particle.delta) < 4.5 * error)
    assert not np.allclose(with_kl.delta, one_particle.delta)  # two estimators, not one


def test_standard_error_shrinks_as_one_over_root_samples(variants):
    pyro.set_rng_seed(0)
    vae = VanillaVAE(LENGTH, LETTERS, **SMALL)
    few, many = scores(vae, variants, 100), scores(vae, variants, 1600)
    ratio = many.stderr / few.stderr
    assert np.all((ratio > 0.15) & (ratio < 0.4))  # 1/√16 = 0.25
    assert np.all(np.abs(many.delta - few.delta) < 4.5 * few.stderr)


def test_the_wild_type_against_itself_is_zero_within_its_error(variants):
    pyro.set_rng_seed(0)
    vae = BayesianVAE(LENGTH, LETTERS, **SMALL)
    _, wild_type = variants
    same = scores(vae, (np.repeat(wild_type[None], 4, axis=0), wild_type), 200)
    assert np.all(same.stderr > 0) and np.all(np.abs(same.delta) < 4.5 * same.stderr)


def test_more_particles_tighten_the_bound():
    """E[IWAE_K] grows with K towards log p(x): each sequence's estimate rises from K = 1 to 20."""
    pyro.set_rng_seed(0)
    vae = VanillaVAE(LENGTH, LETTERS, **SMALL)
    vae.guide.encoder.log_scale.bias.data.fill_(0.0)  # a wide q(z | x), far from the posterior
    batch = Minibatch.of(torch.randint(0, LETTERS, (6, LENGTH)), LETTERS)
    with local_params():
        one, twenty = (torch.cat(list(_estimates(vae, batch, 300, "iwae", k))) for k in (1, 20))
    gain = twenty.mean(0) - one.mean(0)
    error = (twenty.var(0) / 300 + one.var(0) / 300).sqrt()
    assert torch.all(gain > 4 * error)


@pytest.mark.parametrize("model", [VanillaVAE, BayesianVAE])
def test_a_bfloat16_output_layer_moves_delta_far_less_than_its_sampling_error(model, variants):
    pyro.set_rng_seed(0)
    vae = model(LENGTH, LETTERS, **SMALL)
    vae.guide.encoder.log_scale.bias.data.fill_(0.0)  # a wide q(z | x): a real sampling error
    full, low = (scores(vae, variants, 200, precision=p) for p in ("float32", "bfloat16"))
    moved = np.abs(low.delta - full.delta)
    # measured: at most 0.0009 nats and 0.07 standard errors (vanilla), 0.0002 and 0.04 (Bayesian)
    assert np.all(moved < 0.01) and np.all(moved < 0.25 * full.stderr)
    assert np.any(moved > 0)  # the decoder did multiply in bfloat16


def test_estimator_settings_are_checked(variants):
    vae = VanillaVAE(LENGTH, LETTERS, **SMALL)
    with pytest.raises(ValueError, match="estimator must be one of"):
        scores(vae, variants, 2, estimator="exact")
    with pytest.raises(ValueError, match="particles apply to the iwae estimator only"):
        scores(vae, variants, 2, particles=4)
    with pytest.raises(ValueError, match="precision must be one of"):
        scores(vae, variants, 2, precision="float16")


def test_an_ensemble_averages_and_its_error_is_the_spread_between_models():
    a = Scores(np.array([1.0, -2.0]), np.array([0.1, 0.1]))
    b = Scores(np.array([3.0, -2.0]), np.array([0.2, 0.2]))
    assert ensemble([a]) is a
    both = ensemble([a, b])
    assert np.allclose(both.delta, [2.0, -2.0]) and np.allclose(both.stderr, [1.0, 0.0])


def test_encoder_runs_once_per_batch_of_variants_with_the_same_scores(variants, monkeypatch):
    pyro.set_rng_seed(0)
    vae = BayesianVAE(LENGTH, LETTERS, **SMALL)
    calls = []
    vae.guide.encoder.embed.register_forward_hook(lambda *_: calls.append(1))
    reused = scores(vae, variants, 5)
    assert len(calls) == 1  # one batch (the variants and their wild type), five weight draws
    monkeypatch.setattr(Encoder, "reusing_features", contextlib.nullcontext)
    computed_each_time = scores(vae, variants, 5)
    assert len(calls) == 1 + 5
    np.testing.assert_array_equal(reused.delta, computed_each_time.delta)
