"""Scoring: Monte-Carlo estimates of each variant's change in log-probability, and ensembles."""

from .estimators import ESTIMATORS, PRECISIONS, Scores, ensemble, score_variants
from .options import ScoringOptions

__all__ = ["ESTIMATORS", "PRECISIONS", "Scores", "ScoringOptions", "ensemble", "score_variants"]
