"""``deepseq embed``: every sequence's latent coordinates, and their picture.

Writes one row per sequence (its header, the encoder's mean ``z1 …`` and sd ``sd_z1 …`` of the
latent variable, its weight, and its label with ``--labels``) as CSV or NPZ, and the latent space
in 2-D as a PNG (PCA; UMAP with ``--method umap`` when umap-learn is installed). Existing files
are never overwritten without ``--force``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .. import plots
from ..api import DeepSequence
from ..data.fasta import read_sequence_labels
from ..errors import DataError
from ..utils.cli import run
from ..utils.files import atomic_write

FORMATS = (".csv", ".npz")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deepseq embed", description=__doc__)
    parser.add_argument("--checkpoint", type=Path, required=True, help="DIR/model.pt or DIR")
    parser.add_argument(
        "--sequences", type=Path, help="aligned file with the model's columns (default: training)"
    )
    parser.add_argument("--labels", type=Path, help="'header: label' lines (colours, a column)")
    parser.add_argument("--method", choices=("pca", "umap"), default="pca", help="2-D projection")
    parser.add_argument(
        "--out", type=Path, help=".csv or .npz (default: latent.csv next to the checkpoint)"
    )
    parser.add_argument("--force", action="store_true", help="overwrite existing outputs")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run(_embed, argv)


def _embed(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    model = DeepSequence.load(args.checkpoint)
    out = args.out or model.out / "latent.csv"
    if out.suffix.lower() not in FORMATS:
        raise DataError(f"{out}: write .csv or .npz")
    figure = None if args.no_plots else out.with_suffix(".png")
    for path in (out, figure):
        if path is not None and path.exists() and not args.force:
            raise DataError(f"{path} exists; pass --force to overwrite it")
    table = model.embed(args.sequences)
    labels = read_sequence_labels(args.labels, list(table.index)) if args.labels else None
    if labels is not None:
        table["label"] = labels
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(out) as temporary:
        if out.suffix.lower() == ".npz":
            columns = {name: table[name].to_numpy() for name in table.columns}
            with open(temporary, "wb") as handle:
                np.savez(handle, sequence=table.index.to_numpy(dtype=str), **columns)
        else:
            table.to_csv(temporary)
    print(f"wrote the latent coordinates of {len(table):,} sequences to {out}")
    if figure is not None:
        means = table.filter(regex=r"^z\d+$").to_numpy()
        weights = None if labels is not None else table["weight"].to_numpy()
        drawing = plots.latent_space(means, labels, weights, args.method)
        print(f"wrote {plots.save(drawing, figure)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
