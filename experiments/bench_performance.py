"""Speed side by side, in one run on one machine; writes experiments/results/performance.json.

Stages, each in a fresh subprocess so that its peak memory is its own:
- ``matmul``: the machine's fp32 matrix-multiply rate (GFLOP/s), the yardstick;
- ``train-P-B``: training throughput of preset P's model (the Bayesian VAE on BLAT) at batch B:
  sequences/s, steps/s, and the dense-equivalent FLOP rate as a fraction of the matmul rate;
  ``train-P-B-fresh`` draws fresh decoder-weight noise every step instead of from a noise pool;
- ``score-P``: scoring all BLAT single substitutions with preset P's model (variant-samples/s, ms
  per sequence-sample); ``score-P-bfloat16`` with the decoder's output layer in bfloat16;
- ``weights-blat``, ``weights-generated``: sequence weights (``bench_weights.py``'s cases).

Usage: python experiments/bench_performance.py [--batches 100 400 1000] [--fast-batches 100]
[--device auto]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path

import pyro
import torch
from bench_weights import _peak_mib, machine, run_case
from benchmarks import DATASETS, ROOT, load

from pyro_deepseq.data.mutations import MutationSet
from pyro_deepseq.inference.config import ModelConfig, TrainConfig
from pyro_deepseq.inference.presets import PRESETS
from pyro_deepseq.inference.training import Trainer
from pyro_deepseq.models import build_model
from pyro_deepseq.scoring.estimators import score_variants
from pyro_deepseq.utils.devices import resolve_device

#: Steps before timing (allocations, first-touch pages), then timed steps.
WARMUP_STEPS, TIMED_STEPS = 5, 40


def matmul_rate(device: str, size: int = 4096, repeats: int = 10) -> dict:
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    a @ b
    _synchronize(device)
    started = time.perf_counter()
    for _ in range(repeats):
        a @ b
    _synchronize(device)
    seconds = (time.perf_counter() - started) / repeats
    return {"size": size, "gflops": round(2 * size**3 / seconds / 1e9, 1)}


def dense_flops_per_sequence(length: int, letters: int, config) -> int:
    """Forward and backward FLOPs of one sequence through the dense-equivalent networks.

    Every layer as a dense matrix (the encoder reading the one-hot sequence, the decoder writing
    all L × K logits): 2 FLOPs per multiply-add forward, twice that backward.
    """
    encoder = [length * letters, *config.encoder_hidden, 2 * config.latent_dim]
    decoder = [config.latent_dim, *config.decoder_hidden, length * letters]
    macs = sum(a * b for sizes in (encoder, decoder) for a, b in pairwise(sizes))
    return 6 * macs


def train_throughput(preset: str, batch_size: int, device: str, fresh_noise: bool) -> dict:
    alignment, _ = load("blat")
    model_settings, train_settings = PRESETS[preset]
    model_config = ModelConfig(**model_settings)
    steps = WARMUP_STEPS + TIMED_STEPS
    settings = {**train_settings, "batch_size": batch_size, "device": device}
    if fresh_noise:
        settings["noise_pool_steps"] = 1
    config = TrainConfig(**settings)
    config = dataclasses.replace(config, steps=steps, checkpoint_every=10**9)
    pyro.set_rng_seed(0)
    vae = build_model(model_config, alignment.num_positions, 20)
    with tempfile.TemporaryDirectory() as folder:
        trainer = Trainer(vae, alignment, model_config, config, Path(folder) / "model.pt")
        baseline = _peak_mib()
        warm = trainer.run(show_progress=False, until=WARMUP_STEPS).seconds
        seconds = (trainer.run(show_progress=False).seconds - warm) / TIMED_STEPS  # loop only
    flops = dense_flops_per_sequence(alignment.num_positions, 20, model_config)
    return {
        "batch_size": batch_size,
        "noise": "fresh" if fresh_noise else f"pool of {config.noise_pool_steps} steps",
        "steps_per_second": round(1 / seconds, 2),
        "sequences_per_second": round(batch_size / seconds, 1),
        "dense_flops_per_sequence": flops,
        "gflops": round(flops * batch_size / seconds / 1e9, 1),
        "peak_memory_mib": round(_peak_mib() - baseline, 1),
    }


def score_throughput(preset: str, samples: int, device: str, precision: str) -> dict:
    alignment, _ = load("blat")
    singles = MutationSet.all_singles(alignment)
    pyro.set_rng_seed(0)
    model_config = ModelConfig(**PRESETS[preset][0])
    vae = build_model(model_config, alignment.num_positions, 20).to(device)
    baseline = _peak_mib()
    started = time.perf_counter()
    codes, wild_type = singles.codes, alignment.focus_codes
    score_variants(vae, codes, wild_type, 20, samples, device=device, precision=precision)
    _synchronize(device)
    seconds = time.perf_counter() - started
    evaluated = singles.num_scoreable * samples
    return {
        "variants": singles.num_scoreable,
        "samples": samples,
        "precision": precision,
        "seconds": round(seconds, 1),
        "variant_samples_per_second": round(evaluated / seconds),
        "ms_per_sequence_sample": round(1000 * seconds / evaluated, 4),
        "peak_memory_mib": round(_peak_mib() - baseline, 1),
    }


def run_stage(stage: str, args) -> dict:
    device = str(resolve_device(args.device))
    if stage == "matmul":
        return matmul_rate(device)
    if stage.startswith("train-"):
        _, preset, batch, *fresh = stage.split("-")
        return train_throughput(preset, int(batch), device, fresh_noise=bool(fresh))
    if stage.startswith("score-"):
        _, preset, *precision = stage.split("-")
        return score_throughput(preset, args.score_samples, device, *precision or ["float32"])
    return run_case(stage.removeprefix("weights-"), args.device)


def _synchronize(device: str) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[100, 400, 1000])
    parser.add_argument("--fast-batches", type=int, nargs="+", default=[100])
    parser.add_argument("--score-samples", type=int, default=100)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, default=ROOT / "experiments/results/performance.json")
    parser.add_argument("--stage", help=argparse.SUPPRESS)  # internal: run one stage, print JSON
    args = parser.parse_args()
    if args.stage:
        print(json.dumps(run_stage(args.stage, args)))
        return 0
    trainings = [f"train-paper-{b}" for b in args.batches]
    trainings += [f"train-fast-{b}" for b in args.fast_batches]
    if resolve_device(args.device).type == "cpu":  # the pool is for the CPU: before and after it
        trainings += [f"train-{preset}-100-fresh" for preset in ("paper", "fast")]
    scorings = [f"score-{p}{suffix}" for p in ("paper", "fast") for suffix in ("", "-bfloat16")]
    stages = ["matmul", *trainings, *scorings]
    stages += ["weights-blat", "weights-generated"]
    results = {"machine": machine(), "data": str(DATASETS["blat"][0].name)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for stage in stages:
        command = [sys.executable, __file__, "--stage", stage, "--device", args.device]
        command += ["--score-samples", str(args.score_samples)]
        finished = subprocess.run(command, capture_output=True, text=True)
        if finished.returncode != 0:
            sys.exit(f"stage {stage} failed:\n{finished.stderr}")
        results[stage] = figures = json.loads(finished.stdout.strip().splitlines()[-1])
        if stage in trainings:
            rate = results["matmul"]["gflops"]
            figures["fraction_of_matmul"] = round(figures["gflops"] / rate, 3)
        print(stage, json.dumps(figures), flush=True)
        # written after each stage, so that a run cut off by a time limit keeps what it measured
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
