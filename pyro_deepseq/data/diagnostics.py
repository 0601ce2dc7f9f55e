"""Warnings a user can act on, about an alignment and a DMS table, before any training.

Each check returns its message (or None), naming the file; :func:`warn_alignment` and
:func:`warn_mutations` issue them as :class:`~pyro_deepseq.errors.DataWarning`. ``inspect`` and
``fit`` call them.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..errors import DataWarning

#: Below this Neff / L an alignment is shallow: the VAE's advantage over the site-independent
#: model shrinks (on the depth ladder of docs/accuracy.md) and can vanish.
SHALLOW = 1.0
#: A focus column is mostly gaps when more than this (weighted) share of sequences has a gap.
GAPPY_COLUMN = 0.5
#: Warn when more than this share of the focus columns are mostly gaps.
GAPPY_SHARE = 0.2
#: Warn when more than this share of a DMS table's rows cannot be scored.
UNSCOREABLE_SHARE = 0.2


def _name(alignment) -> str:
    return "the alignment" if alignment.path is None else str(alignment.path)


def shallow_message(alignment) -> str | None:
    """A message when Neff / L is below :data:`SHALLOW`."""
    depth = alignment.neff / alignment.num_positions
    if depth >= SHALLOW:
        return None
    return (
        f"{_name(alignment)}: shallow alignment, Neff/L = {depth:.2f} (Neff {alignment.neff:,.1f} "
        f"over {alignment.num_positions} focus columns). Below Neff/L {SHALLOW:g} a VAE gains "
        "little over the site-independent model: compare with `inspect --mutations`'s "
        "site-independent ρ, and gather more sequences if you can (a deeper search, a lower "
        "bit-score threshold)"
    )


def gap_fractions(alignment) -> np.ndarray:
    """The weighted share of sequences with a gap at each focus column, shape (L,)."""
    weights = alignment.weights
    gaps = alignment.codes == alignment.gap_code
    return (weights @ gaps) / max(weights.sum(), 1e-12)


def gappy_message(alignment) -> str | None:
    """A message when more than :data:`GAPPY_SHARE` of the focus columns are mostly gaps."""
    fractions = gap_fractions(alignment)
    gappy = np.flatnonzero(fractions > GAPPY_COLUMN)
    if len(gappy) <= GAPPY_SHARE * alignment.num_positions:
        return None
    shown = ", ".join(str(int(alignment.positions[i])) for i in gappy[:8])
    more = " …" if len(gappy) > 8 else ""
    return (
        f"{_name(alignment)}: {len(gappy)} of {alignment.num_positions} focus columns "
        f"({len(gappy) / alignment.num_positions:.0%}) are more than {GAPPY_COLUMN:.0%} gaps "
        f"(positions {shown}{more}); the model learns little there. Consider a region the "
        "family covers (a narrower focus range) or an alignment with more coverage"
    )


def unscoreable_message(mutations, table) -> str | None:
    """A message when more than :data:`UNSCOREABLE_SHARE` of a DMS table's rows are unscoreable."""
    total = mutations.num_mutants
    missed = total - mutations.num_scoreable
    if not total or missed <= UNSCOREABLE_SHARE * total:
        return None
    reasons = "; ".join(f"{n:,} {reason}" for reason, n in mutations.counts_by_reason().items())
    return (
        f"{table}: {missed:,} of {total:,} rows ({missed / total:.0%}) cannot be scored "
        f"({reasons}). Check that the table's numbering matches the alignment's focus "
        "(/START-END in its header), or use an alignment that covers more of the protein"
    )


def warn_alignment(alignment) -> None:
    """Issue the alignment's warnings (shallow, mostly-gap columns) as DataWarnings."""
    for message in (shallow_message(alignment), gappy_message(alignment)):
        if message:
            warnings.warn(message, DataWarning, stacklevel=2)


def warn_mutations(mutations, table) -> None:
    """Issue the DMS table's warning (many unscoreable rows) as a DataWarning."""
    message = unscoreable_message(mutations, table)
    if message:
        warnings.warn(message, DataWarning, stacklevel=2)
