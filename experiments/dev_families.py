"""Every dev family and depth-ladder rung, trained with the default settings and scored.

A *target* is a dev family (its whole alignment) or a rung of the depth ladder (``BLAT@0.3``: BLAT
subsampled to Neff / L ≈ 0.3, seed 0; see :mod:`pyro_deepseq.data.depth`). Each target is trained
with ``fit``'s default for its alignment (the ``auto`` preset,
:func:`pyro_deepseq.inference.presets.auto_preset`) unless ``--preset`` or ``--set`` says
otherwise, once per seed, and scored on each of its DMS tables; the seeds' Δ are averaged into an
ensemble. Every run is appended to the JSON file as soon as it is scored, and ``--table`` turns one
or more JSON files into the markdown table of ``docs/accuracy.md``.

    python experiments/dev_families.py --targets YAP1 RL401 --seeds 0 1 2
    python experiments/dev_families.py --table experiments/results/dev_families*.json

Set ``--threads 1`` to run two of these side by side on two cores.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pyro
import torch
from benchmarks import DATA, ROOT, spearman, write_json

from pyro_deepseq.data.alignment import Alignment
from pyro_deepseq.data.depth import subsample
from pyro_deepseq.data.mutations import MutationSet
from pyro_deepseq.inference.config import ModelConfig, TrainConfig
from pyro_deepseq.inference.presets import PRESETS, auto_preset
from pyro_deepseq.inference.training import Trainer
from pyro_deepseq.models import build_model
from pyro_deepseq.models.independent import SiteIndependentModel
from pyro_deepseq.scoring import score_variants

#: name → (alignment, θ, [(DMS label, table, score column)])
FAMILIES = {
    "YAP1": (
        DATA / "YAP1_HUMAN" / "YAP1_HUMAN.a2m",
        0.2,
        [("Araya 2012", DATA / "YAP1_HUMAN" / "YAP1_HUMAN_Araya_2012.csv", "score")],
    ),
    "RL401": (
        DATA / "RL401_YEAST" / "RL401_YEAST.a2m",
        0.2,
        [
            (name, DATA / "RL401_YEAST" / f"RL401_YEAST_{name.replace(' ', '_')}.csv", "score")
            for name in ("Mavor 2016", "Roscoe 2013", "Roscoe 2014")
        ],
    ),
    "POLG": (
        DATA / "POLG_HCVJF" / "POLG_HCVJF.a2m",
        0.01,
        [("Qi 2014", DATA / "POLG_HCVJF" / "POLG_HCVJF_Qi_2014.csv", "score")],
    ),
    "DHFR": (
        DATA / "DYR_ECOLI" / "DHFR.a2m",
        0.2,
        [("Thompson 2019", DATA / "DYR_ECOLI" / "DYR_ECOLI_Thompson_plusLon_2019.csv", "score")],
    ),
    "KKA2": (
        DATA / "KKA2_KLEPN" / "KKA2_KLEPN.a2m",
        0.2,
        [("Melnikov 2014", DATA / "KKA2_KLEPN" / "KKA2_KLEPN_Melnikov_2014.csv", "score")],
    ),
    "BLAT": (
        DATA / "BLAT_ECOLX_hmmerbit_plmc_n5_m30_f50_t0.2_r24-286_id100_b105.a2m",
        0.2,
        [("Stiffler 2015", DATA / "BLAT_ECOLX_Ranganathan2015.csv", "2500")],
    ),
}
#: The dev families, smallest (fastest to train) first.
DEV = ("YAP1", "RL401", "POLG", "DHFR", "KKA2", "BLAT")
#: Depth-ladder rungs: family@Neff/L, from subsampling with seed 0.
RUNGS = tuple(f"{f}@{r}" for f in ("DHFR", "KKA2", "BLAT") for r in (0.1, 0.3, 1.0, 3.0))


def load_target(target: str) -> tuple[Alignment, list[tuple[str, MutationSet]]]:
    """The target's alignment (subsampled for a rung) and its DMS tables mapped onto it."""
    family, _, rung = target.partition("@")
    path, theta, tables = FAMILIES[family]
    alignment = Alignment.from_file(path, theta=theta, device="cpu")
    if rung:
        alignment = subsample(alignment, float(rung), seed=0)
    dms = [
        (label, MutationSet.from_table(table, alignment, score_column=column))
        for label, table, column in tables
    ]
    return alignment, dms


