"""Clinical classes of single substitutions as EVE computes them (Frazer et al., Nature 2021).

Each single substitution has an **evolutionary index**, ``evol_index = −Δ ELBO`` (higher = more
damaging). A two-component Gaussian mixture is fitted to a protein's indices; the component with
the higher mean is the pathogenic one. For a variant of index x:

- **score** = P(pathogenic | x), the pathogenic component's posterior;
- **uncertainty** = −s log2 s − (1 − s) log2(1 − s), the predictive entropy of the score in bits
  (1 at s = 0.5, 0 at s = 0 or 1);
- **class**: the ``retain`` share of variants with the lowest uncertainty (all proteins pooled) is
  ``Pathogenic`` (score > 0.5) or ``Benign``; the rest ``Uncertain``. The cut is an uncertainty
  threshold, the ``retain`` quantile of the uncertainties, which can be saved and reused
  (:class:`Thresholds`) so that a later protein is classified on the same scale.

**Many proteins.** A global mixture is fitted on every protein's indices together, and each
protein's score is ``w · P_protein + (1 − w) · P_global`` (EVE's ``w`` = 0.3).

**Non-monotone tails.** With unequal widths, the log-odds of two Gaussians is a parabola in x: when
the pathogenic component is the wider one, a very low (benign-looking) index gets a *rising*
pathogenic posterior again, and when the benign one is wider a very high index falls back toward
benign. Neither makes sense for a score meant to rank damage, so the posterior is made monotone:
x is clamped at the parabola's vertex on its wrong side (:meth:`Mixture.posterior`), i.e. every
index beyond the vertex gets the vertex's posterior. This is exact, needs no other variant, and
leaves the posterior unchanged on the side where it already rises with the index.

**Failed separation.** A mixture whose BIC is no better than one Gaussian's, with a component
of under ``MIN_WEIGHT`` of the variants, or with Ashman's D = √2 |μ₁ − μ₀| / √(σ₀² + σ₁²) under
``MIN_SEPARATION`` does not separate the indices; its protein gets a
:class:`~pyro_deepseq.errors.DataWarning` naming it and every class ``Uncertain``. A global
mixture that does not separate the pooled indices (likely with a few proteins whose index scales
differ) is dropped with a warning, and every protein is scored with its own mixture.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score
from sklearn.mixture import GaussianMixture

from ..data.focus import Focus
from ..data.mutations import (
    WILD_TYPE_MISMATCH,
    UnscoreableMutant,
    _read_cells,
    another_protein,
    locate_mutant,
    parse_mutant,
)
from ..errors import DataError, DataWarning
from ..utils.files import atomic_write

PATHOGENIC, BENIGN, UNCERTAIN = "Pathogenic", "Benign", "Uncertain"
#: Retained fractions at which labelled variants are evaluated (EVE's figure 3).
RETAINED = (1.0, 0.9, 0.75, 0.5)
#: EVE's weight on a protein's own mixture when it is mixed with the global one.
PROTEIN_WEIGHT = 0.3
#: Share of the variants classified by default, the least uncertain (EVE's 75 %).
RETAIN = 0.75
#: A mixture separates when both components hold at least this share of the variants …
MIN_WEIGHT = 0.02
#: … and Ashman's D of the two components is at least this.
MIN_SEPARATION = 1.0
#: Variants a protein needs for a mixture to be fitted at all.
MIN_VARIANTS = 10
#: Columns of a classified table, in order (``label`` follows when labels are given).
COLUMNS = (
    "mutant",
    "position",
    "wild_type",
    "mutant_letter",
    "evol_index",
    "evol_index_stderr",
    "score",
    "uncertainty",
    "class",
)
#: Label cells (lower-cased, spaces and underscores as one) read as pathogenic / benign.
PATHOGENIC_LABELS = frozenset(
    {"1", "1.0", "pathogenic", "likely pathogenic", "pathogenic/likely pathogenic"}
)
BENIGN_LABELS = frozenset({"0", "0.0", "benign", "likely benign", "benign/likely benign"})
NOT_SINGLE = "not a single substitution"
NOT_SCORED = "not in the scored table"
NO_LABEL = "label neither pathogenic nor benign"
LABELLED_TWICE = "labelled twice"
#: What a protein's name may hold (in file names); anything else becomes ``_``.
SAFE_NAME = r"[^A-Za-z0-9._-]+"
FORMAT = 1


# --- the mixture ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mixture:
    """Two Gaussians over the evolutionary index: component 0 benign, 1 pathogenic (higher mean).

    Attributes
    ----------
    weights, means, sds : tuple of two floats
    evidence : float
        BIC of one Gaussian minus BIC of the two, on the indices fitted (positive: two components
        explain them better); infinite when not measured.
    """

    weights: tuple[float, float]
    means: tuple[float, float]
    sds: tuple[float, float]
    evidence: float = math.inf

    def log_odds(self, index) -> np.ndarray:
        """log P(pathogenic, x) − log P(benign, x), the parabola a·x² + b·x + c."""
        a, b, c = self._parabola()
        x = np.asarray(index, dtype=np.float64)
        return (a * x + b) * x + c

    def vertex(self) -> float | None:
        """Where the log-odds turns (None when the widths are equal and it is a line)."""
        a, b, _ = self._parabola()
        return None if abs(a) < 1e-12 * abs(b) + 1e-300 else -b / (2 * a)

    def posterior(self, index, monotone: bool = True) -> np.ndarray:
        """P(pathogenic | x), shape of ``index``; non-decreasing in x when ``monotone``.

        Monotone: x is clamped at the vertex on the side where the raw posterior would turn back
        (below it when the pathogenic component is wider, above it when the benign one is).
        """
        x = np.asarray(index, dtype=np.float64)
        vertex = self.vertex()
        if monotone and vertex is not None:
            a = self._parabola()[0]
            x = np.maximum(x, vertex) if a > 0 else np.minimum(x, vertex)
        return expit(self.log_odds(x))

    def density(self, index) -> np.ndarray:
        """(n, 2) weighted densities w_k N(x; μ_k, σ_k²) of each component."""
        x = np.asarray(index, dtype=np.float64)[:, None]
        means, sds = np.array(self.means), np.array(self.sds)
        return (
            np.array(self.weights)
            * np.exp(-0.5 * ((x - means) / sds) ** 2)
            / (sds * math.sqrt(2 * math.pi))
        )

    def separation(self) -> float:
        """Ashman's D: √2 |μ₁ − μ₀| / √(σ₀² + σ₁²) (above 2: clearly bimodal)."""
        return math.sqrt(2) * abs(self.means[1] - self.means[0]) / math.hypot(*self.sds)

    def problem(self) -> str | None:
        """Why this mixture does not separate the indices, or None when it does."""
        if self.evidence <= 0:
            return f"one Gaussian fits the indices as well (BIC {self.evidence:+.1f} for two)"
        if min(self.weights) < MIN_WEIGHT:
            return f"one component holds {min(self.weights):.1%} of the variants"
        if self.separation() < MIN_SEPARATION:
            return f"the components overlap (Ashman's D = {self.separation():.2f})"
        return None

    def to_dict(self) -> dict:
        values = {key: list(getattr(self, key)) for key in ("weights", "means", "sds")}
        return values | {"evidence": self.evidence if math.isfinite(self.evidence) else None}

    @classmethod
    def from_dict(cls, values: dict) -> Mixture:
        parts = (tuple(float(v) for v in values[key]) for key in ("weights", "means", "sds"))
        evidence = values.get("evidence")
        return cls(*parts, math.inf if evidence is None else float(evidence))

    def _parabola(self) -> tuple[float, float, float]:
        (w0, w1), (m0, m1), (s0, s1) = self.weights, self.means, self.sds
        a = 0.5 / s0**2 - 0.5 / s1**2
        b = m1 / s1**2 - m0 / s0**2
        c = math.log(w1 / s1) - math.log(w0 / s0) - 0.5 * (m1 / s1) ** 2 + 0.5 * (m0 / s0) ** 2
        return a, b, c


