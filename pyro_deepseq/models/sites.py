"""The per-sequence latent variables of the single-level VAEs (vanilla and Bayesian).

A model's latent part has ``generate(batch, decode)``: the prior of z and the likelihood of x
given a decoder, in the sequence plate. A guide's encoder has ``sample(batch)``: q(z | x) at the
same sites. Latent sites carry the KL warm-up weight in both. The Ladder VAE
(:mod:`~pyro_deepseq.models.ladder`) provides the same two methods for a hierarchy of latents.
"""

from __future__ import annotations

import pyro
import pyro.distributions as dist
import torch
from torch import nn
from torch.distributions import constraints

from .networks import Encoder
from .objective import Minibatch, annealed, sequence_plate


class Letters(dist.TorchDistribution):
    """A sequence's letters: x_l ~ Categorical(softmax(logits_l)) at each observed position.

    The same distribution as ``Categorical(logits).mask(observed).to_event(1)``, at a fraction of
    the cost: the logits (rows × L × K) are a step's largest tensor, and torch's Categorical
    checks every logit and writes a normalised copy through several passes, where this takes one
    log-softmax and a gather.

    Parameters
    ----------
    logits : torch.Tensor, shape (..., L, K)
    observed : torch.Tensor, shape (..., L), bool
        False at gaps, which contribute nothing.
    """

    arg_constraints = {}
    support = constraints.independent(constraints.nonnegative_integer, 1)

    def __init__(self, logits: torch.Tensor, observed: torch.Tensor):
        self.logits, self.observed = logits, observed
        super().__init__(logits.shape[:-2], logits.shape[-2:-1], validate_args=False)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        index = value.long().expand(self.logits.shape[:-1]).unsqueeze(-1)
        picked = torch.log_softmax(self.logits, -1).gather(-1, index).squeeze(-1)
        return torch.where(self.observed, picked, 0.0).sum(-1)

    def sample(self, sample_shape=()) -> torch.Tensor:
        return dist.Categorical(logits=self.logits).sample(sample_shape)


def observe(batch: Minibatch, logits: torch.Tensor) -> None:
    """x_nl ~ Categorical(softmax(logits_nl)) at every letter; gaps are not observed."""
    pyro.sample("x", Letters(logits, batch.observed), obs=batch.targets)


class StandardNormalPrior(nn.Module):
    """Model side: z_n ~ N(0, I); x_n | z_n from ``decode(z_n)``. Holds no parameters."""

    def __init__(self, latent_dim: int):
        super().__init__()
        self.latent_dim = latent_dim

    def generate(self, batch: Minibatch, decode) -> None:
        prior = torch.zeros(self.latent_dim, device=batch.codes.device)
        with sequence_plate(batch):
            with annealed(batch):
                z = pyro.sample("z", dist.Normal(prior, 1.0).to_event(1))
            observe(batch, decode(z))


class GaussianEncoder(Encoder):
    """Guide side: q(z_n | x_n), a Gaussian from the amortised encoder."""

    def sample(self, batch: Minibatch) -> None:
        with sequence_plate(batch):
            loc, scale = self(batch.codes)
            with annealed(batch):
                pyro.sample("z", dist.Normal(loc, scale).to_event(1))

    def posterior(self, codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(loc, scale) of q(z | x) for each sequence."""
        return self(codes)
