"""The per-sequence sites every VAE shares, in the sequence plate with KL warm-up on z."""

from __future__ import annotations

import pyro
import pyro.distributions as dist
import torch

from ..objective import Minibatch, annealed, sequence_plate


def generate(batch: Minibatch, latent_dim: int, decode) -> None:
    """Model side: z_n ~ N(0, I); x_nl | z_n ~ Categorical(softmax(decode(z_n))_l), gaps unseen."""
    prior = torch.zeros(latent_dim, device=batch.codes.device)
    with sequence_plate(batch):
        with annealed(batch):
            z = pyro.sample("z", dist.Normal(prior, 1.0).to_event(1))
        likelihood = dist.Categorical(logits=decode(z)).mask(batch.observed)
        pyro.sample("x", likelihood.to_event(1), obs=batch.targets)


def encode(batch: Minibatch, encoder) -> None:
    """Guide side: q(z_n | x_n), a Gaussian from the amortised encoder."""
    with sequence_plate(batch):
        loc, scale = encoder(batch.codes)
        with annealed(batch):
            pyro.sample("z", dist.Normal(loc, scale).to_event(1))