def fit_mixture(index, seed: int = 0, n_init: int = 10) -> Mixture:
    """Fit scikit-learn's two-component ``GaussianMixture`` to evolutionary indices.

    Parameters
    ----------
    index : array, shape (n,)
        Finite indices, n ≥ ``MIN_VARIANTS``.
    seed, n_init : int
        The seed, and the number of initialisations (k-means++ starts of EM, the best kept).
    """
    x = np.asarray(index, dtype=np.float64).reshape(-1, 1)
    if len(x) < MIN_VARIANTS or not np.isfinite(x).all():
        raise DataError(f"a mixture needs at least {MIN_VARIANTS} finite indices, got {len(x)}")
    model = GaussianMixture(
        2,
        n_init=n_init,
        init_params="k-means++",
        random_state=seed,
        max_iter=500,
        reg_covar=1e-6,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x)
    order = np.argsort(model.means_[:, 0])  # benign, then pathogenic
    sds = np.sqrt(model.covariances_.reshape(2))[order]
    one = GaussianMixture(1, reg_covar=1e-6).fit(x)
    return Mixture(
        tuple(model.weights_[order].tolist()),
        tuple(model.means_[order, 0].tolist()),
        tuple(sds.tolist()),
        float(one.bic(x) - model.bic(x)),
    )


