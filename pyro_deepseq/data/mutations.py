"""Mutant strings, deep-mutational-scanning (DMS) tables, and their mapping onto a focus sequence.

Mutants are written in ProteinGym notation with UniProt numbering: ``A42G`` (wild-type letter,
position, mutant letter), multi-mutants joined by ``:`` (``A42G:K50E``), and ``WT``, ``_wt`` or an
empty cell for the unmutated sequence (its Δ is 0 by definition).

The original DeepSequence silently drops mutants it cannot score, so its correlations are computed
on an unstated subset. Here every row of a table ends up either in ``MutationSet.scoreable`` or
in ``MutationSet.unscoreable`` with one of the fixed reasons below. A mutant gets the first
reason that applies to any of its substitutions, checked in this order (each check assumes the
earlier ones passed, e.g. the wild type can only be compared at a focus column):

1. ``POSITION_NOT_FOCUS`` -- the position is outside the focus positions, or inside them at a
   lower-case letter or a gap of the focus row;
2. ``WILD_TYPE_MISMATCH`` -- the wild-type letter differs from the focus sequence there;
3. ``LETTER_OUTSIDE_ALPHABET`` -- the mutant letter (``X``, ``*``, ...) is not in the alphabet;
4. ``SYNONYMOUS`` -- a substitution does not change its letter;
5. ``REPEATED_POSITION`` -- one multi-mutant changes the same position twice;
6. ``MISSING_SCORE`` -- the mutant maps, but its measured score is empty or ``NA``.

A string that does not parse at all is not a reason but an error: it means a malformed table. So
is a table of which no row can be scored; one in which most mutants at focus positions have the
wrong wild type gets a [`DataWarning`][pyro_deepseq.DataWarning] (a shifted numbering still matches
~1 in 20 by chance).
"""

from __future__ import annotations

import re
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, DataWarning

POSITION_NOT_FOCUS = "position not a focus column"
WILD_TYPE_MISMATCH = "wild-type mismatch"
LETTER_OUTSIDE_ALPHABET = "letter outside the alphabet"
SYNONYMOUS = "synonymous"
REPEATED_POSITION = "repeated position"
MISSING_SCORE = "missing score"
#: Every reason a row can be unscoreable, in the order they are checked.
REASONS = (
    POSITION_NOT_FOCUS,
    WILD_TYPE_MISMATCH,
    LETTER_OUTSIDE_ALPHABET,
    SYNONYMOUS,
    REPEATED_POSITION,
    MISSING_SCORE,
)

#: Column read as the score when ``score_column`` is not given (ProteinGym's name).
DEFAULT_SCORE_COLUMN = "DMS_score"
#: Mutant strings (compared case-insensitively, after stripping) that denote the wild type.
WILD_TYPE_NAMES = frozenset({"", "wt", "_wt"})
#: Score cells (compared case-insensitively, after stripping) that mean "not measured".
MISSING_SCORE_MARKERS = frozenset({"", "na", "n/a", "nan", "null", "none", "#n/a", "<na>"})

_SUBSTITUTION = re.compile(r"([A-Z*])([0-9]+)([A-Z*])")
_TEXT_SEPARATORS = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".txt": "\t"}
_EXCEL_SUFFIXES = frozenset({".xlsx", ".xls"})
# ValueError covers pandas parser errors and undecodable text; BadZipFile a corrupt .xlsx.
_UNREADABLE = (ValueError, zipfile.BadZipFile, OSError)


@dataclass(frozen=True)
class Substitution:
    """One letter change: ``wild_type`` at UniProt ``position`` becomes ``mutant``."""

    wild_type: str
    position: int
    mutant: str

    def __str__(self) -> str:
        return f"{self.wild_type}{self.position}{self.mutant}"


