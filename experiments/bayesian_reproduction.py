"""DeepSequence's Bayesian VAE on BLAT (column 2500) or DHFR (column score): ρ as training goes on.

Trains one model per seed, pausing at each step count of ``--evaluate-at`` to score the DMS table
with ``--samples`` ELBO samples (``--final-samples`` at the last one), and writes ρ, steps, wall
time, device and seed to a JSON file after every evaluation (a long run keeps what it measured).

    python experiments/bayesian_reproduction.py --dataset blat --preset fast --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import pyro
import torch
from benchmarks import DATASETS, ROOT, load, site_independent_rho, spearman, write_json

from pyro_deepseq.inference.checkpoint import load_checkpoint
from pyro_deepseq.inference.config import ModelConfig, TrainConfig
from pyro_deepseq.inference.presets import PRESETS
from pyro_deepseq.inference.schedules import LR_SCHEDULES
from pyro_deepseq.inference.training import Trainer
from pyro_deepseq.models import build_model
from pyro_deepseq.scoring.estimators import score_variants


def run_seed(alignment, mutations, seed: int, args, results: dict, out: Path) -> None:
    """Train once, scoring the table at each step count of ``args.evaluate_at``.

    With ``--resume``, training continues from the seed's checkpoint in ``--work``, and step counts
    it has already passed are skipped.
    """
    model_settings, train_settings = PRESETS[args.preset]
    model_config = ModelConfig(**{**model_settings, **_model_overrides(args)})
    overrides = {k: v for k, v in _overrides(args).items() if v}
    fixed = {
        "alignment": str(DATASETS[args.dataset][0]),
        "steps": max(args.evaluate_at),
        "seed": seed,
        "checkpoint_every": 10**9,
    }
    config = TrainConfig(**{**train_settings, **overrides, **fixed, "device": args.device})
    pyro.set_rng_seed(seed)
    vae = build_model(model_config, alignment.num_positions, len(alignment.alphabet))
    checkpoint = args.work / f"seed{seed}" / "model.pt"
    trainer = Trainer(vae, alignment, model_config, config, checkpoint)
    if args.resume:
        trainer.restore(load_checkpoint(checkpoint))
    for steps in args.evaluate_at:
        if steps <= trainer.progress.step:
            continue
        trainer.run(show_progress=False, until=steps)
        samples = args.final_samples if steps == max(args.evaluate_at) else args.samples
        started = time.perf_counter()
        predicted = score_variants(
            vae, mutations.codes, alignment.focus_codes, 20, samples, device=trainer.device
        ).delta
        history = trainer.progress.history
        results["runs"].append(
            {
                "seed": seed,
                "steps": steps,
                "rho": spearman(predicted, mutations),
                "samples": samples,
                "train_seconds": round(trainer.progress.seconds, 1),
                "sequences_per_second": round(steps * config.batch_size / trainer.progress.seconds),
                "score_seconds": round(time.perf_counter() - started, 1),
                "elbo": round(history["elbo"][-1], 2),
                "kl_global": round(history["kl_global"][-1], 2),
            }
        )
        print(json.dumps(results["runs"][-1]), flush=True)
        write_json(results, out)


def _overrides(args) -> dict:
    return {
        "lr": args.lr,
        "batch_size": args.batch_size,
        "lr_schedule": args.lr_schedule,
        "noise_pool_steps": args.noise_pool_steps,
    }


def _model_overrides(args) -> dict:
    widths = {"encoder_hidden": args.encoder_hidden, "decoder_hidden": args.decoder_hidden}
    overrides = {name: tuple(value) for name, value in widths.items() if value}
    if args.initial_log_scale is not None:
        overrides["initial_log_scale"] = args.initial_log_scale
    return overrides


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=DATASETS, default="blat")
    parser.add_argument("--preset", choices=PRESETS, default="fast")
    parser.add_argument("--lr", type=float, help="override the preset's learning rate")
    parser.add_argument("--batch-size", type=int, help="override the preset's batch size")
    parser.add_argument("--lr-schedule", choices=LR_SCHEDULES, help="override the preset's")
    parser.add_argument("--noise-pool-steps", type=int, help="1: fresh noise every step")
    parser.add_argument("--encoder-hidden", type=int, nargs="+", help="override the widths")
    parser.add_argument("--decoder-hidden", type=int, nargs="+", help="override the widths")
    parser.add_argument(
        "--initial-log-scale", type=float, help="where the decoder's log σ start (default −5)"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--evaluate-at", type=int, nargs="+", default=[2000, 5000, 10000])
    parser.add_argument("--samples", type=int, default=50, help="ELBO samples before the last")
    parser.add_argument("--final-samples", type=int, default=500)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--resume", action="store_true", help="continue the checkpoints in --work")
    parser.add_argument(
        "--work", type=Path, help="default runs/bayesian_reproduction/<dataset>_<preset>"
    )
    parser.add_argument("--out", type=Path, help="default experiments/results/<dataset>_<preset>")
    args = parser.parse_args()
    name = f"{args.dataset}_{args.preset}"
    out = args.out or ROOT / "experiments" / "results" / f"{name}.json"
    args.work = args.work or ROOT / "runs" / "bayesian_reproduction" / name
    alignment, mutations = load(args.dataset)
    results = {
        "dataset": args.dataset,
        "score_column": DATASETS[args.dataset][2],
        "scoreable": mutations.num_scoreable,
        "preset": args.preset,
        "overrides": {**_overrides(args), **_model_overrides(args)},
        "noise_pool_steps": args.noise_pool_steps or TrainConfig.noise_pool_steps,
        "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
        "cpu": platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "site_independent_rho": site_independent_rho(alignment, mutations),
        "runs": [],
    }
    if args.resume and out.exists():  # keep what the interrupted run measured
        results["runs"] = json.loads(out.read_text())["runs"]
    for seed in args.seeds:
        run_seed(alignment, mutations, seed, args, results, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
