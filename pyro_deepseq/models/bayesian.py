"""DeepSequence's model: a VAE whose decoder weights are global latent variables.

The decoder maps z through dense layers (ReLU, the last sigmoid or, EVE's, ReLU:
``last_activation``) to hidden units h, then to per-position logits with an output layer built
from parts, each switchable:

- ``conv_size`` C: the output weights are W_out (H × L·C) times a dictionary W_conv (C × K) shared
  by all positions (the original's "convolution over the alphabet"); 0 uses W_out (H × L·K).
- ``group_sparsity``: the weights of hidden unit h at position l are multiplied by sigmoid(S[h mod
  H/repeat, l]); S has a logit-normal prior putting probability ``logit_p`` on a group being on.
- ``temperature``: the logits are multiplied by softplus(t), one scalar.
- ``site_offset``: a fixed (L, K) offset, the site-independent model's log-frequencies of the
  training alignment, is added to the logits. The decoder then models the departures from the
  site-independent model: where the data cannot pay for the decoder's weights (a shallow
  alignment, whose global KL drives them to their prior), the model falls back to the
  site-independent model instead of to uniform letters.
- ``decoder_dropout`` p: EVE's dropout, on z and after every hidden layer, in training mode only
  (:func:`~pyro_deepseq.models.networks.evaluating` turns it off for scoring).

With ``bayesian`` on, every decoder weight and bias, W_conv, S and t is a global latent variable
(prior N(0, 1), S N(μ_p, prior_sd²)) with a mean-field Normal guide; off, they are point estimates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pyro
import torch
from pyro.nn import PyroModule
from torch import nn
from torch.nn import functional

from .meanfield import IsotropicNormal, MeanFieldNormal
from .networks import ACTIVATIONS, dropout, local_params, output_layer
from .objective import Minibatch, global_sites
from .sites import GaussianEncoder, StandardNormalPrior

#: The variational log σ every global latent variable starts at (the original's).
INITIAL_LOG_SCALE = -5.0


def sparsity_prior_loc(logit_p: float, prior_sd: float) -> float:
    """μ_p = √2·σ·erfinv(2p − 1): under N(μ_p, σ²), S > 0 (a group on) has probability p."""
    return math.sqrt(2.0) * prior_sd * torch.erfinv(torch.tensor(2.0 * logit_p - 1.0)).item()


@dataclass(frozen=True)
class Weight:
    """One decoder tensor: its shape, its prior N(prior_loc, prior_scale²) and its initial value.

    ``init`` is "glorot" (Glorot-normal over the first and last axes), or a constant.
    """

    shape: tuple[int, ...]
    prior_loc: float = 0.0
    prior_scale: float = 1.0
    init: str | float = "glorot"

    def initial(self) -> torch.Tensor:
        if self.init != "glorot":
            return torch.full(self.shape, float(self.init))
        fan_in, fan_out = self.shape
        return torch.randn(self.shape) * math.sqrt(2.0 / (fan_in + fan_out))


class SparseDecoder(nn.Module):
    """The decoder's computation, given its weights: z → logits (…, L, K). Holds no parameters.

    ``weights`` lists every tensor it needs, by name, in the order they are used.
    """

    def __init__(
        self,
        length: int,
        letters: int,
        latent_dim: int,
        hidden,
        conv_size: int,
        group_sparsity: bool,
        repeat: int,
        temperature: bool,
        logit_p: float,
        prior_sd: float,
        site_offset: bool = False,
        decoder_dropout: float = 0.0,
        last_activation: str = "sigmoid",
    ):
        super().__init__()
        if not hidden:
            raise ValueError("the decoder needs at least one hidden layer")
        width = hidden[-1]
        if group_sparsity and width % repeat:
            raise ValueError(f"the last hidden width {width} is not a multiple of repeat {repeat}")
        self.length, self.letters, self.repeat = length, letters, repeat
        self.num_hidden, self.conv_size = len(hidden), conv_size
        self.group_sparsity, self.temperature = group_sparsity, temperature
        weights: dict[str, Weight] = {}
        for i, (inputs, outputs) in enumerate(zip([latent_dim, *hidden], hidden, strict=False)):
            weights[f"hidden_{i}.weight"] = Weight((inputs, outputs))
            weights[f"hidden_{i}.bias"] = Weight((outputs,), init=0.1)
        weights["out.weight"] = Weight((width, length * (conv_size or letters)))
        if conv_size:
            weights["conv.weight"] = Weight((conv_size, letters))
        if group_sparsity:
            loc = sparsity_prior_loc(logit_p, prior_sd)
            weights["sparsity"] = Weight((width // repeat, length), loc, prior_sd, init=0.0)
        weights["out.bias"] = Weight((length * letters,), init=0.1)
        if temperature:
            weights["temperature"] = Weight((), init=1.0)
        self.weights = weights
        self.dropout = dropout(decoder_dropout)
        self.last_activation = ACTIVATIONS[last_activation]()
        self.site_offset = site_offset
        if site_offset:  # set from the training alignment (set_site_offset); saved in the state
            self.register_buffer("offset", torch.zeros(length, letters))

    def output_weight(self, w: dict) -> torch.Tensor:
        """The effective output matrix (H, L·K): W_out·W_conv, times the tiled sparsity gates."""
        width = w["out.weight"].shape[0]
        out = w["out.weight"].reshape(width, self.length, -1)
        if self.conv_size:
            out = out @ w["conv.weight"]
        if self.group_sparsity:
            gates = torch.sigmoid(w["sparsity"]).repeat(self.repeat, 1)  # unit h → row h mod H/r
            out = out * gates.unsqueeze(-1)
        return out.reshape(width, -1)

    def forward(self, z: torch.Tensor, w: dict) -> torch.Tensor:
        h = self.dropout(z)
        for i in range(self.num_hidden):
            h = h @ w[f"hidden_{i}.weight"] + w[f"hidden_{i}.bias"]
            h = self.last_activation(h) if i == self.num_hidden - 1 else torch.relu(h)
            h = self.dropout(h)
        bias = w["out.bias"]
        if self.temperature:  # scales h and the bias: far fewer numbers than the logits
            temperature = functional.softplus(w["temperature"])
            h, bias = h * temperature, bias * temperature
        logits = output_layer(h, self.output_weight(w), bias)
        logits = logits.reshape(*z.shape[:-1], self.length, self.letters)
        return logits + self.offset if self.site_offset else logits


def _parameter_dict(tensors: dict) -> nn.ParameterDict:
    """ParameterDict keys may not contain dots."""
    return nn.ParameterDict({_key(name): nn.Parameter(t) for name, t in tensors.items()})


def _key(name: str) -> str:
    return name.replace(".", "_")


class BayesianModel(PyroModule):
    """p(θ) p(z, x | θ): decoder weights θ (global), z from ``latent`` (N(0, I), or a hierarchy in
    the Ladder VAE), x_n | z_n, θ as in the vanilla VAE.

    With ``bayesian`` off, θ are parameters of this module instead of sample sites.
    """

    def __init__(self, decoder: SparseDecoder, latent: nn.Module, bayesian: bool):
        super().__init__()
        self.decoder, self.latent, self.bayesian = decoder, latent, bayesian
        if not bayesian:
            initial = {name: spec.initial() for name, spec in decoder.weights.items()}
            self.point = _parameter_dict(initial)

    def forward(self, batch: Minibatch) -> None:
        device = batch.codes.device
        if self.bayesian:
            with global_sites(batch):
                w = {
                    name: pyro.sample(
                        name, IsotropicNormal(spec.prior_loc, spec.prior_scale, spec.shape, device)
                    )
                    for name, spec in self.decoder.weights.items()
                }
        else:
            point = self.point  # once: each access registers all of its parameters
            w = {name: point[_key(name)] for name in self.decoder.weights}
        self.latent.generate(batch, lambda z: self.decoder(z, w))


class BayesianGuide(PyroModule):
    """q(θ) q(z | x): mean-field Normal over the decoder weights, the encoder's q(z | x) for z."""

    def __init__(
        self,
        decoder: SparseDecoder,
        encoder: nn.Module,
        bayesian: bool,
        initial_log_scale: float = INITIAL_LOG_SCALE,
    ):
        super().__init__()
        self.encoder, self.bayesian = encoder, bayesian
        self.priors = {
            name: (spec.prior_loc, spec.prior_scale) for name, spec in decoder.weights.items()
        }
        self.names = list(self.priors) if bayesian else []
        if bayesian:
            specs = decoder.weights
            self.loc = _parameter_dict({name: spec.initial() for name, spec in specs.items()})
            start = float(initial_log_scale)
            self.log_scale = _parameter_dict(
                {name: torch.full(spec.shape, start) for name, spec in specs.items()}
            )

    def forward(self, batch: Minibatch) -> None:
        if self.names:  # each attribute access registers all of a PyroModule's parameters
            loc, log_scale = self.loc, self.log_scale
        with global_sites(batch):
            for name in self.names:
                key = _key(name)
                q = MeanFieldNormal(loc[key], log_scale[key], self.priors[name], batch.noise)
                pyro.sample(name, q)
        self.encoder.sample(batch)