def settings(alignment: Alignment, args) -> tuple[dict, dict, str]:
    """Model and training settings: the auto preset's (or ``--preset``'s), then ``--set``."""
    if args.preset == "auto":
        entropy = SiteIndependentModel.fit(alignment).entropy()
        model, train, reason = auto_preset(
            alignment.num_sequences, alignment.num_positions, alignment.neff, entropy
        )
    else:
        (model, train), reason = PRESETS[args.preset], f"--preset {args.preset}"
    overrides = json.loads(args.set or "{}")
    model_names = set(ModelConfig.__dataclass_fields__)
    model = {**model, **{k: v for k, v in overrides.items() if k in model_names}}
    train = {**train, **{k: v for k, v in overrides.items() if k not in model_names}}
    return model, train, reason


def run_seed(alignment, dms, model, train, seed: int, args, folder: Path) -> tuple[dict, list]:
    """Train one model (checkpoint in ``folder``) and score every DMS table: record, Δ per table."""
    if model["model"] == "independent":  # the auto preset's choice for shallow alignments
        site = SiteIndependentModel.fit(alignment)
        deltas = [site.delta(m.codes, alignment.focus_codes) for _, m in dms]
        rho = [spearman(d, m) for d, (_, m) in zip(deltas, dms, strict=True)]
        return {"seed": seed, "steps": 0, "rho": rho, "fit_minutes": 0.0}, deltas
    model_config = ModelConfig(**model)
    config = TrainConfig(
        **{**train, "seed": seed, "checkpoint_every": 10**9, "device": "cpu", "log_every": 50}
    )
    pyro.set_rng_seed(seed)
    vae = build_model(model_config, alignment.num_positions, len(alignment.alphabet))
    trainer = Trainer(vae, alignment, model_config, config, folder / f"seed{seed}.pt")
    trainer.run(show_progress=False)
    started = time.perf_counter()
    deltas = [
        score_variants(
            vae, mutations.codes, alignment.focus_codes, len(alignment.alphabet), args.samples
        ).delta
        for _, mutations in dms
    ]
    history = trainer.progress.history
    record = {
        "seed": seed,
        "steps": trainer.progress.step,
        "stopped_early": trainer.progress.stopped_early,
        "rho": [spearman(d, m) for d, (_, m) in zip(deltas, dms, strict=True)],
        "fit_minutes": round(trainer.progress.seconds / 60, 2),
        "score_seconds": round(time.perf_counter() - started, 1),
        "elbo": round(history["elbo"][-1], 2),
        "reconstruction": round(history["reconstruction"][-1], 2),
        "kl_global": round(history["kl_global"][-1], 2),
        "kl_latent": round(history["kl_latent"][-1], 2),
    }
    return record, deltas


def run_target(target: str, args, results: dict) -> None:
    alignment, dms = load_target(target)
    model, train, reason = settings(alignment, args)
    site = SiteIndependentModel.fit(alignment)
    entry = {
        "target": target,
        "num_sequences": alignment.num_sequences,
        "length": alignment.num_positions,
        "neff": round(alignment.neff, 1),
        "neff_per_column": round(alignment.neff / alignment.num_positions, 3),
        "site_entropy": round(site.entropy(), 3),
        "theta": alignment.theta,
        "dms": [label for label, _ in dms],
        "num_scored": [m.num_scoreable for _, m in dms],
        "site_independent_rho": [
            spearman(site.delta(m.codes, alignment.focus_codes), m) for _, m in dms
        ],
        "model": model,
        "train": train,
        "choice": reason,
        "samples": args.samples,
        "runs": [],
    }
    results["targets"].append(entry)
    all_deltas, folder = [], args.work / target.replace("@", "_at_")
    for seed in args.seeds:
        record, deltas = run_seed(alignment, dms, model, train, seed, args, folder)
        entry["runs"].append(record)
        all_deltas.append(deltas)
        if len(all_deltas) > 1:
            entry["ensemble_rho"] = [
                spearman(np.mean([d[i] for d in all_deltas], 0), m) for i, (_, m) in enumerate(dms)
            ]
        print(json.dumps({"target": target, **record}), flush=True)
        write_json(results, args.out)
        save_deltas(folder, site, alignment, dms, args.seeds, all_deltas)


