"""Evaluation of scores: ProteinGym's metrics, and EVE's clinical classification."""
