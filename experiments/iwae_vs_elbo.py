"""ELBO against IWAE scoring at equal compute: ρ of one trained model on a DMS benchmark.

The ELBO takes ``--draws`` single-draw samples per sequence; IWAE takes ``--draws / K`` estimates
of K particles each, for each K of ``--particles``: the same number of model evaluations. Writes
experiments/results/iwae_vs_elbo_<dataset>.json.

    python experiments/iwae_vs_elbo.py --checkpoint runs/blat/model.pt --dataset blat
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pyro
from benchmarks import ROOT, load, spearman, write_json

from pyro_deepseq.inference.checkpoint import load_checkpoint
from pyro_deepseq.inference.config import ModelConfig, from_dict
from pyro_deepseq.models import build_model
from pyro_deepseq.scoring.estimators import score_variants


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--dataset", choices=["blat", "dhfr"], default="blat")
    parser.add_argument("--draws", type=int, default=200, help="model evaluations per sequence")
    parser.add_argument("--particles", type=int, nargs="+", default=[10])
    parser.add_argument("--out", type=Path, help="default iwae_vs_elbo_<dataset>.json")
    args = parser.parse_args()
    out = args.out or ROOT / "experiments" / "results" / f"iwae_vs_elbo_{args.dataset}.json"
    alignment, mutations = load(args.dataset)
    state = load_checkpoint(args.checkpoint)
    model_config = from_dict(ModelConfig, state["model_config"])
    vae = build_model(model_config, alignment.num_positions, len(alignment.alphabet))
    vae.load_state_dict(state["state_dict"])
    runs = [("elbo", 1)] + [("iwae", k) for k in args.particles]
    results = {"checkpoint": str(args.checkpoint), "model": model_config.model, "runs": []}
    results["steps"] = state["progress"]["step"]
    for estimator, particles in runs:
        pyro.set_rng_seed(0)
        started = time.perf_counter()
        samples = args.draws // particles
        scores = score_variants(
            vae,
            mutations.codes,
            alignment.focus_codes,
            20,
            samples,
            256,
            "cpu",
            estimator,
            particles,
        )
        row = {
            "estimator": estimator,
            "particles": particles,
            "samples": samples,
            "draws": samples * particles,
            "rho": spearman(scores.delta, mutations),
            "median_stderr": round(float(sorted(scores.stderr)[len(scores.stderr) // 2]), 4),
            "seconds": round(time.perf_counter() - started, 1),
        }
        results["runs"].append(row)
        print(json.dumps(row), flush=True)
        write_json(results, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
