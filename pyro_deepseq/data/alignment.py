"""Protein (or RNA/DNA) family alignments, read the way DeepSequence reads them.

- The focus sequence is the first record (or a named one). Focus columns are the columns where the
  focus row has an upper-case letter; a ``-`` in the focus row is not a focus column.
- Positions count the focus row's letters from START of its ``/START-END`` suffix (upper or lower
  case letters count, gaps do not); without a suffix START = 1.
- Every other row: ``.`` means ``-``, focus columns only, upper-cased. A row with a letter outside
  the alphabet in a focus column is dropped and counted.
- The family is stored as integer codes ``(N, L)`` uint8 (code ``K`` = gap), not a float one-hot.
"""

from __future__ import annotations

import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError, DataWarning
from .fasta import Record, name_and_region, read_records
from .weights import cached_sequence_weights

ALPHABETS = {"protein": "ACDEFGHIKLMNPQRSTVWY", "rna": "ACGU", "dna": "ACGT"}
INVALID_LETTER = "invalid letter in a focus column"
_INVALID = 255
_LOWER = bytes(range(ord("a"), ord("z") + 1))


class Alignment:
    """A family alignment at its focus columns, with sequence weights.

    Parameters
    ----------
    codes : np.ndarray, shape (N, L), uint8
        Letter codes into ``alphabet``; ``len(alphabet)`` is a gap.
    alphabet : str
        Name (``"protein"``, ``"rna"``, ``"dna"``) or the letters themselves.
    positions : np.ndarray, shape (L,)
        Position (UniProt numbering) of each focus column.
    focus_index : int
        Row of ``codes`` holding the focus sequence.
    headers : list of str, optional
        One per row.
    theta : float
        Identity cut-off of the sequence weights (0.2; 0.01 for viruses).
    """

    def __init__(
        self,
        codes,
        alphabet="protein",
        positions=None,
        focus_index=0,
        headers=None,
        theta=0.2,
        path=None,
        num_records=None,
        dropped=None,
        device="auto",
    ):
        self.alphabet = ALPHABETS.get(alphabet, alphabet)
        self.codes = np.ascontiguousarray(codes, dtype=np.uint8)
        if self.codes.ndim != 2 or not len(self.codes):
            raise DataError("an alignment needs at least one sequence of at least one column")
        length = self.codes.shape[1]
        self.positions = np.arange(1, length + 1) if positions is None else np.asarray(positions)
        self.focus_index = focus_index
        self.headers = headers or [f"seq{i}" for i in range(len(self.codes))]
        self.theta = _check_theta(theta)
        self.path = None if path is None else Path(path)
        self.num_records = len(self.codes) if num_records is None else num_records
        self.dropped = dict(dropped or {})
        self.device = device
        self._weights = None

    @classmethod
    def from_file(cls, path, theta=0.2, alphabet="protein", focus=None, device="auto"):
        """Read an a2m, a3m or aligned FASTA file.

        Parameters
        ----------
        path : str or Path
        theta : float
            Identity cut-off for the sequence weights.
        alphabet : {"protein", "rna", "dna"}
        focus : str, optional
            Header (or its first word, or its name before ``/``) of the focus record; default the
            first record.
        device : str
            Where the sequence weights are computed (``"auto"`` = CUDA when present).
        """
        if alphabet not in ALPHABETS:
            raise DataError(f"unknown alphabet {alphabet!r}: use one of {', '.join(ALPHABETS)}")
        _check_theta(theta)
        path = Path(path)
        records = list(read_records(path))
        _warn_duplicates(path, records)
        focus_index = _find_focus(path, records, focus)
        rows = _aligned_rows(path, records, focus_index)
        columns, positions = _focus_columns(path, records[focus_index], rows[focus_index])
        codes = _encode(rows[:, columns], ALPHABETS[alphabet])
        _check_focus_letters(
            path, records[focus_index], rows[focus_index, columns], positions, alphabet
        )
        keep = np.flatnonzero((codes != _INVALID).all(1))
        headers = [records[i].header for i in keep]
        return cls(
            codes[keep],
            alphabet,
            positions,
            int(np.searchsorted(keep, focus_index)),
            headers,
            theta,
            path,
            len(records),
            {INVALID_LETTER: len(records) - len(keep)},
            device,
        )

    # -- what a user looks at -------------------------------------------------------------------
    @property
    def gap_code(self) -> int:
        """Code of a gap: one past the last letter."""
        return len(self.alphabet)

    @property
    def focus_codes(self) -> np.ndarray:
        """Codes of the focus sequence, shape (L,)."""
        return self.codes[self.focus_index]

    @property
    def focus_name(self) -> str:
        return self.headers[self.focus_index]

    @property
    def focus_sequence(self) -> str:
        """The focus sequence at the focus columns, upper case."""
        return "".join(self.alphabet[c] for c in self.focus_codes)

    @property
    def num_sequences(self) -> int:
        return self.codes.shape[0]

    @property
    def num_positions(self) -> int:
        return self.codes.shape[1]

    @property
    def num_dropped(self) -> int:
        return sum(self.dropped.values())

    @property
    def weights(self) -> np.ndarray:
        """Sequence weights, shape (N,); computed on first use and cached on disk."""
        if self._weights is None:
            self._weights = cached_sequence_weights(
                self.codes, len(self.alphabet), self.theta, self.device
            )
        return self._weights

    @property
    def neff(self) -> float:
        """Effective number of sequences, the sum of the weights."""
        return float(self.weights.sum())

    def one_hot(self, index=None, dtype=torch.float32, device="cpu") -> torch.Tensor:
        """One-hot ``(n, L, K)`` of the rows ``index`` (default all); a gap is an all-zero row."""
        codes = torch.as_tensor(self.codes if index is None else self.codes[index], device=device)
        return torch.nn.functional.one_hot(codes.long(), self.gap_code + 1)[..., :-1].to(dtype)

    def summary(self) -> dict:
        """What a user needs to know before training, as plain JSON-ready values."""
        return {
            "path": None if self.path is None else str(self.path),
            "focus": self.focus_name,
            "alphabet": self.alphabet,
            "num_records": self.num_records,
            "num_sequences": self.num_sequences,
            "num_dropped": self.num_dropped,
            "dropped_by_reason": self.dropped,
            "num_positions": self.num_positions,
            "first_position": int(self.positions[0]),
            "last_position": int(self.positions[-1]),
            "theta": self.theta,
            "neff": self.neff,
        }

    def __repr__(self) -> str:
        neff = "not computed" if self._weights is None else f"{self.neff:.1f}"
        return (
            f"Alignment({self.focus_name!r}: {self.num_sequences:,} sequences × "
            f"{self.num_positions} positions ({self.positions[0]}–{self.positions[-1]}), "
            f"{self.num_dropped:,} dropped, alphabet {self.alphabet}, θ={self.theta}, Neff {neff})"
        )


