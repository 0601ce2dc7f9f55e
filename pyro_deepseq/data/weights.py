"""Sequence weights and the effective number of sequences (Neff).

DeepSequence down-weights redundant sequences: ``w(x) = 1 / #{y : (x·y)/(x·x) > 1 − θ}``, where
``x·y`` counts the positions at which x and y carry the same letter (gaps match nothing) and x
counts itself. ``Neff = Σ w``. All identity counts are one large matrix product of one-hot
encodings; we compute it block by block as an exact int8 → int32 product (``torch._int_mm``, which
uses AMX/VNNI on CPUs and tensor cores on GPUs), visit each pair of blocks once (the count matrix is
symmetric), and never hold an N × N matrix or the whole one-hot alignment in memory.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch

from ..utils.cache import cache_dir
from ..utils.devices import resolve_device
from ..utils.files import atomic_write

#: Bump when the weight definition changes, so cached weights are recomputed.
WEIGHTS_VERSION = 1
_ROW_MULTIPLE = 32  # CUDA's int8 matmul wants more than 16 rows and a width divisible by 8
_COLUMN_MULTIPLE = 8


def neighbour_thresholds(num_residues: np.ndarray, theta: float) -> np.ndarray:
    """Smallest identity count ``c`` with ``c / n > 1 − θ`` for each residue count ``n``.

    Evaluated in float64 exactly as the original's division, so ties at the cut-off break the
    same way. All-gap sequences (n = 0) get a threshold no count can reach.

    Parameters
    ----------
    num_residues : np.ndarray, shape (N,)
        Non-gap positions of each sequence (``x·x``).
    """
    n = np.asarray(num_residues, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.maximum(np.floor((1.0 - theta) * n) - 1.0, 0.0)
        for _ in range(3):  # floor((1-θ)n) - 1 is at most three below the answer
            c += ~(c / n > 1.0 - theta)
    c[n == 0] = np.iinfo(np.int32).max
    return c.astype(np.int32)  # the int32 identity counts compare without up-casting


def sequence_weights(
    codes: np.ndarray,
    num_letters: int,
    theta: float = 0.2,
    device: str | torch.device = "auto",
    block_size: int | None = None,
) -> np.ndarray:
    """Compute DeepSequence sequence weights.

    Parameters
    ----------
    codes : np.ndarray, shape (N, L), uint8
        Letter codes; ``num_letters`` (and any larger value) is a gap.
    num_letters : int
        Alphabet size K.
    theta : float
        Identity cut-off; neighbours share more than ``1 − θ`` of x's residues.
    device : str or torch.device
        Where to run the products (``"auto"`` = CUDA when present).
    block_size : int, optional
        Most sequences per block (default 4,096 on CPU, 16,384 on CUDA); blocks are balanced.

    Returns
    -------
    np.ndarray, shape (N,), float64
        Weights; 0 for sequences with no residue.
    """
    device = resolve_device(device)
    codes_t = torch.as_tensor(np.ascontiguousarray(codes), device=device)
    size = len(codes_t)
    block = block_size or (16384 if device.type == "cuda" else 4096)
    block = _round_up(-(-size // -(-size // block)), _ROW_MULTIPLE)  # equal blocks, none tiny
    residues = (codes_t < num_letters).sum(1).cpu().numpy()
    thresholds = torch.as_tensor(neighbour_thresholds(residues, theta), device=device)
    neighbours = torch.zeros(size, dtype=torch.int64, device=device)
    starts = range(0, size, block)
    for i in starts:
        rows = slice(i, min(i + block, size))
        left = _one_hot_block(codes_t[rows], num_letters)
        for j in starts[starts.index(i) :]:
            columns = slice(j, min(j + block, size))
            right = left if j == i else _one_hot_block(codes_t[columns], num_letters)
            counts = torch._int_mm(left, right.T)[: rows.stop - i, : columns.stop - j]
            by_row, by_column = _reaching(counts, thresholds[rows], thresholds[columns])
            neighbours[rows] += by_row
            if j != i:
                neighbours[columns] += by_column
    neighbours = neighbours.cpu().numpy()
    return np.where(residues > 0, 1.0 / np.maximum(neighbours, 1), 0.0)


def neighbours_of(
    codes: np.ndarray, num_letters: int, theta: float, rows: np.ndarray, block_size: int = 1024
) -> np.ndarray:
    """Each of ``rows``' neighbours at θ, in either direction (x is y's neighbour or y is x's, as
    :func:`sequence_weights` counts them); a row is its own.

    Returns
    -------
    np.ndarray, shape (len(rows), N), bool
    """
    codes_t = torch.as_tensor(np.ascontiguousarray(codes))
    residues = (codes_t < num_letters).sum(1).numpy()
    thresholds = torch.as_tensor(neighbour_thresholds(residues, theta))
    rows = torch.as_tensor(np.asarray(rows, dtype=np.int64))
    left = _one_hot_block(codes_t[rows], num_letters)
    found = torch.zeros(len(rows), len(codes_t), dtype=torch.bool)
    for j in range(0, len(codes_t), block_size):
        columns = slice(j, min(j + block_size, len(codes_t)))
        right = _one_hot_block(codes_t[columns], num_letters)
        counts = torch._int_mm(left, right.T)[: len(rows), : columns.stop - j]
        found[:, columns] = (counts >= thresholds[rows][:, None]) | (counts >= thresholds[columns])
    found[torch.arange(len(rows)), rows] = True
    return found.numpy()


def _reaching(counts: torch.Tensor, row_thresholds: torch.Tensor, column_thresholds: torch.Tensor):
    """Per row and per column, how many identity counts reach that row's / column's threshold."""
    if counts.device.type == "cuda":
        return (counts >= row_thresholds[:, None]).sum(1), (counts >= column_thresholds).sum(0)
    # On CPUs NumPy's comparison kernels are about four times faster than torch's.
    array, rows, columns = counts.numpy(), row_thresholds.numpy(), column_thresholds.numpy()
    return (
        torch.from_numpy(np.count_nonzero(array >= rows[:, None], axis=1)),
        torch.from_numpy(np.count_nonzero(array >= columns, axis=0)),
    )


def _one_hot_block(codes: torch.Tensor, num_letters: int) -> torch.Tensor:
    """Flat int8 one-hot ``(rows, width)`` of a block; gaps all-zero; padded for ``_int_mm``."""
    rows, length = codes.shape
    flat = length * num_letters
    width = _round_up(flat + 1, _COLUMN_MULTIPLE)
    index = codes.long().clamp_(max=num_letters)
    index = torch.where(
        index < num_letters,
        index + num_letters * torch.arange(length, device=codes.device),
        flat,  # gaps land in a spare column that is cleared below
    )
    one_hot = torch.zeros(
        _round_up(rows, _ROW_MULTIPLE), width, dtype=torch.int8, device=codes.device
    )
    one_hot[:rows].scatter_(1, index, 1)
    one_hot[:, flat] = 0
    return one_hot


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def cached_sequence_weights(
    codes: np.ndarray, num_letters: int, theta: float, device: str | torch.device = "auto"
) -> np.ndarray:
    """[`sequence_weights`][pyro_deepseq.sequence_weights], stored on disk under a key of the codes'
    content and θ.

    A second run on the same alignment (same sequences, focus columns, alphabet and θ) reads the
    weights back instead of recomputing them.
    """
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    digest = hashlib.sha256()
    digest.update(f"v{WEIGHTS_VERSION};{codes.shape};{num_letters};{float(theta)!r};".encode())
    digest.update(codes.tobytes())
    path = cache_dir("weights") / f"{digest.hexdigest()[:32]}.npy"
    if path.exists():
        return np.load(path)
    weights = sequence_weights(codes, num_letters, theta, device)
    with atomic_write(path) as temporary, open(temporary, "wb") as handle:
        np.save(handle, weights)
    return weights
