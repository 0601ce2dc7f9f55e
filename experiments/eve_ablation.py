"""What of EVE's recipe matters at CPU scale: the fast preset, plus EVE's changes one at a time.

Each *variant* is the fast preset (:data:`~pyro_deepseq.inference.presets.PRESETS`) with some of
EVE's settings (``--preset eve``) on top, trained at the fast preset's step budget; ``all`` has
every change at once. A variant with ``reuse`` trains nothing: it rescores another variant's
checkpoint with more samples. Targets, training and scoring are those of ``dev_families.py``.

Every (variant, target, seed) run is appended to the JSON file as soon as it is scored, and runs
already there are skipped, so an interrupted ablation continues where it stopped (keep ``--work``
for the rescoring variants: they read the checkpoints there).

    python experiments/eve_ablation.py --measure 300 --targets DHFR   # seconds per step
    python experiments/eve_ablation.py --targets YAP1 RL401 --seeds 0
    python experiments/eve_ablation.py --table experiments/results/eve_ablation.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pyro
import torch
from benchmarks import ROOT, spearman, write_json
from dev_families import DEV, load_target, run_seed

from pyro_deepseq.inference.checkpoint import load_checkpoint
from pyro_deepseq.inference.config import ModelConfig, TrainConfig, from_dict
from pyro_deepseq.inference.presets import PRESETS
from pyro_deepseq.inference.training import Trainer
from pyro_deepseq.models import build_model
from pyro_deepseq.models.independent import SiteIndependentModel
from pyro_deepseq.scoring import score_variants

#: EVE's encoder shape (2000-1000-300) at half its widths. On DHFR, 1 thread beside another job,
#: 200 steps each: 0.080 s per step against 0.072-0.078 for the fast preset's (500,), within the
#: timing noise; (500, 250, 75) 0.079; EVE's own 0.112 (+50 %).
DEEP_ENCODER = (1000, 500, 150)
#: EVE's scoring uses 20,000 samples; 2,000 is what a CPU affords, against the fast preset's 500.
MORE_SAMPLES = 2000
#: EVE's changes to the fast preset, one at a time (model settings), then all together.
CHANGES = {
    "dropout": {"decoder_dropout": 0.1},
    "no_sparsity": {"group_sparsity": False},
    "relu": {"last_activation": "relu"},
    "deep_encoder": {"encoder_hidden": DEEP_ENCODER},
    "latent50": {"latent_dim": 50},
}
#: name → model overrides of the fast preset, the scoring samples, and the variant whose fit a
#: rescoring variant reuses (None: it trains its own).
VARIANTS = {
    "fast": ({}, 500, None),
    **{name: (change, 500, None) for name, change in CHANGES.items()},
    # the two changes that gained on BLAT at every seed, together
    "relu_latent50": ({**CHANGES["relu"], **CHANGES["latent50"]}, 500, None),
    "samples2000": ({}, MORE_SAMPLES, "fast"),
    "all": ({k: v for change in CHANGES.values() for k, v in change.items()}, 500, None),
    "all_samples2000": ({}, MORE_SAMPLES, "all"),
}
TARGETS = ("YAP1", "RL401", "DHFR", "DHFR@1.0", "KKA2@1.0")


def variant_settings(variant: str) -> tuple[dict, dict, int]:
    """(model settings, training settings, scoring samples) of a variant (a rescoring variant's
    are those of the fit it reuses)."""
    change, samples, reuse = VARIANTS[variant]
    model, train = PRESETS["fast"]
    if reuse is not None:
        change = VARIANTS[reuse][0]
    return {**model, **change}, dict(train), samples


def checkpoint_path(work: Path, variant: str, target: str, seed: int) -> Path:
    reuse = VARIANTS[variant][2] or variant
    return work / reuse / target.replace("@", "_at_") / f"seed{seed}.pt"


def rescore(alignment, dms, path: Path, samples: int) -> tuple[dict, list]:
    """Score a trained checkpoint (another variant's fit) with ``samples`` samples."""
    if not path.exists():
        raise SystemExit(f"{path}: not found; run the variant it reuses first, with this --work")
    state = load_checkpoint(path)
    vae = build_model(
        from_dict(ModelConfig, state["model_config"]),
        alignment.num_positions,
        len(alignment.alphabet),
    )
    vae.load_state_dict(state["state_dict"])
    started = time.perf_counter()
    deltas = [
        score_variants(vae, m.codes, alignment.focus_codes, len(alignment.alphabet), samples).delta
        for _, m in dms
    ]
    progress = state["progress"]
    record = {
        "steps": progress["step"],
        "rho": [spearman(d, m) for d, (_, m) in zip(deltas, dms, strict=True)],
        "fit_minutes": round(progress["seconds"] / 60, 2),
        "score_seconds": round(time.perf_counter() - started, 1),
    }
    return record, deltas


def run_one(variant: str, target: str, seed: int, args, loaded) -> dict:
    """Train (or rescore) one variant on one target at one seed: its JSON record."""
    alignment, dms = loaded
    model, train, samples = variant_settings(variant)
    load_before = os.getloadavg()[0]
    pyro.set_rng_seed(seed)
    path = checkpoint_path(args.work, variant, target, seed)
    if VARIANTS[variant][2] is None:
        options = argparse.Namespace(samples=samples)
        record, _ = run_seed(alignment, dms, model, train, seed, options, path.parent)
    else:
        record, _ = rescore(alignment, dms, path, samples)
    site = SiteIndependentModel.fit(alignment)
    site_rho = [spearman(site.delta(m.codes, alignment.focus_codes), m) for _, m in dms]
    return {
        "variant": variant,
        "target": target,
        "seed": seed,
        "dms": [label for label, _ in dms],
        "neff_per_column": round(alignment.neff / alignment.num_positions, 3),
        **record,
        "site_independent_rho": site_rho,
        "seconds_per_step": round(record["fit_minutes"] * 60 / record["steps"], 4),
        "samples": samples,
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "model": model,
        "train": train,
    }


def measure(targets, steps: int, variants) -> list[dict]:
    """Seconds per training step of each training variant on each target (no scoring)."""
    rows = []
    for target in targets:
        alignment, _ = load_target(target)
        for variant in variants:
            if VARIANTS[variant][2] is not None:
                continue
            model, train, _ = variant_settings(variant)
            every = {"log_every": steps, "eval_every": steps}
            config = TrainConfig(**{**train, "steps": steps, "device": "cpu", **every})
            pyro.set_rng_seed(0)
            model_config = ModelConfig(**model)
            vae = build_model(model_config, alignment.num_positions, len(alignment.alphabet))
            path = Path("runs/eve_ablation_measure") / f"{variant}.pt"
            trainer = Trainer(vae, alignment, model_config, config, path)
            load = os.getloadavg()[0]
            progress = trainer.run(show_progress=False)
            row = {
                "target": target,
                "variant": variant,
                "steps": steps,
                "seconds_per_step": round(progress.seconds / steps, 4),
                "load_average": [round(load, 2), round(os.getloadavg()[0], 2)],
            }
            print(json.dumps(row), flush=True)
            rows.append(row)
    return rows


def load_runs(paths: list[Path]) -> list[dict]:
    """Every run recorded in these JSON files."""
    return [run for path in paths for run in json.loads(path.read_text())["runs"]]


def table(paths: list[Path]) -> str:
    """Markdown: one row per (target, DMS table, variant, seed), targets in the order run."""
    runs = load_runs(paths)
    rows = [
        "| target | DMS | variant | seed | ρ | site-indep. ρ | ρ − site-indep. | "
        "fit minutes | s/step | samples | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    order = {name: i for i, name in enumerate(VARIANTS)}
    targets = {target: i for i, target in enumerate(dict.fromkeys(r["target"] for r in runs))}
    runs.sort(key=lambda r: (targets[r["target"]], r["seed"], order[r["variant"]]))
    for run in runs:
        for label, rho, si in zip(run["dms"], run["rho"], run["site_independent_rho"], strict=True):
            rows.append(
                f"| {run['target']} | {label} | {run['variant']} | {run['seed']} | {rho:.3f} | "
                f"{si:.3f} | {rho - si:+.3f} | {run['fit_minutes']} | "
                f"{run['seconds_per_step']} | {run['samples']} | "
                f"{' → '.join(map(str, run['load_average']))} |"
            )
    return "\n".join(rows)


def summary(paths: list[Path]) -> str:
    """Markdown: ρ − site-independent per variant (rows) and target (columns), each target's
    tables and seeds averaged, and the variant's seconds per step averaged over targets."""
    runs = load_runs(paths)
    targets = list(dict.fromkeys(run["target"] for run in runs))
    rows = [
        f"| variant | {' | '.join(targets)} | mean s/step |",
        "|---|" + "---|" * (len(targets) + 1),
    ]
    for variant in VARIANTS:
        mine = [run for run in runs if run["variant"] == variant]
        if not mine:
            continue
        cells = []
        for target in targets:
            gains = [
                np.mean(run["rho"]) - np.mean(run["site_independent_rho"])
                for run in mine
                if run["target"] == target
            ]
            cells.append(f"{np.mean(gains):+.3f}" if gains else "")
        trained = [run["seconds_per_step"] for run in mine if VARIANTS[variant][2] is None]
        speed = f"{np.mean(trained):.3f}" if trained else "(rescored)"
        rows.append(f"| {variant} | {' | '.join(cells)} | {speed} |")
    return "\n".join(rows)


def versus_fast(paths: list[Path]) -> str:
    """Markdown: each variant's ρ minus ``fast``'s at the same target and seed (each run's tables
    averaged), the comparison the seed spread does not blur."""
    runs = load_runs(paths)
    fast = {(r["target"], r["seed"]): np.mean(r["rho"]) for r in runs if r["variant"] == "fast"}
    rows = [
        "| variant | target | seeds | ρ − fast's, per seed | mean |",
        "|---|---|---|---|---|",
    ]
    for variant in [name for name in VARIANTS if name != "fast"]:
        for target in dict.fromkeys(run["target"] for run in runs):
            pairs = sorted(
                (r["seed"], np.mean(r["rho"]) - fast[target, r["seed"]])
                for r in runs
                if (r["variant"], r["target"]) == (variant, target) and (target, r["seed"]) in fast
            )
            if pairs:
                seeds = ", ".join(str(seed) for seed, _ in pairs)
                gains = " / ".join(f"{gain:+.3f}" for _, gain in pairs)
                mean = np.mean([gain for _, gain in pairs])
                rows.append(f"| {variant} | {target} | {seeds} | {gains} | {mean:+.3f} |")
    return "\n".join(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", nargs="+", default=list(TARGETS), help=f"of {DEV} and rungs")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    parser.add_argument("--measure", type=int, metavar="STEPS", help="only time STEPS steps each")
    parser.add_argument("--out", type=Path, default=ROOT / "experiments/results/eve_ablation.json")
    parser.add_argument(
        "--timings", type=Path, default=ROOT / "experiments/results/eve_ablation_timings.json"
    )
    parser.add_argument("--work", type=Path, default=Path("runs/eve_ablation"))
    parser.add_argument("--table", type=Path, nargs="+", help="print the table of these files")
    args = parser.parse_args(argv)
    if args.table:
        print("\n\n".join([table(args.table), summary(args.table), versus_fast(args.table)]))
        return 0
    if args.threads:
        torch.set_num_threads(args.threads)
    header = {"host": platform.node(), "threads": torch.get_num_threads()}
    if args.measure:
        rows = measure(args.targets, args.measure, args.variants)
        write_json({"command": " ".join(sys.argv), **header, "timings": rows}, args.timings)
        return 0
    results = json.loads(args.out.read_text()) if args.out.exists() else {"runs": []}
    results = {**results, **header, "command": " ".join(sys.argv)}
    done = {(r["variant"], r["target"], r["seed"]) for r in results["runs"]}
    for target in args.targets:
        loaded = None
        for seed in args.seeds:
            for variant in args.variants:
                if (variant, target, seed) in done:
                    continue
                loaded = loaded or load_target(target)
                record = run_one(variant, target, seed, args, loaded)
                results["runs"].append(record)
                write_json(results, args.out)
                print(json.dumps({k: record[k] for k in list(record)[:9]}), flush=True)
    print(table([args.out]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
