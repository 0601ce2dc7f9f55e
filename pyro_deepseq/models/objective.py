"""The training objective, and how a minibatch stands in for the whole weighted family.

Every model maximises, in nats per effective sequence,

    L = (1 / Neff) · [ Σ_n w_n · ELBO_n  −  KL(q(θ) ‖ p(θ)) ],
    ELBO_n = E_q[log p(x_n | z_n, θ)] − β · KL(q(z_n | x_n) ‖ p(z_n)),

with sequence weights w_n, Neff = Σ_n w_n, global latent variables θ (the Bayesian decoder; none
in the vanilla VAE) and the KL warm-up weight β. This is the original DeepSequence objective: a
minibatch mean of ELBO_n minus the global KL over Neff, when minibatches are drawn ∝ w.

The scaling lives here and only here. Models put their per-sequence sites inside
:func:`sequence_plate` and their global sites inside :func:`global_sites`, in the model *and* the
guide (:func:`loss` scales each analytic KL by its site's scale). ``pyro.plate`` multiplies
by N / B for a subsample of B out of N, and :class:`Minibatch` carries the per-sequence factor that
makes the estimate unbiased for the sampling scheme used:

- ``uniform``: rows drawn uniformly; factor w_n / Neff.
- ``weighted``: rows drawn ∝ w_n (the original's scheme); factor 1 / N, i.e. a plain batch mean.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, replace

import pyro
import pyro.poutine as poutine
import torch
from pyro.distributions.kl import kl_divergence
from pyro.poutine.util import prune_subsample_sites

from .meanfield import NoisePool

SAMPLING_SCHEMES = ("uniform", "weighted")


@dataclass(frozen=True)
class Minibatch:
    """Sequences to evaluate, and how they stand for the family.

    Attributes
    ----------
    codes : torch.Tensor, shape (B, L), long
        Letter codes; ``letters`` (= K) is a gap.
    letters : int
        Alphabet size K.
    index : torch.Tensor, shape (B,)
        Their rows in the family (the plate's subsample).
    size : int
        N, the number of sequences the plate ranges over.
    scale : torch.Tensor or None, shape (B,)
        Per-sequence factor (see the module docstring); None means 1.
    global_scale : float
        Factor of the global sites: 1 / Neff.
    kl_weight : float
        β, the KL warm-up weight of the latent variables.
    noise : NoisePool or None
        Training's source of decoder-weight noise; None draws fresh noise.
    """

    codes: torch.Tensor
    letters: int
    index: torch.Tensor
    size: int
    scale: torch.Tensor | None = None
    global_scale: float = 1.0
    kl_weight: float = 1.0
    noise: NoisePool | None = None

    @classmethod
    def of(cls, codes: torch.Tensor, letters: int) -> Minibatch:
        """Sequences evaluated for their own sake (scoring): no scaling at all."""
        index = torch.arange(len(codes), device=codes.device)
        return cls(codes.long(), letters, index, len(codes))

    @property
    def observed(self) -> torch.Tensor:
        """(B, L) bool: True where there is a letter, False at gaps."""
        return self.codes < self.letters

    @property
    def targets(self) -> torch.Tensor:
        """(B, L) letter codes with gaps set to 0 (they are masked out of the likelihood)."""
        return self.codes.clamp(max=self.letters - 1)

    def annealed(self, kl_weight: float) -> Minibatch:
        return replace(self, kl_weight=kl_weight)


class MinibatchSampler:
    """Draws minibatches of training rows, with the factors of the module docstring.

    Parameters
    ----------
    codes : torch.Tensor, shape (N, L), uint8
        The whole family, already on the training device.
    weights : torch.Tensor, shape (N,)
        Sequence weights on the same device.
    rows : torch.Tensor, shape (M,)
        The rows to train on (all, or all but a held-out set).
    """

    def __init__(self, codes, weights, rows, letters: int, batch_size: int, scheme: str):
        if scheme not in SAMPLING_SCHEMES:
            raise ValueError(f"sampling must be one of {SAMPLING_SCHEMES}, got {scheme!r}")
        self.codes, self.rows, self.letters = codes, rows, letters
        self.batch_size, self.scheme = batch_size, scheme
        self.weights = weights[rows].float()
        self.neff = float(self.weights.sum())

    def draw(self) -> Minibatch:
        """One minibatch, drawn with replacement through torch's global generator (seeded)."""
        if self.scheme == "uniform":
            pick = torch.randint(len(self.rows), (self.batch_size,), device=self.rows.device)
            scale = self.weights[pick] / self.neff
        else:
            pick = torch.multinomial(self.weights, self.batch_size, replacement=True)
            scale = torch.full((self.batch_size,), 1.0 / len(self.rows), device=pick.device)
        index = self.rows[pick]
        return Minibatch(
            self.codes[index].long(), self.letters, pick, len(self.rows), scale, 1.0 / self.neff
        )


@contextmanager
def sequence_plate(batch: Minibatch):
    """The plate over sequences, with each sequence's factor; use it in model and guide alike."""
    with pyro.plate("sequences", batch.size, subsample=batch.index):
        if batch.scale is None:
            yield
        else:
            with poutine.scale(scale=batch.scale):
                yield


@contextmanager
def global_sites(batch: Minibatch):
    """Scale for latent variables shared by all sequences (the KL over θ counts once per Neff)."""
    with poutine.scale(scale=batch.global_scale):
        yield


@contextmanager
def annealed(batch: Minibatch):
    """KL warm-up: put around latent sample sites in model and guide alike."""
    with poutine.scale(scale=batch.kl_weight):
        yield


def _traces(model, guide, batch: Minibatch, num_samples: int | None = None):
    """Trace the guide, replay the model on its samples; optionally vectorised over samples."""

    def run():
        guide_trace = poutine.trace(guide).get_trace(batch)
        model_trace = poutine.trace(poutine.replay(model, trace=guide_trace)).get_trace(batch)
        return prune_subsample_sites(guide_trace), prune_subsample_sites(model_trace)

    if num_samples is None:
        return run()
    with pyro.plate("samples", num_samples, dim=-2):
        return run()


def _in_sequence_plate(site: dict) -> bool:
    return any(frame.name == "sequences" for frame in site["cond_indep_stack"])


def _objective_parts(model, guide, batch: Minibatch) -> dict[str, torch.Tensor]:
    """Scaled sums of the log-likelihood, the latent KLs and the global KL (differentiable).

    KL terms are analytic (mean-field), as in ``TraceMeanField_ELBO``; unlike it, no log-density
    of a latent site is evaluated, which for ~20 M decoder weights would double a step's work.
    """
    guide_trace, model_trace = _traces(model, guide, batch)
    parts = {"reconstruction": 0.0, "kl_latent": 0.0, "kl_global": 0.0}
    for name, site in model_trace.nodes.items():
        if site["type"] != "sample":
            continue
        if site["is_observed"]:
            value = site["fn"].log_prob(site["value"])
            key = "reconstruction"
        else:
            value = kl_divergence(guide_trace.nodes[name]["fn"], site["fn"])
            key = "kl_latent" if _in_sequence_plate(site) else "kl_global"
        parts[key] = parts[key] + (value * site["scale"]).sum()
    return parts


def loss(model, guide, batch: Minibatch) -> torch.Tensor:
    """The negative objective of the module docstring on one minibatch, KL warm-up included."""
    parts = _objective_parts(model, guide, batch)
    return parts["kl_latent"] + parts["kl_global"] - parts["reconstruction"]


@torch.no_grad()
def elbo_terms(model, guide, batch: Minibatch) -> dict[str, float]:
    """The objective's parts on one minibatch, as unbiased estimates in nats per Neff.

    Returns ``reconstruction`` (log-likelihood), ``kl_latent`` (per-sequence latent KLs) and
    ``kl_global``, without the warm-up weight; ``elbo`` = reconstruction − kl_latent − kl_global.
    """
    terms = {k: float(v) for k, v in _objective_parts(model, guide, batch.annealed(1.0)).items()}
    terms["elbo"] = terms["reconstruction"] - terms["kl_latent"] - terms["kl_global"]
    return terms


def per_sequence_elbo(
    model, guide, batch: Minibatch, num_samples: int | None, analytic_kl: bool = True
) -> torch.Tensor:
    """Single-sample ELBOs, shape (num_samples, B): log p(x | z, θ) − KL(q(z | x) ‖ p(z)).

    Each sample draws fresh local and global latent variables from the guide; the global KL is
    not part of a sequence's score (as in the original). ``num_samples=None`` draws one sample
    without a samples plate (shape (B,)): the way to score models with global latent variables,
    whose weight tensors are too large to draw many times at once. With ``analytic_kl`` off, the
    latent terms are log p(z) − log q(z | x) at the drawn z instead: the log importance weight
    log p(x, z | θ) / q(z | x), whose log-mean-exp over draws is the IWAE bound.
    """
    guide_trace, model_trace = _traces(model, guide, batch, num_samples)
    elbo = torch.zeros(len(batch.codes), device=batch.codes.device)
    for name, site in model_trace.nodes.items():
        if site["type"] != "sample" or not _in_sequence_plate(site):
            continue
        value = site["value"]
        if site["is_observed"]:
            elbo = elbo + site["fn"].log_prob(value)
        elif analytic_kl:
            elbo = elbo - kl_divergence(guide_trace.nodes[name]["fn"], site["fn"])
        else:
            elbo = elbo + site["fn"].log_prob(value) - guide_trace.nodes[name]["fn"].log_prob(value)
    return elbo
