"""The scoring flags of ``predict`` and ``classify``: ScoringOptions' fields, with its defaults."""

from __future__ import annotations

import argparse
import dataclasses

from ..scoring import ESTIMATORS, PRECISIONS, ScoringOptions

DEFAULTS = ScoringOptions()
HELP = {
    "samples": "estimates per variant and run",
    "estimator": "elbo (the paper's) or iwae (importance-weighted bound, --particles each)",
    "particles": "K of each iwae estimate (default 10)",
    "precision": "bfloat16: the decoder's output layer in bfloat16; 1.35-1.85x faster scoring on "
    "a CPU with AMX, Δ moved by ~0.01 nats",
    "batch_size": "variants per batch",
    "seed": "seed of the Monte-Carlo draws",
    "device": "auto, cpu or cuda",
    "site_independent": "score with the site-independent model of the checkpoint's alignment",
}
CHOICES = {"estimator": ESTIMATORS, "precision": tuple(PRECISIONS)}


def add_scoring_flags(parser, names=tuple(HELP)) -> None:
    """``--samples``, ``--estimator``, … for the fields ``names``."""
    for name in names:
        flag, default = "--" + name.replace("_", "-"), getattr(DEFAULTS, name)
        if name == "site_independent":
            parser.add_argument(flag, action="store_true", help=HELP[name])
            continue
        kind = int if name == "particles" else type(default)
        shown = "" if name == "particles" else f" (default {default})"
        default = None if name == "particles" else default
        extra = {"choices": CHOICES[name]} if name in CHOICES else {}
        parser.add_argument(flag, type=kind, default=default, help=HELP[name] + shown, **extra)


def scoring_options(args: argparse.Namespace) -> ScoringOptions:
    """The ScoringOptions of parsed flags (fields without a flag keep their defaults)."""
    names = {field.name for field in dataclasses.fields(ScoringOptions)}
    return ScoringOptions.of({k: v for k, v in vars(args).items() if k in names})
