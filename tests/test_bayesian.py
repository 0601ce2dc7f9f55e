"""The Bayesian VAE: faithfulness to the reference's formulas, numbers and switches."""

import math

import pyro
import pyro.distributions as dist
import pyro.poutine as poutine
import pytest
import torch
from pyro.distributions.kl import kl_divergence

from pyro_deepseq.models import BayesianVAE
from pyro_deepseq.models.bayesian import sparsity_prior_loc
from pyro_deepseq.models.meanfield import (
    IsotropicNormal,
    MeanFieldNormal,
    NoisePool,
    standard_normal,
)
from pyro_deepseq.models.networks import local_params
from pyro_deepseq.models.objective import _objective_parts, elbo_terms, loss, per_sequence_elbo

from .conftest import random_batch, traces

LENGTH, LETTERS, LATENT = 7, 20, 3
SMALL = dict(latent_dim=LATENT, encoder_hidden=(16,), decoder_hidden=(6, 12), conv_size=5)


def small_vae(**options):
    pyro.set_rng_seed(0)
    return BayesianVAE(LENGTH, LETTERS, **{**SMALL, **options})


def batch_of(rows=4, seed=1):
    return random_batch(rows, LENGTH, LETTERS, 0.25, seed)


def global_sites(trace):
    return {
        name: site
        for name, site in trace.nodes.items()
        if site["type"] == "sample" and name not in ("z", "x", "sequences")
    }


def test_sparsity_prior_location_matches_the_reference():
    assert sparsity_prior_loc(0.001, 4.0) == pytest.approx(-12.36, abs=0.005)
    assert sparsity_prior_loc(0.01, 4.0) == pytest.approx(-9.31, abs=0.005)
    prior = torch.distributions.Normal(sparsity_prior_loc(0.001, 4.0), 4.0)
    assert float(1 - prior.cdf(torch.tensor(0.0))) == pytest.approx(0.001, rel=1e-4)


def test_tiling_maps_hidden_unit_h_to_row_h_mod_rows():
    vae = small_vae(repeat=3, conv_size=0)  # 12 hidden units, 4 rows of gates
    decoder = vae.model.decoder
    weights = {name: torch.ones(spec.shape) for name, spec in decoder.weights.items()}
    weights["sparsity"] = torch.randn(4, LENGTH)
    effective = decoder.output_weight(weights).reshape(12, LENGTH, LETTERS)
    for h in range(12):
        gates = torch.sigmoid(weights["sparsity"][h % 4])
        torch.testing.assert_close(effective[h], gates[:, None].expand(LENGTH, LETTERS))


def test_decoder_size_for_blat_matches_the_reference():
    pyro.set_rng_seed(0)
    vae = BayesianVAE(253, 20)
    means = sum(p.numel() for p in vae.guide.loc.parameters())
    log_scales = sum(p.numel() for p in vae.guide.log_scale.parameters())
    hidden = (30 * 100 + 100) + (100 * 2000 + 2000)
    output = 2000 * 253 * 40 + 40 * 20 + 500 * 253 + 253 * 20 + 1  # W_out, W_conv, S, b, t
    assert means == log_scales == hidden + output == 20_577_461
    encoder = sum(p.numel() for p in vae.guide.encoder.parameters())
    assert 9.5e6 < encoder < 10.5e6  # the reference's ≈ 10 M
    assert list(vae.model.parameters()) == []  # the model holds priors only


def test_initialisation_is_the_originals():
    vae = small_vae()
    loc, log_scale = vae.guide.loc, vae.guide.log_scale
    assert all(torch.all(p == -5.0) for p in log_scale.parameters())
    assert torch.all(loc["sparsity"] == 0.0) and loc["temperature"].item() == 1.0
    assert torch.all(loc["out_bias"] == 0.1) and torch.all(loc["hidden_0_bias"] == 0.1)
    pyro.set_rng_seed(0)
    big = BayesianVAE(100, 20, decoder_hidden=(100, 2000))
    glorot = math.sqrt(2 / (2000 + 100 * 40))
    assert big.guide.loc["out_weight"].std().item() == pytest.approx(glorot, rel=0.01)


