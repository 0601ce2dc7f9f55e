"""Streaming reader for FASTA-like alignments (a2m, a3m, aligned FASTA).

Sequences are kept as ``bytes`` and joined once per record, so reading is linear in the file size
(the original's ``seq += line`` string building is quadratic for wrapped records).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError

#: The ``/START-END`` suffix of a record's name: the residue numbers (UniProt's) it spans.
_REGION = re.compile(r"/(\d+)-(\d+)$")


@dataclass(frozen=True)
class Record:
    """One FASTA record: its header (without ``>``), its sequence and the line its header is on."""

    header: str
    sequence: bytes
    line: int


def read_records(path: str | Path) -> Iterator[Record]:
    """Yield the records of a FASTA-like file one at a time.

    Raises
    ------
    DataError
        If the file is missing, empty, binary, or its first non-blank line is not a ``>`` header.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: alignment file not found")
    header, start, chunks = None, 0, []
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.strip()
            if not line:
                continue
            if line.startswith(b">"):
                if header is not None:
                    yield Record(header, b"".join(chunks), start)
                header, start, chunks = _decode_header(path, number, line), number, []
            elif header is None:
                shown = line[:40].decode("utf-8", errors="replace")
                raise DataError(
                    f"{path}, line {number}: not a FASTA-like alignment: expected a header "
                    f"starting with '>', found {shown!r}"
                )
            else:
                chunks.append(b"".join(line.split()))
    if header is None:
        raise DataError(f"{path}: the file is empty (no '>' records)")
    yield Record(header, b"".join(chunks), start)


def _decode_header(path: Path, number: int, line: bytes) -> str:
    try:
        return line[1:].decode("utf-8").strip()
    except UnicodeDecodeError:
        raise DataError(f"{path}, line {number}: header is not UTF-8 text") from None


def name_and_region(header: str) -> tuple[str, tuple[int, int] | None]:
    """A header's first word as NAME and the (START, END) of its ``NAME/START-END`` suffix
    (None without one)."""
    word = header.split()[0] if header.split() else ""
    match = _REGION.search(word)
    if match is None:
        return word, None
    return word[: match.start()], (int(match[1]), int(match[2]))


def read_sequence_labels(path: str | Path, headers: Sequence[str]) -> list[str]:
    """Labels per sequence from lines ``header: label``; sequences without one get "unlabelled"."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: labels file not found")
    labels = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        header, separator, label = line.rpartition(":")
        if not separator:
            raise DataError(f"{path}, line {number}: expected 'header: label', got {line!r}")
        labels[header.strip().lstrip(">")] = label.strip()
    if not labels.keys() & set(headers):
        raise DataError(f"{path}: no header in it names a sequence of the alignment")
    return [labels.get(header, "unlabelled") for header in headers]
