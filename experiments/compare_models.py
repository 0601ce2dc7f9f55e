"""Vanilla, Bayesian and Ladder VAEs on one DMS benchmark at an equal training budget.

Each model trains the same number of steps on the same sequences (a held-out 5 % is set aside),
then is scored on the DMS table. Writes ρ, the held-out ELBO and the wall time of each to
experiments/results/compare_models_<dataset>.json (rewritten after every model; rows of an earlier
run of the same comparison are kept for the models not named again).

    python experiments/compare_models.py --dataset blat --steps 2000
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

from pyro_deepseq.inference.config import ModelConfig, TrainConfig
from pyro_deepseq.inference.training import Trainer
from pyro_deepseq.models import build_model
from pyro_deepseq.models.networks import local_params
from pyro_deepseq.models.objective import elbo_terms
from pyro_deepseq.scoring.estimators import score_variants

#: name → (model settings, learning rate). The sparse decoders use the fast preset's lr; the
#: Ladder VAEs warm their KL up, as Sønderby et al. do.
CANDIDATES = {
    "vanilla": ({"model": "vanilla"}, 1e-3),
    "bayesian": ({"model": "bayesian"}, 3e-3),
    "ladder2-dense": ({"model": "ladder", "decoder": "dense", "ladder_dims": (16,)}, 1e-3),
    "ladder3-dense": ({"model": "ladder", "decoder": "dense", "ladder_dims": (16, 8)}, 1e-3),
    "ladder2-sparse": ({"model": "ladder", "ladder_dims": (16,)}, 3e-3),
    "ladder3-sparse": ({"model": "ladder", "ladder_dims": (16, 8)}, 3e-3),
}
SIZES = {
    "paper": {},  # run_svi.py's widths: encoder 1500-1500, decoder 100-2000
    "small": {"encoder_hidden": (500,), "decoder_hidden": (100, 500)},
}


def train_and_score(name: str, alignment, mutations, args) -> dict:
    settings, lr = CANDIDATES[name]
    model_config = ModelConfig(**settings, **SIZES[args.size])
    warmup = args.steps // 5 if model_config.model == "ladder" else 0
    config = TrainConfig(
        alignment=str(DATASETS[args.dataset][0]),
        steps=args.steps,
        lr=lr,
        kl_warmup=warmup,
        holdout=0.05,
        eval_every=args.steps,
        log_every=args.steps,
        checkpoint_every=10**9,
        seed=args.seed,
    )
    pyro.set_rng_seed(args.seed)
    vae = build_model(model_config, alignment.num_positions, len(alignment.alphabet))
    trainer = Trainer(vae, alignment, model_config, config, args.work / name / "model.pt")
    trainer.run(show_progress=False)
    started = time.perf_counter()
    predicted = score_variants(
        vae, mutations.codes, alignment.focus_codes, 20, args.samples, device=trainer.device
    ).delta
    return {
        "model": name,
        "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()},
        "lr": lr,
        "kl_warmup": warmup,
        "parameters": sum(p.numel() for p in vae.parameters()),
        "rho": spearman(predicted, mutations),
        "heldout_elbo": _heldout_elbo(trainer),
        "train_seconds": round(trainer.progress.seconds, 1),
        "score_seconds": round(time.perf_counter() - started, 1),
    }


def _heldout_elbo(trainer: Trainer) -> float:
    """Weighted mean ELBO of the held-out sequences, log p(x | z) − KL(q(z | x) ‖ p(z)).

    The global KL is left out: it is the same for every sequence, and it would make a Bayesian
    decoder's figure incomparable with a dense one's.
    """
    with torch.no_grad(), local_params():
        terms = elbo_terms(trainer.vae.model, trainer.vae.guide, trainer.heldout)
    return round(terms["reconstruction"] - terms["kl_latent"], 2)


def _earlier_rows(out: Path, results: dict, rerun: list[str]) -> list[dict]:
    """Rows of an earlier run of the same comparison for the models not run again now."""
    if not out.exists():
        return []
    earlier = json.loads(out.read_text())
    same = all(earlier.get(k) == results[k] for k in ("dataset", "size", "steps", "seed"))
    return [row for row in earlier["models"] if row["model"] not in rerun] if same else []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=DATASETS, default="blat")
    parser.add_argument("--models", nargs="+", choices=CANDIDATES, default=list(CANDIDATES))
    parser.add_argument("--size", choices=SIZES, default="small")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "compare_models")
    parser.add_argument("--out", type=Path, help="default compare_models_<dataset>.json")
    args = parser.parse_args()
    out = args.out or ROOT / "experiments" / "results" / f"compare_models_{args.dataset}.json"
    args.work = args.work / args.dataset
    alignment, mutations = load(args.dataset)
    results = {
        "dataset": args.dataset,
        "size": args.size,
        "steps": args.steps,
        "batch_size": TrainConfig.batch_size,
        "samples": args.samples,
        "seed": args.seed,
        "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
        "cpu": platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "site_independent_rho": site_independent_rho(alignment, mutations),
        "models": [],
    }
    results["models"] = _earlier_rows(out, results, args.models)
    for name in args.models:
        results["models"].append(train_and_score(name, alignment, mutations, args))
        print(json.dumps(results["models"][-1]), flush=True)
        write_json(results, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
