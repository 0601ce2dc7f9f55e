"""The vanilla VAE and the shared objective: shapes, scaling, annealing, unbiased minibatches."""

import pyro
import pyro.distributions as dist
import pyro.poutine as poutine
import pytest
import torch
from pyro.distributions.kl import kl_divergence
from pyro.infer import TraceMeanField_ELBO

from pyro_deepseq.data.alignment import Alignment
from pyro_deepseq.models import VanillaVAE
from pyro_deepseq.models.networks import SequenceEmbedding, local_params
from pyro_deepseq.models.objective import (
    Minibatch,
    MinibatchSampler,
    elbo_terms,
    global_sites,
    loss,
    per_sequence_elbo,
)
from pyro_deepseq.models.sites import Letters

from .conftest import write

LETTERS = 20


@pytest.fixture
def tiny(tmp_path):
    path = write(
        tmp_path / "tiny.a2m",
        ">P/1-6\nACDEFG\n>s1\nACDEYA\n>s2\nACDEYA\n>s3\nW-DEYY\n>s4\n--KLMN\n",
    )
    return Alignment.from_file(path, theta=0.2)


def small_vae(length, latent=3):
    pyro.set_rng_seed(0)
    return VanillaVAE(length, LETTERS, latent, encoder_hidden=(16, 8), decoder_hidden=(8, 12))


def full_batch(alignment):
    """All sequences, scaled as training scales them: w_n / Neff, plate factor N / N = 1."""
    codes = torch.as_tensor(alignment.codes).long()
    weights = torch.as_tensor(alignment.weights, dtype=torch.float32)
    return Minibatch(
        codes,
        LETTERS,
        torch.arange(len(codes)),
        len(codes),
        weights / weights.sum(),
        1.0 / float(weights.sum()),
    )


def test_embedding_equals_dense_layer_on_one_hot(tiny):
    torch.manual_seed(1)
    layer = SequenceEmbedding(tiny.num_positions, LETTERS, 5)
    codes = torch.as_tensor(tiny.codes).long()
    weight = layer.bag.weight[:-1]  # (L·K, 5); the last row is the gap's, always zero
    dense = tiny.one_hot().reshape(len(codes), -1) @ weight + layer.bias
    torch.testing.assert_close(layer(codes), dense)


def test_shapes_of_every_site(tiny):
    vae = small_vae(tiny.num_positions)
    batch = Minibatch.of(torch.as_tensor(tiny.codes), LETTERS)
    with local_params():
        guide = poutine.trace(vae.guide).get_trace(batch)
        model = poutine.trace(poutine.replay(vae.model, trace=guide)).get_trace(batch)
    assert guide.nodes["z"]["value"].shape == (5, 3)
    assert model.nodes["x"]["fn"].batch_shape == (5,)
    assert model.nodes["x"]["fn"].event_shape == (6,)
    assert vae.model.decoder(torch.zeros(7, 3)).shape == (7, 6, LETTERS)
    with local_params(), torch.no_grad():
        assert per_sequence_elbo(vae.model, vae.guide, batch, 4).shape == (4, 5)


def test_loss_is_weighted_elbo_sum_over_neff_by_hand(tiny):
    """−loss = (1/Neff) Σ_n w_n [log p(x_n | z_n) − KL(q(z_n | x_n) ‖ N(0, I))], gaps ignored."""
    vae = small_vae(tiny.num_positions)
    batch = full_batch(tiny)
    with local_params():
        pyro.set_rng_seed(3)
        value = loss(vae.model, vae.guide, batch)
        pyro.set_rng_seed(3)
        pyros = TraceMeanField_ELBO().differentiable_loss(vae.model, vae.guide, batch)
        pyro.set_rng_seed(3)
        z = poutine.trace(vae.guide).get_trace(batch).nodes["z"]["value"]
    with torch.no_grad():
        loc, scale = vae.guide.encoder(batch.codes)
        log_probs = torch.log_softmax(vae.model.decoder(z), -1)
        expected_total = 0.0
        for n, row in enumerate(tiny.codes):
            loglik = sum(log_probs[n, col, c] for col, c in enumerate(row) if c < LETTERS)
            kl = (-scale[n].log() + (scale[n] ** 2 + loc[n] ** 2) / 2 - 0.5).sum()
            expected_total += tiny.weights[n] * float(loglik - kl)
    assert tiny.weights.tolist() == [1.0, 0.5, 0.5, 1.0, 1.0]
    assert -value.item() == pytest.approx(expected_total / tiny.neff, rel=1e-5)
    assert value.item() == pytest.approx(pyros.item(), rel=1e-6)  # Pyro's mean-field loss


