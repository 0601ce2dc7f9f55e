"""Does held-out log-likelihood rank settings the way DMS ρ does? A ``tune`` search per family.

For each target (a dev family, or a depth-ladder rung searched in memory): the search ``deepseq
tune`` runs (its default space: the VAE's latent size, decoder dropout, group sparsity and
learning rate, with the site-independent model fitted beside; the fast preset's budget; a tenth
of Neff held out as whole clusters; ASHA), then every trial scored
against each of the family's DMS tables, and the fixed default (the auto preset, trained on the
whole alignment with the same seed) beside them. Reported per target: the rank correlation between
held-out log-likelihood and mean ρ across trials, the likelihood-chosen trial's ρ, the best ρ of
any trial, the default's and the site-independent model's. A target's record is written when it is
done, and done targets are skipped, so the study continues where it stopped (keep ``--work``: the
searches continue from Tune's state there).

    python experiments/tune_study.py --targets YAP1 RL401 --trials 8 --max-concurrent 1
    python experiments/tune_study.py --table experiments/results/tune_study*.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from benchmarks import ROOT, spearman, write_json
from dev_families import load_target, run_seed, settings

from pyro_deepseq import DeepSequence
from pyro_deepseq.evaluation.metrics import spearman as rank_correlation
from pyro_deepseq.models.independent import SiteIndependentModel
from pyro_deepseq.scoring import ScoringOptions
from pyro_deepseq.workflows import tune


def scored(trials: list[dict]) -> list[dict]:
    """The trials with both a held-out likelihood and a ρ (not those that diverged)."""
    return [r for r in trials if np.isfinite([r[tune.METRIC], r["mean_rho"]]).all()]


def likelihood_choice(trials: list[dict]) -> dict:
    """The trial the held-out likelihood picks."""
    return max(scored(trials), key=lambda r: r[tune.METRIC])


def study(target: str, args) -> dict:
    """One target's search, its trials' ρ, and the default's."""
    alignment, dms = load_target(target)  # a rung's subsample is searched in memory
    search = tune.Search(
        alignment=alignment,
        out=str((args.work / target).resolve()),
        space=tune.DEFAULT_SPACE,
        trials=args.trials,
        steps=args.steps,
        rungs=args.rungs,
        seed=args.seed,
        cpus=args.threads,
        concurrent=args.max_concurrent,
    )
    load = os.getloadavg()[0]
    started = time.perf_counter()
    trials = tune.run(search, None)
    search_minutes = (time.perf_counter() - started) / 60
    options = ScoringOptions(samples=args.samples)
    records = []
    for row in trials.to_dict("records"):
        rho = [math.nan] * len(dms)  # a trial that diverged before its first checkpoint
        if (Path(row["folder"]) / "model.pt").exists():
            model = DeepSequence.load(row["folder"], alignment=alignment)
            rho = [spearman(model.scores(m, options).delta, m) for _, m in dms]
        folder = os.path.relpath(row["folder"], ROOT)  # the record names no machine's paths
        records.append({**row, "folder": folder, "rho": rho, "mean_rho": float(np.mean(rho))})
    model, train, reason = settings(alignment, argparse.Namespace(preset="auto", set=None))
    default, _ = run_seed(alignment, dms, model, train, args.seed, args, args.work / target)
    site = SiteIndependentModel.fit(alignment)
    site_rho = [spearman(site.delta(m.codes, alignment.focus_codes), m) for _, m in dms]
    ranked = scored(records)
    return {
        "target": target,
        "dms": [label for label, _ in dms],
        "trials": records,
        "likelihood_vs_rho": rank_correlation(
            [r[tune.METRIC] for r in ranked], [r["mean_rho"] for r in ranked]
        ),
        "chosen_rho": likelihood_choice(records)["rho"],
        "best_trial_rho": max(r["mean_rho"] for r in ranked),
        "default_rho": default["rho"],
        "default": reason,
        "default_fit_minutes": default["fit_minutes"],
        "site_independent_rho": site_rho,
        "search_minutes": round(search_minutes, 1),
        "load_average": [round(load, 2), round(os.getloadavg()[0], 2)],
    }


def table(paths: list[Path]) -> str:
    """Markdown: one row per target of each file."""
    rows = [
        "| target | trials | ρ(likelihood, ρ) | chosen ρ | best trial ρ | default ρ | "
        "site-indep. ρ | chosen model | search minutes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    entries = [e for path in paths for e in json.loads(path.read_text())["targets"]]
    for entry in entries:
        chosen = likelihood_choice(entry["trials"])
        rows.append(
            f"| {entry['target']} | {len(entry['trials'])} | {entry['likelihood_vs_rho']:+.2f} | "
            f"{np.mean(entry['chosen_rho']):.3f} | {entry['best_trial_rho']:.3f} | "
            f"{np.mean(entry['default_rho']):.3f} | {np.mean(entry['site_independent_rho']):.3f} "
            f"| {chosen['model']} | {entry['search_minutes']} |"
        )
    return "\n".join(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", nargs="+", default=["YAP1", "RL401"])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--rungs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--samples", type=int, default=500, help="scoring samples")
    parser.add_argument("--threads", type=int, default=1, help="CPUs (torch threads) per trial")
    parser.add_argument("--max-concurrent", type=int, default=0, help="trials at once (all)")
    parser.add_argument("--out", type=Path, default=ROOT / "experiments/results/tune_study.json")
    parser.add_argument("--work", type=Path, default=Path("runs/tune_study"))
    parser.add_argument("--table", type=Path, nargs="+", help="print the table of these files")
    args = parser.parse_args(argv)
    if args.table:
        print(table(args.table))
        return 0
    torch.set_num_threads(args.threads)
    results = json.loads(args.out.read_text()) if args.out.exists() else {"targets": []}
    results.update(host=platform.node(), command=" ".join(sys.argv), threads=args.threads)
    done = {entry["target"] for entry in results["targets"]}
    for target in args.targets:
        if target in done:
            continue
        results["targets"].append(study(target, args))
        write_json(results, args.out)
        print(json.dumps({k: v for k, v in results["targets"][-1].items() if k != "trials"}))
    print(table([args.out]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
