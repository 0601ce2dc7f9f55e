"""``python -m pyro_deepseq.fit``: train a model on an alignment (default: the synthetic family).

Writes ``DIR/model.pt`` (checkpoint), ``DIR/history.csv`` and ``DIR/config.json``. An existing run
is never overwritten: ``--resume`` continues it (with more ``--steps`` if asked), anything else
needs a new ``--out``. Ctrl-C saves a checkpoint first. ``--seeds`` trains one run per seed, an
ensemble that ``predict`` scores together.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .. import plots
from ..api import DeepSequence
from ..data.alignment import ALPHABETS
from ..data.fasta import read_sequence_labels
from ..errors import DataError
from ..inference import settings
from ..inference.presets import AUTO, PRESETS
from ..models import MODELS
from ..utils.cli import run

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
    "holdout": "share of Neff held out, as whole clusters at theta, for early stopping and the "
    "held-out log-likelihood (0: none)",
    "patience": "held-out evaluations without improvement before stopping",
    "eval_every": "steps between held-out evaluations",
    "checkpoint_every": "steps between checkpoints",
    "checkpoint_seconds": "seconds after which a checkpoint is also written, at a history row",
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
    "decoder_dropout": "dropout probability on z and the decoder's hidden layers, in training only",
    "last_activation": "the decoder's last hidden nonlinearity: sigmoid (DeepSequence's) or relu",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pyro_deepseq.fit", description=__doc__)
    parser.add_argument(
        "--model",
        choices=[*MODELS, "independent"],
        help=f"default {settings.DEFAULT_MODEL}, or the preset's",
    )
    parser.add_argument(
        "--preset",
        choices=[AUTO, *PRESETS],
        help="auto (the default with --alignment): settings chosen from the alignment's size and "
        "depth; paper: the released DeepSequence run (300,000 steps); fast: "
        f"{PRESETS['fast'][1]['steps']:,} steps, tuned on BLAT; eve: EVE's published settings "
        f"({PRESETS['eve'][1]['steps']:,} steps, for a GPU); other flags override it",
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
    settings.add_setting_flags(parser, HELP)
    return parser


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
    if args.resume:
        preset_model, preset_train = PRESETS.get(args.preset, ({}, {}))
        out = out or settings.default_out(*settings.resolve(args.model, args.preset, given))
        if (out / "model.pt").exists():
            model = args.model or preset_model.get("model")
            vae = DeepSequence.load(out, model, **{**preset_model, **preset_train, **given})
        else:
            print(f"{out}: no checkpoint yet, so the run starts from step 0")
            vae = _new_run(args, given, out)
    else:
        vae = _new_run(args, given, out)
    labels = read_sequence_labels(args.labels, vae.alignment.headers) if args.labels else None
    checkpoint = vae.out / "model.pt"
    started = time.perf_counter()
    try:
        vae.fit(progress=not args.quiet)
    except KeyboardInterrupt:
        print(
            f"interrupted at step {vae.step}; saved {checkpoint}; continue with --resume",
            file=sys.stderr,
        )
        return 130
    if vae.vae is None:
        print(f"fitted the site-independent model in {time.perf_counter() - started:.2f} s")
        _print_heldout(vae)
        print(f"wrote {checkpoint}, {vae.out / 'config.json'}")
        return 0
    progress = vae.progress
    rate = progress.step * vae.train_config.batch_size / max(progress.seconds, 1e-9)
    stopped = " (stopped early)" if progress.stopped_early else ""
    print(
        f"trained {progress.step} steps{stopped} in {progress.seconds:.1f} s "
        f"({rate:,.0f} sequences/s) on {vae.device}; final loss "
        f"{progress.history['loss'][-1]:.2f}"
    )
    _print_heldout(vae)
    print(f"wrote {checkpoint}, {vae.out / 'history.csv'}, {vae.out / 'config.json'}")
    if not args.no_plots:
        _plot(vae, labels)
    return 0


def _print_heldout(vae: DeepSequence) -> None:
    value = vae.heldout_log_likelihood
    if not math.isnan(value):
        print(f"held-out log-likelihood {value:.2f} nats per sequence")


def _new_run(args, given: dict, out: Path | None) -> DeepSequence:
    """A new run in ``out`` (default runs/NAME-MODEL-seedS); an existing one is never replaced."""
    chosen = {"model": args.model} if args.model else {}
    alignment = given.get("alignment")
    rest = {k: v for k, v in given.items() if k != "alignment"}
    vae = DeepSequence(alignment, preset=args.preset, **chosen, **rest)
    if vae.choice.get("reason"):
        print(vae.choice["reason"])
    vae.out = out or settings.default_out(vae.model_config, vae.train_config)
    if (vae.out / "model.pt").exists():
        raise DataError(
            f"{vae.out / 'model.pt'} exists: pass --resume to continue it, or choose another --out"
        )
    return vae


def _plot(vae: DeepSequence, labels: list | None) -> None:
    """history.png (the loss terms) and latent.png (encoder means, by label or weight)."""
    out = vae.out
    written = [plots.save(vae.plot_history(), out / "history.png")]
    written.append(plots.save(vae.plot_latent(labels), out / "latent.png"))
    print("wrote " + ", ".join(map(str, written)))


if __name__ == "__main__":
    sys.exit(main())
