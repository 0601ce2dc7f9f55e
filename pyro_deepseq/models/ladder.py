"""The Ladder VAE (Sønderby et al. 2016): a hierarchy of latent variables z_1 … z_L per sequence.

Model: z_L ~ N(0, I); z_i | z_{i+1} ~ N(μ_p, σ_p²) from a one-hidden-layer network, i = L−1 … 1;
x from z_1 through the dense decoder or DeepSequence's sparse Bayesian one.

Guide (hierarchical): a deterministic bottom-up pass, d_1 = the encoder's last hidden layer and
d_i = relu(A_i d_{i−1}), each level with its own mean and σ heads (μ̂_i, σ̂_i); then top-down
sampling: q(z_L | x) = N(μ̂_L, σ̂_L²) and q(z_i | z_{i+1}, x) the precision-weighted merge of
(μ̂_i, σ̂_i) with the model's p(z_i | z_{i+1}), which the guide evaluates with the model's network.

The objective takes KL(q ‖ p) analytically at every level, at the parent z_{i+1} the guide drew: a
one-sample estimate of E_q[KL(q(z_i | z_{i+1}, x) ‖ p(z_i | z_{i+1}))], so the ELBO stays unbiased
(a test compares it with Pyro's Monte-Carlo ``Trace_ELBO``). With one level this is the vanilla VAE.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pyro
import pyro.distributions as dist
import torch
from torch import nn
from torch.nn import functional

from .bayesian import BayesianGuide, BayesianModel, SparseDecoder
from .networks import Decoder, Encoder, glorot_, local_params
from .objective import Minibatch, annealed, sequence_plate
from .sites import observe
from .vanilla import VanillaGuide, VanillaModel

DECODERS = ("dense", "sparse")


#: Bounds on the variances the merge reads: both estimates can grow sharp enough during training
#: for their variances to underflow float32, and 0/0 is NaN.
VARIANCE_BOUNDS = (1e-8, 1e8)
#: Smallest σ a head gives, so that no KL term divides by a vanishing σ_p.
MIN_SCALE = 1e-4


def precision_weighted(loc_hat, scale_hat, loc_prior, scale_prior):
    """The merge of two Gaussian estimates: σ² = 1/(σ̂⁻² + σ_p⁻²), μ = (μ̂σ̂⁻² + μ_pσ_p⁻²)σ².

    Computed as σ² = σ̂²σ_p²/(σ̂² + σ_p²) and μ = (μ̂σ_p² + μ_pσ̂²)/(σ̂² + σ_p²), which stays finite
    where the precisions of tiny scales would overflow float32.
    """
    variance_hat = scale_hat.square().clamp(*VARIANCE_BOUNDS)
    variance_prior = scale_prior.square().clamp(*VARIANCE_BOUNDS)
    total = variance_hat + variance_prior
    loc = (loc_hat * variance_prior + loc_prior * variance_hat) / total
    return loc, (variance_hat * variance_prior / total).sqrt()


class GaussianHead(nn.Module):
    """(μ, σ) of a diagonal Gaussian from features: separate heads, σ = softplus(·) + σ_min.

    ``initial_scale`` sets σ at the start (the head's bias is its softplus inverse). Softplus
    grows linearly, so σ cannot overflow as exp(log σ) can.
    """

    def __init__(self, inputs: int, outputs: int, initial_scale: float):
        super().__init__()
        self.loc = glorot_(nn.Linear(inputs, outputs))
        raw = math.log(math.expm1(initial_scale - MIN_SCALE))
        self.raw_scale = glorot_(nn.Linear(inputs, outputs), bias=raw)

    def forward(self, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.loc(hidden), functional.softplus(self.raw_scale(hidden)) + MIN_SCALE


def _site(level: int) -> str:
    return f"z_{level}"


class LadderPrior(nn.Module):
    """Model side: z_L ~ N(0, I), z_i | z_{i+1} from a network, x from ``decode(z_1)``."""

    def __init__(self, latent_dims: Sequence[int], hidden: int):
        super().__init__()
        self.latent_dims = tuple(latent_dims)
        self.conditionals = nn.ModuleList(
            nn.Sequential(
                glorot_(nn.Linear(upper, hidden)), nn.ReLU(), GaussianHead(hidden, lower, 1.0)
            )
            for lower, upper in zip(latent_dims[:-1], latent_dims[1:], strict=True)
        )

    def conditional(self, level: int, parent: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(μ_p, σ_p) of p(z_level | z_{level+1} = parent); levels count from 1."""
        return self.conditionals[level - 1](parent)

    def generate(self, batch: Minibatch, decode) -> None:
        with sequence_plate(batch):
            loc, scale = torch.zeros(self.latent_dims[-1], device=batch.codes.device), 1.0
            z = None
            for level in range(len(self.latent_dims), 0, -1):
                if z is not None:
                    loc, scale = self.conditional(level, z)
                with annealed(batch):
                    z = pyro.sample(_site(level), dist.Normal(loc, scale).to_event(1))
            observe(batch, decode(z))


class LadderEncoder(nn.Module):
    """Guide side: the bottom-up pass, then top-down sampling through the precision-weighted merge.

    Level 1's features and heads are the single-level VAE's :class:`Encoder`; each level above
    adds a dense ReLU layer and its own heads, starting at σ̂ = e⁻⁵ like the original's encoder.
    """

    def __init__(
        self,
        length: int,
        letters: int,
        encoder_hidden: Sequence[int],
        latent_dims: Sequence[int],
        hidden: int,
        prior: LadderPrior,
    ):
        super().__init__()
        self.bottom = Encoder(length, letters, encoder_hidden, latent_dims[0])
        widths = [encoder_hidden[-1]] + [hidden] * (len(latent_dims) - 1)
        self.rungs = nn.ModuleList(
            nn.Sequential(glorot_(nn.Linear(inputs, hidden)), nn.ReLU()) for inputs in widths[:-1]
        )
        self.heads = nn.ModuleList(
            GaussianHead(hidden, dim, math.exp(-5.0)) for dim in latent_dims[1:]
        )
        self._prior = (prior,)  # the model's own network, registered (and saved) with the model

    def bottom_up(self, codes: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(μ̂_i, σ̂_i) for levels 1 … L."""
        hidden = self.bottom.features(codes)
        estimates = [self.bottom.gaussian(hidden)]
        for rung, head in zip(self.rungs, self.heads, strict=True):
            hidden = rung(hidden)
            estimates.append(head(hidden))
        return estimates

    def top_down(self, codes: torch.Tensor, draw) -> torch.Tensor:
        """z_L, …, z_1 in turn, each ``draw(level, loc, scale)`` of q(z_level | z_level+1, x).

        Returns z_1.
        """
        estimates, z = self.bottom_up(codes), None
        for level in range(len(estimates), 0, -1):
            loc, scale = estimates[level - 1]
            if z is not None:
                loc, scale = precision_weighted(loc, scale, *self._prior[0].conditional(level, z))
            z = draw(level, loc, scale)
        return z

    def posterior(self, codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(loc, scale) of q(z_1 | z_2, x) with every level above z_1 at its mean."""
        found = {}

        def at_mean(level, loc, scale):
            found[level] = (loc, scale)
            return loc

        self.top_down(codes, at_mean)
        return found[1]

    def sample(self, batch: Minibatch) -> None:
        def draw(level, loc, scale):
            with annealed(batch):
                return pyro.sample(_site(level), dist.Normal(loc, scale).to_event(1))

        with sequence_plate(batch):
            self.top_down(batch.codes, draw)


class LadderVAE(nn.Module):
    """A Ladder VAE over sequences, with the dense or DeepSequence's sparse Bayesian decoder.

    Parameters
    ----------
    length, letters : int
        Focus columns L and alphabet size K.
    latent_dim : int
        Size of z_1, the level the decoder reads.
    ladder_dims : tuple of int
        Sizes of z_2 … z_L (empty: one level, the single-level VAE).
    ladder_hidden : int
        Width of each level's bottom-up layer and of each p(z_i | z_{i+1}) network.
    encoder_hidden, decoder_hidden : tuple of int
        As in the single-level VAEs.
    decoder : str
        "sparse" (DeepSequence's; the switches below apply) or "dense" (the vanilla VAE's).
    decoder_dropout, last_activation
        Either decoder's dropout in training and last hidden nonlinearity.
    bayesian, group_sparsity, repeat, conv_size, temperature, logit_p, prior_sd
        The sparse decoder's switches (:class:`~pyro_deepseq.models.bayesian.BayesianVAE`).
    """

    def __init__(
        self,
        length: int,
        letters: int,
        latent_dim: int = 30,
        ladder_dims=(16,),
        ladder_hidden: int = 256,
        encoder_hidden=(1500, 1500),
        decoder: str = "sparse",
        decoder_hidden=(100, 2000),
        bayesian: bool = True,
        group_sparsity: bool = True,
        repeat: int = 4,
        conv_size: int = 40,
        temperature: bool = True,
        logit_p: float = 0.001,
        prior_sd: float = 4.0,
        decoder_dropout: float = 0.0,
        last_activation: str = "sigmoid",
    ):
        super().__init__()
        if decoder not in DECODERS:
            raise ValueError(f"decoder must be one of {DECODERS}, got {decoder!r}")
        self.global_latents = decoder == "sparse" and bayesian
        dims = (latent_dim, *ladder_dims)
        with local_params():
            prior = LadderPrior(dims, ladder_hidden)
            encoder = LadderEncoder(length, letters, encoder_hidden, dims, ladder_hidden, prior)
            if decoder == "dense":
                dense = Decoder(
                    length, letters, decoder_hidden, latent_dim, decoder_dropout, last_activation
                )
                self.model = VanillaModel(dense, prior)
                self.guide = VanillaGuide(encoder)
            else:
                sparse = SparseDecoder(
                    length,
                    letters,
                    latent_dim,
                    decoder_hidden,
                    conv_size,
                    group_sparsity,
                    repeat,
                    temperature,
                    logit_p,
                    prior_sd,
                    decoder_dropout=decoder_dropout,
                    last_activation=last_activation,
                )
                self.model = BayesianModel(sparse, prior, bayesian)
                self.guide = BayesianGuide(sparse, encoder, bayesian)
