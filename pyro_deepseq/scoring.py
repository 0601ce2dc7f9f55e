"""Scoring variants: Δ = mean ELBO(variant) − mean ELBO(wild type), higher = fitter.

The wild type sits in every batch next to the variants it is compared with, so noise shared by a
batch (the global decoder weights of a Bayesian model, drawn once per sample) cancels in Δ. Samples
and variants are evaluated together, a pass at a time, as one large batch. A model with global
latent variables draws its weights once per sample for a whole batch, so its batches are at least
``ROWS_PER_PASS`` variants: a weight draw costs as much as scoring thousands of sequences.
"""

from __future__ import annotations

import numpy as np
import torch

from .devices import keep_freed_memory
from .networks import local_params
from .objective import Minibatch, per_sequence_elbo

#: Rows (sequences × samples) evaluated in one pass: large enough for matrix speed, small enough
#: for memory (logits take rows × L × K floats).
ROWS_PER_PASS = 8192


@torch.no_grad()
def delta_elbo(
    vae,
    variants: np.ndarray,
    wild_type: np.ndarray,
    letters: int,
    samples: int = 500,
    batch_size: int = 256,
    device="cpu",
) -> np.ndarray:
    """Δ ELBO of each variant against the wild type.

    Parameters
    ----------
    vae : torch.nn.Module
        Has ``.model`` and ``.guide``.
    variants : np.ndarray, shape (n, L), uint8
        Letter codes of the variants.
    wild_type : np.ndarray, shape (L,)
    letters : int
        Alphabet size K.
    samples : int
        ELBO samples per sequence (fresh local and global latent variables each).
    batch_size : int
        Variants per batch (the wild type is added to each); at least ``ROWS_PER_PASS`` for models
        with global latent variables.

    Returns
    -------
    np.ndarray, shape (n,)
    """
    deltas = np.empty(len(variants))
    if vae.global_latents:
        batch_size = max(batch_size, ROWS_PER_PASS)
    if torch.device(device).type == "cpu":
        keep_freed_memory()
    wild = torch.as_tensor(wild_type, device=device).reshape(1, -1)
    with local_params():
        for start in range(0, len(variants), batch_size):
            chunk = torch.as_tensor(variants[start : start + batch_size], device=device)
            batch = Minibatch.of(torch.cat([wild, chunk]), letters)
            mean = mean_elbo(vae, batch, samples)
            deltas[start : start + len(chunk)] = (mean[1:] - mean[0]).cpu().numpy()
    return deltas


def mean_elbo(vae, batch: Minibatch, samples: int) -> torch.Tensor:
    """Mean over ``samples`` single-sample ELBOs of each sequence in ``batch``, shape (B,)."""
    total = torch.zeros(len(batch.codes), device=batch.codes.device)
    if vae.global_latents:  # one weight draw per sample, no samples plate
        for _ in range(samples):
            total += per_sequence_elbo(vae.model, vae.guide, batch, None)
        return total / samples
    per_pass = max(1, ROWS_PER_PASS // len(batch.codes))
    for start in range(0, samples, per_pass):
        count = min(per_pass, samples - start)
        total += per_sequence_elbo(vae.model, vae.guide, batch, count).sum(0)
    return total / samples