def test_log_likelihood_at_the_means_equals_a_plain_torch_computation():
    """x | z, θ with θ at its posterior means: the reference doc's formula, written out."""
    vae = small_vae(repeat=2)
    batch = batch_of()
    means = {
        name: vae.guide.loc[name.replace(".", "_")].detach() for name in vae.model.decoder.weights
    }
    z = torch.randn(len(batch.codes), LATENT)
    conditioned = poutine.condition(vae.model, data={**means, "z": z})
    with local_params(), torch.no_grad():
        trace = poutine.trace(conditioned).get_trace(batch)
        loglik = trace.nodes["x"]["fn"].log_prob(trace.nodes["x"]["value"])

    m = means
    h1 = torch.relu(z @ m["hidden_0.weight"] + m["hidden_0.bias"])
    h2 = torch.sigmoid(h1 @ m["hidden_1.weight"] + m["hidden_1.bias"])
    rows = 12 // 2
    gates = torch.sigmoid(m["sparsity"][torch.arange(12) % rows])  # (H, L)
    out = m["out.weight"].reshape(12, LENGTH, 5)
    weight = torch.einsum("hlc,ck,hl->hlk", out, m["conv.weight"], gates)
    logits = torch.einsum("bh,hlk->blk", h2, weight) + m["out.bias"].reshape(LENGTH, LETTERS)
    logits = logits * math.log1p(math.exp(float(m["temperature"])))
    log_p = torch.log_softmax(logits, -1)
    expected = torch.zeros(len(batch.codes))
    for n, row in enumerate(batch.codes.tolist()):
        expected[n] = sum(log_p[n, i, c] for i, c in enumerate(row) if c < LETTERS)
    torch.testing.assert_close(loglik, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "options, absent, out_shape",
    [
        ({}, set(), (12, LENGTH * 5)),
        ({"group_sparsity": False}, {"sparsity"}, (12, LENGTH * 5)),
        ({"conv_size": 0}, {"conv.weight"}, (12, LENGTH * LETTERS)),
        ({"temperature": False}, {"temperature"}, (12, LENGTH * 5)),
    ],
)
def test_switches_give_the_simpler_models(options, absent, out_shape):
    vae = small_vae(**options)
    guide, model = traces(vae, batch_of())
    names = set(global_sites(model))
    full = {"hidden_0.weight", "hidden_0.bias", "hidden_1.weight", "hidden_1.bias"}
    full |= {"out.weight", "conv.weight", "sparsity", "out.bias", "temperature"}
    if options.get("conv_size") == 0:
        full.discard("conv.weight")
    assert names == full - absent
    assert model.nodes["out.weight"]["value"].shape == out_shape
    counts = {name: site["value"].numel() for name, site in global_sites(model).items()}
    assert sum(p.numel() for p in vae.guide.loc.parameters()) == sum(counts.values())


def test_repeat_sets_the_number_of_gate_rows():
    for repeat, rows in [(1, 12), (4, 3), (12, 1)]:
        vae = small_vae(repeat=repeat)
        assert vae.guide.loc["sparsity"].shape == (rows, LENGTH)


def test_point_estimates_have_the_same_architecture_and_no_global_sites():
    bayesian, point = small_vae(), small_vae(bayesian=False)
    guide, model = traces(point, batch_of())
    assert global_sites(model) == {} and global_sites(guide) == {}
    assert sum(p.numel() for p in point.model.parameters()) == sum(
        p.numel() for p in bayesian.guide.loc.parameters()
    )
    with local_params(), torch.no_grad():
        terms = elbo_terms(point.model, point.guide, batch_of())
    assert terms["kl_global"] == 0.0 and math.isfinite(terms["elbo"])
    assert not point.global_latents and bayesian.global_latents


def test_global_kl_weighs_one_over_neff_and_equals_torchs_normal_kl():
    vae = small_vae()
    with torch.no_grad():
        for p in vae.guide.log_scale.parameters():
            p.uniform_(-3.0, 0.5)
        for p in vae.guide.loc.parameters():
            p.normal_()
    batch = batch_of()
    expected = 0.0
    for name, spec in vae.model.decoder.weights.items():
        key = name.replace(".", "_")
        q = dist.Normal(vae.guide.loc[key], vae.guide.log_scale[key].exp())
        p = dist.Normal(spec.prior_loc, spec.prior_scale)
        expected += kl_divergence(q, p).sum().item()
    with local_params():
        terms = elbo_terms(vae.model, vae.guide, batch)
        trained = _objective_parts(vae.model, vae.guide, batch)  # the draw-and-KL nodes
    assert terms["kl_global"] == pytest.approx(expected * batch.global_scale, rel=1e-5)
    assert trained["kl_global"].requires_grad
    assert trained["kl_global"].item() == pytest.approx(terms["kl_global"], rel=1e-6)


