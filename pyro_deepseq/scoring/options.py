"""How variants are scored: every scoring default, written once for the API and each command."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..errors import DataError
from .estimators import ESTIMATORS, PRECISIONS

#: K of each IWAE estimate when none is given.
IWAE_PARTICLES = 10


@dataclass(frozen=True)
class ScoringOptions:
    """Settings of a scoring pass (``predict``, ``classify``, ``DeepSequence.predict``).

    Attributes
    ----------
    samples : int
        Estimates per variant and model (the paper's ELBO: one draw of z and the weights each).
    estimator : str
        ``"elbo"`` (the paper's) or ``"iwae"`` (importance-weighted bound, ``particles`` each).
    particles : int, optional
        K of each IWAE estimate (default 10); 1 for the ELBO.
    precision : str
        ``"float32"``, or ``"bfloat16"`` for the decoder's output layer (faster on recent chips).
    batch_size : int
        Variants per pass.
    seed : int
        Seed of the Monte-Carlo draws: the same seed gives the same Δ.
    device : str
        ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.
    site_independent : bool
        Score with the site-independent model of each run's alignment instead.
    """

    samples: int = 500
    estimator: str = "elbo"
    particles: int | None = None
    precision: str = "float32"
    batch_size: int = 256
    seed: int = 0
    device: str = "auto"
    site_independent: bool = False

    def __post_init__(self):
        if self.estimator not in ESTIMATORS:
            raise DataError(f"estimator must be one of {', '.join(ESTIMATORS)}")
        if self.precision not in PRECISIONS:
            raise DataError(f"precision must be one of {', '.join(PRECISIONS)}")
        if self.particles not in (None, 1) and self.estimator != "iwae":
            raise DataError("particles apply to the iwae estimator only")
        if self.particles is None:
            particles = IWAE_PARTICLES if self.estimator == "iwae" else 1
            object.__setattr__(self, "particles", particles)
        if min(self.samples, self.batch_size, self.particles) < 1:
            raise DataError("samples, batch size and particles must be at least 1")

    @classmethod
    def of(cls, given: dict) -> ScoringOptions:
        """Options from a dict (keywords of ``predict``), refusing names it does not know."""
        unknown = sorted(set(given) - {field.name for field in dataclasses.fields(cls)})
        if unknown:
            raise DataError(f"unknown scoring options: {', '.join(unknown)}")
        return cls(**given)
