"""Figures: drawn headless, saved as non-empty PNGs, with the content they promise."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from pyro_deepseq import plots, read_sequence_labels
from pyro_deepseq.data.alignment import Alignment
from pyro_deepseq.data.mutations import MutationSet
from pyro_deepseq.data.synthetic import default_family
from pyro_deepseq.errors import DataError

PNG = b"\x89PNG\r\n\x1a\n"


def saved(figure, tmp_path, name="figure.png"):
    path = plots.save(figure, tmp_path / name)
    data = path.read_bytes()
    assert data.startswith(PNG) and len(data) > 5000
    return path


def test_training_curves_leave_out_terms_that_stay_zero(tmp_path):
    steps = np.arange(50, 501, 50)
    history = pd.DataFrame(
        {
            "step": steps,
            "loss": 300 / np.sqrt(steps),
            "reconstruction": -200 / np.sqrt(steps),
            "kl_latent": np.log(steps),
            "kl_global": 0.0,  # a vanilla VAE has no global latent variables
            "heldout_elbo": np.where(steps % 250 == 0, -100.0, np.nan),
        }
    )
    figure = plots.training_curves(history)
    assert [ax.get_title() for ax in figure.axes] == ["loss", "reconstruction", "kl latent"]
    assert figure.axes[1].get_legend() is not None  # the held-out ELBO beside the training one
    saved(figure, tmp_path)


def test_predicted_vs_measured_puts_rho_in_the_title(tmp_path):
    rng = np.random.default_rng(0)
    measured = rng.normal(size=300)
    predicted = measured + rng.normal(size=300)
    figure = plots.predicted_vs_measured(predicted, measured, "2500")
    rho = spearmanr(predicted, measured).statistic
    assert figure.axes[0].get_title() == f"Spearman ρ = {rho:.3f} (n = 300)"
    assert figure.axes[0].get_ylabel() == "2500"
    saved(figure, tmp_path)


def test_singles_matrix_and_landscape_follow_all_singles_order(tmp_path):
    alignment = Alignment.from_file(default_family()[0])
    singles = MutationSet.all_singles(alignment)
    deltas = -np.arange(singles.num_scoreable, dtype=float)
    matrix = plots.singles_matrix(
        deltas, alignment.focus_sequence, alignment.positions, alignment.alphabet
    )
    assert matrix.shape == (alignment.num_positions, 2 + 20)
    lookup = dict(zip(singles.scoreable["mutant"], deltas, strict=True))
    for _, row in matrix.sample(5, random_state=0).iterrows():
        wild, position = row["wild_type"], row["position"]
        assert row[wild] == 0.0
        other = next(letter for letter in alignment.alphabet if letter != wild)
        assert row[other] == lookup[f"{wild}{position}{other}"]
    figure = plots.landscape(matrix)
    ax = figure.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == list(alignment.alphabet)
    assert len(ax.collections[0].get_offsets()) == alignment.num_positions  # wild type marks
    saved(figure, tmp_path)


def test_latent_space_by_label_or_by_weight(tmp_path):
    rng = np.random.default_rng(1)
    means = rng.normal(size=(500, 6))
    labels = rng.choice(list("ABCDEFGHIJK"), size=500)
    figure = plots.latent_space(means, labels)
    legend = [t.get_text().split(" ")[0] for t in figure.axes[0].get_legend().get_texts()]
    assert len(legend) == plots.MAX_LABELS + 1 and legend[-1] == "other"
    assert figure.axes[0].get_xlabel() == "PC 1"
    saved(figure, tmp_path, "labels.png")
    by_weight = plots.latent_space(means[:, :2], weights=rng.random(500))
    assert len(by_weight.axes) == 2  # the plot and its colour bar
    saved(by_weight, tmp_path, "weights.png")


def test_label_files_are_checked(tmp_path):
    good = tmp_path / "labels.txt"
    good.write_text(">seq1: Firmicutes\nseq2 : Actinobacteria\n\n")
    assert read_sequence_labels(good, ["seq2", "seq1", "seq3"]) == [
        "Actinobacteria",
        "Firmicutes",
        "unlabelled",
    ]
    bad = tmp_path / "bad.txt"
    bad.write_text("seq1: A\nno separator here\n")
    with pytest.raises(DataError, match="bad.txt, line 2: expected 'header: label'"):
        read_sequence_labels(bad, ["seq1"])
    with pytest.raises(DataError, match="no header in it names a sequence"):
        read_sequence_labels(good, ["other"])
    with pytest.raises(DataError, match="labels file not found"):
        read_sequence_labels(tmp_path / "missing.txt", ["seq1"])


def test_sweep_summary_draws_a_bar_per_ensemble_and_a_dot_per_seed(tmp_path):
    summary = pd.DataFrame(
        {
            "family": ["a", "a", "a", "b", "b", "failed"],
            "seed": ["0", "1", "ensemble", "0", "ensemble", "0"],
            "rho": [0.70, 0.72, 0.73, 0.41, 0.41, None],
        }
    )
    figure = plots.sweep_summary(summary)
    (ax,) = figure.axes
    assert [tick.get_text() for tick in ax.get_xticklabels()] == ["a", "b"]
    assert [bar.get_height() for bar in ax.patches] == [0.73, 0.41]
    assert sum(len(dots.get_offsets()) for dots in ax.collections) == 3
    saved(figure, tmp_path)
