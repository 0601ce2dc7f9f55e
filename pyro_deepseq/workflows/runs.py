"""Run descriptions: the families a sweep trains and scores, read from a CSV.

The columns are described in :mod:`pyro_deepseq.cli.sweep`; ProteinGym's reference file becomes a
list of :class:`Family` too (:mod:`pyro_deepseq.workflows.proteingym`).
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import DataError

COLUMNS = (
    "name",
    "alignment",
    "mutations",
    "score_column",
    "mutant_column",
    "model",
    "preset",
    "seeds",
    "fit_args",
    "predict_args",
)
REQUIRED = ("name", "alignment")
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class Family:
    """One row of RUNS.csv, with absolute paths."""

    name: str
    alignment: str
    seeds: tuple[int, ...]
    mutations: str | None = None
    score_column: str | None = None
    mutant_column: str = "mutant"
    model: str | None = None
    preset: str | None = None
    fit_args: tuple[str, ...] = field(default=())
    predict_args: tuple[str, ...] = field(default=())
    #: Folder of the fitted models when several families share them (ProteinGym's assays of one
    #: MSA): ``DIR/<fit_name>/seed<k>``; None fits into the family's own folder.
    fit_name: str | None = None

    @property
    def fit_folder(self) -> str:
        """The folder under DIR that holds this family's fitted seeds."""
        return self.fit_name or self.name


def read_runs(path: str | Path) -> list[Family]:
    """The families of a run description; errors name the file and line."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: run description not found")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    unknown = sorted(set(table.columns) - set(COLUMNS))
    if unknown:
        raise DataError(f"{path}: unknown columns {unknown}; known: {', '.join(COLUMNS)}")
    missing = [column for column in REQUIRED if column not in table.columns]
    if missing:
        raise DataError(f"{path}: needs the columns {', '.join(missing)}")
    families = [_family(row, path, line) for line, row in enumerate(_rows(table), start=2)]
    names = [family.name for family in families]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise DataError(f"{path}: family names must be unique; repeated: {', '.join(repeated)}")
    if not families:
        raise DataError(f"{path}: no families in it")
    return families


def _rows(table: pd.DataFrame):
    for row in table.to_dict("records"):
        yield {key: value.strip() for key, value in row.items()}


def _family(row: dict, path: Path, line: int) -> Family:
    where = f"{path}, line {line}"
    for column in REQUIRED:
        if not row[column]:
            raise DataError(f"{where}: {column} is empty")
    if not SAFE_NAME.fullmatch(row["name"]):
        raise DataError(f"{where}: name {row['name']!r} must be letters, digits, '.', '_' or '-'")
    try:
        seeds = tuple(int(seed) for seed in (row.get("seeds") or "0").replace(",", " ").split())
        fit_args, predict_args = (shlex.split(row.get(k, "")) for k in ("fit_args", "predict_args"))
    except ValueError as error:
        raise DataError(f"{where}: {error}") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise DataError(f"{where}: seeds must be distinct whole numbers, got {row['seeds']!r}")
    folder = path.resolve().parent
    return Family(
        name=row["name"],
        alignment=os.path.normpath(folder / row["alignment"]),
        seeds=seeds,
        mutations=os.path.normpath(folder / row["mutations"]) if row.get("mutations") else None,
        score_column=row.get("score_column") or None,
        mutant_column=row.get("mutant_column") or "mutant",
        model=row.get("model") or None,
        preset=row.get("preset") or None,
        fit_args=tuple(fit_args),
        predict_args=tuple(predict_args),
    )
