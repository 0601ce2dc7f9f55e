"""``deepseq sweep RUNS.csv --out DIR``: many families × many seeds, one table of ρ.

RUNS.csv has a row per protein family (in the spirit of ProteinGym's reference file):

==============  ============================================================================
name            the family's folder name under DIR (required, unique)
alignment       its alignment (required)
mutations       its DMS table (optional: without it the family is fitted, not scored)
score_column    measured column of the table (default DMS_score)
mutant_column   mutant column of the table (default mutant)
model, preset   as ``fit --model`` and ``fit --preset``
seeds           seeds to train, e.g. ``0 1 2 3 4`` (default 0)
fit_args        any further ``fit`` flags, e.g. ``--steps 2000 --batch-size 400``
predict_args    any further ``predict`` flags, e.g. ``--samples 200``
==============  ============================================================================

Relative paths are read from RUNS.csv's folder. Each (family, seed) is fitted into
``DIR/<name>/seed<k>/`` and scored into its ``predictions.csv``, exactly as ``fit`` and
``predict`` write them; each family's ensemble follows (``DIR/<name>/ensemble_predictions.csv``).
``DIR/summary.csv`` and ``summary.png`` give every seed's and every ensemble's ρ.

``--proteingym REFERENCE.csv --msa-dir DIR --dms-dir DIR`` runs ProteinGym's benchmark instead of
RUNS.csv: one family per assay, one fit per MSA shared by its assays, and ProteinGym's score files,
metrics and leaderboard comparison at the end (:mod:`pyro_deepseq.workflows.proteingym`).

Jobs are Ray tasks with resource requests (``--cpus-per-job``, ``--gpus-per-job``; fractional GPUs
let small models share one): on a local Ray instance sized to the machine, or on a cluster with
``--address``, checked before any job starts (:mod:`pyro_deepseq.workflows.cluster`: a cluster that
requires Ray's token needs ``RAY_AUTH_MODE=token`` here too). ``--sequential`` runs them one after
another in this process, without Ray. A job whose worker, process or node dies is tried again,
``--retries`` more times (default 2), a fit resuming from its last checkpoint; a job's own error (a
bad file or option, a diverged fit) is not tried again (:mod:`pyro_deepseq.workflows.retries`). A
job records its outcome in ``fit.json`` or ``score.json`` beside its outputs, so running the same
command again skips completed jobs, resumes interrupted fits and retries failed jobs; Ctrl-C stops
the jobs, fits saving a checkpoint. A failing job never stops the others; its error is in the
summary, and the jobs that needed it are skipped, saying which job failed.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from .. import plots
from ..errors import DataError
from ..utils.cli import run
from ..utils.files import write_table
from ..workflows import proteingym
from ..workflows.runs import read_runs
from ..workflows.sweep import run_on_ray, run_sequential, summarize


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deepseq sweep", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("runs", type=Path, nargs="?", help="the run description (CSV)")
    parser.add_argument("--out", type=Path, required=True, help="folder of all the runs")
    parser.add_argument(
        "--address",
        help="a Ray cluster's address (HOST:PORT, or auto); default: a local one. A cluster "
        "started with RAY_AUTH_MODE=token needs it set here too (see the guide)",
    )
    parser.add_argument("--cpus-per-job", type=float, default=1.0, help="CPUs of each job (1)")
    parser.add_argument(
        "--gpus-per-job", type=float, default=0.0, help="GPUs of each job, e.g. 0.25 (default 0)"
    )
    parser.add_argument(
        "--retries",
        type=int,
        default=2,
        help="tries more for a job whose worker, process or node died (Ray; default 2)",
    )
    parser.add_argument(
        "--sequential", action="store_true", help="run the jobs one by one here, without Ray"
    )
    _proteingym_options(parser)
    return parser


def _proteingym_options(parser: argparse.ArgumentParser) -> None:
    """The benchmark's options: its reference file instead of a run description."""
    group = parser.add_argument_group(
        "ProteinGym", "run ProteinGym's benchmark (see deepseq proteingym) instead of RUNS"
    )
    group.add_argument("--proteingym", type=Path, metavar="REFERENCE", help="DMS_substitutions.csv")
    group.add_argument("--msa-dir", type=Path, help="folder of the reference's MSA_filename")
    group.add_argument("--dms-dir", type=Path, help="folder of the reference's DMS_filename")
    group.add_argument("--only", nargs="+", metavar="DMS_ID", help="these assays only")
    group.add_argument("--seeds", nargs="+", type=int, default=[0], help="seeds per MSA (0)")
    group.add_argument(
        "--fit-args", default="--preset fast", help="fit flags for every MSA ('--preset fast')"
    )
    group.add_argument("--predict-args", default="", help="predict flags for every assay")
    group.add_argument(
        "--leaderboard",
        nargs="+",
        type=Path,
        metavar="PUBLISHED",
        help="ProteinGym's DMS_substitutions_<Metric>_DMS_level.csv: our rank and gaps",
    )


