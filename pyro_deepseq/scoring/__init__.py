"""Scoring: Monte-Carlo estimates of each variant's change in log-probability, and ensembles."""

from .estimators import ESTIMATORS, PRECISIONS, Scores, ensemble, score_variants

__all__ = ["ESTIMATORS", "PRECISIONS", "Scores", "ensemble", "score_variants"]
