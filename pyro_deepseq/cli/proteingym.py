"""``python -m pyro_deepseq.cli.proteingym evaluate|compare``: rerun the benchmark's last steps.

The workflow itself (the reference file in, ProteinGym's score files, metrics and leaderboard out)
is :mod:`pyro_deepseq.workflows.proteingym`; ``sweep --proteingym`` runs all of it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..utils.cli import run
from ..workflows.proteingym import BASELINES, evaluate, read_reference, write_comparison


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deepseq proteingym", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    commands = parser.add_subparsers(dest="command", required=True)
    evaluate_ = commands.add_parser(
        "evaluate", help="score files, metrics and summary again from a finished OUT"
    )
    evaluate_.add_argument("reference", type=Path, help="ProteinGym's reference file")
    evaluate_.add_argument("--dms-dir", type=Path, required=True, help="folder of the DMS files")
    evaluate_.add_argument("--out", type=Path, required=True, help="the sweep's --out")
    evaluate_.add_argument("--only", nargs="+", help="these DMS ids only")
    compare_ = commands.add_parser("compare", help="our rank on ProteinGym's published tables")
    compare_.add_argument("metrics", type=Path, help="OUT/proteingym_metrics.csv")
    compare_.add_argument(
        "published", type=Path, nargs="+", help="DMS_substitutions_<Metric>_DMS_level.csv"
    )
    compare_.add_argument("--baselines", nargs="+", default=list(BASELINES))
    compare_.add_argument("--out", type=Path, help="folder of the tables (default: the metrics')")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, argv)


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "compare":
        folder = args.out or args.metrics.parent
        write_comparison(args.metrics, args.published, folder, args.baselines)
        return 0
    reference = read_reference(args.reference, args.only)
    problems = _problems_from(args.out)
    evaluate(reference, args.dms_dir, args.out, problems=problems)
    return 0 if not problems else 1


def _problems_from(out: Path) -> dict:
    """Assays a previous run found missing or unmappable (from proteingym_assays.csv)."""
    path = out / "proteingym_assays.csv"
    if not path.is_file():
        return {}
    table = pd.read_csv(path)
    early = table[table["status"].isin(["missing"])]
    return {r.DMS_id: (r.status, r.error) for r in early.itertuples()}


if __name__ == "__main__":
    sys.exit(main())