def _benchmark(args):
    """The ProteinGym plan when --proteingym is given (its families replace RUNS.csv's)."""
    if (args.runs is None) == (args.proteingym is None):
        raise DataError("give a run description RUNS.csv or --proteingym REFERENCE.csv")
    if args.proteingym is None:
        return None
    if args.msa_dir is None or args.dms_dir is None:
        raise DataError("--proteingym needs --msa-dir and --dms-dir")
    if len(set(args.seeds)) != len(args.seeds):
        raise DataError(f"--seeds must be distinct, got {args.seeds}")
    reference = proteingym.read_reference(args.proteingym, args.only)
    fit_args, predict_args = shlex.split(args.fit_args), shlex.split(args.predict_args)
    plan = proteingym.Plan.prepare(
        reference, args.msa_dir, args.dms_dir, args.out, fit_args, predict_args, args.seeds
    )
    plan.report()
    if not plan.families:
        raise DataError(f"{args.proteingym}: no assay could be prepared (see above)")
    return plan


def main(argv: Sequence[str] | None = None) -> int:
    return run(_sweep, argv)


def _sweep(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    if args.cpus_per_job <= 0 or args.gpus_per_job < 0 or args.retries < 0:
        raise DataError(
            "--cpus-per-job must be positive, --gpus-per-job and --retries not negative"
        )
    if args.sequential and (args.address or args.gpus_per_job):
        raise DataError("--address and --gpus-per-job need Ray; drop --sequential")
    benchmark = _benchmark(args)
    families = benchmark.families if benchmark else read_runs(args.runs)
    out = str(args.out.resolve())
    started = time.perf_counter()
    if args.sequential:
        results = run_sequential(families, out)
    else:
        results = run_on_ray(
            families, out, args.address, args.cpus_per_job, args.gpus_per_job, args.retries
        )
    summary = summarize(families, results)
    write_table(summary, args.out / "summary.csv")
    written = [args.out / "summary.csv"]
    if summary["rho"].notna().any():
        written.append(plots.save(plots.sweep_summary(summary), args.out / "summary.png"))
    failed = summary[summary["status"] != "done"]
    skipped = int((summary["status"] == "skipped").sum())
    print(
        f"swept {len(families)} families in {time.perf_counter() - started:.1f} s; "
        f"{len(failed) - skipped} of {len(summary)} rows failed"
        + (f", {skipped} skipped" if skipped else "")
        + f"; wrote {', '.join(map(str, written))}"
    )
    for row in summary[summary["seed"] == "ensemble"].itertuples():
        if row.rho is not None and not pd.isna(row.rho):
            print(f"{row.family}: ensemble ρ = {row.rho:.4f} over {row.n_scored:,} variants")
    if benchmark:
        written = benchmark.finish(summary, args.leaderboard or ())
        print(f"wrote {', '.join(map(str, written))}")
        return 1 if len(failed) or benchmark.problems else 0
    return 1 if len(failed) else 0


if __name__ == "__main__":
    sys.exit(main())
