"""Run descriptions: the families a sweep trains and scores, read from a CSV.

The columns are described in :mod:`pyro_deepseq.cli.sweep`; ProteinGym's reference file becomes a
list of :class:`Family` too (:mod:`pyro_deepseq.workflows.proteingym`).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import DataError
from ..inference.settings import add_setting_flags
from ..scoring.options import add_scoring_flags

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
    #: ``model``, ``preset`` and ``fit_args`` as ``DeepSequence`` settings, sorted (hashable).
    settings: tuple = field(init=False, repr=False)
    #: ``predict_args`` as ``ScoringOptions`` fields, sorted.
    scoring: tuple = field(init=False, repr=False)

    def __post_init__(self):
        asked = {k: v for k, v in (("model", self.model), ("preset", self.preset)) if v}
        settings = {**asked, **_parsed(FIT_FLAGS, self.fit_args, "fit_args")}
        scoring = _parsed(PREDICT_FLAGS, self.predict_args, "predict_args")
        object.__setattr__(self, "settings", tuple(sorted(settings.items())))
        object.__setattr__(self, "scoring", tuple(sorted(scoring.items())))

    @property
    def fit_folder(self) -> str:
        """The folder under DIR that holds this family's fitted seeds."""
        return self.fit_name or self.name


def _flags(kind: str) -> argparse.ArgumentParser:
    """The flags a sweep takes in ``fit_args`` or ``predict_args``: ``fit``'s settings (and
    ``--model``, ``--preset``), or ``predict``'s scoring options. ``--no-plots`` and ``--quiet``
    are accepted and change nothing: a sweep draws no figures and shows no progress bars."""
    parser = argparse.ArgumentParser(prog=kind, add_help=False, exit_on_error=False)
    if kind == "fit_args":
        parser.add_argument("--model", default=argparse.SUPPRESS)
        parser.add_argument("--preset", default=argparse.SUPPRESS)
        add_setting_flags(parser, {})
    else:
        add_scoring_flags(parser)
    for flag in ("--no-plots", "--quiet", "--force"):
        parser.add_argument(flag, action="store_true", dest="ignored")
    return parser


def _parsed(parser: argparse.ArgumentParser, argv, column: str) -> dict:
    """The settings ``argv`` gives; a flag the column does not take is a DataError."""
    try:
        parsed, unknown = parser.parse_known_args(list(argv))
    except argparse.ArgumentError as error:
        raise DataError(f"{column}: {error}") from None
    if unknown:
        raise DataError(f"{column}: {' '.join(unknown)} is not a flag a sweep takes here")
    given = {k: v for k, v in vars(parsed).items() if k != "ignored"}
    return {k: tuple(v) if isinstance(v, list) else v for k, v in given.items()}


FIT_FLAGS, PREDICT_FLAGS = _flags("fit_args"), _flags("predict_args")


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
    try:
        return _new_family(row, folder, seeds, fit_args, predict_args)
    except DataError as error:
        raise DataError(f"{where}: {error}") from None


def _new_family(row: dict, folder: Path, seeds, fit_args, predict_args) -> Family:
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
