"""Model registry: every model a user can name with ``fit --model``."""

from .vanilla import VanillaVAE

MODELS = {"vanilla": VanillaVAE}
