"""The focus sequence a model was trained on: what scoring needs of the alignment.

A checkpoint keeps it (see :func:`~pyro_deepseq.inference.checkpoint.alignment_metadata`), so
variants can be mapped and encoded without reading the alignment again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Focus:
    """What a trained model knows of its alignment's focus: enough to map and encode mutants."""

    focus_name: str
    focus_sequence: str
    positions: np.ndarray
    alphabet: str

    @property
    def focus_codes(self) -> np.ndarray:
        return np.array([self.alphabet.index(c) for c in self.focus_sequence], dtype=np.uint8)

    @classmethod
    def from_metadata(cls, metadata: dict) -> Focus:
        positions = np.asarray(metadata["positions"], dtype=np.int64)
        return cls(metadata["focus"], metadata["focus_sequence"], positions, metadata["alphabet"])