@pytest.mark.parametrize("scheme", ["uniform", "weighted"])
def test_minibatches_average_to_the_full_objective(scheme):
    """Each sequence's expected total factor (plate N/B × scale) must be w_n / Neff."""
    torch.manual_seed(0)
    weights = torch.tensor([1.0, 0.5, 0.25, 2.0, 0.1, 1.0])
    codes = torch.zeros(6, 4, dtype=torch.uint8)
    sampler = MinibatchSampler(codes, weights, torch.arange(6), LETTERS, 3, scheme)
    total = torch.zeros(6)
    draws = 40_000
    for _ in range(draws):
        batch = sampler.draw()
        factor = batch.size / len(batch.index) * batch.scale
        total.index_add_(0, batch.index, factor)
    torch.testing.assert_close(total / draws, weights / weights.sum(), atol=4e-3, rtol=0)
    assert batch.global_scale == pytest.approx(1 / float(weights.sum()))


def test_annealing_scales_the_latent_kl_in_model_and_guide(tiny):
    vae = small_vae(tiny.num_positions)
    batch = full_batch(tiny).annealed(0.25)
    with local_params():
        guide = poutine.trace(vae.guide).get_trace(batch)
        model = poutine.trace(poutine.replay(vae.model, trace=guide)).get_trace(batch)
        pyro.set_rng_seed(5)
        value = loss(vae.model, vae.guide, batch)
        pyro.set_rng_seed(5)
        terms = elbo_terms(vae.model, vae.guide, batch)
    expected = torch.as_tensor(tiny.weights, dtype=torch.float32) / tiny.neff * 0.25
    torch.testing.assert_close(guide.nodes["z"]["scale"], expected)
    torch.testing.assert_close(model.nodes["z"]["scale"], expected)
    assert -value.item() == pytest.approx(
        terms["reconstruction"] - 0.25 * terms["kl_latent"], rel=1e-5
    )
    assert terms["kl_global"] == 0.0


def test_no_global_parameter_store_entries(tiny):
    pyro.clear_param_store()
    vae = small_vae(tiny.num_positions)
    with local_params():
        loss(vae.model, vae.guide, full_batch(tiny))
    assert list(pyro.get_param_store().keys()) == []


def test_global_sites_weigh_one_over_neff(tiny):
    """A global latent's KL counts once per Neff, against the per-sequence weighted average."""
    batch = full_batch(tiny)

    def model(batch):
        with global_sites(batch):
            pyro.sample("theta", dist.Normal(0.0, 1.0))

    def guide(batch):
        with global_sites(batch):
            pyro.sample("theta", dist.Normal(0.3, 0.5))

    kl = float(kl_divergence(dist.Normal(0.3, 0.5), dist.Normal(0.0, 1.0)))
    assert elbo_terms(model, guide, batch)["kl_global"] == pytest.approx(kl / tiny.neff)
    assert loss(model, guide, batch).item() == pytest.approx(kl / tiny.neff)


def test_letters_is_the_masked_categorical_it_replaces():
    torch.manual_seed(0)
    logits = torch.randn(3, 4, 6, LETTERS)  # (samples, sequences, L, K)
    codes = torch.randint(0, LETTERS + 1, (4, 6))  # LETTERS is a gap
    observed, targets = codes < LETTERS, codes.clamp(max=LETTERS - 1)
    expected = dist.Categorical(logits=logits).mask(observed).to_event(1).log_prob(targets)
    letters = Letters(logits, observed)
    assert (letters.batch_shape, letters.event_shape) == ((3, 4), (6,))
    torch.testing.assert_close(letters.log_prob(targets), expected)
    assert not observed.all()  # the gaps were left out
    draws = letters.sample()
    assert draws.shape == (3, 4, 6) and 0 <= draws.min() and draws.max() < LETTERS
