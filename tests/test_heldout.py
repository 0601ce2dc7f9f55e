"""Held-out sequences as whole clusters, and the held-out log-likelihood of every model."""

import math

import numpy as np
import pandas as pd
import pytest

from pyro_deepseq import DeepSequence
from pyro_deepseq.cli import fit
from pyro_deepseq.data.holdout import cluster_holdout
from pyro_deepseq.data.synthetic import default_family
from pyro_deepseq.data.weights import neighbour_thresholds, neighbours_of
from pyro_deepseq.inference.checkpoint import load_checkpoint
from pyro_deepseq.inference.heldout import split, vae_log_likelihood
from pyro_deepseq.models.independent import SiteIndependentModel

TINY = {"latent_dim": 4, "encoder_hidden": (64,), "decoder_hidden": (16, 64), "batch_size": 64}


def _brute_neighbours(codes, letters, theta, row):
    """x's neighbours counted pair by pair, either direction, as the weights define them."""
    same = ((codes == codes[row]) & (codes < letters)).sum(1)
    thresholds = neighbour_thresholds((codes < letters).sum(1), theta)
    return (same >= thresholds[row]) | (same >= thresholds)


def test_neighbours_are_those_the_weights_count(dhfr):
    alignment = dhfr
    codes, letters = alignment.codes, len(alignment.alphabet)
    rows = np.array([0, 17, len(codes) - 1])
    found = neighbours_of(codes, letters, alignment.theta, rows, block_size=1000)
    for row, hood in zip(rows, found, strict=True):
        np.testing.assert_array_equal(hood, _brute_neighbours(codes, letters, alignment.theta, row))
    # a sequence's own-direction neighbours are what its weight counts: w = 1 / their number
    own = ((codes == codes[17]) & (codes < letters)).sum(1) >= neighbour_thresholds(
        (codes < letters).sum(1), alignment.theta
    )[17]
    assert alignment.weights[17] == pytest.approx(1 / own.sum())


@pytest.mark.parametrize("fraction", [0.05, 0.2])
def test_cluster_holdout_leaves_no_near_copy_in_training(dhfr, fraction):
    alignment = dhfr
    codes, weights, letters = alignment.codes, alignment.weights, len(alignment.alphabet)
    holdout = cluster_holdout(codes, weights, letters, alignment.theta, fraction, seed=3)
    parts = np.concatenate([holdout.train, holdout.heldout, holdout.margin])
    assert sorted(parts) == list(range(len(codes)))  # each sequence in exactly one part
    share = weights[holdout.heldout].sum() / weights.sum()
    assert fraction <= share < fraction + 0.02  # of Neff; at most one cluster over
    near = neighbours_of(codes, letters, alignment.theta, holdout.heldout).any(0)
    assert not near[holdout.train].any()  # no training sequence within θ of a held-out one
    assert len(holdout.margin) < len(holdout.heldout)
    again = cluster_holdout(codes, weights, letters, alignment.theta, fraction, seed=3)
    np.testing.assert_array_equal(again.heldout, holdout.heldout)
    other = cluster_holdout(codes, weights, letters, alignment.theta, fraction, seed=4)
    assert set(other.heldout) != set(holdout.heldout)


def test_site_independent_heldout_likelihood_is_exact_and_below_training(tmp_path):
    model = DeepSequence(default_family()[0], model="independent", holdout=0.2, seed=1)
    model.fit()
    alignment = model.alignment
    holdout = split(alignment, 0.2, 1)
    frequencies = SiteIndependentModel.fit(alignment, rows=holdout.train)
    held = holdout.heldout
    expected = np.average(
        frequencies.log_probability(alignment.codes[held]), weights=alignment.weights[held]
    )
    assert model.heldout_log_likelihood == pytest.approx(expected)
    trained = np.average(
        frequencies.log_probability(alignment.codes[holdout.train]),
        weights=alignment.weights[holdout.train],
    )
    assert model.heldout_log_likelihood < trained  # it did not see them
    model.save(tmp_path / "si")
    assert DeepSequence.load(tmp_path / "si").heldout_log_likelihood == pytest.approx(expected)


def test_vae_heldout_likelihood_is_saved_and_ranks_training(tmp_path, capsys):
    argv = ["--alignment", str(default_family()[0]), "--model", "vanilla", "--holdout", "0.1"]
    argv += ["--latent-dim", "4", "--encoder-hidden", "64", "--decoder-hidden", "16", "64"]
    argv += ["--batch-size", "64", "--no-plots", "--quiet", "--log-every", "100"]
    assert fit.main([*argv, "--steps", "400", "--out", str(tmp_path / "a")]) == 0
    printed = capsys.readouterr().out
    state = load_checkpoint(tmp_path / "a")
    value = state["progress"]["heldout_log_likelihood"]
    assert f"held-out log-likelihood {value:.2f} nats per sequence" in printed
    history = pd.read_csv(tmp_path / "a" / "history.csv")["heldout_loglik"]
    assert history.iloc[-1] == pytest.approx(value)
    assert history.iloc[:-1].isna().all() and len(history) == 4  # once, at the end

    loaded = DeepSequence.load(tmp_path / "a")
    assert loaded.heldout_log_likelihood == pytest.approx(value)
    untrained = DeepSequence(default_family()[0], model="vanilla", holdout=0.1, **TINY)
    heldout = loaded._new_trainer().heldout
    before = vae_log_likelihood(untrained.vae, heldout.codes, heldout.scale, heldout.letters)
    assert value > before + 10  # training taught it the family, sequences it never saw included
    assert math.isnan(untrained.heldout_log_likelihood)


def test_scoring_the_heldout_set_leaves_a_continued_run_exact():
    settings = {"model": "vanilla", "holdout": 0.1, "log_every": 20, **TINY}
    straight = DeepSequence(default_family()[0], steps=60, **settings).fit(progress=False)
    paused = DeepSequence(default_family()[0], steps=60, **settings).fit(progress=False, until=40)
    assert paused.step == 40 and not math.isnan(paused.heldout_log_likelihood)  # scored there
    paused.fit(progress=False)
    for name, value in straight.vae.state_dict().items():
        assert (paused.vae.state_dict()[name] == value).all(), name
    assert paused.heldout_log_likelihood == pytest.approx(straight.heldout_log_likelihood)