def uncertainty(score) -> np.ndarray:
    """Predictive entropy of a score in bits: 1 at 0.5, 0 at 0 and 1."""
    p = np.clip(np.asarray(score, dtype=np.float64), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        bits = -(p * np.log2(p) + (1 - p) * np.log2(1 - p))
    return np.nan_to_num(bits, nan=0.0)


def mixed_score(index, protein: Mixture, pooled: Mixture | None, weight: float) -> np.ndarray:
    """``weight · P_protein + (1 − weight) · P_global``, each posterior monotone; without a global
    mixture, ``P_protein``."""
    own = protein.posterior(index)
    if pooled is None or weight == 1.0:
        return own
    return weight * own + (1.0 - weight) * pooled.posterior(index)


def uncertainty_threshold(uncertainties, retain: float) -> float:
    """The uncertainty below or at which exactly round(retain · n) variants lie (ties aside)."""
    if not 0.0 <= retain <= 1.0:
        raise DataError(f"the retained share must lie in [0, 1], got {retain}")
    values = np.sort(np.asarray(uncertainties, dtype=np.float64))
    kept = int(round(retain * len(values)))
    return float(values[kept - 1]) if kept else -math.inf


def assign_classes(score, uncertainties, threshold: float) -> np.ndarray:
    """``Pathogenic`` (score > 0.5) or ``Benign`` where uncertainty ≤ threshold, else
    ``Uncertain``."""
    score = np.asarray(score, dtype=np.float64)
    called = np.where(score > 0.5, PATHOGENIC, BENIGN)
    return np.where(np.asarray(uncertainties) <= threshold, called, UNCERTAIN).astype(object)


# --- the thresholds file -------------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    """What classifies a later protein on the same scale: the uncertainty cut and the global
    mixture (None for a single protein) with the weight on a protein's own mixture."""

    retain: float
    uncertainty: float
    protein_weight: float = PROTEIN_WEIGHT
    pooled: Mixture | None = None

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        values = {
            "format": FORMAT,
            "retain": self.retain,
            "uncertainty": self.uncertainty if math.isfinite(self.uncertainty) else None,
            "protein_weight": self.protein_weight,
            "global_mixture": None if self.pooled is None else self.pooled.to_dict(),
        }
        with atomic_write(path) as temporary:
            temporary.write_text(json.dumps(values, indent=2) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Thresholds:
        path = Path(path)
        try:
            values = json.loads(path.read_text())
            pooled = values["global_mixture"]
            cut = values["uncertainty"]
            return cls(
                float(values["retain"]),
                -math.inf if cut is None else float(cut),
                float(values["protein_weight"]),
                None if pooled is None else Mixture.from_dict(pooled),
            )
        except FileNotFoundError:
            raise DataError(f"{path}: thresholds file not found") from None
        except (ValueError, KeyError, TypeError) as error:
            raise DataError(f"{path}: not a thresholds file of classify ({error!r})") from None


# --- many proteins ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Classified:
    """The outcome of :func:`classify`.

    Attributes
    ----------
    tables : dict of str to pd.DataFrame
        Each protein's variants with ``COLUMNS``.
    mixtures : dict of str to Mixture or None
        Each protein's own mixture (None when it has too few variants to fit one).
    problems : dict of str to str or None
        Why a protein's classes stay ``Uncertain``, or None.
    thresholds : Thresholds
        The cut applied, and the global mixture when there was one.
    """

    tables: dict[str, pd.DataFrame]
    mixtures: dict[str, Mixture | None]
    problems: dict[str, str | None]
    thresholds: Thresholds

    def score(self, name: str, index) -> np.ndarray:
        """The score of protein ``name`` at any index (NaN without a mixture of its own)."""
        mixture, scale = self.mixtures[name], self.thresholds
        if mixture is None:
            return np.full(np.shape(index), np.nan)
        return mixed_score(index, mixture, scale.pooled, scale.protein_weight)

    def summary(self) -> pd.DataFrame:
        """One row per protein: its mixture, its classes and how stable the calls are.

        ``unstable`` counts classified variants whose call (score above or below 0.5) differs
        between index − 2 and index + 2 standard errors: the price of too few ``--samples``.
        """
        rows = []
        for name, table in self.tables.items():
            mixture, counts = self.mixtures[name], table["class"].value_counts()
            row = {"protein": name, "variants": len(table), "problem": self.problems[name]}
            row["separation"] = None if mixture is None else mixture.separation()
            for key, part in (("benign", 0), ("pathogenic", 1)):
                for field in ("weights", "means", "sds"):
                    value = None if mixture is None else getattr(mixture, field)[part]
                    row[f"{key}_{field[:-1]}"] = value
            row.update({c.lower(): int(counts.get(c, 0)) for c in (PATHOGENIC, BENIGN, UNCERTAIN)})
            row["uncertainty_threshold"] = self.thresholds.uncertainty
            spread = 2 * table["evol_index_stderr"].fillna(0).to_numpy()
            low = self.score(name, table["evol_index"] - spread) > 0.5
            high = self.score(name, table["evol_index"] + spread) > 0.5
            row["median_stderr"] = table["evol_index_stderr"].median()
            row["unstable"] = int(((low != high) & (table["class"] != UNCERTAIN)).sum())
            rows.append(row)
        return pd.DataFrame(rows)


def classify(
    tables: dict[str, pd.DataFrame],
    retain: float = RETAIN,
    protein_weight: float = PROTEIN_WEIGHT,
    thresholds: Thresholds | None = None,
    seed: int = 0,
) -> Classified:
    """Score, measure the uncertainty of and classify every protein's variants.

    Parameters
    ----------
    tables : dict of str to pd.DataFrame
        Per protein, a :func:`singles_table` (at least ``evol_index``).
    retain : float
        Share of the variants (of all proteins that separate, pooled) to classify.
    protein_weight : float
        Weight on a protein's own mixture against the global one, fitted on every protein's
        indices when there are several (at 1 the global mixture is not used).
    thresholds : Thresholds, optional
        A saved scale: its uncertainty cut, global mixture and weight replace ``retain``, the
        fitted global mixture and ``protein_weight`` (a scale saved without a global mixture
        scores with each protein's own).
    """
    if not 0.0 <= protein_weight <= 1.0:
        raise DataError(
            f"the weight on a protein's mixture must lie in [0, 1], got {protein_weight}"
        )
    if thresholds is not None:
        protein_weight = thresholds.protein_weight
    mixtures, problems = {}, {}
    for name, table in tables.items():
        mixtures[name], problems[name] = _own_mixture(table["evol_index"], seed)
    pooled = thresholds.pooled if thresholds is not None else None
    if thresholds is None and len(tables) > 1 and protein_weight < 1.0:
        everything = np.concatenate([t["evol_index"].to_numpy() for t in tables.values()])
        pooled = fit_mixture(everything, seed)
        if pooled.problem() is not None:
            warnings.warn(
                f"the global mixture does not separate the {len(tables)} proteins' pooled "
                f"indices ({pooled.problem()}); each protein is scored with its own mixture",
                DataWarning,
                stacklevel=2,
            )
            pooled, protein_weight = None, 1.0
    scored = {}
    for name, table in tables.items():
        problem = problems[name]
        if problem is not None:
            warnings.warn(
                f"protein {name!r}: the mixture does not separate its indices ({problem}); "
                "its classes stay Uncertain",
                DataWarning,
                stacklevel=2,
            )
        score = (
            np.full(len(table), np.nan)
            if mixtures[name] is None
            else mixed_score(table["evol_index"], mixtures[name], pooled, protein_weight)
        )
        scored[name] = table.assign(score=score, uncertainty=uncertainty(score))
    if thresholds is None:
        fine = [t["uncertainty"] for name, t in scored.items() if problems[name] is None]
        cut = uncertainty_threshold(np.concatenate(fine) if fine else [], retain)
        thresholds = Thresholds(retain, cut, protein_weight, pooled)
    for name, table in scored.items():
        classes = assign_classes(table["score"], table["uncertainty"], thresholds.uncertainty)
        table["class"] = UNCERTAIN if problems[name] is not None else classes
    return Classified(scored, mixtures, problems, thresholds)


def _own_mixture(index: pd.Series, seed: int) -> tuple[Mixture | None, str | None]:
    if len(index) < MIN_VARIANTS or np.ptp(index.to_numpy()) == 0:
        return None, f"{len(index)} variants, or one index for all; a mixture needs variety"
    mixture = fit_mixture(index, seed)
    return mixture, mixture.problem()


# --- scored variants -----------------------------------------------------------------------------


def singles_table(mutants: Sequence[str], index, stderr) -> pd.DataFrame:
    """``mutant``, ``position``, ``wild_type``, ``mutant_letter``, ``evol_index`` and its
    ``evol_index_stderr``: one row per single substitution."""
    parsed = [parse_mutant(m) for m in mutants]
    for mutant, substitutions in zip(mutants, parsed, strict=True):
        if len(substitutions) != 1:
            raise DataError(f"mutant {mutant!r}: classify takes single substitutions only")
    return pd.DataFrame(
        {
            "mutant": list(mutants),
            "position": np.array([s[0].position for s in parsed], dtype=np.int64),
            "wild_type": [s[0].wild_type for s in parsed],
            "mutant_letter": [s[0].mutant for s in parsed],
            "evol_index": np.asarray(index, dtype=np.float64),
            "evol_index_stderr": np.asarray(stderr, dtype=np.float64),
        }
    )


def read_scored(path: str | Path) -> pd.DataFrame:
    """Read indices already computed: ``predict --singles``' CSV (``prediction`` = Δ, so the
    index is −Δ, and ``stderr``) or a table ``classify`` wrote (``evol_index``)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: predictions file not found")
    table = pd.read_excel(path) if path.suffix.lower() in (".xlsx", ".xls") else pd.read_csv(path)
    if {"mutant", "evol_index"} <= set(table.columns):
        index = table["evol_index"].to_numpy(np.float64)
        stderr = table.get("evol_index_stderr", pd.Series(np.nan, index=table.index))
    elif {"mutant", "prediction"} <= set(table.columns):
        index = -table["prediction"].to_numpy(np.float64)
        stderr = table.get("stderr", pd.Series(np.nan, index=table.index))
    else:
        raise DataError(
            f"{path}: expected columns mutant and prediction (predict --singles) or mutant and "
            f"evol_index (classify); found {', '.join(map(str, table.columns))}"
        )
    if not np.isfinite(index).all():
        row = int(np.flatnonzero(~np.isfinite(index))[0])
        raise DataError(f"{path}, row {row + 2}: mutant {table['mutant'][row]!r} has no score")
    try:
        return singles_table(table["mutant"].astype(str).tolist(), index, stderr.to_numpy())
    except DataError as error:
        raise DataError(f"{path}: {error}") from None


def table_focus(table: pd.DataFrame, name: str, alphabet: str | None = None) -> Focus:
    """The focus a singles table implies: its positions and wild-type letters."""
    sites = table.drop_duplicates("position").sort_values("position")
    if alphabet is None:
        alphabet = "".join(sorted(set(table["wild_type"]) | set(table["mutant_letter"])))
    return Focus(name, "".join(sites["wild_type"]), sites["position"].to_numpy(), alphabet)


# --- labels --------------------------------------------------------------------------------------

LABEL_COLUMNS = ("label", "DMS_score_bin", "ClinicalSignificance", "clinical_significance")


def read_labels(
    path: str | Path,
    mutant_column: str = "mutant",
    label_column: str | None = None,
    one_means: str | None = None,
    protein_column: str | None = None,
) -> pd.DataFrame:
    """Read labelled variants: columns ``row``, ``mutant``, ``label`` (1 pathogenic, 0 benign,
    NaN neither) and, with ``protein_column``, ``protein``.

    Label cells may be ``pathogenic``/``benign`` (also ``likely …`` and ClinVar's combined
    spellings, any case), ``1``/``0``, or ProteinGym's ``DMS_score_bin``, where 1 means fit, so
    benign. ``one_means`` is ``"pathogenic"`` or ``"fit"``; by default ``"fit"`` for a column
    named ``DMS_score_bin``. The label column defaults to the first of ``LABEL_COLUMNS`` present.

    Raises
    ------
    DataError
        Naming the file: missing file or columns, or no cell that reads as a label.
    """
    path = Path(path)
    raw, _ = _read_cells(path)
    if label_column is None:
        label_column = next((c for c in LABEL_COLUMNS if c in raw.columns), None)
        if label_column is None:
            raise DataError(
                f"{path}: no label column ({', '.join(LABEL_COLUMNS)}); name it "
                f"with --label-column (the columns are {list(raw.columns)})"
            )
    for column in (mutant_column, label_column, protein_column or mutant_column):
        if column not in raw.columns:
            raise DataError(f"{path}: no column {column!r}; the columns are {list(raw.columns)}")
    one_means = one_means or ("fit" if label_column.lower() == "dms_score_bin" else "pathogenic")
    if one_means not in ("pathogenic", "fit"):
        raise DataError(f"one_means must be 'pathogenic' or 'fit', got {one_means!r}")
    cells = raw[label_column].str.strip().str.lower().str.replace(r"[\s_]+", " ", regex=True)
    label = np.where(cells.isin(PATHOGENIC_LABELS), 1.0, np.nan)
    label = np.where(cells.isin(BENIGN_LABELS), 0.0, label)
    if np.isnan(label).all():
        raise DataError(
            f"{path}, column {label_column!r}: no cell reads as a label (pathogenic/benign, 1/0 "
            f"or DMS_score_bin), e.g. {raw[label_column].iloc[0]!r}"
        )
    if one_means == "fit":
        label = 1.0 - label
    labels = pd.DataFrame(
        {"row": raw.index + 2, "mutant": raw[mutant_column].str.strip(), "label": label}
    )
    if protein_column is not None:
        labels["protein"] = raw[protein_column].str.strip().str.replace(SAFE_NAME, "_", regex=True)
    return labels.reset_index(drop=True)


def match_labels(
    labels: pd.DataFrame, table: pd.DataFrame, focus: Focus, source: str | Path
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Put labels on a classified table's variants.

    Returns
    -------
    labelled : pd.DataFrame
        ``table``'s rows that carry a label, with a ``label`` column (1 pathogenic, 0 benign).
    unscoreable : pd.DataFrame
        ``row``, ``mutant``, ``reason``, ``detail`` of each labelled variant left out.

    Raises
    ------
    DataError
        When the labels do not match the protein: more of them name another wild-type letter than
        match, or none can be placed on it (naming the file and an example mutant).
    """
    index = {mutant: i for i, mutant in enumerate(table["mutant"])}
    rows, left_out, seen = [], [], {}
    for row, mutant, label in labels[["row", "mutant", "label"]].itertuples(index=False):
        problem = _label_problem(mutant, label, focus, index)
        if problem is None and mutant in seen:
            problem = LABELLED_TWICE, f"first labelled on line {seen[mutant]}"
        if problem is None:
            rows.append((index[mutant], label))
            seen[mutant] = row
        else:
            left_out.append((row, mutant, *problem))
    unscoreable = pd.DataFrame(left_out, columns=["row", "mutant", "reason", "detail"])
    mismatched = int((unscoreable["reason"] == WILD_TYPE_MISMATCH).sum())
    if not rows or another_protein(mismatched, len(rows)):
        example = unscoreable.iloc[0] if len(unscoreable) else None
        detail = "" if example is None else f" e.g. {example['mutant']!r}: {example['detail']};"
        raise DataError(
            f"{source}: the labelled mutants do not match protein {focus.focus_name!r} "
            f"({len(rows)} placed, {mismatched} with another wild-type letter;{detail} is this "
            "file for another protein or numbering?)"
        )
    positions, values = zip(*rows, strict=True)
    labelled = table.iloc[list(positions)].assign(label=np.array(values))
    return labelled, unscoreable


def _label_problem(mutant, label, focus: Focus, index: dict) -> tuple[str, str] | None:
    try:
        substitutions = parse_mutant(mutant)
    except DataError as error:
        return NOT_SINGLE, str(error)
    if len(substitutions) != 1:
        return NOT_SINGLE, f"{len(substitutions)} substitutions"
    try:
        locate_mutant(substitutions, focus)
    except UnscoreableMutant as error:
        return error.reason, error.detail
    if mutant not in index:
        return NOT_SCORED, f"{mutant} has no evolutionary index"
    if np.isnan(label):
        return NO_LABEL, "the label is neither pathogenic nor benign"
    return None


def label_metrics(
    labelled: pd.DataFrame, uncertainties, fractions: Sequence[float] = RETAINED
) -> dict:
    """ROC AUC of the score and of the raw index; accuracy and share classified at each retained
    fraction (thresholds from ``uncertainties``, those of every variant being classified)."""
    label = labelled["label"].to_numpy()
    both = 0 < label.sum() < len(label)
    metrics = {
        "labelled": len(label),
        "labelled_pathogenic": int(label.sum()),
        "auc_score": float(roc_auc_score(label, labelled["score"])) if both else None,
        "auc_index": float(roc_auc_score(label, labelled["evol_index"])) if both else None,
    }
    for fraction in fractions:
        cut = uncertainty_threshold(uncertainties, fraction)
        kept = labelled["uncertainty"].to_numpy() <= cut
        called = labelled["score"].to_numpy()[kept] > 0.5
        percent = int(round(100 * fraction))
        metrics[f"accuracy_{percent}"] = (
            float(np.mean(called == label[kept])) if kept.any() else None
        )
        metrics[f"classified_{percent}"] = float(kept.mean())
    return metrics
