"""Writing files so that nobody ever reads half of one."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_write(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` when the block succeeds.

    Readers see the old file or the new one, never a partial one (a checkpoint cut by Ctrl-C, a
    cache filled by two processes at once). The temporary name carries the process id, so
    concurrent writers do not collide; on failure the temporary file is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_table(table, path: str | Path) -> Path:
    """Write a DataFrame atomically, without its index: Excel for ``.xlsx``, else CSV."""
    path = Path(path)
    with atomic_write(path) as temporary:
        if path.suffix.lower() == ".xlsx":
            table.to_excel(temporary, index=False, engine="openpyxl")
        else:
            table.to_csv(temporary, index=False)
    return path