@pytest.mark.parametrize("prior", [(-2.0, 4.0), None], ids=["draw-and-kl-fused", "separate"])
@pytest.mark.parametrize("terms", ["both", "draw", "kl"])
def test_meanfield_gradients_equal_autograd_of_the_plain_formulas(prior, terms):
    torch.manual_seed(0)
    loc = torch.randn(50, 30, requires_grad=True)
    log_scale = (torch.rand(50, 30) * 3 - 3).requires_grad_()
    upstream = torch.randn(50, 30)
    q, p = MeanFieldNormal(loc, log_scale, prior), IsotropicNormal(-2.0, 4.0, (50, 30))
    torch.manual_seed(1)
    value = q.rsample()
    assert (q.drawn_kl is not None) == (prior is not None)

    def objective(value, kl):  # a term left out sends the node no gradient at all
        if terms == "draw":
            return (value * upstream).sum()
        if terms == "kl":
            return 0.3 * kl
        return (value * upstream).sum() + 0.3 * kl

    fast = torch.autograd.grad(objective(value, kl_divergence(q, p)), (loc, log_scale))

    torch.manual_seed(1)
    noise = torch.randn(50, 30)
    reference_q = dist.Normal(loc, log_scale.exp())
    plain = loc + log_scale.exp() * noise
    reference_kl = kl_divergence(reference_q, dist.Normal(-2.0, 4.0)).sum()
    torch.testing.assert_close(value, plain)
    torch.testing.assert_close(kl_divergence(q, p), reference_kl)
    reference = torch.autograd.grad(objective(plain, reference_kl), (loc, log_scale))
    for a, b in zip(fast, reference, strict=True):
        torch.testing.assert_close(a, b)
    torch.testing.assert_close(
        q.log_prob(value), reference_q.log_prob(value).sum(), rtol=1e-5, atol=1e-4
    )
    reference_prior = dist.Normal(-2.0, 4.0).log_prob(value).sum()
    torch.testing.assert_close(p.log_prob(value), reference_prior)


def test_large_noise_draws_are_reproducible_standard_normals():
    torch.manual_seed(7)
    first = standard_normal((3000, 1000))
    torch.manual_seed(7)
    assert torch.equal(first, standard_normal((3000, 1000)))
    assert abs(float(first.mean())) < 2e-3 and float(first.std()) == pytest.approx(1, abs=2e-3)
    halves = first.view(-1).chunk(2)
    assert not torch.equal(halves[0][:100], halves[1][:100])


POOLED = (1100, 1000)  # large enough for the pool


def test_noise_pool_draws_standard_normal_windows_renewed_after_its_steps():
    torch.manual_seed(0)
    pool = NoisePool(steps=3)
    assert pool.takes(POOLED, "cpu") and not pool.takes((100, 100), "cpu")
    rounds = []
    for _ in range(2):
        steps = []
        for _ in range(3):
            steps.append([pool.draw(POOLED).flatten().clone() for _ in range(2)])  # two tensors
            pool.end_step()
        rounds.append(steps)
    first = rounds[0][0][0]
    assert abs(float(first.mean())) < 3e-3 and float(first.std()) == pytest.approx(1, abs=3e-3)
    # a round's draws of one tensor are windows of one pool of 2n numbers...
    round_values = torch.cat([tensors[0] for tensors in rounds[0]])
    assert len(torch.unique(round_values)) <= 2 * first.numel()
    # ...at different offsets, so an entry meets a new number at each step
    assert len({float(tensors[0][0]) for tensors in rounds[0]}) == 3
    # the tensors of one step, and the rounds, share no numbers (but float32 ties, ~2 %)
    assert torch.isin(rounds[0][0][1], round_values).float().mean() < 0.1
    assert torch.isin(rounds[1][0][0], round_values).float().mean() < 0.1


def test_noise_pool_state_continues_the_same_draws():
    torch.manual_seed(0)
    pool = NoisePool(steps=4)
    pool.draw(POOLED)
    pool.end_step()
    state, rng = pool.state(), torch.get_rng_state()
    expected = pool.draw(POOLED).clone()
    resumed = NoisePool(steps=4)
    resumed.restore(state)
    torch.set_rng_state(rng)
    assert torch.equal(resumed.draw(POOLED), expected)


def test_one_weight_draw_per_step_is_shared_by_the_minibatch():
    vae = small_vae()
    guide, model = traces(vae, batch_of(rows=6))
    assert guide.nodes["out.weight"]["value"].shape == (12, LENGTH * 5)
    assert model.nodes["x"]["fn"].batch_shape == (6,)


def test_scores_and_loss_are_finite_and_training_lowers_the_loss():
    vae = small_vae()
    batch = batch_of(rows=8)
    optimizer = torch.optim.Adam(vae.parameters(), lr=1e-2)
    losses = []
    with local_params():
        for _ in range(60):
            optimizer.zero_grad()
            value = loss(vae.model, vae.guide, batch)
            value.backward()
            optimizer.step()
            losses.append(value.item())
        with torch.no_grad():
            single = per_sequence_elbo(vae.model, vae.guide, batch, None)
    assert all(math.isfinite(v) for v in losses)
    assert sum(losses[-10:]) < sum(losses[:10])
    assert single.shape == (8,) and torch.isfinite(single).all()
