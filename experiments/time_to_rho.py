"""Time to accuracy: ρ against training wall time, from ``bayesian_reproduction.py`` runs.

Each run's JSON holds, per evaluation, the steps, the training seconds so far and ρ; this draws
them as curves (one per run and seed) with the paper's ρ as a line, and prints the first
evaluation of each curve that reaches ``--target``.

    python experiments/time_to_rho.py experiments/results/blat_fast_pool.json \\
        experiments/results/blat_fast_curve.json experiments/results/blat_fast_3000.json \\
        experiments/results/blat_fast_b400.json --out docs/images/time_to_rho.png
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PAPER_RHO = 0.744  # DeepSequence on BLAT (Riesselman et al. 2018)


def label(results: dict) -> str:
    overrides = {k: v for k, v in results["overrides"].items() if v}
    batch = overrides.get("batch_size", 100)
    extra = f", lr {overrides['lr']:g}" if "lr" in overrides else ""
    steps = max(run["steps"] for run in results["runs"])
    pool = results.get("noise_pool_steps", 1)  # files written before the pool drew fresh noise
    noise = "fresh noise" if pool == 1 else "noise pool"
    return f"{results['preset']} preset, batch {batch}{extra}, {steps:,} steps, {noise}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+", help="bayesian_reproduction.py JSON files")
    parser.add_argument("--target", type=float, default=0.74)
    parser.add_argument("--out", type=Path, required=True, help="the figure (PNG)")
    args = parser.parse_args()
    figure, axes = plt.subplots(figsize=(6.5, 5))
    for path in args.runs:
        results = json.loads(path.read_text())
        for seed in sorted({run["seed"] for run in results["runs"]}):
            runs = [run for run in results["runs"] if run["seed"] == seed]
            minutes = [run["train_seconds"] / 60 for run in runs]
            name = f"{label(results)}, seed {seed}"
            axes.plot(minutes, [run["rho"] for run in runs], marker="o", label=name)
            reached = next((run for run in runs if run["rho"] >= args.target), None)
            when = (
                f"ρ {reached['rho']:.3f} at step {reached['steps']}, "
                f"{reached['train_seconds']:.0f} s of training"
                if reached
                else f"never reached ρ {args.target} (best {max(r['rho'] for r in runs):.3f})"
            )
            print(f"{path.name}: {name}: {when}")
    axes.axhline(PAPER_RHO, color="grey", linestyle="--", label=f"paper, ρ {PAPER_RHO}")
    axes.set_xlabel("training wall time (minutes)")
    axes.set_title(f"BLAT, {results['device']}, {results['threads']} threads", fontsize=9)
    axes.set_ylabel("Spearman ρ, BLAT")
    axes.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.15))
    figure.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
