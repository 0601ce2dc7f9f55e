"""The vanilla VAE: a Gaussian latent per sequence, a dense decoder, an amortised encoder."""

from __future__ import annotations

from pyro.nn import PyroModule
from torch import nn

from ..networks import Decoder, Encoder, local_params
from ..objective import Minibatch
from .sites import encode, generate


class VanillaModel(PyroModule):
    """p(z, x): z_n ~ N(0, I); x_nl | z_n ~ Categorical(softmax(decoder(z_n))_l), gaps unseen."""

    def __init__(self, length: int, letters: int, latent_dim: int, hidden):
        super().__init__()
        self.latent_dim = latent_dim
        self.decoder = Decoder(length, letters, hidden, latent_dim)

    def forward(self, batch: Minibatch) -> None:
        generate(batch, self.latent_dim, self.decoder)


class VanillaGuide(PyroModule):
    """q(z | x): a Gaussian from the amortised encoder."""

    def __init__(self, length: int, letters: int, latent_dim: int, hidden):
        super().__init__()
        self.encoder = Encoder(length, letters, hidden, latent_dim)

    def forward(self, batch: Minibatch) -> None:
        encode(batch, self.encoder)


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