class UnscoreableMutant(DataError):
    """A mutant that parses but cannot be placed on the alignment's focus sequence.

    Attributes
    ----------
    mutant, reason, detail : str
        The mutant as written, one of ``REASONS``, and what exactly is wrong.
    """

    def __init__(self, mutant: str, reason: str, detail: str):
        super().__init__(f"mutant {mutant!r}: {reason} ({detail})")
        self.mutant, self.reason, self.detail = mutant, reason, detail


def parse_mutant(text: str) -> tuple[Substitution, ...]:
    """Parse ``A42G`` or ``A42G:K50E`` into substitutions; the wild type gives ``()``.

    Letters are upper case; letters outside the alignment's alphabet (``X``, ``*``) parse, so that
    they are reported as unscoreable rather than failing the whole table.

    Raises
    ------
    DataError
        If ``text`` is not a string or any ``:``-separated part is not letter-number-letter.
    """
    if not isinstance(text, str):
        raise DataError(f"mutant {text!r} is not a string")
    stripped = text.strip()
    if stripped.lower() in WILD_TYPE_NAMES:
        return ()
    substitutions = []
    for part in stripped.split(":"):
        match = _SUBSTITUTION.fullmatch(part.strip())
        if match is None:
            raise DataError(
                f"cannot parse mutant {text!r}: {part.strip()!r} is not of the form A42G "
                "(upper-case wild-type letter, position, mutant letter; multi-mutants joined "
                "by ':'; WT for the wild type)"
            )
        wild_type, position, mutant = match.groups()
        substitutions.append(Substitution(wild_type, int(position), mutant))
    return tuple(substitutions)


class _Focus:
    """Look-ups from UniProt positions and letters to focus columns and codes of one alignment.

    Built once per table so that checking a row costs a few dictionary look-ups.
    """

    def __init__(self, alignment: Any):
        positions = np.asarray(alignment.positions, dtype=np.int64)
        self.name = alignment.focus_name
        self.alphabet = alignment.alphabet
        self.sequence = alignment.focus_sequence
        self.codes = np.asarray(alignment.focus_codes, dtype=np.uint8)
        self.column_of = {int(p): column for column, p in enumerate(positions)}
        self.code_of = {letter: code for code, letter in enumerate(self.alphabet)}
        self.span = (int(positions.min()), int(positions.max())) if positions.size else (0, -1)

    def problem(self, substitutions: Sequence[Substitution]) -> tuple[str, str] | None:
        """Return ``(reason, detail)`` for the first failed check (module docstring), or None."""
        for check in (self._position, self._wild_type, self._letter, self._synonymous):
            for substitution in substitutions:
                detail = check(substitution)
                if detail is not None:
                    return detail
        return self._repeated(substitutions)

    def sites(self, substitutions: Sequence[Substitution]) -> list[tuple[int, int]]:
        """Return ``(focus column, letter code)`` per substitution, once
        [`problem`][pyro_deepseq.MutationSet.problem] passed."""
        return [(self.column_of[s.position], self.code_of[s.mutant]) for s in substitutions]

    def _position(self, s: Substitution) -> tuple[str, str] | None:
        if s.position in self.column_of:
            return None
        first, last = self.span
        if first <= s.position <= last:
            where = f"lies within the focus positions {first}-{last} but is lower case or a gap"
        else:
            where = f"is outside the focus positions {first}-{last}"
        return POSITION_NOT_FOCUS, f"position {s.position} {where} in {self.name!r}"

    def _wild_type(self, s: Substitution) -> tuple[str, str] | None:
        expected = self.sequence[self.column_of[s.position]]
        if expected == s.wild_type:
            return None
        return WILD_TYPE_MISMATCH, (
            f"expected {expected} at position {s.position} (focus sequence), given {s.wild_type}"
        )

    def _letter(self, s: Substitution) -> tuple[str, str] | None:
        if s.mutant in self.code_of:
            return None
        return LETTER_OUTSIDE_ALPHABET, f"{s.mutant!r} is not in the alphabet {self.alphabet}"

    def _synonymous(self, s: Substitution) -> tuple[str, str] | None:
        if s.wild_type != s.mutant:
            return None
        return SYNONYMOUS, f"{s} does not change the sequence"

    def _repeated(self, substitutions: Sequence[Substitution]) -> tuple[str, str] | None:
        counts = Counter(s.position for s in substitutions)
        for position, count in counts.items():
            if count > 1:
                return REPEATED_POSITION, f"position {position} is changed {count} times"
        return None


