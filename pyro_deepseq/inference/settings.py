"""How a run's settings are put together: defaults, then a preset's, then what the user gave.

The command line and the Python API both resolve settings here, so that ``fit --preset fast
--lr 1e-3`` and ``DeepSequence(path, preset="fast", lr=1e-3)`` train the same run.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..errors import DataError
from ..models import MODELS, options
from .config import ModelConfig, TrainConfig, from_dict
from .presets import PRESETS

DEFAULT_MODEL = "bayesian"
RESUMABLE = {"steps", "device"}  # what a resumed run may change
MODEL_FIELDS = {field.name for field in dataclasses.fields(ModelConfig)}


def resolve(model: str | None, preset: str | None, given: dict):
    """(ModelConfig, TrainConfig) of a new run: defaults, then the preset's, then ``given``."""
    if preset is not None and preset not in PRESETS:
        raise DataError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    preset_model, preset_train = PRESETS.get(preset, ({}, {}))
    model = model or preset_model.get("model", DEFAULT_MODEL)
    if preset and preset_model["model"] != model:
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
