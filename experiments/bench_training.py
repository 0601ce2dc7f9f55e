"""Training throughput on BLAT's shape (253 columns): milliseconds per step, sequences per second.

Each case runs in a fresh process (so allocator settings and caches start clean): the Bayesian VAE
with the paper's architecture, with and without glibc keeping freed memory, at batch 100 (the
paper's) and 500; and the vanilla VAE at batch 100. Writes
experiments/results/training_benchmark.json.

    python experiments/bench_training.py [--steps 30]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = [
    {"model": "bayesian", "batch_size": 100, "keep_freed_memory": True},
    {"model": "bayesian", "batch_size": 100, "keep_freed_memory": False},
    {"model": "bayesian", "batch_size": 500, "keep_freed_memory": True},
    {"model": "vanilla", "batch_size": 100, "keep_freed_memory": True},
]


def measure(model: str, batch_size: int, keep_freed_memory: bool, steps: int) -> dict:
    """Time ``steps`` optimizer steps after 5 warm-up steps, on random sequences."""
    import pyro
    import torch

    from pyro_deepseq import devices
    from pyro_deepseq.config import ModelConfig
    from pyro_deepseq.models import build_model
    from pyro_deepseq.networks import local_params
    from pyro_deepseq.objective import Minibatch, loss

    if keep_freed_memory:
        devices.keep_freed_memory()
    length, size, neff = 253, 8355, 2605.0
    pyro.set_rng_seed(0)
    vae = build_model(ModelConfig(model), length, 20)
    optimizer = torch.optim.Adam(vae.parameters(), lr=1e-3, fused=True)
    codes = torch.randint(0, 21, (size, length))
    seconds = []
    with local_params():
        for _ in range(5 + steps):
            index = torch.randint(size, (batch_size,))
            scale = torch.full((batch_size,), 1.0 / size)
            batch = Minibatch(codes[index], 20, index, size, scale, 1.0 / neff)
            started = time.perf_counter()
            optimizer.zero_grad(set_to_none=True)
            loss(vae.model, vae.guide, batch).backward()
            optimizer.step()
            seconds.append(time.perf_counter() - started)
    per_step = sorted(seconds[5:])[len(seconds[5:]) // 2]
    return {
        "model": model,
        "batch_size": batch_size,
        "keep_freed_memory": keep_freed_memory,
        "parameters": sum(p.numel() for p in vae.parameters()),
        "median_ms_per_step": round(per_step * 1000, 1),
        "sequences_per_second": round(batch_size / per_step),
        "steps": steps,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--case", type=int, help=argparse.SUPPRESS)  # run one case, print JSON
    parser.add_argument(
        "--out", type=Path, default=ROOT / "experiments/results/training_benchmark.json"
    )
    args = parser.parse_args()
    if args.case is not None:
        print(json.dumps(measure(**CASES[args.case], steps=args.steps)))
        return 0
    import torch

    results = {
        "cpu": platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "cases": [],
    }
    for case in range(len(CASES)):
        command = [sys.executable, __file__, "--case", str(case), "--steps", str(args.steps)]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        results["cases"].append(json.loads(done.stdout.splitlines()[-1]))
        print(json.dumps(results["cases"][-1]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
