"""The Ladder VAE: shapes, the merge, the direction of its KL terms, and its one-level limit."""

import pyro
import pytest
import torch
from pyro.infer import Trace_ELBO

from pyro_deepseq.models import BayesianVAE, LadderVAE, VanillaVAE
from pyro_deepseq.models.ladder import precision_weighted
from pyro_deepseq.models.networks import local_params
from pyro_deepseq.models.objective import loss, per_sequence_elbo

from .conftest import random_batch, traces

LENGTH, LETTERS = 7, 20
SMALL = dict(latent_dim=5, encoder_hidden=(24,), decoder_hidden=(8, 16))


def ladder(**options):
    pyro.set_rng_seed(0)
    settings = {**SMALL, "ladder_dims": (4, 3), "ladder_hidden": 12, "decoder": "dense"}
    return LadderVAE(LENGTH, LETTERS, **{**settings, **options})


def batch_of(rows=6, seed=1):
    return random_batch(rows, LENGTH, LETTERS, 0.5, seed)


def test_every_level_has_its_shape_in_model_and_guide():
    guide, model = traces(ladder(), batch_of())
    for trace in (guide, model):
        shapes = {name: tuple(trace.nodes[name]["value"].shape) for name in ("z_1", "z_2", "z_3")}
        assert shapes["z_1"] == (6, 5) and shapes["z_2"] == (6, 4) and shapes["z_3"] == (6, 3)
    likelihood = model.nodes["x"]["fn"]
    assert (*likelihood.batch_shape, *likelihood.event_shape) == (6, LENGTH)


def test_the_merge_is_the_precision_weighted_mean_and_variance():
    """By hand, and stable where the precisions of tiny scales overflow float32."""
    loc, scale = precision_weighted(*map(torch.tensor, (0.0, 2.0, 5.0, 1.0)))
    # precisions 1/4 and 1: σ² = 1/(1/4 + 1) = 0.8, μ = (0·1/4 + 5·1)·0.8 = 4
    assert float(loc) == pytest.approx(4.0) and float(scale) == pytest.approx(0.8**0.5)
    loc, scale = precision_weighted(*map(torch.tensor, (1.0, 1.0, 3.0, 1.0)))
    assert float(loc) == pytest.approx(2.0) and float(scale) == pytest.approx(0.5**0.5)
    loc, scale = precision_weighted(*map(torch.tensor, (1.0, 1e-25, 3.0, 1.0)))
    assert float(loc) == pytest.approx(1.0) and 0 < float(scale) < 1.01e-4  # all on the sharp one


def test_guide_merges_its_bottom_up_estimate_with_the_models_conditional():
    vae, batch = ladder(), batch_of()
    guide, model = traces(vae, batch)
    estimates = vae.guide.encoder.bottom_up(batch.codes)
    top = guide.nodes["z_3"]["fn"].base_dist
    assert torch.allclose(top.loc, estimates[2][0]) and torch.allclose(top.scale, estimates[2][1])
    for level in (2, 1):
        prior = model.nodes[f"z_{level}"]["fn"].base_dist
        loc, scale = precision_weighted(*estimates[level - 1], prior.loc, prior.scale)
        posterior = guide.nodes[f"z_{level}"]["fn"].base_dist
        assert torch.allclose(posterior.loc, loc) and torch.allclose(posterior.scale, scale)


def _reverse_kl_loss(vae, batch):
    """The loss with KL(p ‖ q) at each latent level: the seed replication's mistake."""
    guide, model = traces(vae, batch)
    value = -(model.nodes["x"]["fn"].log_prob(model.nodes["x"]["value"]) * 0.5).sum()
    for level in (1, 2, 3):
        p, q = model.nodes[f"z_{level}"]["fn"], guide.nodes[f"z_{level}"]["fn"]
        value = value + (torch.distributions.kl_divergence(p, q) * 0.5).sum()
    return value


def test_analytic_kl_per_level_is_an_unbiased_elbo_of_kl_q_to_p():
    """Pyro's Monte-Carlo ELBO (log q − log p at sampled z) agrees with our analytic one."""
    vae, batch = ladder(), batch_of()
    with torch.no_grad():  # widen q so that KL(q ‖ p) and KL(p ‖ q) differ clearly
        vae.guide.encoder.bottom.log_scale.bias.fill_(-1.0)  # σ̂ = e⁻¹ at level 1
        for head in vae.guide.encoder.heads:
            head.raw_scale.bias.fill_(-0.5)  # softplus(−0.5) = 0.47 above
    draws = 400
    with torch.no_grad(), local_params():
        analytic = torch.stack([loss(vae.model, vae.guide, batch) for _ in range(draws)])
        monte_carlo = torch.tensor(
            [Trace_ELBO().loss(vae.model, vae.guide, batch) for _ in range(draws)]
        )
        reverse = torch.stack([_reverse_kl_loss(vae, batch) for _ in range(draws)])
    # measured: analytic 86.42, Monte Carlo 86.42 (standard error 0.15), reversed KL 216.2
    error = (analytic.var() / draws + monte_carlo.var() / draws).sqrt()
    assert abs(analytic.mean() - monte_carlo.mean()) < 4 * error
    assert abs(reverse.mean() - monte_carlo.mean()) > 20 * error


def test_one_level_is_the_vanilla_vae():
    vanilla = VanillaVAE(LENGTH, LETTERS, **SMALL)
    one_level = LadderVAE(LENGTH, LETTERS, **SMALL, ladder_dims=(), decoder="dense")
    renamed = {
        name.replace("guide.encoder.", "guide.encoder.bottom."): value
        for name, value in vanilla.state_dict().items()
    }
    one_level.load_state_dict(renamed)
    batch = batch_of()
    with local_params():
        pyro.set_rng_seed(3)
        expected = per_sequence_elbo(vanilla.model, vanilla.guide, batch, 5)
        pyro.set_rng_seed(3)
        actual = per_sequence_elbo(one_level.model, one_level.guide, batch, 5)
    assert torch.allclose(actual, expected)


def test_sparse_decoder_is_deepsequences():
    options = dict(SMALL, conv_size=5)
    bayesian = BayesianVAE(LENGTH, LETTERS, **options)
    sparse = ladder(**options, decoder="sparse")
    assert sparse.global_latents and not ladder().global_latents
    assert not ladder(**options, decoder="sparse", bayesian=False).global_latents
    shapes = {k: v.shape for k, v in sparse.guide.loc.items()}
    assert shapes == {k: v.shape for k, v in bayesian.guide.loc.items()}
    guide, model = traces(sparse, batch_of())
    assert model.nodes["sparsity"]["fn"].loc == pytest.approx(-12.36, abs=0.005)
    assert {"z_1", "z_2", "z_3", "out.weight"} <= set(guide.nodes)


def test_training_lowers_the_loss_of_both_decoders():
    batch = batch_of(rows=32)
    for vae in (ladder(), ladder(decoder="sparse", conv_size=5)):
        optimizer = torch.optim.Adam(vae.parameters(), lr=1e-2)
        values = []
        with local_params():
            for _ in range(150):
                optimizer.zero_grad()
                value = loss(vae.model, vae.guide, batch)
                value.backward()
                optimizer.step()
                values.append(float(value.detach()))
        assert sum(values[-10:]) < 0.8 * sum(values[:10])
