"""``python -m pyro_deepseq.fit``: train a model on an alignment (default: the synthetic family).

Writes ``DIR/model.pt`` (checkpoint), ``DIR/history.csv`` and ``DIR/config.json``. An existing run
is never overwritten: ``--resume`` continues it (with more ``--steps`` if asked), anything else
needs a new ``--out``. Ctrl-C saves a checkpoint first. ``--seeds`` trains one run per seed, an
ensemble that ``predict`` scores together.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pyro
import torch

from . import plots
from .alignment import ALPHABETS, Alignment
from .checkpoint import alignment_metadata, file_sha256, load_checkpoint, save_checkpoint
from .cli import run
from .config import ModelConfig, TrainConfig, from_dict, to_dict
from .diagnostics import warn_alignment
from .errors import DataError
from .files import atomic_write
from .independent import SiteIndependentModel
from .models import MODELS, build_model, latent_means, options
from .presets import AUTO, PRESETS, auto_preset
from .synthetic import default_family
from .training import Trainer, write_history

HELP = {
    "alignment": "a2m, a3m or aligned FASTA (default: the embedded synthetic family)",
    "theta": "identity cut-off of the sequence weights (0.2; 0.01 for viruses)",
    "alphabet": f"one of {', '.join(ALPHABETS)}",
    "focus": "focus record's name (default: the first record)",
    "steps": "training steps (minibatch updates)",
    "batch_size": "sequences per minibatch",
    "lr": "Adam learning rate",
    "lr_schedule": "constant or cosine",
    "sampling": "weighted (rows drawn ∝ weight, the original's) or uniform (rows scaled by weight)",
    "kl_warmup": "steps of linear KL warm-up (0: none)",
    "kl_cycle": "restart the warm-up every N steps (0: never)",
    "noise_pool_steps": "steps one pool of decoder-weight noise serves on the CPU (1: fresh noise)",
    "holdout": "fraction of sequences held out for early stopping (0: none)",
    "patience": "held-out evaluations without improvement before stopping",
    "eval_every": "steps between held-out evaluations",
    "checkpoint_every": "steps between checkpoints",
    "log_every": "steps between history rows",
    "seed": "seed of everything random",
    "device": "auto, cpu or cuda",
    "latent_dim": "size of the latent space",
    "encoder_hidden": "hidden widths of the encoder",
    "decoder_hidden": "hidden widths of the decoder",
    "bayesian": "decoder weights as global latent variables (off: point estimates)",
    "group_sparsity": "sparsity gates over (hidden unit group, position)",
    "repeat": "hidden units sharing one sparsity gate",
    "conv_size": "width of the output dictionary over the alphabet (0: none)",
    "temperature": "a learnt scale of the logits",
    "logit_p": "prior probability that a sparsity group is on",
    "prior_sd": "prior sd of the sparsity logits",
    "site_offset": "offset the logits by the site-independent model's log-frequencies",
    "initial_log_scale": "initial log σ of the decoder weights' posteriors",
    "ladder_dims": "sizes of the Ladder VAE's latents above z_1 (one level each)",
    "ladder_hidden": "width of each Ladder level's bottom-up and top-down networks",
    "decoder": "the Ladder VAE's decoder: sparse (DeepSequence's) or dense (the vanilla VAE's)",
}
RESUMABLE = {"steps", "device"}  # what a resumed run may change
DEFAULT_MODEL = "bayesian"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pyro_deepseq.fit", description=__doc__)
    parser.add_argument(
        "--model",
        choices=[*MODELS, "independent"],
        help=f"default {DEFAULT_MODEL}, or the preset's",
    )
    parser.add_argument(
        "--preset",
        choices=[AUTO, *PRESETS],
        help="auto (the default with --alignment): settings chosen from the alignment's size and "
        "depth; paper: the released DeepSequence run (300,000 steps); fast: "
        f"{PRESETS['fast'][1]['steps']:,} steps, tuned on BLAT; other flags override it",
    )
    parser.add_argument("--out", type=Path, help="run folder (default runs/NAME-MODEL-seedS)")
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        help="train one run per seed (an ensemble for predict), in OUT/seedS with --out",
    )
    parser.add_argument("--resume", action="store_true", help="continue the run in --out")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--labels", type=Path, help="'header: label' lines colouring the latent-space plot"
    )
    parser.add_argument("--no-plots", action="store_true", help="skip history.png and latent.png")
    for config in (TrainConfig, ModelConfig):
        for field in dataclasses.fields(config):
            if field.name == "model":
                continue
            flag = "--" + field.name.replace("_", "-")
            kind = _kind(field.default)
            if kind is tuple:
                extra = {"nargs": "+", "type": int}
            elif kind is bool:
                extra = {"action": argparse.BooleanOptionalAction}
            else:
                extra = {"type": kind}
            default = field.default
            help_text = HELP[field.name] + ("" if default is None else f" (default {default})")
            parser.add_argument(flag, default=argparse.SUPPRESS, help=help_text, **extra)
    return parser


def _kind(default):
    return str if default is None else type(default)


def main(argv: Sequence[str] | None = None) -> int:
    return run(_fit, argv)


def _fit(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    given = {k: v for k, v in vars(args).items() if k in HELP}
    if args.seeds is None:
        return _fit_one(args, given, args.out)
    if "seed" in given:
        raise DataError("give --seed or --seeds, not both")
    for seed in args.seeds:  # one run each, in OUT/seedS when --out is given
        out = args.out / f"seed{seed}" if args.out else None
        code = _fit_one(args, {**given, "seed": seed}, out)
        if code:
            return code
    return 0


def _fit_one(args, given: dict, out: Path | None) -> int:
    model_config, train_config = _configs(args.model, _preset(args), given)
    alignment, choice = None, {"preset": _preset(args)}
    if choice["preset"] == AUTO and not args.resume:  # the settings depend on the alignment
        alignment = _load_alignment(train_config, None)
        model_config, train_config, choice["reason"] = _auto_configs(args.model, alignment, given)
        print(choice["reason"])
    out = out or _default_out(train_config, model_config)
    checkpoint = out / "model.pt"
    state = None
    if args.resume:
        state = load_checkpoint(checkpoint)
        preset_model, preset_train = PRESETS.get(args.preset, ({}, {}))
        model = args.model or preset_model.get("model")
        model_config, train_config = _resumed_configs(
            state, model, {**preset_model, **preset_train, **given}
        )
        choice = state.get("preset", choice)
    elif checkpoint.exists():
        raise DataError(
            f"{checkpoint} exists: pass --resume to continue it, or choose another --out"
        )
    alignment = alignment or _load_alignment(train_config, state)
    warn_alignment(alignment)
    labels = plots.read_labels(args.labels, alignment.headers) if args.labels else None
    if model_config.model == "independent":
        return _fit_independent(alignment, model_config, train_config, out, choice)
    pyro.set_rng_seed(train_config.seed)
    model = build_model(model_config, alignment.num_positions, len(alignment.alphabet))
    trainer = Trainer(model, alignment, model_config, train_config, checkpoint, choice)
    if state is not None:
        trainer.restore(state)
    _write_config(out, model_config, train_config, trainer.metadata, choice)
    try:
        progress = trainer.run(show_progress=not args.quiet)
    except KeyboardInterrupt:
        print(
            f"interrupted at step {trainer.progress.step}; saved {checkpoint}; "
            "continue with --resume",
            file=sys.stderr,
        )
        return 130
    rate = progress.step * train_config.batch_size / max(progress.seconds, 1e-9)
    stopped = " (stopped early)" if progress.stopped_early else ""
    print(
        f"trained {progress.step} steps{stopped} in {progress.seconds:.1f} s "
        f"({rate:,.0f} sequences/s) on {trainer.device}; final loss "
        f"{progress.history['loss'][-1]:.2f}"
    )
    print(f"wrote {checkpoint}, {out / 'history.csv'}, {out / 'config.json'}")
    if not args.no_plots:
        _plot(trainer, alignment, out, labels)
    return 0


def _plot(trainer: Trainer, alignment: Alignment, out: Path, labels: list | None) -> None:
    """history.png (the loss terms) and latent.png (encoder means, by label or weight)."""
    history = pd.DataFrame(trainer.progress.history)
    written = [plots.save(plots.training_curves(history), out / "history.png")]
    means = latent_means(trainer.vae, alignment.codes)
    if labels is None:
        figure = plots.latent_space(means, weights=alignment.weights)
    else:
        figure = plots.latent_space(means, labels)
    written.append(plots.save(figure, out / "latent.png"))
    print("wrote " + ", ".join(map(str, written)))


def _preset(args) -> str | None:
    """The preset asked for; without one, ``auto`` for a Bayesian VAE on a user's alignment (the
    embedded synthetic family keeps the plain defaults)."""
    if args.preset or args.resume:
        return args.preset
    if getattr(args, "alignment", None) and (args.model or DEFAULT_MODEL) == DEFAULT_MODEL:
        return AUTO
    return None


def _auto_configs(model: str | None, alignment: Alignment, given: dict):
    """The auto preset's settings for ``alignment``, then the flags given; and why.

    Asking for the VAE (``--model bayesian``, or any of its settings) keeps the VAE on a shallow
    alignment, where the auto preset would otherwise fit the site-independent model.
    """
    model_names = {f.name for f in dataclasses.fields(ModelConfig)}
    vae = model is not None or bool(model_names & set(given))
    preset_model, preset_train, reason = auto_preset(
        alignment.num_sequences, alignment.num_positions, alignment.neff, vae
    )
    return (*_configs(model, (preset_model, preset_train), given), reason)


def _configs(model: str | None, preset, given: dict):
    """The run's settings: defaults, then the preset's, then the flags given.

    ``preset`` is a preset's name, its (model, training) settings, or None (``auto`` before the
    alignment is read: plain defaults).
    """
    if isinstance(preset, tuple):
        preset_model, preset_train = preset
        preset = AUTO
    else:
        preset_model, preset_train = PRESETS.get(preset, ({}, {}))
    model = model or preset_model.get("model", DEFAULT_MODEL)
    if preset_model and preset_model["model"] != model:
        raise DataError(f"--preset {preset} is a preset of --model {preset_model['model']}")
    model_names = {f.name for f in dataclasses.fields(ModelConfig)}
    model_given = {k: v for k, v in given.items() if k in model_names}
    train_given = {k: v for k, v in given.items() if k not in model_names}
    accepted = options(model) if model in MODELS else set()
    unused = sorted(set(model_given) - accepted)
    if unused:
        flags = ", ".join("--" + name.replace("_", "-") for name in unused)
        raise DataError(f"{flags}: not a setting of --model {model}")
    model_config = from_dict(ModelConfig, {**preset_model, "model": model, **model_given})
    train_config = from_dict(TrainConfig, {**preset_train, **train_given})
    return model_config, train_config


def _default_out(train_config: TrainConfig, model_config: ModelConfig) -> Path:
    name = Path(train_config.alignment).stem if train_config.alignment else "synthetic"
    return Path("runs") / f"{name}-{model_config.model}-seed{train_config.seed}"


def _resumed_configs(state: dict, model: str | None, given: dict):
    """A resumed run keeps its settings; only --steps and --device may change."""
    model_config = from_dict(ModelConfig, state["model_config"])
    train_config = from_dict(TrainConfig, state["train_config"])
    saved = {**dataclasses.asdict(model_config), **dataclasses.asdict(train_config)}
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


def _load_alignment(config: TrainConfig, state: dict | None) -> Alignment:
    path = config.alignment or default_family()[0]
    alignment = Alignment.from_file(
        path, config.theta, config.alphabet, config.focus, config.device
    )
    if state is not None and file_sha256(path) != state["alignment"]["sha256"]:
        raise DataError(f"{path} has changed since the checkpoint was written; cannot resume")
    return alignment


def _fit_independent(alignment, model_config, train_config, out: Path, choice=None) -> int:
    """The site-independent baseline, saved as a checkpoint that ``predict`` reads the same way."""
    started = time.perf_counter()
    model = SiteIndependentModel.fit(alignment)
    metadata = alignment_metadata(alignment)
    save_checkpoint(
        out / "model.pt",
        {
            "model_config": to_dict(model_config),
            "train_config": to_dict(train_config),
            "alignment": metadata,
            "preset": choice or {"preset": None},
            "state_dict": {"log_frequencies": torch.as_tensor(model.log_frequencies)},
        },
    )
    write_history({}, out / "history.csv")
    _write_config(out, model_config, train_config, metadata, choice)
    print(f"fitted the site-independent model in {time.perf_counter() - started:.2f} s")
    print(f"wrote {out / 'model.pt'}, {out / 'config.json'}")
    return 0


def _write_config(out: Path, model_config, train_config, metadata: dict, choice=None) -> None:
    summary = {k: v for k, v in metadata.items() if k not in ("positions", "focus_sequence")}
    document = {
        "model": to_dict(model_config),
        "train": to_dict(train_config),
        "alignment": summary,
        "preset": choice or {"preset": None},
    }
    with atomic_write(out / "config.json") as temporary:
        temporary.write_text(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