class BayesianVAE(nn.Module):
    """DeepSequence's VAE; the defaults are the released model (``run_svi.py``).

    Parameters
    ----------
    length, letters : int
        Focus columns L and alphabet size K.
    latent_dim : int
    encoder_hidden, decoder_hidden : tuple of int
        Hidden widths (the original: 1500-1500 and 100-2000).
    bayesian : bool
        Decoder weights as global latent variables (True) or point estimates.
    group_sparsity : bool
    repeat : int
        How many hidden units share one sparsity gate per position (tiled, unit h → row h mod H/r).
    conv_size : int
        Width of the dictionary over the alphabet (0: none).
    temperature : bool
    logit_p, prior_sd : float
        Prior of S: N(√2·prior_sd·erfinv(2·logit_p − 1), prior_sd²).
    site_offset : bool
        Add the site-independent model's log-frequencies (:meth:`set_site_offset`) to the logits.
    initial_log_scale : float
        Where every variational log σ of the decoder's weights starts (the original's −5).
    decoder_dropout : float
        Dropout probability on z and the decoder's hidden layers in training (EVE's 0.1).
    last_activation : str
        The last hidden layer's nonlinearity: "sigmoid" (the original's) or "relu" (EVE's).
    """

    def __init__(
        self,
        length: int,
        letters: int,
        latent_dim: int = 30,
        encoder_hidden=(1500, 1500),
        decoder_hidden=(100, 2000),
        bayesian: bool = True,
        group_sparsity: bool = True,
        repeat: int = 4,
        conv_size: int = 40,
        temperature: bool = True,
        logit_p: float = 0.001,
        prior_sd: float = 4.0,
        site_offset: bool = False,
        initial_log_scale: float = INITIAL_LOG_SCALE,
        decoder_dropout: float = 0.0,
        last_activation: str = "sigmoid",
    ):
        super().__init__()
        self.global_latents = bayesian
        decoder = SparseDecoder(
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
            site_offset,
            decoder_dropout,
            last_activation,
        )
        with local_params():
            self.model = BayesianModel(decoder, StandardNormalPrior(latent_dim), bayesian)
            encoder = GaussianEncoder(length, letters, encoder_hidden, latent_dim)
            self.guide = BayesianGuide(decoder, encoder, bayesian, initial_log_scale)

    def set_site_offset(self, log_frequencies) -> None:
        """Set the logits' fixed offset (``site_offset`` models): array-like of shape (L, K)."""
        decoder = self.model.decoder
        if not decoder.site_offset:
            raise ValueError("this model was built without site_offset")
        decoder.offset.copy_(torch.as_tensor(log_frequencies, dtype=decoder.offset.dtype))
