"""``deepseq align``: a model-ready alignment from one protein and a database.

Runs jackhmmer (pyhmmer) of the query, or ``--region`` of it, against a FASTA database (``.gz``
allowed, streamed from disk) at one or several inclusion thresholds in bits per residue, applies
EVcouplings' post-processing (see :mod:`pyro_deepseq.data.homology`) and reports each step's
counts and a depth table: sequences, focus columns (and their share of the region), Neff and
Neff / L.

Writes ``--out`` (the alignment EVE's criteria recommend) and, beside it, ``OUT.depth.csv`` (one
row per threshold, the recommendation and its reason); with several thresholds also one alignment
per threshold, ``OUT_b0.5.a2m``. Existing files are never overwritten without ``--force``; every
file is written whole or not at all, and only after every search has succeeded.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..data.alignment import Alignment
from ..data.homology import (
    MAX_COLUMN_GAPS,
    MIN_COVERAGE,
    STEPS,
    Built,
    Depth,
    SearchResult,
    check_database,
    parse_region,
    postprocess,
    read_query,
    recommend,
    search,
)
from ..errors import DataError
from ..utils.cli import run
from ..utils.files import atomic_write, write_table

#: The depth table's columns printed (the CSV has them all).
SHOWN = [
    "bitscore",
    "iterations",
    "included_sequences",
    "sequences",
    "focus_columns",
    "region_share",
    "neff",
    "neff_per_length",
    "recommended",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepseq align",
        description="Build a model-ready alignment from a protein sequence and a sequence "
        "database (jackhmmer through pyhmmer, EVcouplings' post-processing).",
    )
    parser.add_argument("--query", type=Path, required=True, help="FASTA file of one protein")
    parser.add_argument("--database", type=Path, required=True, help="FASTA database (or .gz)")
    parser.add_argument("--out", type=Path, required=True, help="alignment to write (FAMILY.a2m)")
    parser.add_argument(
        "--region", type=_region, help="START-END of the query to model (its own numbering)"
    )
    parser.add_argument(
        "--bitscore",
        type=float,
        nargs="+",
        default=[0.5],
        help="inclusion threshold(s) in bits per residue of the region (default 0.5)",
    )
    parser.add_argument("--iterations", type=int, default=5, help="jackhmmer iterations (5)")
    parser.add_argument(
        "--threads", type=int, default=_cores(), help=f"search threads (default {_cores()})"
    )
    parser.add_argument(
        "--min-coverage",
        type=float,
        default=MIN_COVERAGE,
        help="drop rows covering less of the region (0.5)",
    )
    parser.add_argument(
        "--max-column-gaps",
        type=float,
        default=MAX_COLUMN_GAPS,
        help="lower-case columns with a larger share of gaps (0.3)",
    )
    parser.add_argument("--theta", type=float, default=0.2, help="identity cut-off of Neff (0.2)")
    parser.add_argument("--force", action="store_true", help="overwrite existing outputs")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def _region(text: str) -> tuple[int, int]:
    try:
        return parse_region(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def main(argv: Sequence[str] | None = None) -> int:
    return run(_align, argv)


def _align(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_options(parser, args)
    thresholds = sorted(set(args.bitscore))
    outputs = output_paths(args.out, thresholds)
    existing = [p for p in outputs.values() if p.exists()]
    if existing and not args.force:
        raise DataError(f"{existing[0]} exists; pass --force to overwrite it")
    query = read_query(args.query)
    start, end = query.region(args.region)
    region = query.subsequence(start, end)
    focus = f"{query.name}/{start}-{end}"
    database = check_database(args.database)
    print(f"query {focus}: {len(region)} residues; database {database}")
    results = [_search(region, query.name, database, bits, args) for bits in thresholds]
    if not any(result.rows for result in results):
        raise DataError(
            f"no sequence in {database} reaches {thresholds[0]:g} bits per residue "
            f"({results[0].threshold:.1f} bits over {len(region)} residues); try a lower "
            "--bitscore, or check that the database holds this protein's family"
        )
    built = [
        postprocess(focus, region, r.rows, args.min_coverage, args.max_column_gaps) for r in results
    ]
    depths = [
        _depth(r.bits, b, len(region), args.theta) for r, b in zip(results, built, strict=True)
    ]
    chosen, reason = recommend(depths)
    for result, alignment in zip(results, built, strict=True):
        _print_steps(result, alignment, args)
    table = depth_table(results, built, depths, outputs, chosen, reason)
    _write(outputs, thresholds, built, chosen, table)
    print(table[SHOWN].to_string(index=False))
    print(f"recommended: {thresholds[chosen]:g} bits per residue, {reason}")
    print("wrote " + ", ".join(str(p) for p in outputs.values()))
    return 0


def _check_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if any(bits <= 0 for bits in args.bitscore):
        parser.error("--bitscore values must be positive")
    if args.iterations < 1 or args.threads < 1:
        parser.error("--iterations and --threads must be at least 1")
    if not 0 < args.min_coverage <= 1 or not 0 <= args.max_column_gaps < 1:
        parser.error("--min-coverage must lie in (0, 1] and --max-column-gaps in [0, 1)")
    if not 0 < args.theta < 1:
        parser.error("--theta must lie strictly between 0 and 1")


def output_paths(out: Path, thresholds: list[float]) -> dict:
    """``{"alignment": out, "depth": OUT.depth.csv}`` and, for several thresholds, one per value."""
    paths = {"alignment": out, "depth": out.with_name(f"{out.stem}.depth.csv")}
    if len(thresholds) > 1:
        for bits in thresholds:
            paths[bits] = out.with_name(f"{out.stem}_b{bits:g}{out.suffix}")
    return paths


def _search(region: str, name: str, database: Path, bits: float, args) -> SearchResult:
    result = search(
        region, name, database, bits, args.iterations, args.threads, progress=not args.quiet
    )
    for line in result.log:
        print(line, flush=True)
    converged = "converged" if result.converged else "did not converge"
    print(
        f"{bits:g} bits/residue: {result.iterations} iteration(s), {converged}, "
        f"{result.included_sequences:,} sequences included in {result.seconds:.1f} s",
        flush=True,
    )
    return result


def _depth(bits: float, built: Built, length: int, theta: float) -> Depth:
    """Read the alignment back as training will: this checks it and gives Neff."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "alignment.a2m"
        path.write_text(built.a2m())
        alignment = Alignment.from_file(path, theta=theta)
        if alignment.num_dropped:  # post-processing drops what the reader would
            raise AssertionError(f"the reader dropped {alignment.dropped}")
        return Depth(bits, alignment.num_sequences, alignment.num_positions, length, alignment.neff)


