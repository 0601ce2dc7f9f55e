"""Vanilla VAE on BLAT: ρ against column 2500 as training goes on, throughput, scoring time.

Writes experiments/results/vanilla_blat_<sampling>.json. Usage:
    python experiments/vanilla_blat.py [--seeds 0 1] [--evaluate-at 1000 2000 3000] [--samples 200]
        [--sampling weighted|uniform] [--no-singles] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pyro
from benchmarks import ROOT, load, site_independent_rho, spearman

from pyro_deepseq.data.mutations import MutationSet
from pyro_deepseq.inference.config import ModelConfig, TrainConfig
from pyro_deepseq.inference.training import Trainer
from pyro_deepseq.models import build_model
from pyro_deepseq.scoring.estimators import score_variants


def run_seed(alignment, mutations, seed, evaluate_at, samples, sampling, work: Path):
    """Train once, pausing at each step count of ``evaluate_at`` to score the DMS table."""
    model_config = ModelConfig()
    pyro.set_rng_seed(seed)
    vae = build_model(model_config, alignment.num_positions, 20)
    config = TrainConfig(
        steps=max(evaluate_at), seed=seed, sampling=sampling, checkpoint_every=10**9
    )
    trainer = Trainer(vae, alignment, model_config, config, work / f"seed{seed}" / "model.pt")
    rows = []
    for steps in evaluate_at:
        trainer.run(show_progress=False, until=steps)
        started = time.perf_counter()
        predicted = score_variants(vae, mutations.codes, alignment.focus_codes, 20, samples).delta
        rows.append(
            {
                "seed": seed,
                "sampling": sampling,
                "steps": steps,
                "rho": spearman(predicted, mutations),
                "train_seconds": round(trainer.progress.seconds, 1),
                "score_seconds": round(time.perf_counter() - started, 1),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return vae, rows


def time_singles(vae, alignment) -> dict:
    """Wall time of scoring all L × 19 single substitutions with 500 samples each."""
    singles = MutationSet.all_singles(alignment)
    started = time.perf_counter()
    score_variants(vae, singles.codes, alignment.focus_codes, 20, samples=500)
    seconds = time.perf_counter() - started
    return {
        "variants": singles.num_scoreable,
        "samples": 500,
        "seconds": round(seconds, 1),
        "variant_samples_per_second": round(singles.num_scoreable * 500 / seconds),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--evaluate-at", type=int, nargs="+", default=[500, 1000, 2000, 3000])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--sampling", choices=["weighted", "uniform"], default="weighted")
    parser.add_argument("--no-singles", action="store_true", help="skip timing all singles")
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "vanilla_blat")
    parser.add_argument(
        "--out", type=Path, help="default experiments/results/vanilla_blat_<sampling>.json"
    )
    args = parser.parse_args()
    out = args.out or ROOT / f"experiments/results/vanilla_blat_{args.sampling}.json"
    alignment, mutations = load("blat")
    results = {"site_independent_rho": site_independent_rho(alignment, mutations), "runs": []}
    for seed in args.seeds:
        vae, rows = run_seed(
            alignment, mutations, seed, args.evaluate_at, args.samples, args.sampling, args.work
        )
        results["runs"] += rows
    if not args.no_singles:
        results["singles_scoring"] = time_singles(vae, alignment)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
