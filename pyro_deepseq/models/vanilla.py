"""The vanilla VAE: a Gaussian latent per sequence, a dense decoder, an amortised encoder."""

from __future__ import annotations

import pyro
import pyro.distributions as dist
import torch
from pyro.nn import PyroModule
from torch import nn

from ..networks import Decoder, Encoder, local_params
from ..objective import Minibatch, annealed, sequence_plate


class VanillaModel(PyroModule):
    """p(z, x): z_n ~ N(0, I); x_nl | z_n ~ Categorical(softmax(decoder(z_n))_l), gaps unseen."""

    def __init__(self, length: int, letters: int, latent_dim: int, hidden):
        super().__init__()
        self.latent_dim = latent_dim
        self.decoder = Decoder(length, letters, hidden, latent_dim)

    def forward(self, batch: Minibatch) -> None:
        prior = torch.zeros(self.latent_dim, device=batch.codes.device)
        with sequence_plate(batch):
            with annealed(batch):
                z = pyro.sample("z", dist.Normal(prior, 1.0).to_event(1))
            likelihood = dist.Categorical(logits=self.decoder(z)).mask(batch.observed)
            pyro.sample("x", likelihood.to_event(1), obs=batch.targets)


class VanillaGuide(PyroModule):
    """q(z | x): a Gaussian from the amortised encoder."""

    def __init__(self, length: int, letters: int, latent_dim: int, hidden):
        super().__init__()
        self.encoder = Encoder(length, letters, hidden, latent_dim)

    def forward(self, batch: Minibatch) -> None:
        with sequence_plate(batch):
            loc, scale = self.encoder(batch.codes)
            with annealed(batch):
                pyro.sample("z", dist.Normal(loc, scale).to_event(1))


class VanillaVAE(nn.Module):
    """The model/guide pair; one ``state_dict`` holds both.

    Parameters
    ----------
    length, letters : int
        Focus columns L and alphabet size K.
    latent_dim : int
    encoder_hidden, decoder_hidden : tuple of int
        Hidden widths, any depth (the original: 1500-1500 and 100-2000).
    """

    global_latents = False  # no weights drawn per sample

    def __init__(
        self,
        length: int,
        letters: int,
        latent_dim: int = 30,
        encoder_hidden=(1500, 1500),
        decoder_hidden=(100, 2000),
    ):
        super().__init__()
        with local_params():
            self.model = VanillaModel(length, letters, latent_dim, decoder_hidden)
            self.guide = VanillaGuide(length, letters, latent_dim, encoder_hidden)
