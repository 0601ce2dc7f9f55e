"""ProteinGym's five metrics of a predictor on a DMS assay, and its ways of averaging them.

Each function follows ``proteingym/performance_DMS_benchmarks.py`` of ProteinGym (Notin et al.,
NeurIPS 2023), release 1.3, so that our numbers sit in its tables (the tests check NDCG and Recall
against that file when the ``proteingym`` package is installed):

========  =====================================================================================
Spearman  ``scipy.stats.spearmanr`` of the DMS score and the prediction.
AUC       ``roc_auc_score(DMS_score_bin, prediction)``; NaN when the assay has one class only.
MCC       ``matthews_corrcoef(DMS_score_bin, prediction >= median(prediction))``.
NDCG      gains are the DMS scores min-max scaled to [0, 1]; the DCG sums gain / log2(rank + 1)
          over the k = floor(n / 10) variants ranked highest by the prediction, the ideal DCG
          over the k highest gains; 0 when no variant of the top k has a gain.
Recall    of the variants at or above the 90th percentile of the DMS score (percentiles
          interpolated linearly), the fraction also at or above the prediction's 90th
          percentile (release 1.3; see :func:`top_recall`).
========  =====================================================================================

Aggregation (:func:`summarize`): ProteinGym first averages the assays of one protein
(``UniProt_ID``), so that a protein with many assays counts once. Its headline "Average" then
averages proteins within each coarse selection type (Activity, Binding, Expression,
OrganismalFitness, Stability) and averages the types. Breakdowns by MSA depth (``Low``, ``Medium``,
``High``) and taxon average the protein means within each category.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import ConstantInputWarning, spearmanr
from sklearn.metrics import matthews_corrcoef, roc_auc_score

#: The metrics, in the order of ProteinGym's tables.
METRICS = ("Spearman", "AUC", "MCC", "NDCG", "Recall")
#: Top fraction (in %) used by NDCG and Recall.
TOP_PERCENT = 10
#: Reference-file columns that group assays, and their names in the summary.
GROUPINGS = {
    "coarse_selection_type": "Selection type",
    "MSA_Neff_L_category": "MSA depth",
    "taxon": "Taxon",
}


def spearman(dms_score, prediction) -> float:
    """Spearman's ρ, the one every command and figure reports.

    Pairs in which either value is NaN are left out; the result is NaN when fewer than two pairs
    remain or either side is constant (no warning: an assay may legitimately be flat).
    """
    x, y = np.asarray(dms_score, dtype=float), np.asarray(prediction, dtype=float)
    kept = ~(np.isnan(x) | np.isnan(y))
    if kept.sum() < 2:
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConstantInputWarning)
        return float(spearmanr(x[kept], y[kept]).statistic)


def auc(dms_score_bin: np.ndarray, prediction: np.ndarray) -> float:
    """ROC AUC of the prediction for the fit class; NaN when the assay has one class only."""
    labels = np.asarray(dms_score_bin)
    if np.unique(labels).size < 2:
        return float("nan")
    return float(roc_auc_score(labels, prediction))


def mcc(dms_score_bin: np.ndarray, prediction: np.ndarray) -> float:
    """Matthews correlation of the DMS classes and the prediction split at its median (≥ is fit).

    A constant prediction puts every variant in the fit class, which gives 0.
    """
    prediction = np.asarray(prediction, dtype=float)
    predicted = (prediction >= np.median(prediction)).astype(int)
    return float(matthews_corrcoef(np.asarray(dms_score_bin), predicted))


def ndcg(dms_score: np.ndarray, prediction: np.ndarray, top: float = TOP_PERCENT) -> float:
    """ProteinGym's NDCG at k = floor(n · top / 100), with min-max scaled DMS scores as gains.

    Ties in the prediction are ranked as ``np.argsort`` orders them, exactly as ProteinGym does.
    NaN when the DMS score is constant (no gains to scale).
    """
    dms_score = np.asarray(dms_score, dtype=float)
    prediction = np.asarray(prediction, dtype=float)
    k = int(np.floor(dms_score.shape[0] * top / 100))
    spread = dms_score.max() - dms_score.min()
    if spread == 0:
        return float("nan")
    gains = (dms_score - dms_score.min()) / spread
    dcg = _dcg(gains, np.argsort(np.argsort(-prediction)) + 1, k)
    if dcg == 0:
        return 0.0
    return float(dcg / _dcg(gains, np.argsort(np.argsort(-gains)) + 1, k))


def _dcg(gains: np.ndarray, ranks: np.ndarray, k: int) -> float:
    """Σ gain / log2(rank + 1) over the ranks ≤ k (zero gains add nothing)."""
    chosen = ranks <= k
    return float(np.sum(gains[chosen] / np.log2(ranks[chosen] + 1)))


def top_recall(dms_score: np.ndarray, prediction: np.ndarray, top: float = TOP_PERCENT) -> float:
    """Fraction of the DMS's top ``top`` % that the prediction's top ``top`` % recovers.

    "Top" is at or above the (linearly interpolated) percentile, as in ProteinGym's release 1.3
    (the ``proteingym`` package on PyPI); its repository's later code counts strictly above it,
    which differs only when a value sits exactly on the percentile (ties, or n − 1 a multiple of
    10). So a constant prediction puts every variant in its top and recalls 1.
    """
    dms_score = np.asarray(dms_score, dtype=float)
    prediction = np.asarray(prediction, dtype=float)
    best = dms_score >= np.percentile(dms_score, 100 - top)
    chosen = prediction >= np.percentile(prediction, 100 - top)
    return float((best & chosen).sum() / best.sum()) if best.sum() > 0 else 0.0


def assay_metrics(
    dms_score: np.ndarray, prediction: np.ndarray, dms_score_bin: np.ndarray | None = None
) -> dict[str, float]:
    """The five metrics of one assay (AUC and MCC NaN without ``DMS_score_bin``).

    Parameters
    ----------
    dms_score, prediction : np.ndarray
        (n,) measured fitness and predicted score of the scored variants (higher = fitter).
    dms_score_bin : np.ndarray, optional
        (n,) 1 for fit variants, 0 for the others.
    """
    binary = dms_score_bin is not None
    return {
        "Spearman": spearman(dms_score, prediction),
        "AUC": auc(dms_score_bin, prediction) if binary else float("nan"),
        "MCC": mcc(dms_score_bin, prediction) if binary else float("nan"),
        "NDCG": ndcg(dms_score, prediction),
        "Recall": top_recall(dms_score, prediction),
    }


def summarize(per_assay: pd.DataFrame, metrics: Sequence[str] = METRICS) -> pd.DataFrame:
    """Aggregate per-assay metrics as ProteinGym does.

    Parameters
    ----------
    per_assay : pd.DataFrame
        One row per assay with ``UniProt_ID``, the ``metrics`` columns and, where known, the
        grouping columns of :data:`GROUPINGS`.

    Returns
    -------
    pd.DataFrame
        Columns ``group``, ``category``, ``n_assays``, ``n_proteins`` and the metrics. Rows:
        ``Average`` (ProteinGym's headline, over selection types, when they are known),
        ``Proteins`` (the mean of the protein means), ``Assays`` (the plain mean), then one row
        per category of each grouping column present.
    """
    table = per_assay.copy()
    if "MSA_Neff_L_category" in table:
        table["MSA_Neff_L_category"] = table["MSA_Neff_L_category"].map(_capitalize)
    metrics = list(metrics)
    proteins = table.groupby("UniProt_ID")[metrics].mean()
    rows = []
    if _known(table, "coarse_selection_type"):
        by_type = _by_category(table, "coarse_selection_type", metrics)
        rows.append(_row("Average", "over selection types", table, by_type.mean()))
    rows.append(_row("Proteins", "mean per UniProt_ID", table, proteins.mean()))
    rows.append(_row("Assays", "mean per assay", table, table[metrics].mean()))
    for column, name in GROUPINGS.items():
        if not _known(table, column):
            continue
        means = _by_category(table, column, metrics)
        for category, values in means.iterrows():
            rows.append(_row(name, category, table[table[column] == category], values))
    columns = ["group", "category", "n_assays", "n_proteins", *metrics]
    return pd.DataFrame(rows, columns=columns)


def _by_category(table: pd.DataFrame, column: str, metrics: list[str]) -> pd.DataFrame:
    """Mean per (protein, category), then per category."""
    known = table.dropna(subset=[column])
    return known.groupby(["UniProt_ID", column])[metrics].mean().groupby(column).mean()


def _row(group: str, category: str, table: pd.DataFrame, values: pd.Series) -> dict:
    counts = {"n_assays": len(table), "n_proteins": table["UniProt_ID"].nunique()}
    return {"group": group, "category": category, **counts, **values.to_dict()}


def _known(table: pd.DataFrame, column: str) -> bool:
    return column in table and table[column].notna().any()


def _capitalize(value):
    return value[0].upper() + value[1:] if isinstance(value, str) and value else value
