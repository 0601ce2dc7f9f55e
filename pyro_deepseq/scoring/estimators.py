"""Scoring variants: Δ = mean score(variant) − mean score(wild type), higher = fitter.

The score is the paper's single-sample ELBO (``elbo``, the default) or the importance-weighted
bound on log p(x) with K particles (``iwae``, Burda et al. 2016), tighter as K grows. Each
estimate draws fresh local and global latent variables; an IWAE estimate averages its K
importance weights p(x, z_k | θ_k) / q(z_k | x) in log-mean-exp, so for a Bayesian decoder it
bounds the log-likelihood averaged over q(θ).

The wild type sits in every batch next to the variants it is compared with, so noise shared by a
batch (the global decoder weights of a Bayesian model, drawn once per sample) cancels in Δ, and
Δ's standard error is that of the per-sample differences. Samples and variants are evaluated
together, a pass at a time, as one large batch. A model with global latent variables draws its
weights once per sample for a whole batch, so its batches are at least ``ROWS_PER_PASS``
variants: a weight draw costs as much as scoring thousands of sequences.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import numpy as np
import torch

from ..models.networks import Encoder, evaluating, local_params, output_precision
from ..models.objective import Minibatch, per_sequence_elbo
from ..utils.devices import keep_freed_memory

#: Rows (sequences × samples) evaluated in one pass: large enough for matrix speed, small enough
#: for memory (logits take rows × L × K floats).
ROWS_PER_PASS = 8192
ESTIMATORS = ("elbo", "iwae")
#: What the decoders' output layer multiplies in (see :func:`~pyro_deepseq.models.networks.
#: output_precision`); bfloat16 moved Δ by ~0.01 nats on BLAT, against a sampling error of ~0.2.
PRECISIONS = {"float32": None, "bfloat16": torch.bfloat16}


@dataclass(frozen=True)
class Scores:
    """Δ of each variant against the wild type, and its standard error over the samples."""

    delta: np.ndarray
    stderr: np.ndarray


def ensemble(members: list[Scores]) -> Scores:
    """Δ averaged over models; its standard error over the models (their spread between seeds
    dwarfs each one's sampling error)."""
    if len(members) == 1:
        return members[0]
    deltas = np.stack([member.delta for member in members])
    return Scores(deltas.mean(0), deltas.std(0, ddof=1) / np.sqrt(len(members)))


@torch.no_grad()
def score_variants(
    vae,
    variants: np.ndarray,
    wild_type: np.ndarray,
    letters: int,
    samples: int = 500,
    batch_size: int = 256,
    device="cpu",
    estimator: str = "elbo",
    particles: int = 1,
    precision: str = "float32",
) -> Scores:
    """Δ of each variant against the wild type.

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
        Estimates per sequence (each ``particles`` draws of the latent variables for ``iwae``).
    batch_size : int
        Variants per batch (the wild type is added to each); at least ``ROWS_PER_PASS`` for models
        with global latent variables.
    estimator : str
        "elbo" (the paper's) or "iwae".
    particles : int
        K, the importance samples of one IWAE estimate (``iwae`` only).
    precision : str
        "float32", or "bfloat16" for the decoder's output layer: faster where the hardware
        multiplies bfloat16 natively (CPUs with AMX, recent GPUs); it can be slower elsewhere.
    """
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
    if estimator == "elbo" and particles != 1:
        raise ValueError("particles apply to the iwae estimator only")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {tuple(PRECISIONS)}, got {precision!r}")
    delta, stderr = np.empty(len(variants)), np.empty(len(variants))
    if vae.global_latents:
        batch_size = max(batch_size, ROWS_PER_PASS)
    if torch.device(device).type == "cpu":
        keep_freed_memory()
    wild = torch.as_tensor(wild_type, device=device).reshape(1, -1)
    with contextlib.ExitStack() as stack:
        stack.enter_context(local_params())
        stack.enter_context(output_precision(PRECISIONS[precision]))
        stack.enter_context(evaluating(vae))  # dropout off: Δ depends on the seed alone
        for module in vae.modules():
            if isinstance(module, Encoder):
                stack.enter_context(module.reusing_features())
        for start in range(0, len(variants), batch_size):
            chunk = torch.as_tensor(variants[start : start + batch_size], device=device)
            batch = Minibatch.of(torch.cat([wild, chunk]), letters)
            total = torch.zeros(len(chunk), dtype=torch.float64, device=device)
            squares = torch.zeros_like(total)
            for estimates in _estimates(vae, batch, samples, estimator, particles):
                differences = (estimates[:, 1:] - estimates[:, :1]).double()
                total += differences.sum(0)
                squares += differences.square().sum(0)
            mean = total / samples
            variance = (
                (squares / samples - mean.square()).clamp(min=0) * samples / max(samples - 1, 1)
            )
            delta[start : start + len(chunk)] = mean.cpu().numpy()
            stderr[start : start + len(chunk)] = (variance / samples).sqrt().cpu().numpy()
    return Scores(delta, stderr)


def _estimates(vae, batch: Minibatch, samples: int, estimator: str, particles: int):
    """Yields (count, B) tensors of per-sequence estimates, ``samples`` rows in all."""
    analytic_kl = estimator == "elbo"
    per_pass = 1 if vae.global_latents else max(1, ROWS_PER_PASS // (len(batch.codes) * particles))
    for start in range(0, samples, per_pass):
        count = min(per_pass, samples - start)
        draws = count * particles
        if vae.global_latents:  # one weight draw per particle, no samples plate
            values = torch.stack(
                [
                    per_sequence_elbo(vae.model, vae.guide, batch, None, analytic_kl)
                    for _ in range(draws)
                ]
            )
        else:
            values = per_sequence_elbo(vae.model, vae.guide, batch, draws, analytic_kl)
        values = values.reshape(count, particles, -1)
        yield values.logsumexp(1) - math.log(particles) if estimator == "iwae" else values[:, 0]
