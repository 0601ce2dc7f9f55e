"""The vanilla VAE: a Gaussian latent per sequence, a dense decoder, an amortised encoder."""

from __future__ import annotations

from pyro.nn import PyroModule
from torch import nn

from .networks import Decoder, local_params
from .objective import Minibatch
from .sites import GaussianEncoder, StandardNormalPrior


class VanillaModel(PyroModule):
    """p(z, x): z from ``latent`` (N(0, I) here, a hierarchy in the Ladder VAE), x from the dense
    decoder: x_nl | z_n ~ Categorical(softmax(decoder(z_n))_l), gaps unseen."""

    def __init__(self, decoder: Decoder, latent: nn.Module):
        super().__init__()
        self.decoder, self.latent = decoder, latent

    def forward(self, batch: Minibatch) -> None:
        self.latent.generate(batch, self.decoder)


class VanillaGuide(PyroModule):
    """q(z | x) from the encoder (amortised Gaussian here, hierarchical in the Ladder VAE)."""

    def __init__(self, encoder: nn.Module):
        super().__init__()
        self.encoder = encoder

    def forward(self, batch: Minibatch) -> None:
        self.encoder.sample(batch)


class VanillaVAE(nn.Module):
    """The model/guide pair; one ``state_dict`` holds both.

    Parameters
    ----------
    length, letters : int
        Focus columns L and alphabet size K.
    latent_dim : int
    encoder_hidden, decoder_hidden : tuple of int
        Hidden widths, any depth (the original: 1500-1500 and 100-2000).
    decoder_dropout : float
        Dropout probability on z and the decoder's hidden layers in training (EVE's 0.1).
    last_activation : str
        The decoder's last hidden nonlinearity: "sigmoid" (the original's) or "relu" (EVE's).
    """

    global_latents = False  # no weights drawn per sample

    def __init__(
        self,
        length: int,
        letters: int,
        latent_dim: int = 30,
        encoder_hidden=(1500, 1500),
        decoder_hidden=(100, 2000),
        decoder_dropout: float = 0.0,
        last_activation: str = "sigmoid",
    ):
        super().__init__()
        with local_params():
            decoder = Decoder(
                length, letters, decoder_hidden, latent_dim, decoder_dropout, last_activation
            )
            self.model = VanillaModel(decoder, StandardNormalPrior(latent_dim))
            encoder = GaussianEncoder(length, letters, encoder_hidden, latent_dim)
            self.guide = VanillaGuide(encoder)
