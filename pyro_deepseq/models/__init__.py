"""Model registry: every model a user can name with ``fit --model``."""

from __future__ import annotations

import inspect

from .bayesian import BayesianVAE
from .ladder import LadderVAE
from .vanilla import VanillaVAE

MODELS = {"bayesian": BayesianVAE, "ladder": LadderVAE, "vanilla": VanillaVAE}


def options(model: str) -> set[str]:
    """The settings ``model`` takes (its constructor's keyword arguments)."""
    parameters = inspect.signature(MODELS[model]).parameters
    return {name for name in parameters if name not in ("length", "letters")}


def build_model(config, length: int, letters: int):
    """The model a :class:`~pyro_deepseq.config.ModelConfig` describes, for L columns, K letters."""
    arguments = {k: v for k, v in config.arguments().items() if k in options(config.model)}
    return MODELS[config.model](length, letters, **arguments)
