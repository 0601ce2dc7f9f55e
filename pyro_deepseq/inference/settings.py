"""How a run's settings are put together: defaults, then a preset's, then what the user gave.

The command line and the Python API both resolve settings here, so that ``fit --preset fast
--lr 1e-3`` and ``DeepSequence(path, preset="fast", lr=1e-3)`` train the same run.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from ..errors import DataError
from ..models import MODELS, options
from ..models.independent import SiteIndependentModel
from .config import ModelConfig, TrainConfig, from_dict
from .presets import AUTO, PRESETS, auto_preset

DEFAULT_MODEL = "bayesian"
RESUMABLE = {"steps", "device"}  # what a resumed run may change
MODEL_FIELDS = {field.name for field in dataclasses.fields(ModelConfig)}


def chosen_preset(preset: str | None, model: str | None, alignment_given: bool) -> str | None:
    """The preset asked for; without one, ``auto`` for the Bayesian VAE on a user's alignment
    (the embedded synthetic family keeps the plain defaults)."""
    if preset is not None:
        return preset
    if alignment_given and (model or DEFAULT_MODEL) == DEFAULT_MODEL:
        return AUTO
    return None


def resolve_auto(model: str | None, given: dict, alignment):
    """The auto preset's settings for ``alignment``, then ``given``; and one line saying why.

    Asking for the VAE (``model``, or any of its settings) keeps the VAE on a shallow alignment,
    where the auto preset would otherwise fit the site-independent model.
    """
    vae = model is not None or bool(MODEL_FIELDS & set(given))
    entropy = SiteIndependentModel.fit(alignment).entropy()
    preset_model, preset_train, reason = auto_preset(
        alignment.num_sequences, alignment.num_positions, alignment.neff, entropy, vae
    )
    return (*resolve(model, (preset_model, preset_train), given), reason)


def resolve(model: str | None, preset, given: dict):
    """(ModelConfig, TrainConfig) of a new run: defaults, then the preset's, then ``given``.

    ``preset`` is a preset's name, or its (model, training) settings (the auto preset's).
    """
    if isinstance(preset, tuple):
        (preset_model, preset_train), preset = preset, AUTO
    elif preset is None or preset in PRESETS:
        preset_model, preset_train = PRESETS.get(preset, ({}, {}))
    else:
        raise DataError(f"unknown preset {preset!r}; choose one of {', '.join([AUTO, *PRESETS])}")
    model = model or preset_model.get("model", DEFAULT_MODEL)
    if preset_model and preset_model["model"] != model:
        raise DataError(f"--preset {preset} is a preset of --model {preset_model['model']}")
    model_given = {k: v for k, v in given.items() if k in MODEL_FIELDS}
    train_given = {k: v for k, v in given.items() if k not in MODEL_FIELDS}
    accepted = options(model) if model in MODELS else set()
    unused = sorted(set(model_given) - accepted)
    if unused:
        flags = ", ".join("--" + name.replace("_", "-") for name in unused)
        raise DataError(f"{flags}: not a setting of --model {model}")
    model_config = from_dict(ModelConfig, {**preset_model, "model": model, **model_given})
    train_config = from_dict(TrainConfig, {**preset_train, **train_given})
    return model_config, train_config


def resolve_training(train_config: TrainConfig, given: dict) -> TrainConfig:
    """``train_config`` with the training settings ``given`` (``fit(lr=…)``) changed."""
    unknown = sorted(set(given) - {f.name for f in dataclasses.fields(TrainConfig)})
    if unknown:
        raise DataError(f"not training settings: {', '.join(unknown)}")
    return from_dict(TrainConfig, {**dataclasses.asdict(train_config), **given})


def resumed(state: dict, model: str | None, given: dict):
    """A checkpoint's settings, with only ``steps`` and ``device`` allowed to change."""
    model_config = from_dict(ModelConfig, state["model_config"])
    train_config = from_dict(TrainConfig, state["train_config"])
    saved = {**dataclasses.asdict(model_config), **dataclasses.asdict(train_config)}
    unknown = sorted(set(given) - set(saved))
    if unknown:
        raise DataError(f"unknown settings: {', '.join(unknown)}")
    changed = [
        k
        for k, v in {**given, **({"model": model} if model else {})}.items()
        if k not in RESUMABLE and saved[k] != (tuple(v) if isinstance(v, list) else v)
    ]
    if changed:
        raise DataError(
            "a resumed run keeps its settings; these differ from the checkpoint's: "
            + ", ".join(f"--{k.replace('_', '-')} (was {saved[k]})" for k in changed)
        )
    overrides = {k: v for k, v in given.items() if k in RESUMABLE}
    return model_config, dataclasses.replace(train_config, **overrides)


def default_out(model_config: ModelConfig, train_config: TrainConfig) -> Path:
    """``runs/NAME-MODEL-seedS``, NAME being the alignment file's stem."""
    name = Path(train_config.alignment).stem if train_config.alignment else "synthetic"
    return Path("runs") / f"{name}-{model_config.model}-seed{train_config.seed}"


def add_setting_flags(parser: argparse.ArgumentParser, help: dict[str, str]) -> None:
    """A flag per setting (``--latent-dim``, ``--lr``, …): ``fit``'s flags, and the language of
    a sweep's ``fit_args``. Only the flags given are set (no defaults), so presets can fill in."""
    for config in (TrainConfig, ModelConfig):
        for field in dataclasses.fields(config):
            if field.name == "model":
                continue
            kind = str if field.default is None else type(field.default)
            if kind is tuple:
                extra = {"nargs": "+", "type": int}
            elif kind is bool:
                extra = {"action": argparse.BooleanOptionalAction}
            else:
                extra = {"type": kind}
            default = "" if field.default is None else f" (default {field.default})"
            text = help.get(field.name, "") + default
            flag = "--" + field.name.replace("_", "-")
            parser.add_argument(flag, default=argparse.SUPPRESS, help=text, **extra)