def save_deltas(folder: Path, site, alignment, dms, seeds, all_deltas) -> None:
    """Every table's measured fitness, site-independent Δ and each seed's Δ, to rescore later."""
    arrays = {}
    for i, (_, mutations) in enumerate(dms):
        arrays[f"measured_{i}"] = mutations.scoreable["score"].to_numpy()
        arrays[f"site_{i}"] = site.delta(mutations.codes, alignment.focus_codes)
        for seed, deltas in zip(seeds, all_deltas, strict=False):
            arrays[f"run{seed}_{i}"] = deltas[i]
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "deltas.npz", **arrays)


def merged_entries(paths: list[Path]) -> dict[str, dict]:
    """Each target's entry over the files, in order: runs with the same settings are pooled (so
    seeds run separately make one row), an entry with other settings replaces the earlier one.
    An ensemble ρ stays that of the one run of the script that computed it (``ensemble_seeds``).
    """
    entries = {}
    for path in paths:
        for entry in json.loads(path.read_text())["targets"]:
            entry = {**entry, "ensemble_seeds": [run["seed"] for run in entry["runs"]]}
            if "ensemble_rho" not in entry:
                entry["ensemble_seeds"] = []
            earlier = entries.get(entry["target"])
            if earlier and (earlier["model"], earlier["train"]) == (entry["model"], entry["train"]):
                if not entry["ensemble_seeds"]:
                    entry["ensemble_seeds"] = earlier["ensemble_seeds"]
                    entry["ensemble_rho"] = earlier.get("ensemble_rho")
                entry["runs"] = earlier["runs"] + entry["runs"]
            entries[entry["target"]] = entry
    return entries


def table(paths: list[Path]) -> str:
    """The markdown table of one or more result files (see :func:`merged_entries`)."""
    entries = merged_entries(paths)
    rows = [
        "| target | DMS | N | L | Neff | Neff/L | steps | seeds | ρ per seed | "
        "ensemble ρ (seeds) | site-indep. ρ | Δ vs site-indep. (mean of seeds) | fit minutes |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for entry in entries.values():
        runs = entry["runs"]
        if not runs:
            continue
        for i, label in enumerate(entry["dms"]):
            rhos = [run["rho"][i] for run in runs]
            ensemble = (entry.get("ensemble_rho") or [None] * len(entry["dms"]))[i]
            ensemble_seeds = ", ".join(map(str, entry["ensemble_seeds"]))
            si = entry["site_independent_rho"][i]
            rows.append(
                f"| {entry['target']} | {label} | {entry['num_sequences']:,} | "
                f"{entry['length']} | {entry['neff']:,.0f} | {entry['neff_per_column']:.2f} | "
                f"{'/'.join(str(run['steps']) for run in runs)} | "
                f"{', '.join(str(run['seed']) for run in runs)} | "
                f"{' / '.join(f'{r:.3f}' for r in rhos)} | "
                f"{'' if ensemble is None else f'{ensemble:.3f} ({ensemble_seeds})'} | {si:.3f} | "
                f"{np.mean(rhos) - si:+.3f} | "
                f"{' / '.join(str(run['fit_minutes']) for run in runs)} |"
            )
    families = [e for e in entries.values() if e["runs"] and "@" not in e["target"]]
    if families:
        rho = [np.mean([r["rho"] for r in e["runs"]]) for e in families]  # tables, seeds averaged
        si = [np.mean(e["site_independent_rho"]) for e in families]
        rows.append(
            f"\nMean over the {len(families)} families (each family's tables averaged): "
            f"ρ {np.mean(rho):.3f}, site-independent {np.mean(si):.3f}, "
            f"Δ {np.mean(rho) - np.mean(si):+.3f}."
        )
    return "\n".join(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", nargs="+", default=[*DEV, *RUNGS])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--preset", default="auto", choices=["auto", *PRESETS])
    parser.add_argument("--set", help="JSON overrides of the settings, e.g. '{\"steps\": 2000}'")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    parser.add_argument("--out", type=Path, default=ROOT / "experiments/results/dev_families.json")
    parser.add_argument("--work", type=Path, default=Path("runs/dev_families"))
    parser.add_argument("--table", type=Path, nargs="+", help="print the table of these files")
    args = parser.parse_args(argv)
    if args.table:
        print(table(args.table))
        return 0
    if args.threads:
        torch.set_num_threads(args.threads)
    results = {
        "command": " ".join(sys.argv),
        "host": platform.node(),
        "threads": torch.get_num_threads(),
        "targets": [],
    }
    for target in args.targets:
        run_target(target, args, results)
    print(table([args.out]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
