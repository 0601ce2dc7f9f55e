"""``python -m pyro_deepseq.predict``: score variants with a trained model.

Writes a CSV with ``mutant``, ``prediction`` (Δ, higher = fitter), ``stderr`` (its standard error
over the samples) and the measured column when the table has one, for every scoreable row; prints
Spearman ρ and the unscoreable rows by reason, and writes those rows to ``<out>_unscoreable.csv``.
``--singles`` scores every single substitution at every focus position; ``--sequences`` scores
the designs of a FASTA file (each record's differences from the focus sequence).
``--estimator iwae`` scores with the importance-weighted bound instead of the paper's ELBO.
Existing files are never overwritten without ``--force``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .. import plots
from ..api import Ensemble
from ..data.focus import Focus
from ..data.mutations import MutationSet
from ..errors import DataError
from ..evaluation.metrics import spearman
from ..scoring import Scores
from ..scoring.options import add_scoring_flags, scoring_options
from ..utils.cli import run
from ..utils.files import write_table


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pyro_deepseq.predict", description=__doc__)
    parser.add_argument(
        "--checkpoint",
        type=Path,
        nargs="+",
        required=True,
        help="DIR/model.pt or DIR; several, or a folder of runs, score as an ensemble",
    )
    variants = parser.add_mutually_exclusive_group()
    variants.add_argument("--mutations", type=Path, help="DMS table (.csv, .tsv, .xlsx)")
    variants.add_argument(
        "--sequences",
        type=Path,
        help="FASTA of variant sequences: aligned to the model's columns, or whole proteins",
    )
    variants.add_argument("--singles", action="store_true", help="score every single substitution")
    parser.add_argument("--mutant-column", default="mutant")
    parser.add_argument("--score-column", help="measured fitness column (default DMS_score)")
    add_scoring_flags(parser)
    parser.add_argument(
        "--out", type=Path, help="output .csv or .xlsx (default: CSV next to the checkpoint)"
    )
    parser.add_argument("--force", action="store_true", help="overwrite existing outputs")
    parser.add_argument(
        "--no-plots",
        action="store_true",
        help="skip the PNG (predicted vs measured, or the --singles landscape)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run(_predict, argv)


def _predict(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    started = time.perf_counter()
    models = Ensemble.load(args.checkpoint)
    options = scoring_options(args)
    if args.singles:
        mutations = MutationSet.all_singles(models.focus)
    else:
        mutations = models.variants(
            args.mutations or args.sequences, args.mutant_column, args.score_column
        )
    out = args.out or _default_out(args, models.members)
    side = out.with_name(f"{out.stem}_unscoreable.csv")
    matrix = out.with_name(f"{out.stem}_matrix.csv") if args.singles else None
    drawable = args.singles or mutations.score_column is not None
    figure = out.with_suffix(".png") if drawable and not args.no_plots else None
    for path in (out, side, matrix, figure):
        if path is not None and path.exists() and not args.force:
            raise DataError(f"{path} exists; pass --force to overwrite it")
    table, scores = models.score(mutations, options)
    write_table(table, out)
    if len(mutations.unscoreable):
        write_table(mutations.unscoreable, side)
    _draw(args, scores, mutations, models.focus, matrix, figure)
    _report(mutations, table, out, side, time.perf_counter() - started)
    return 0


def _draw(args, scores: Scores, mutations: MutationSet, focus: Focus, matrix, figure) -> None:
    """The --singles landscape (matrix CSV and heatmap), or predicted vs measured."""
    if matrix is not None:
        landscape = plots.singles_matrix(
            scores.delta, focus.focus_sequence, focus.positions, focus.alphabet
        )
        landscape.to_csv(matrix, index=False)
        print(f"wrote the position × letter matrix to {matrix}")
    if figure is None:
        return
    if args.singles:
        drawing = plots.landscape(landscape)
    else:
        measured = mutations.scoreable["score"]
        drawing = plots.predicted_vs_measured(scores.delta, measured, mutations.score_column)
    print(f"wrote {plots.save(drawing, figure)}")


def _default_out(args, paths: list[Path]) -> Path:
    folder = Path(os.path.commonpath([path.parent for path in paths]))
    name = "singles" if args.singles else "predictions"
    if args.sequences:
        name = f"{args.sequences.stem}_predictions"
    prefix = "ensemble_" if len(paths) > 1 else ""
    suffix = "_site_independent" if args.site_independent else ""
    return folder / f"{prefix}{name}{suffix}.csv"


def _report(mutations: MutationSet, table, out: Path, side: Path, seconds: float) -> None:
    print(
        f"scored {mutations.num_scoreable:,} of {mutations.num_mutants:,} variants "
        f"in {seconds:.1f} s; wrote {out}"
    )
    if mutations.score_column is not None and mutations.num_scoreable > 1:
        measured = mutations.scoreable["score"]
        members = [column for column in table.columns if column.startswith("prediction_")]
        for column in members:
            rho = spearman(measured, table[column])
            print(f"Spearman ρ = {rho:.4f} for {column.removeprefix('prediction_')}")
        rho = spearman(measured, table["prediction"])
        note = f" (ensemble of {len(members)})" if members else ""
        print(f"Spearman ρ = {rho:.4f} against {mutations.score_column!r}{note}")
    for reason, count in mutations.counts_by_reason().items():
        print(f"unscoreable: {count:,} {reason}")
    if len(mutations.unscoreable):
        print(f"unscoreable rows written to {side}")


if __name__ == "__main__":
    sys.exit(main())