def _print_steps(result: SearchResult, built: Built, args: argparse.Namespace) -> None:
    print(f"post-processing at {result.bits:g} bits/residue ({result.threshold:.1f} bits):")
    for key, count in built.steps.items():
        label = STEPS[key].format(coverage=args.min_coverage, gaps=args.max_column_gaps)
        print(f"  {label:<66}{count:>10,}")


def depth_table(results, built, depths, outputs, chosen, reason) -> pd.DataFrame:
    """One row per threshold: the search, each post-processing count, the depth, the choice."""
    rows = []
    for i, (result, alignment, depth) in enumerate(zip(results, built, depths, strict=True)):
        path = outputs.get(result.bits, outputs["alignment"])
        rows.append(
            {
                "bitscore": result.bits,
                "threshold_bits": round(result.threshold, 2),
                "iterations": result.iterations,
                "converged": result.converged,
                "sequences_searched": result.searched,
                "search_seconds": round(result.seconds, 2),
                "included_sequences": result.included_sequences,
                **alignment.steps,
                "focus_columns": depth.focus_columns,
                "region_length": depth.region_length,
                "region_share": round(depth.region_share, 4),
                "neff": round(depth.neff, 1),
                "neff_per_length": round(depth.neff_per_length, 3),
                "recommended": i == chosen,
                "reason": reason if i == chosen else "",
                "file": str(path),
            }
        )
    return pd.DataFrame(rows)


def _write(outputs: dict, thresholds: list[float], built: list[Built], chosen: int, table):
    texts = {outputs["alignment"]: built[chosen].a2m()}
    for bits, alignment in zip(thresholds, built, strict=True):
        if bits in outputs:
            texts[outputs[bits]] = alignment.a2m()
    for path, text in texts.items():
        with atomic_write(path) as temporary:
            temporary.write_text(text)
    write_table(table, outputs["depth"])


if __name__ == "__main__":
    sys.exit(main())
