"""Sequence weights: the blockwise int8 product against a plain brute-force reference."""

import numpy as np
import pytest

from pyro_deepseq.data import weights as weights_module
from pyro_deepseq.data.weights import (
    cached_sequence_weights,
    neighbour_thresholds,
    sequence_weights,
)


def brute_force_weights(codes: np.ndarray, letters: int, theta: float) -> np.ndarray:
    """The definition, written plainly: w(x) = 1 / #{y : (x·y)/(x·x) > 1 − θ}, 0 for all-gap x."""
    weights = np.zeros(len(codes))
    for i, x in enumerate(codes):
        residues = np.sum(x < letters)
        if residues == 0:
            continue
        neighbours = 0
        for y in codes:
            shared = np.sum((x == y) & (x < letters))
            neighbours += shared / residues > 1 - theta
        weights[i] = 1.0 / neighbours
    return weights


def random_family(rng, size, length, letters):
    """Mutated copies of a few ancestors, with gaps and some all-gap rows, so weights vary."""
    ancestors = rng.integers(0, letters, size=(3, length))
    codes = ancestors[rng.integers(0, 3, size)]
    mutate = rng.random((size, length)) < rng.uniform(0.0, 0.5, (size, 1))
    codes = np.where(mutate, rng.integers(0, letters + 1, (size, length)), codes)
    codes[rng.random(size) < 0.05] = letters
    return codes.astype(np.uint8)


@pytest.mark.parametrize("seed", range(6))
def test_weights_match_brute_force(seed):
    rng = np.random.default_rng(seed)
    size, length, letters = rng.integers(2, 120), rng.integers(1, 25), rng.choice([4, 20])
    codes = random_family(rng, size, length, letters)
    for theta in (0.01, 0.2, 0.5):
        expected = brute_force_weights(codes, letters, theta)
        got = sequence_weights(codes, letters, theta, device="cpu", block_size=32)
        np.testing.assert_array_equal(got, expected)


def test_block_size_does_not_change_weights():
    codes = random_family(np.random.default_rng(7), 300, 40, 20)
    reference = sequence_weights(codes, 20, 0.2, "cpu", block_size=10_000)
    for block in (1, 33, 64, 299):
        np.testing.assert_array_equal(sequence_weights(codes, 20, 0.2, "cpu", block), reference)


def test_thresholds_break_ties_like_the_division():
    residues = np.arange(0, 3000)
    for theta in (0.01, 0.2, 0.25, 0.3, 0.7):
        cut = neighbour_thresholds(residues, theta)
        for n in range(1, 3000):
            assert cut[n] / n > 1 - theta and not (cut[n] - 1) / n > 1 - theta
        assert cut[0] > 10**9  # an all-gap row has no neighbours, not even itself


def test_cache_returns_stored_weights_and_keys_on_theta(monkeypatch):
    codes = random_family(np.random.default_rng(3), 50, 12, 20)
    first = cached_sequence_weights(codes, 20, 0.2, "cpu")

    def fail(*args, **kwargs):
        raise AssertionError("weights were recomputed")

    monkeypatch.setattr(weights_module, "sequence_weights", fail)
    np.testing.assert_array_equal(cached_sequence_weights(codes, 20, 0.2, "cpu"), first)
    with pytest.raises(AssertionError, match="recomputed"):
        cached_sequence_weights(codes, 20, 0.3, "cpu")
    with pytest.raises(AssertionError, match="recomputed"):
        cached_sequence_weights(codes[:-1], 20, 0.2, "cpu")
