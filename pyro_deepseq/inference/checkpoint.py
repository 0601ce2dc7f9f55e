"""Checkpoints: a model's parameters with everything needed to trust and continue it.

A checkpoint is a dict of tensors and plain values (configs, the alignment's metadata, history,
optimizer and random-number states), written atomically and always read with
``torch.load(..., weights_only=True)``: it is data, never pickled code.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from ..errors import DataError
from ..utils.files import atomic_write

FORMAT = 1


def alignment_metadata(alignment) -> dict:
    """The alignment facts a checkpoint keeps (focus, numbering, alphabet, θ, Neff, hash)."""
    return {
        "path": None if alignment.path is None else str(alignment.path),
        "sha256": alignment_sha256(alignment),
        "focus": alignment.focus_name,
        "focus_sequence": alignment.focus_sequence,
        "positions": alignment.positions.tolist(),
        "alphabet": alignment.alphabet,
        "theta": alignment.theta,
        "neff": alignment.neff,
        "num_sequences": alignment.num_sequences,
    }


def alignment_sha256(alignment) -> str:
    """The hash that identifies an alignment: its file's, or for one built in memory, that of
    its letters, headers, numbering, focus and θ (what the model and its weights depend on)."""
    if alignment.path is not None:
        return file_sha256(alignment.path)
    digest = hashlib.sha256()
    for part in (alignment.codes, alignment.positions.astype("int64")):
        digest.update(part.tobytes())
    facts = (alignment.alphabet, alignment.focus_index, alignment.theta, *alignment.headers)
    digest.update("\n".join(map(str, facts)).encode())
    return digest.hexdigest()


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_checkpoint(path: Path, state: dict) -> None:
    """Write ``state`` to ``path`` atomically (a cut-off write leaves the previous checkpoint)."""
    with atomic_write(path) as temporary:
        torch.save({"format": FORMAT, **state}, temporary)


def load_checkpoint(path: str | Path) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint` (tensors loaded on the CPU)."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.pt"
    if not path.is_file():
        raise DataError(f"{path}: checkpoint not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any unreadable file is the user's input problem
        raise DataError(f"{path}: not a pyro_deepseq checkpoint ({error})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise DataError(f"{path}: not a pyro_deepseq checkpoint of format {FORMAT}")
    return state