def locate_mutant(
    mutant: str | Sequence[Substitution], alignment: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Place one mutant on ``alignment``'s focus sequence.

    Returns
    -------
    columns : np.ndarray
        (k,) int64 focus-column index of each substitution (``()`` for the wild type: k = 0).
    codes : np.ndarray
        (k,) uint8 code of each mutant letter (its index in ``alignment.alphabet``).

    Raises
    ------
    DataError
        If ``mutant`` does not parse; ``UnscoreableMutant`` (a DataError carrying the reason)
        if it cannot be scored on this alignment.
    """
    substitutions = parse_mutant(mutant) if isinstance(mutant, str) else tuple(mutant)
    focus = _Focus(alignment)
    problem = focus.problem(substitutions)
    if problem is not None:
        written = mutant if isinstance(mutant, str) else ":".join(map(str, substitutions))
        raise UnscoreableMutant(written, *problem)
    sites = np.array(focus.sites(substitutions), dtype=np.int64).reshape(-1, 2)
    return sites[:, 0], sites[:, 1].astype(np.uint8)


def read_dms(
    path: str | Path, mutant_column: str = "mutant", score_column: str | None = None
) -> pd.DataFrame:
    """Read a DMS table (``.csv``; ``.tsv``/``.tab``/``.txt`` tab-separated; ``.xlsx``/``.xls``).

    Every cell is read as text, so no mutant is ever turned into NaN and a score column named
    ``2500`` is found as ``"2500"``. Blank lines are skipped.

    Parameters
    ----------
    score_column
        Column of measured fitness; None means ``DEFAULT_SCORE_COLUMN`` if present, else no
        scores (a table of variants to predict).

    Returns
    -------
    pd.DataFrame
        Columns ``row`` (the line number a user sees in a text file, or the spreadsheet row; the
        header is line 1; assumes no quoted line breaks), ``mutant`` (stripped text) and, when a
        score column is used, ``score`` (float, NaN where missing). ``attrs["score_column"]``
        holds the name of the score column read, or None.

    Raises
    ------
    DataError
        Naming the file and the line and column at fault: missing or empty file, unsupported
        extension, missing mutant or score column, a score that is present but not a finite number.
    """
    path = Path(path)
    raw, label = _read_cells(path)
    if mutant_column not in raw.columns:
        raise DataError(
            f"{path}: no mutant column {mutant_column!r}; the columns are {list(raw.columns)}"
        )
    score_name = _score_column_name(path, raw.columns, score_column)
    table = pd.DataFrame({"row": raw.index + 2, "mutant": raw[mutant_column].str.strip()})
    if score_name is not None:
        table["score"] = _parse_scores(raw[score_name], f"{path}, {label}", score_name)
    table = table.reset_index(drop=True)
    table.attrs["score_column"] = score_name
    return table


def _read_cells(path: Path) -> tuple[pd.DataFrame, str]:
    """Read every cell as text with data row i at index i (blank rows dropped, not renumbered).

    Returns the cells and what a row is called in messages: ``"line"`` or (spreadsheets) ``"row"``.
    """
    if not path.is_file():
        raise DataError(f"{path}: DMS table not found")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: empty file")
    suffix = path.suffix.lower()
    if suffix not in _TEXT_SEPARATORS and suffix not in _EXCEL_SUFFIXES:
        supported = sorted(_TEXT_SEPARATORS) + sorted(_EXCEL_SUFFIXES)
        raise DataError(f"{path}: unknown table extension {suffix!r}; use one of {supported}")
    try:
        if suffix in _EXCEL_SUFFIXES:
            raw = pd.read_excel(path, dtype=str, na_filter=False)
        else:
            separator = _TEXT_SEPARATORS[suffix]
            raw = pd.read_csv(
                path, sep=separator, dtype=str, na_filter=False, skip_blank_lines=False
            )
    except pd.errors.EmptyDataError as err:
        raise DataError(f"{path}: empty file (no header line)") from err
    except ImportError as err:
        raise DataError(f"{path}: cannot read {suffix} files here ({err}); save as .xlsx") from err
    except _UNREADABLE as err:
        raise DataError(f"{path}: cannot be read as a {suffix} table: {err}") from err
    raw.columns = [str(name) for name in raw.columns]
    raw = raw[~(raw == "").all(axis=1)]
    if raw.empty:
        raise DataError(f"{path}: the table has a header but no data rows")
    return raw, _row_label(path)


def _row_label(path: Path) -> str:
    """What a user calls a row of this file: a spreadsheet ``row`` or a text ``line``."""
    return "row" if path.suffix.lower() in _EXCEL_SUFFIXES else "line"


def _score_column_name(path: Path, columns: pd.Index, score_column: str | None) -> str | None:
    """Resolve the score column: the one asked for, else ``DMS_score`` if present, else None."""
    if score_column is None:
        return DEFAULT_SCORE_COLUMN if DEFAULT_SCORE_COLUMN in columns else None
    name = str(score_column)
    if name not in columns:
        raise DataError(f"{path}: no score column {name!r}; the columns are {list(columns)}")
    return name


def _parse_scores(cells: pd.Series, where: str, column: str) -> np.ndarray:
    """Convert score cells to float, NaN for ``MISSING_SCORE_MARKERS``; anything else fails.

    ``where`` is ``"<file>, line"``; a cell's index i names line i + 2.
    """
    text = cells.str.strip()
    missing = text.str.lower().isin(MISSING_SCORE_MARKERS)
    numbers = pd.to_numeric(text.where(~missing), errors="coerce").to_numpy(dtype=np.float64)
    bad = ~missing.to_numpy() & ~np.isfinite(numbers)
    if bad.any():
        first = int(np.argmax(bad))
        raise DataError(
            f"{where} {cells.index[first] + 2}, column {column!r}: score {cells.iloc[first]!r} "
            f"is not a finite number ({int(bad.sum())} such cells; leave a cell empty or write "
            "NA for a missing score)"
        )
    return numbers


class MutationSet:
    """The mutants of one table or list, split into scoreable and unscoreable rows.

    Build it with [`from_table`][pyro_deepseq.MutationSet.from_table] or
    [`from_mutants`][pyro_deepseq.MutationSet.from_mutants].

    Attributes
    ----------
    scoreable : pd.DataFrame
        Columns ``row``, ``mutant`` and, for tables with scores, ``score``; one row per scoreable
        mutant, in table order.
    codes : np.ndarray
        (num_scoreable, L) uint8 mutated focus sequences (alphabet codes), aligned with
        ``scoreable``.
    unscoreable : pd.DataFrame
        Columns ``row``, ``mutant``, ``reason`` (one of ``REASONS``) and ``detail``.
    source : Path or None
        The table read, or None for a list of mutants.
    score_column : str or None
        The table column the scores came from.
    focus_name : str
        The alignment's focus header, to tell which sequence the mutants were mapped onto.
    """

    def __init__(
        self,
        scoreable: pd.DataFrame,
        codes: np.ndarray,
        unscoreable: pd.DataFrame,
        focus_name: str,
        source: Path | None = None,
        score_column: str | None = None,
    ):
        self.scoreable = scoreable
        self.codes = codes
        self.unscoreable = unscoreable
        self.focus_name = focus_name
        self.source = source
        self.score_column = score_column

    @classmethod
    def from_table(
        cls,
        path: str | Path,
        alignment: Any,
        mutant_column: str = "mutant",
        score_column: str | None = None,
    ) -> MutationSet:
        """Read a DMS table with ``read_dms`` and map its mutants onto ``alignment``.

        Raises
        ------
        DataError
            For any problem ``read_dms`` reports, a mutant that does not parse (naming file,
            line and column), or a table in which no row can be scored.
        """
        path = Path(path)
        table = read_dms(path, mutant_column, score_column)
        label = _row_label(path)
        return cls._from_frame(
            table,
            alignment,
            where=lambda row: f"{path}, {label} {row}, column {mutant_column!r}",
            source=path,
            score_column=table.attrs["score_column"],
        )

    @classmethod
    def from_mutants(cls, mutants: Iterable[str], alignment: Any) -> MutationSet:
        """Map a plain list of mutant strings; ``row`` is each string's index in the list.

        Unlike a table, an empty list is allowed (and gives empty results).
        """
        mutants = list(mutants)
        table = pd.DataFrame({"row": np.arange(len(mutants), dtype=np.int64), "mutant": mutants})
        return cls._from_frame(table, alignment, where=lambda row: f"mutant list, item {row}")

    @classmethod
    def all_singles(cls, alignment: Any) -> MutationSet:
        """Every single substitution at every focus position: L × (K − 1) mutants."""
        positions = np.asarray(alignment.positions).tolist()
        mutants = [
            f"{wild}{position}{letter}"
            for wild, position in zip(alignment.focus_sequence, positions, strict=True)
            for letter in alignment.alphabet
            if letter != wild
        ]
        return cls.from_mutants(mutants, alignment)

    @classmethod
    def _from_frame(
        cls,
        table: pd.DataFrame,
        alignment: Any,
        where: Callable[[int], str],
        source: Path | None = None,
        score_column: str | None = None,
    ) -> MutationSet:
        """Split ``table`` (columns ``row``, ``mutant``[, ``score``]) into a
        [`MutationSet`][pyro_deepseq.MutationSet].

        ``where(row)`` names a row in error messages.
        """
        focus = _Focus(alignment)
        rows, mutants = table["row"].tolist(), table["mutant"].tolist()
        parsed = [_parse_at(text, where(row)) for row, text in zip(rows, mutants, strict=True)]
        problems = [focus.problem(substitutions) for substitutions in parsed]
        if "score" in table:
            missing = (MISSING_SCORE, f"no value in column {score_column!r}")
            for index in np.flatnonzero(np.isnan(table["score"].to_numpy())):
                problems[index] = problems[index] or missing
        ok = np.array([problem is None for problem in problems], dtype=bool)
        failed = [(rows[i], mutants[i], *problems[i]) for i in np.flatnonzero(~ok)]
        unscoreable = pd.DataFrame(failed, columns=["row", "mutant", "reason", "detail"])
        unscoreable = unscoreable.astype({"row": np.int64})
        if len(table) and not ok.any():
            raise _nothing_maps(focus, parsed, unscoreable, source, score_column)
        _warn_if_misnumbered(focus, unscoreable, len(table), source)
        scoreable = table[ok].reset_index(drop=True)
        codes = _mutated_codes(focus, [parsed[i] for i in np.flatnonzero(ok)])
        return cls(scoreable, codes, unscoreable, focus.name, source, score_column)

    @property
    def num_mutants(self) -> int:
        """Number of rows read, scoreable or not."""
        return len(self.scoreable) + len(self.unscoreable)

    @property
    def num_scoreable(self) -> int:
        """Number of rows that can be scored."""
        return len(self.scoreable)

    def counts_by_reason(self) -> dict[str, int]:
        """Number of unscoreable rows per reason, in the order of ``REASONS``, zeros omitted."""
        return _count_reasons(self.unscoreable)

    def __repr__(self) -> str:
        source = self.source.name if self.source is not None else "mutant list"
        return (
            f"MutationSet({source!r}, focus={self.focus_name!r}: {self.num_scoreable} of "
            f"{self.num_mutants} scoreable, unscoreable {self.counts_by_reason()})"
        )


def _parse_at(text: str, where: str) -> tuple[Substitution, ...]:
    """[`parse_mutant`][pyro_deepseq.parse_mutant], with the row's location prefixed to the
    error."""
    try:
        return parse_mutant(text)
    except DataError as err:
        raise DataError(f"{where}: {err}") from err


def _mutated_codes(focus: _Focus, mutants: list[tuple[Substitution, ...]]) -> np.ndarray:
    """Return (n, L) uint8 focus codes with each mutant's substitutions written in.

    One fancy-indexed assignment for all substitutions of all mutants, instead of a copy per row.
    """
    codes = np.tile(focus.codes, (len(mutants), 1))
    sites = [
        (row, column, letter)
        for row, substitutions in enumerate(mutants)
        for column, letter in focus.sites(substitutions)
    ]
    if sites:
        rows, columns, letters = np.array(sites, dtype=np.int64).T
        codes[rows, columns] = letters
    return codes


def _nothing_maps(
    focus: _Focus,
    parsed: list[tuple[Substitution, ...]],
    unscoreable: pd.DataFrame,
    source: Path | None,
    score_column: str | None,
) -> DataError:
    """Build the error for a table of which no row can be scored, with what to check first."""
    counts = _count_reasons(unscoreable)
    summary = ", ".join(f"{reason}: {count}" for reason, count in counts.items())
    positions = [s.position for substitutions in parsed for s in substitutions]
    span = f"{min(positions)}-{max(positions)}" if positions else "none"
    if set(counts) == {MISSING_SCORE}:
        hint = f"every score in column {score_column!r} is missing: is it the right column?"
    else:
        hint = "wrong numbering (UniProt positions expected) or a table for another protein?"
    first = unscoreable.iloc[0]
    return DataError(
        f"{source if source is not None else 'mutant list'}: none of the {len(parsed)} mutants "
        f"can be scored on focus {focus.name!r} (focus positions {focus.span[0]}-"
        f"{focus.span[1]}, {len(focus.codes)} columns; the mutants' positions span {span}). "
        f"Unscoreable by reason: {summary}. Check: {hint} Example: {first['mutant']!r} (row "
        f"{first['row']}): {first['reason']} ({first['detail']})."
    )


def _warn_if_misnumbered(
    focus: _Focus, unscoreable: pd.DataFrame, num_mutants: int, source: Path | None
) -> None:
    """Warn when most mutants at focus positions disagree with the focus about the wild type.

    With the right protein and numbering almost no wild type disagrees; with a shifted numbering or
    another protein about 1 in 20 still agrees by chance, so "something maps" alone proves little.
    """
    counts = _count_reasons(unscoreable)
    mismatched = counts.get(WILD_TYPE_MISMATCH, 0)
    at_focus = num_mutants - counts.get(POSITION_NOT_FOCUS, 0)
    if another_protein(mismatched, at_focus - mismatched):
        example = unscoreable[unscoreable["reason"] == WILD_TYPE_MISMATCH].iloc[0]
        warnings.warn(
            f"{source if source is not None else 'mutant list'}: {mismatched} of the {at_focus} "
            f"mutants at focus positions disagree with focus {focus.name!r} about the wild type "
            f"(e.g. {example['mutant']!r}: {example['detail']}): wrong numbering (UniProt "
            "positions expected) or a table for another protein?",
            DataWarning,
            stacklevel=4,
        )


def another_protein(mismatched: int, matched: int) -> bool:
    """Whether mutants look written for another protein or numbering: more of them name a wild
    type other than the focus sequence's than agree with it.

    The one rule of the table readers, the API and the label reader. With the right protein and
    numbering almost no wild type disagrees; with a shifted one about 19 in 20 do.
    """
    return mismatched > matched


def _count_reasons(unscoreable: pd.DataFrame) -> dict[str, int]:
    """Rows per reason, in the order of ``REASONS``, zeros omitted."""
    counts = unscoreable["reason"].value_counts()
    return {reason: int(counts[reason]) for reason in REASONS if reason in counts}
