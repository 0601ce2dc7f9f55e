"""Where pyro_deepseq keeps what it can recompute (sequence weights, the synthetic family)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    """Return (and create) a folder under the cache root.

    The root is ``$PYRO_DEEPSEQ_CACHE`` if set, else ``$XDG_CACHE_HOME/pyro_deepseq``, else
    ``~/.cache/pyro_deepseq``.
    """
    root = os.environ.get("PYRO_DEEPSEQ_CACHE")
    if root is None:
        xdg = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        root = Path(xdg) / "pyro_deepseq"
    folder = Path(root, *parts)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
