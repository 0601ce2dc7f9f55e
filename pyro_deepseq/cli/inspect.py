"""``deepseq inspect``: what a user should know about an alignment before training.

Reads the alignment as training would, reports records read, sequences kept and dropped by reason,
focus columns and their UniProt positions, Neff and the seconds taken; optionally maps a DMS table
(scoreable and unscoreable mutants by reason, and the site-independent model's Spearman ρ, the floor
a VAE must beat) and saves the sequence weights.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.alignment import ALPHABETS, Alignment
from ..data.diagnostics import warn_alignment, warn_mutations
from ..data.mutations import MutationSet
from ..errors import DataError
from ..evaluation.metrics import spearman
from ..inference.presets import DEEP, SPARSE, VARIED
from ..models.independent import SiteIndependentModel
from ..utils.cli import run
from ..utils.files import atomic_write


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepseq inspect",
        description="Summarise an alignment (and optionally a DMS table) before training.",
    )
    parser.add_argument("alignment", help="a2m, a3m or aligned FASTA file")
    parser.add_argument("--theta", type=float, default=0.2, help="identity cut-off (default 0.2)")
    parser.add_argument("--alphabet", choices=sorted(ALPHABETS), default="protein")
    parser.add_argument("--focus", help="focus record's name (default: the first record)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (for the weights)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--weights-out", type=Path, help="save weights (.csv or .npy)")
    parser.add_argument("--force", action="store_true", help="overwrite --weights-out")
    parser.add_argument("--mutations", type=Path, help="DMS table (.csv, .tsv, .xlsx)")
    parser.add_argument("--mutant-column", default="mutant")
    parser.add_argument("--score-column", help="measured fitness column (default DMS_score)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run(_inspect, argv)


def _inspect(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    if args.weights_out is not None and args.weights_out.exists() and not args.force:
        raise DataError(f"{args.weights_out} exists; pass --force to overwrite it")
    started = time.perf_counter()
    alignment = Alignment.from_file(
        args.alignment, args.theta, args.alphabet, args.focus, args.device
    )
    warn_alignment(alignment)
    report = alignment.summary()
    report["neff_per_column"] = round(report["neff"] / report["num_positions"], 3)
    report["site_entropy"] = round(SiteIndependentModel.fit(alignment).entropy(), 3)
    if args.mutations is not None:
        report.update(_mutation_report(alignment, args))
    if args.weights_out is not None:
        _save_weights(alignment, args.weights_out)
        report["weights_out"] = str(args.weights_out)
    report["seconds"] = round(time.perf_counter() - started, 3)
    print(json.dumps(report, indent=2) if args.json else _format(report, alignment))
    return 0


def _mutation_report(alignment: Alignment, args: argparse.Namespace) -> dict:
    mutations = MutationSet.from_table(
        args.mutations, alignment, args.mutant_column, args.score_column
    )
    warn_mutations(mutations, args.mutations)
    report = {
        "mutations": str(args.mutations),
        "score_column": mutations.score_column,
        "num_mutants": mutations.num_mutants,
        "num_scoreable": mutations.num_scoreable,
        "unscoreable": mutations.counts_by_reason(),
    }
    if mutations.score_column is not None:
        model = SiteIndependentModel.fit(alignment)
        predicted = model.delta(mutations.codes, alignment.focus_codes)
        rho = spearman(mutations.scoreable["score"], predicted)
        report["site_independent_spearman"] = round(float(rho), 4)
    return report


def _save_weights(alignment: Alignment, path: Path) -> None:
    with atomic_write(path) as temporary:
        if path.suffix == ".npy":
            with open(temporary, "wb") as handle:
                np.save(handle, alignment.weights)
        else:
            table = pd.DataFrame({"header": alignment.headers, "weight": alignment.weights})
            sep = "\t" if path.suffix in (".tsv", ".tab") else ","
            table.to_csv(temporary, index=False, sep=sep)


def _format(report: dict, alignment: Alignment) -> str:
    dropped = ", ".join(f"{reason}: {n:,}" for reason, n in report["dropped_by_reason"].items())
    lines = [
        ("alignment", report["path"]),
        ("focus", f"{report['focus']} ({len(alignment.alphabet)} letters: {alignment.alphabet})"),
        ("records read", f"{report['num_records']:,}"),
        ("sequences kept", f"{report['num_sequences']:,}"),
        (
            "dropped",
            f"{report['num_dropped']:,}" + (f" ({dropped})" if report["num_dropped"] else ""),
        ),
        ("focus columns", f"{report['num_positions']} (positions {_positions(alignment)})"),
        ("Neff", f"{report['neff']:,.1f} (theta {report['theta']})"),
        ("Neff/L", f"{report['neff_per_column']:.2f} (below 1: shallow)"),
        (
            "site entropy",
            f"{report['site_entropy']:.2f} nats per column (fit's default trains the VAE from "
            f"Neff/L {DEEP:g} and {VARIED:g} nat, without group sparsity below Neff/L {SPARSE:g}; "
            "below either, the site-independent model)",
        ),
    ]
    if "num_mutants" in report:
        unscoreable = "; ".join(f"{n:,} {reason}" for reason, n in report["unscoreable"].items())
        lines.append(("mutants", f"{report['num_mutants']:,} in {report['mutations']}"))
        lines.append(
            (
                "scoreable",
                f"{report['num_scoreable']:,}"
                + (f" (unscoreable: {unscoreable})" if unscoreable else ""),
            )
        )
    if "site_independent_spearman" in report:
        lines.append(
            (
                "site-independent ρ",
                f"{report['site_independent_spearman']:.3f} "
                f"(Spearman vs column {report['score_column']!r}; the floor for a VAE)",
            )
        )
    if "weights_out" in report:
        lines.append(("weights saved to", report["weights_out"]))
    lines.append(("seconds", f"{report['seconds']:.2f}"))
    return "\n".join(f"{key:<20}{value}" for key, value in lines)


def _positions(alignment: Alignment) -> str:
    first, last = int(alignment.positions[0]), int(alignment.positions[-1])
    missing = sorted(set(range(first, last + 1)) - set(alignment.positions.tolist()))
    if not missing:
        return f"{first}–{last}"
    shown = ", ".join(map(str, missing[:10])) + (" …" if len(missing) > 10 else "")
    return f"{first}–{last}, except {shown}"


if __name__ == "__main__":
    sys.exit(main())
