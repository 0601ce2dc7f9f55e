"""Figures of a run: training curves, predicted vs measured, the mutational landscape, the
latent space, and the ρ of a sweep.

Each function returns a matplotlib ``Figure`` built without pyplot, so it draws headless (no
display, no global backend switched under a notebook) and shows itself when a notebook cell
returns it; ``save`` writes it as a PNG.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from sklearn.metrics import roc_auc_score, roc_curve

from .errors import DataError
from .evaluation import classification
from .evaluation.metrics import METRICS, spearman
from .utils.files import atomic_write

CURVES = ("loss", "reconstruction", "kl_latent", "kl_global")
#: Labels beyond the most common ones are drawn as "other" in latent-space plots.
MAX_LABELS = 8


def save(figure: Figure, path: str | Path) -> Path:
    """Write ``figure`` as a PNG (atomically) and return the path."""
    path = Path(path)
    with atomic_write(path) as temporary:
        figure.savefig(temporary, format="png", dpi=120, bbox_inches="tight")
    return path


def training_curves(history: pd.DataFrame) -> Figure:
    """The loss and each term of the ELBO against the step (terms that stay 0 are left out)."""
    columns = [c for c in CURVES if c in history and history[c].abs().sum() > 0]
    figure = Figure(figsize=(4 * len(columns), 3.2), layout="constrained")
    for ax, column in zip(figure.subplots(1, len(columns), squeeze=False)[0], columns, strict=True):
        ax.plot(history["step"], history[column])
        if column == "reconstruction" and history.get("heldout_elbo") is not None:
            heldout = history.dropna(subset=["heldout_elbo"])
            if len(heldout):
                ax.plot(heldout["step"], heldout["heldout_elbo"], "o-", label="held-out ELBO")
                ax.legend()
        ax.set(title=column.replace("_", " "), xlabel="step")
    return figure


def predicted_vs_measured(predicted, measured, measured_name: str = "measured") -> Figure:
    """Scatter of Δ against the measured fitness, with Spearman ρ in the title."""
    rho = spearman(measured, predicted)
    figure = Figure(figsize=(5, 4.5), layout="constrained")
    ax = figure.subplots()
    ax.scatter(predicted, measured, s=4, alpha=0.4, linewidths=0)
    ax.set(
        title=f"Spearman ρ = {rho:.3f} (n = {len(predicted):,})",
        xlabel="predicted Δ (higher = fitter)",
        ylabel=measured_name,
    )
    return figure


def singles_matrix(deltas: np.ndarray, focus_sequence: str, positions, alphabet: str):
    """Δ of every single substitution as a (position × letter) table; the wild type scores 0.

    ``deltas`` are in the order of
    [`MutationSet.all_singles`][pyro_deepseq.MutationSet.all_singles]: by position, then letter.
    """
    length, letters = len(focus_sequence), len(alphabet)
    matrix = np.zeros((length, letters))
    others = np.ones((length, letters), dtype=bool)
    others[np.arange(length), [alphabet.index(c) for c in focus_sequence]] = False
    matrix[others] = deltas
    frame = pd.DataFrame(matrix, columns=list(alphabet))
    frame.insert(0, "wild_type", list(focus_sequence))
    frame.insert(0, "position", np.asarray(positions))
    return frame


def landscape(matrix: pd.DataFrame) -> Figure:
    """Heatmap of a [`singles_matrix`][pyro_deepseq.plots.singles_matrix]: positions across, letters
    down, wild type marked."""
    letters = [c for c in matrix.columns if c not in ("position", "wild_type")]
    values = matrix[letters].to_numpy().T
    low, high = np.nanmin(values), np.nanmax(values)
    norm = TwoSlopeNorm(0.0, min(low, -1e-6), max(high, 1e-6))
    width = min(max(6.0, 0.09 * len(matrix)), 40.0)
    figure = Figure(figsize=(width, 4.2), layout="constrained")
    ax = figure.subplots()
    image = ax.imshow(values, aspect="auto", cmap="RdBu", norm=norm, interpolation="nearest")
    wild = [letters.index(c) for c in matrix["wild_type"]]
    ax.scatter(np.arange(len(matrix)), wild, s=3, c="black", marker="s", label="wild type")
    ticks = np.arange(0, len(matrix), max(1, len(matrix) // 25))
    ax.set_xticks(ticks, matrix["position"].to_numpy()[ticks])
    ax.set_yticks(np.arange(len(letters)), letters)
    ax.set(xlabel="position", ylabel="substitution")
    figure.colorbar(image, ax=ax, label="Δ (higher = fitter)", fraction=0.03)
    return figure


def project(means: np.ndarray, method: str = "pca") -> tuple[np.ndarray, tuple[str, str]]:
    """Latent means in two dimensions: as they are when 2-D, else PCA (or UMAP, if installed)."""
    means = np.asarray(means, dtype=np.float64)
    centred = means - means.mean(0)
    if means.shape[1] <= 2:
        return centred, ("z 1", "z 2")
    if method == "umap":
        try:
            from umap import UMAP
        except ImportError:
            raise DataError("UMAP needs umap-learn: pip install 'pyro_deepseq[umap]'") from None
        return UMAP(random_state=0).fit_transform(means), ("UMAP 1", "UMAP 2")
    if method != "pca":
        raise DataError(f"unknown projection {method!r}: pca or umap")
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    return centred @ components[:2].T, ("PC 1", "PC 2")


def latent_space(
    means: np.ndarray, labels: Sequence[str] | None = None, weights=None, method: str = "pca"
) -> Figure:
    """Encoder means in two dimensions (see [`project`][pyro_deepseq.plots.project]), coloured by a
    label per sequence or, without labels, by sequence weight."""
    points, axes = project(means, method)
    figure = Figure(figsize=(6, 5), layout="constrained")
    ax = figure.subplots()
    if labels is not None:
        names = pd.Series(list(labels))
        common = names.value_counts().index[:MAX_LABELS]
        names = names.where(names.isin(common), "other")
        for name in [*common, "other"]:
            chosen = (names == name).to_numpy()
            if chosen.any():
                ax.scatter(*points[chosen].T, s=3, alpha=0.6, label=f"{name} ({chosen.sum():,})")
        ax.legend(markerscale=4, fontsize="small")
    else:
        colour = np.ones(len(points)) if weights is None else np.asarray(weights)
        image = ax.scatter(*points.T, s=3, c=colour, cmap="viridis", alpha=0.6)
        figure.colorbar(image, ax=ax, label="sequence weight")
    ax.set(xlabel=axes[0], ylabel=axes[1], title="latent space (encoder means)")
    return figure


def sweep_summary(summary: pd.DataFrame) -> Figure:
    """ρ of each family in a sweep: a bar for its ensemble, a dot for each seed."""
    scored = summary.dropna(subset=["rho"])
    families = list(dict.fromkeys(scored["family"]))
    figure = Figure(figsize=(max(4.0, 0.6 * len(families) + 2), 3.6), layout="constrained")
    ax = figure.subplots()
    for x, family in enumerate(families):
        rows = scored[scored["family"] == family]
        seeds = rows[rows["seed"] != "ensemble"]["rho"].astype(float)
        together = rows[rows["seed"] == "ensemble"]["rho"].astype(float)
        if len(together):
            ax.bar(
                x,
                together.iloc[0],
                color="tab:blue",
                alpha=0.5,
                label="ensemble" if x == 0 else None,
            )
        ax.scatter(
            np.full(len(seeds), x), seeds, s=12, c="black", label="seeds" if x == 0 else None
        )
    ax.set_xticks(np.arange(len(families)), families, rotation=45, ha="right")
    title = f"{len(families)} {'family' if len(families) == 1 else 'families'}"
    ax.set(ylabel="Spearman ρ", title=title)
    ax.legend(fontsize="small")
    return figure


def proteingym_metrics(per_assay: pd.DataFrame) -> Figure:
    """The five metrics of each assay, as grouped bars."""
    names = list(per_assay["DMS_id"])
    figure = Figure(figsize=(max(5.0, 1.1 * len(names) + 2), 3.8), layout="constrained")
    ax = figure.subplots()
    width = 0.8 / len(METRICS)
    x = np.arange(len(names))
    for i, metric in enumerate(METRICS):
        ax.bar(x + (i - 2) * width, per_assay[metric], width, label=metric)
    ax.set_xticks(x, names, rotation=40, ha="right", fontsize="small")
    ax.axhline(0, color="black", linewidth=0.5)
    ax.set(ylabel="metric", title=f"pyro_deepseq on {len(names)} ProteinGym assays")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return figure


# --- EVE's classes ---------------------------------------------------------------------------

#: EVE's classes and their colours.
CLASS_COLOURS = {
    classification.BENIGN: "tab:blue",
    classification.UNCERTAIN: "0.6",
    classification.PATHOGENIC: "tab:red",
}


def index_histogram(table: pd.DataFrame, mixture: classification.Mixture, name: str = "") -> Figure:
    """Histogram of the indices coloured by class, the two fitted components and their sum."""
    figure = Figure(figsize=(6, 4), layout="constrained")
    ax = figure.subplots()
    bins = np.histogram_bin_edges(table["evol_index"], bins=60)
    stacked = [table.loc[table["class"] == c, "evol_index"] for c in CLASS_COLOURS]
    labels = [f"{c} ({len(v):,})" for c, v in zip(CLASS_COLOURS, stacked, strict=True)]
    ax.hist(
        stacked,
        bins=bins,
        stacked=True,
        density=True,
        color=list(CLASS_COLOURS.values()),
        label=labels,
        alpha=0.8,
    )
    grid = np.linspace(bins[0], bins[-1], 400)
    densities = mixture.density(grid)
    ax.plot(grid, densities[:, 0], color="navy", label="benign component")
    ax.plot(grid, densities[:, 1], color="darkred", label="pathogenic component")
    ax.plot(grid, densities.sum(1), color="black", linestyle="--", label="mixture")
    ax.set(
        xlabel="evolutionary index (−Δ ELBO, higher = more damaging)",
        ylabel="density",
        title=f"{name} classes".strip(),
    )
    ax.legend(fontsize="small")
    return figure


def score_map(table: pd.DataFrame, alphabet: str | None = None) -> Figure:
    """The EVE score of each substitution, positions across and letters down (as the singles
    heatmap), the wild type marked."""
    letters = list(alphabet or sorted(set(table["mutant_letter"]) | set(table["wild_type"])))
    matrix = table.pivot_table(index="mutant_letter", columns="position", values="score")
    matrix = matrix.reindex(index=letters)
    sites = table.drop_duplicates("position").set_index("position").loc[matrix.columns]
    width = min(max(6.0, 0.09 * matrix.shape[1]), 40.0)
    figure = Figure(figsize=(width, 4.2), layout="constrained")
    ax = figure.subplots()
    image = ax.imshow(
        matrix.to_numpy(), aspect="auto", cmap="coolwarm", vmin=0, vmax=1, interpolation="nearest"
    )
    wild = [letters.index(c) if c in letters else np.nan for c in sites["wild_type"]]
    ax.scatter(np.arange(matrix.shape[1]), wild, s=3, c="black", marker="s", label="wild type")
    ticks = np.arange(0, matrix.shape[1], max(1, matrix.shape[1] // 25))
    ax.set_xticks(ticks, matrix.columns.to_numpy()[ticks])
    ax.set_yticks(np.arange(len(letters)), letters)
    ax.set(xlabel="position", ylabel="substitution")
    figure.colorbar(image, ax=ax, label="EVE score (P pathogenic)", fraction=0.03)
    return figure


def roc_curves(labelled: pd.DataFrame, name: str = "") -> Figure:
    """ROC curves of the score and of the raw index against the labels."""
    figure = Figure(figsize=(4.5, 4.5), layout="constrained")
    ax = figure.subplots()
    curves = (("score", "EVE score", "-"), ("evol_index", "evolutionary index", "--"))
    for column, text, style in curves:
        false, true, _ = roc_curve(labelled["label"], labelled[column])
        auc = roc_auc_score(labelled["label"], labelled[column])
        ax.plot(false, true, linestyle=style, label=f"{text}: AUC {auc:.3f}")
    ax.plot([0, 1], [0, 1], color="0.7", linestyle=":")
    pathogenic = int(labelled["label"].sum())
    ax.set(
        xlabel="false positive rate",
        ylabel="true positive rate",
        title=f"{name}: {pathogenic:,} pathogenic, {len(labelled) - pathogenic:,} benign",
    )
    ax.legend(loc="lower right", fontsize="small")
    return figure
