"""Warm-up and learning-rate schedules: pure functions of the step, so resuming is exact."""

from __future__ import annotations

import math

LR_SCHEDULES = ("constant", "cosine")


def kl_weight(step: int, warmup: int, cycle: int = 0) -> float:
    """β at ``step`` (counting from 0): a linear ramp up to 1 over ``warmup`` steps, then 1.

    The ramp starts at 1/warmup, not 0: a Pyro scale must be positive. With ``cycle > 0`` it
    restarts every ``cycle`` steps (cyclic annealing, Fu et al. 2019). ``warmup = 0`` means no
    warm-up (the original's setting).
    """
    if warmup <= 0:
        return 1.0
    if cycle > 0:
        step %= cycle
    return min(1.0, (step + 1) / warmup)


def learning_rate(step: int, base: float, total: int, schedule: str = "constant") -> float:
    """Learning rate at ``step``: constant, or a cosine decay from ``base`` to 0 at ``total``."""
    if schedule == "constant":
        return base
    if schedule == "cosine":
        return 0.5 * base * (1.0 + math.cos(math.pi * min(step, total) / max(total, 1)))
    raise ValueError(f"unknown learning-rate schedule {schedule!r}; use one of {LR_SCHEDULES}")