def _check_theta(theta: float) -> float:
    if not 0.0 < float(theta) < 1.0:
        raise DataError(f"theta must lie strictly between 0 and 1, got {theta}")
    return float(theta)


def _warn_duplicates(path: Path, records: list[Record]) -> None:
    counts = Counter(r.header for r in records)
    repeated = [h for h, n in counts.items() if n > 1]
    if repeated:
        warnings.warn(
            f"{path}: {len(repeated)} header(s) occur more than once (e.g. {repeated[0]!r}); "
            "every record is kept as a separate sequence",
            DataWarning,
            stacklevel=3,
        )


def _find_focus(path: Path, records: list[Record], focus: str | None) -> int:
    if focus is None:
        return 0
    for i, record in enumerate(records):
        word = record.header.split()[0] if record.header else ""
        if focus in (record.header, word, word.split("/")[0]):
            return i
    raise DataError(f"{path}: no record is named {focus!r} (first record: {records[0].header!r})")


def _aligned_rows(path: Path, records: list[Record], focus_index: int) -> np.ndarray:
    """Stack the rows as a (N, C) byte array; a3m rows lose their insertions (lower case, '.')."""
    sequences = [r.sequence for r in records]
    width = len(sequences[focus_index])
    if any(len(s) != width for s in sequences) or path.suffix.lower() == ".a3m":
        sequences = [s.translate(None, _LOWER + b".") for s in sequences]
        width = len(sequences[focus_index])
        bad = next((r for r, s in zip(records, sequences, strict=True) if len(s) != width), None)
        if bad is not None:
            raw = len(records[focus_index].sequence)
            raise DataError(
                f"{path}, line {bad.line}: record {bad.header!r} has aligned length "
                f"{len(bad.sequence)} ({len(bad.sequence.translate(None, _LOWER + b'.'))} "
                f"match columns), but the focus has {raw} ({width} match columns)"
            )
    return np.frombuffer(b"".join(sequences), dtype=np.uint8).reshape(len(sequences), width)


def _focus_columns(path: Path, focus: Record, row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Focus columns (upper-case letters of the focus's aligned ``row``) and their positions.

    Positions count every letter of the raw focus record, so a3m insertions are numbered too.
    """
    raw = np.frombuffer(focus.sequence, dtype=np.uint8)
    is_letter = _is_letter(raw)
    upper = (raw >= ord("A")) & (raw <= ord("Z"))
    if not upper.any():
        raise DataError(
            f"{path}, line {focus.line}: the focus record {focus.header!r} has no upper-case "
            "letter, so it has no focus columns"
        )
    start = _region_start(path, focus, int(is_letter.sum()))
    positions = start + np.cumsum(is_letter)[upper] - 1
    columns = np.flatnonzero((row >= ord("A")) & (row <= ord("Z")))
    return columns, positions


def _is_letter(raw: np.ndarray) -> np.ndarray:
    return ((raw >= ord("A")) & (raw <= ord("Z"))) | ((raw >= ord("a")) & (raw <= ord("z")))


def _region_start(path: Path, focus: Record, num_letters: int) -> int:
    """START of the focus header's ``/START-END``, checked against the focus row's letters."""
    _, region = name_and_region(focus.header)
    if region is None:
        warnings.warn(
            f"{path}: the focus header {focus.header!r} has no /START-END; numbering its "
            "residues from 1",
            DataWarning,
            stacklevel=4,
        )
        return 1
    start, end = region
    if end - start + 1 != num_letters:
        raise DataError(
            f"{path}, line {focus.line}: the focus header says /{start}-{end} "
            f"({end - start + 1} residues), but its row has {num_letters} letters"
        )
    return start


def _encode(rows: np.ndarray, letters: str) -> np.ndarray:
    """Map bytes to codes: letters (either case) → index, '-' and '.' → gap, others → invalid."""
    table = np.full(256, _INVALID, dtype=np.uint8)
    for code, letter in enumerate(letters):
        table[ord(letter)] = table[ord(letter.lower())] = code
    table[ord("-")] = table[ord(".")] = len(letters)
    return table[rows]


def _check_focus_letters(path, focus, letters, positions, alphabet) -> None:
    """The focus row must be in the alphabet: it is the wild type every mutant starts from."""
    bad = np.flatnonzero(_encode(letters, ALPHABETS[alphabet]) == _INVALID)
    if len(bad):
        raise DataError(
            f"{path}, line {focus.line}: the focus sequence has {chr(letters[bad[0]])!r} at "
            f"position {positions[bad[0]]}, which is not in the {alphabet} alphabet "
            f"({ALPHABETS[alphabet]}); is --alphabet right?"
        )
