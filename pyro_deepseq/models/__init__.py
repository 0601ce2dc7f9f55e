"""Model registry: every model a user can name with ``fit --model``."""

from __future__ import annotations

import inspect

import numpy as np
import torch

from .bayesian import BayesianVAE
from .ladder import LadderVAE
from .networks import evaluating
from .vanilla import VanillaVAE

MODELS = {"bayesian": BayesianVAE, "ladder": LadderVAE, "vanilla": VanillaVAE}


def options(model: str) -> set[str]:
    """The settings ``model`` takes (its constructor's keyword arguments)."""
    parameters = inspect.signature(MODELS[model]).parameters
    return {name for name in parameters if name not in ("length", "letters")}


def build_model(config, length: int, letters: int):
    """The model a :class:`~pyro_deepseq.inference.config.ModelConfig` describes (L, K letters)."""
    arguments = {k: v for k, v in config.arguments().items() if k in options(config.model)}
    return MODELS[config.model](length, letters, **arguments)


@torch.no_grad()
def latent_posterior(vae, codes: np.ndarray, batch_size: int = 1024):
    """The encoder's mean and sd of z (z_1 in the Ladder VAE) per sequence: two (N, D) arrays."""
    device = next(vae.parameters()).device
    encoder = vae.guide.encoder
    with evaluating(vae):
        chunks = [
            encoder.posterior(
                torch.as_tensor(codes[start : start + batch_size], device=device).long()
            )
            for start in range(0, len(codes), batch_size)
        ]
    return tuple(torch.cat(part).cpu().numpy() for part in zip(*chunks, strict=True))


def latent_means(vae, codes: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """The encoder's mean of z (z_1 in the Ladder VAE) for each sequence: shape (N, latent size)."""
    return latent_posterior(vae, codes, batch_size)[0]
