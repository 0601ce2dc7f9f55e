"""``deepseq tune ALIGNMENT --out DIR``: search a family's model settings without labels.

Trains ``--trials`` settings drawn from a search space (``--space FILE``, JSON; by default the
VAE's latent size, dropout, group sparsity and learning rate), each with ``--holdout`` of Neff held
out as whole clusters, and ranks them by held-out log-likelihood on Ray Tune, ending lagging trials
early (ASHA), with the site-independent model on the same sequences. Writes ``DIR/trials.csv`` (each
trial's settings, held-out log-likelihood, steps, seconds and status; with ``--mutations``, its ρ
beside them, for analysis only) and copies the best trial's run to ``DIR/best``, which ``predict``
scores like any run. The same command continues an interrupted search. ``--address`` runs it on a
Ray cluster, checked as ``sweep`` checks it (:mod:`pyro_deepseq.workflows.tune`).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..data.alignment import Alignment
from ..errors import DataError
from ..inference.presets import PRESETS
from ..scoring import ScoringOptions
from ..utils.cli import run
from ..utils.files import write_table
from ..workflows import tune


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deepseq tune", description=__doc__.splitlines()[0])
    parser.add_argument("alignment", type=Path, help="the family's alignment")
    parser.add_argument("--out", type=Path, required=True, help="folder of the search")
    parser.add_argument(
        "--theta", type=float, default=0.2, help="identity cut-off of the weights (0.2; 0.01 viral)"
    )
    parser.add_argument("--space", type=Path, help="search space (JSON); default: see --help")
    parser.add_argument("--trials", type=int, default=16, help="settings tried (16)")
    parser.add_argument("--steps", type=int, default=6000, help="steps of a whole trial (6000)")
    parser.add_argument("--rungs", type=int, default=4, help="held-out reports per trial (4)")
    parser.add_argument("--holdout", type=float, default=0.1, help="share of Neff held out (0.1)")
    parser.add_argument("--preset", default="fast", choices=list(PRESETS), help="base (fast)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the draws and runs (0)")
    parser.add_argument("--cpus-per-trial", type=float, default=1.0, help="CPUs of a trial (1)")
    parser.add_argument("--max-concurrent", type=int, default=0, help="trials at once (all)")
    parser.add_argument("--address", help="a Ray cluster's address; default: a local Ray")
    parser.add_argument("--mutations", type=Path, help="a DMS table: each trial's ρ, for analysis")
    parser.add_argument("--score-column", help="its measured column (default DMS_score)")
    parser.add_argument(
        "--samples", type=int, default=ScoringOptions().samples, help="scoring samples for ρ"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run(_tune, argv)


def _tune(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    warnings.filterwarnings("ignore", category=ResourceWarning)  # Tune leaves files to the GC
    if args.trials < 1 or args.steps < 1 or args.rungs < 1 or not 0 < args.holdout < 1:
        raise DataError("--trials, --steps and --rungs must be positive, --holdout in (0, 1)")
    # Read once here: a bad file is reported before Ray starts, not by every trial.
    alignment = Alignment.from_file(args.alignment.resolve(), theta=args.theta, device="cpu")
    search = tune.Search(
        alignment=alignment,
        out=str(args.out.resolve()),
        space=tune.read_space(args.space),
        trials=args.trials,
        steps=args.steps,
        rungs=args.rungs,
        holdout=args.holdout,
        preset=args.preset,
        seed=args.seed,
        cpus=args.cpus_per_trial,
        concurrent=args.max_concurrent,
    )
    try:
        trials = tune.run(search, args.address)
    except tune.Interrupted:
        print("interrupted: run the same command again to continue the search", file=sys.stderr)
        return 130
    if args.mutations is not None:
        trials = tune.add_rho(trials, str(args.mutations), args.score_column, args.samples)
    write_table(trials, args.out / "trials.csv")
    shown = trials.drop(columns="folder")
    with pd.option_context("display.width", 120, "display.max_columns", None):
        print(shown.to_string(index=False))
    best = tune.keep_best(trials, args.out)
    top = trials.iloc[0]
    print(f"best: trial {top['trial']}, held-out log-likelihood {top[tune.METRIC]:.2f}; run {best}")
    print(f"wrote {args.out / 'trials.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
