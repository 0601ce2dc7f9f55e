"""Variants given as whole sequences (a FASTA of designs) instead of mutant strings.

Each record is compared with the focus sequence at the model's columns and becomes the mutant
string of its differences (``A42G:K50E``; ``WT`` when there are none), which is then mapped and
checked like any table's mutants. A record is read, by its length, as

1. aligned to the model's columns: one letter per focus column (``L`` letters);
2. the focus record's span: the letters of ``/START-END`` in its header, numbered from ``START``;
3. the whole protein, numbered from 1 (UniProt numbering, as mutant strings are): at least up to
   the last focus position.

Letters outside the focus columns are not seen by the model, so differences there do not count.
A gap (``-`` or ``.``) or any other sign at a focus column makes its record unscoreable (a letter
outside the alphabet): a deletion is not a substitution.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError
from .fasta import name_and_region, read_records
from .mutations import LETTER_OUTSIDE_ALPHABET, MutationSet

_LETTER = re.compile(r"[A-Z*]")  # what a mutant string can name


def from_sequences(path: str | Path, focus: Any) -> MutationSet:
    """The mutants that the sequences of a FASTA file are, with each record's name in ``name``.

    ``focus`` is an :class:`~pyro_deepseq.data.alignment.Alignment` or a checkpoint's
    :class:`~pyro_deepseq.inference.checkpoint.Focus`.

    Raises
    ------
    DataError
        If the file is not FASTA, or a record's length fits none of the three readings (naming
        the file, line and record).
    """
    path = Path(path)
    reading = _Reading(focus)
    names, mutants, problems = [], [], []
    for record in read_records(path):
        letters = reading(path, record)
        sites = list(zip(focus.focus_sequence, reading.positions, letters, strict=True))
        names.append(record.header)
        unreadable = [f"{c!r} at position {p}" for _, p, c in sites if not _LETTER.fullmatch(c)]
        problems.append(unreadable[0] if unreadable else None)
        mutants.append(":".join(f"{w}{p}{c}" for w, p, c in sites if c != w) or "WT")
    kept = np.array([i for i, problem in enumerate(problems) if problem is None], dtype=np.int64)
    mapped = MutationSet.from_mutants([mutants[i] for i in kept], focus)
    for frame in (mapped.scoreable, mapped.unscoreable):
        frame["row"] = kept[frame["row"].to_numpy()]
    deletions = pd.DataFrame(
        [
            (row, mutants[row], LETTER_OUTSIDE_ALPHABET, problem)
            for row, problem in enumerate(problems)
            if problem is not None
        ],
        columns=["row", "mutant", "reason", "detail"],
    )
    unscoreable = pd.concat([mapped.unscoreable, deletions]).sort_values("row", kind="stable")
    unscoreable = unscoreable.reset_index(drop=True).astype({"row": np.int64})
    for frame in (mapped.scoreable, unscoreable):
        frame.insert(0, "name", [names[row] for row in frame["row"]])
    return MutationSet(mapped.scoreable, mapped.codes, unscoreable, mapped.focus_name, path)


class _Reading:
    """A record's letters at the focus columns, upper case, by the reading its length implies."""

    def __init__(self, focus: Any):
        self.positions = np.asarray(focus.positions)
        _, region = name_and_region(focus.focus_name)
        self.region = f"{region[0]}-{region[1]}" if region else None
        self.first = region[0] if region else 1
        self.span = region[1] - self.first + 1 if region else None

    def __call__(self, path: Path, record) -> list[str]:
        try:
            sequence = record.sequence.decode("ascii").upper()
        except UnicodeDecodeError:
            raise DataError(f"{path}, line {record.line}: {record.header!r} is not ASCII") from None
        positions = self.positions
        if len(sequence) == len(positions):
            return list(sequence)
        if len(sequence) == self.span:
            return [sequence[p - self.first] for p in positions]
        if len(sequence) >= positions[-1]:
            return [sequence[p - 1] for p in positions]
        expected = f"{len(positions)} (one per focus column)"
        if self.span is not None:
            expected += f", {self.span} (the focus record's span {self.region})"
        raise DataError(
            f"{path}, line {record.line}: {record.header!r} has {len(sequence)} letters; "
            f"expected {expected}, or at least {positions[-1]} (the whole protein, numbered "
            "from 1)"
        )
