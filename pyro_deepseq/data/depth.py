"""How deep an alignment is, and shallower copies of deep ones (the depth ladder).

DeepSequence's accuracy depends on the alignment's depth, measured here as Neff / L: the effective
number of sequences per focus column. A deep family subsampled to a chosen Neff / L, scored against
the same DMS table, isolates depth from everything else (protein, assay, alignment method); that
is the depth ladder of :func:`depth_ladder`.
"""

from __future__ import annotations

import numpy as np

from .alignment import Alignment
from .weights import sequence_weights

#: The depth ladder's rungs, in Neff / L.
LADDER = (0.1, 0.3, 1.0, 3.0)


def subsample(alignment: Alignment, neff_per_column: float, seed: int = 0) -> Alignment:
    """A random subset of ``alignment``'s sequences whose own Neff / L is about the target.

    The focus sequence is always kept; the others are taken in a random order (fixed by ``seed``)
    until their Neff, recomputed on the subset (weights rise as neighbours leave), reaches
    ``neff_per_column × L``. Neff grows with every sequence added, so doubling and then bisecting
    the number taken finds the shortest such prefix.

    Parameters
    ----------
    alignment : Alignment
    neff_per_column : float
        Target Neff / L; at least the subset of the focus sequence alone.
    seed : int

    Returns
    -------
    Alignment
        The subset, focus first, with the same alphabet, positions and θ (no file path).

    Raises
    ------
    ValueError
        When the whole alignment is not as deep as the target.
    """
    target = neff_per_column * alignment.num_positions
    if target > alignment.neff:
        raise ValueError(
            f"Neff/L {neff_per_column} asks for Neff {target:.0f}; the alignment has "
            f"{alignment.neff:.0f}"
        )
    others = np.delete(np.arange(alignment.num_sequences), alignment.focus_index)
    order = np.concatenate(
        [[alignment.focus_index], np.random.default_rng(seed).permutation(others)]
    )
    letters = len(alignment.alphabet)

    def neff(count: int) -> float:
        codes = alignment.codes[order[:count]]
        return float(sequence_weights(codes, letters, alignment.theta, "cpu").sum())

    low, high = 1, 2  # grow geometrically (the cost is quadratic in the count), then bisect
    while high < len(order) and neff(high) < target:
        low, high = high + 1, 2 * high
    high = min(high, len(order))
    while low < high:
        middle = (low + high) // 2
        if neff(middle) >= target:
            high = middle
        else:
            low = middle + 1
    rows = order[:low]
    return Alignment(
        alignment.codes[rows],
        alignment.alphabet,
        alignment.positions,
        0,
        [alignment.headers[i] for i in rows],
        alignment.theta,
        device="cpu",
    )


def depth_ladder(alignment: Alignment, rungs=LADDER, seed: int = 0) -> dict[float, Alignment]:
    """:func:`subsample` at each Neff / L of ``rungs`` the alignment is deep enough for."""
    deepest = alignment.neff / alignment.num_positions
    return {rung: subsample(alignment, rung, seed) for rung in rungs if rung <= deepest}
