"""Held-out sequences for judging a model without labels: whole clusters, so nothing leaks.

A sequence drawn at random from an alignment usually has near copies left in the training set,
and a model that memorised those would look good on it. Here the held-out set is made of whole
neighbourhoods at the weighting's identity threshold θ (the clusters that sequence weights count):
sequences are drawn at random in proportion to their weight (so each cluster about equally, not in
proportion to its size) and held out with all their neighbours until the held-out share of Neff is
reached, and
sequences that neighbour a held-out one without being held out are left out of training too, so
that no training sequence is within θ of a held-out one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .weights import neighbours_of

#: Candidate clusters examined together (one block of identity counts against every sequence).
SEEDS_PER_PASS = 64


@dataclass(frozen=True)
class Holdout:
    """Row indices of an alignment: training, held out, and left out of both (the margin)."""

    train: np.ndarray
    heldout: np.ndarray
    margin: np.ndarray


def cluster_holdout(
    codes: np.ndarray,
    weights: np.ndarray,
    num_letters: int,
    theta: float,
    fraction: float,
    seed: int,
) -> Holdout:
    """Hold out about ``fraction`` of Neff (the weights' sum) as whole clusters, drawn with
    ``seed``. The share can overshoot by one cluster; the margin is what bordered them.
    """
    size, total = len(codes), float(weights.sum())
    held = np.zeros(size, dtype=bool)
    drawable = np.flatnonzero(weights > 0)
    chance = weights[drawable] / weights[drawable].sum()
    order = np.random.default_rng(seed).choice(drawable, len(drawable), replace=False, p=chance)
    for start in range(0, len(order), SEEDS_PER_PASS):
        candidates = order[start : start + SEEDS_PER_PASS]
        candidates = candidates[~held[candidates]]
        if not len(candidates):
            continue
        for hood in neighbours_of(codes, num_letters, theta, candidates):
            held |= hood
            if weights[held].sum() >= fraction * total:
                break
        if weights[held].sum() >= fraction * total:
            break
    heldout = np.flatnonzero(held)
    near = np.zeros(size, dtype=bool)
    for start in range(0, len(heldout), SEEDS_PER_PASS * 4):
        near |= neighbours_of(
            codes, num_letters, theta, heldout[start : start + SEEDS_PER_PASS * 4]
        ).any(0)
    return Holdout(np.flatnonzero(~near), heldout, np.flatnonzero(near & ~held))
