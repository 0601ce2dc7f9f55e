"""Run configuration: frozen dataclasses, saved verbatim in every checkpoint.

``ModelConfig`` holds a model's constructor arguments, ``TrainConfig`` everything about data and
optimisation. The ``fit`` command's flags map one-to-one onto their fields.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..errors import DataError
from ..models.ladder import DECODERS
from ..models.networks import ACTIVATIONS
from ..models.objective import SAMPLING_SCHEMES
from .schedules import LR_SCHEDULES


@dataclass(frozen=True)
class ModelConfig:
    """Every model's settings; a model takes those its constructor names (the rest are unused)."""

    model: str = "vanilla"
    latent_dim: int = 30
    encoder_hidden: tuple[int, ...] = (1500, 1500)
    decoder_hidden: tuple[int, ...] = (100, 2000)
    bayesian: bool = True
    group_sparsity: bool = True
    repeat: int = 4
    conv_size: int = 40
    temperature: bool = True
    logit_p: float = 0.001
    prior_sd: float = 4.0
    site_offset: bool = False  # logits offset by the site-independent model's log-frequencies
    initial_log_scale: float = -5.0  # where the decoder weights' variational log σ start
    ladder_dims: tuple[int, ...] = (16,)
    ladder_hidden: int = 256
    decoder: str = "sparse"
    # EVE's decoder options; a checkpoint saved before they existed loads with these defaults,
    # which are the model it was trained with
    decoder_dropout: float = 0.0  # dropout on z and the decoder's hidden layers, training only
    last_activation: str = "sigmoid"  # the decoder's last hidden nonlinearity; EVE: "relu"

    def __post_init__(self):
        widths = (self.latent_dim, *self.encoder_hidden, *self.decoder_hidden, *self.ladder_dims)
        sparse = self.model == "bayesian" or (self.model == "ladder" and self.decoder == "sparse")
        checks = [
            (min(widths) >= 1, "latent size and hidden widths must be at least 1"),
            (len(self.encoder_hidden) >= 1, "the encoder needs at least one hidden layer"),
            (len(self.decoder_hidden) >= 1, "the decoder needs at least one hidden layer"),
            (self.repeat >= 1, f"repeat must be at least 1, got {self.repeat}"),
            (
                not sparse or not self.group_sparsity or self.decoder_hidden[-1] % self.repeat == 0,
                f"the last decoder width ({self.decoder_hidden[-1]}) must be a multiple of "
                f"repeat ({self.repeat})",
            ),
            (self.conv_size >= 0, f"conv size must be 0 (none) or more, got {self.conv_size}"),
            (0 < self.logit_p < 1, f"logit_p must lie in (0, 1), got {self.logit_p}"),
            (self.prior_sd > 0, f"prior sd must be positive, got {self.prior_sd}"),
            (self.ladder_hidden >= 1, f"ladder width must be at least 1, got {self.ladder_hidden}"),
            (self.decoder in DECODERS, f"decoder must be one of {DECODERS}, got {self.decoder!r}"),
            (
                0 <= self.decoder_dropout < 1,
                f"decoder dropout must lie in [0, 1), got {self.decoder_dropout}",
            ),
            (
                self.last_activation in ACTIVATIONS,
                f"last activation must be one of {tuple(ACTIVATIONS)}, "
                f"got {self.last_activation!r}",
            ),
        ]
        _check(checks)

    def arguments(self) -> dict:
        """Every setting but the model's name."""
        arguments = dataclasses.asdict(self)
        del arguments["model"]
        return arguments


@dataclass(frozen=True)
class TrainConfig:
    alignment: str | None = None  # None: the embedded synthetic family
    theta: float = 0.2
    alphabet: str = "protein"
    focus: str | None = None
    steps: int = 1000  # vanilla VAE on BLAT: ρ peaks near 1,000 steps, then overfits
    batch_size: int = 100
    lr: float = 1e-3
    lr_schedule: str = "constant"  # or "cosine" (to 0 at the last step)
    sampling: str = "weighted"  # the original's: rows drawn ∝ weight; or "uniform"
    kl_warmup: int = 0  # steps of the linear warm-up of β from 0 to 1
    kl_cycle: int = 0  # > 0: restart the warm-up every kl_cycle steps (cyclic annealing)
    noise_pool_steps: int = 10  # steps a pool of decoder-weight noise serves on the CPU; 1: fresh
    holdout: float = 0.0  # share of Neff held out (whole clusters): early stopping, likelihood
    patience: int = 5  # evaluations without improvement before stopping
    eval_every: int = 500
    checkpoint_every: int = 1000
    checkpoint_seconds: float = 120.0  # also checkpoint this often: a slow run can always resume
    log_every: int = 50
    seed: int = 0
    device: str = "auto"

    def __post_init__(self):
        checks = [
            (self.steps >= 1, f"steps must be at least 1, got {self.steps}"),
            (self.batch_size >= 1, f"batch size must be at least 1, got {self.batch_size}"),
            (self.noise_pool_steps >= 1, "noise pool steps must be at least 1"),
            (self.lr > 0, f"learning rate must be positive, got {self.lr}"),
            (0 < self.theta < 1, f"theta must lie strictly between 0 and 1, got {self.theta}"),
            (0 <= self.holdout < 1, f"holdout must lie in [0, 1), got {self.holdout}"),
            (self.sampling in SAMPLING_SCHEMES, f"sampling must be one of {SAMPLING_SCHEMES}"),
            (self.lr_schedule in LR_SCHEDULES, f"lr schedule must be one of {LR_SCHEDULES}"),
            (
                min(self.log_every, self.eval_every, self.checkpoint_every) >= 1,
                "log, evaluation and checkpoint intervals must be at least 1 step",
            ),
            (
                self.checkpoint_seconds > 0,
                f"checkpoint seconds must be positive, got {self.checkpoint_seconds}",
            ),
            (
                self.eval_every % self.log_every == 0,
                f"eval_every ({self.eval_every}) must be a multiple of log_every "
                f"({self.log_every})",
            ),
        ]
        _check(checks)


def _check(checks) -> None:
    for ok, message in checks:
        if not ok:
            raise DataError(message)


def from_dict(cls, values: dict):
    """Build ``cls`` from a dict, rejecting unknown keys and restoring tuples."""
    fields = {field.name: field for field in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise DataError(f"unknown {cls.__name__} setting(s): {', '.join(unknown)}")
    restored = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return cls(**restored)


def to_dict(config) -> dict:
    """Plain JSON-ready values (tuples become lists)."""
    return {
        k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()
    }
