"""What every command-line tool shares: user errors as one-line messages, warnings on stderr.

A user's mistake (a missing file, a bad table, an impossible option) prints ``error: ...`` naming
the file, line or mutant and exits with status 1 — never a traceback. argparse usage errors, and a
Ray cluster that cannot run the sweep, exit with status 2. Anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Sequence

from ..errors import DataError


def run(command: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Call ``command(argv)``, turning :class:`DataError` into exit status 1 (2 for a
    :class:`~pyro_deepseq.errors.ClusterError`)."""
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = _show_warning
        try:
            return command(argv)
        except DataError as error:
            print(f"error: {error}", file=sys.stderr)
            return getattr(error, "exit_status", 1)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"warning: {message}", file=sys.stderr)
