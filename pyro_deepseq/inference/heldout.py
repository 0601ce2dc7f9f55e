"""Held-out log-likelihood: how well a trained model predicts sequences of its family it never saw.

It judges models and settings without labels. The held-out sequences are whole clusters
(:mod:`pyro_deepseq.data.holdout`), so near copies of them are not in training. For a VAE the value
is the importance-weighted bound on log p(x) (Burda et al. 2016) with ``particles`` draws of the
latent variables (and, for a Bayesian decoder, of its weights); for the site-independent model it
is exact. Both are weighted means over the held-out sequences, in nats per sequence, gaps left
out, so the two kinds of model compare on the same sequences.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..data.alignment import Alignment
from ..data.holdout import Holdout, cluster_holdout
from ..models.independent import SiteIndependentModel
from ..models.networks import evaluating, local_params
from ..models.objective import Minibatch, per_sequence_elbo

#: Importance samples per sequence: the bound tightens as they grow, slowly past 100.
PARTICLES = 100
#: Rows (sequences × particles) in one pass of a model without global latent variables.
ROWS_PER_PASS = 8192


def split(alignment: Alignment, fraction: float, seed: int) -> Holdout:
    """The run's training and held-out rows: ``fraction`` of Neff held out as whole clusters at
    the alignment's θ, drawn with the run's ``seed``; no holdout when ``fraction`` is 0."""
    rows = np.arange(len(alignment.codes))
    if fraction <= 0:
        return Holdout(rows, rows[:0], rows[:0])
    letters = len(alignment.alphabet)
    return cluster_holdout(
        alignment.codes, alignment.weights, letters, alignment.theta, fraction, seed
    )


@torch.no_grad()
def vae_log_likelihood(
    vae, codes: torch.Tensor, weights: torch.Tensor, letters: int, particles: int = PARTICLES
) -> float:
    """Weighted mean of the IWAE bound over the sequences ``codes`` (n, L)."""
    chunk = len(codes) if vae.global_latents else max(1, ROWS_PER_PASS // particles)
    bounds = []
    with local_params(), evaluating(vae):
        for start in range(0, len(codes), chunk):
            batch = Minibatch.of(codes[start : start + chunk], letters)
            if vae.global_latents:  # a weight draw per particle, for all sequences at once
                draws = torch.stack(
                    [
                        per_sequence_elbo(vae.model, vae.guide, batch, None, False)
                        for _ in range(particles)
                    ]
                )
            else:
                draws = per_sequence_elbo(vae.model, vae.guide, batch, particles, False)
            bounds.append(draws.double().logsumexp(0) - math.log(particles))
    return _weighted_mean(torch.cat(bounds).cpu().numpy(), weights)


def site_independent_log_likelihood(
    model: SiteIndependentModel, codes: np.ndarray, weights
) -> float:
    """Weighted mean of the exact log p(x) over the sequences ``codes`` (n, L)."""
    return _weighted_mean(model.log_probability(np.asarray(codes)), weights)


def _weighted_mean(values: np.ndarray, weights) -> float:
    weights = np.asarray(torch.as_tensor(weights).cpu(), dtype=np.float64)
    return float((values * weights).sum() / weights.sum())
