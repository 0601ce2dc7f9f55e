"""Errors and warnings about the user's input.

A [`DataError`][pyro_deepseq.DataError] always names the file, line, column or mutant at fault;
the command-line tools print its message without a traceback and exit with status 1.
"""


class DataError(ValueError):
    """The user's input (an alignment, a table, a mutant, an option value) cannot be used."""


class DataWarning(UserWarning):
    """The user's input is usable, but something about it deserves attention."""


class ClusterError(DataError):
    """The Ray cluster given to the sweep cannot run it: unreachable, refused, or a node lacks
    what the jobs need. The commands exit with status 2 for it."""

    exit_status = 2
