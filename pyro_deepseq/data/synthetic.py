"""A small synthetic protein family with known mutation effects: the embedded default dataset.

Sequences are sampled from a Potts model

    p(x) ∝ exp(E(x)),   E(x) = Σ_i h_i(x_i) + Σ_{i<j} J_ij(x_i, x_j),

with Gaussian per-site fields ``h`` and Gaussian couplings ``J`` on a sparse random set of site
pairs (``L / 4`` pairs, like contacts in a fold). The couplings are strong enough that double
mutants at coupled pairs are clearly non-additive, so a site-independent model ranks single mutants
well and double mutants worse, while a model of the whole sequence can do better on both. Because
the energy is known, the deep-mutational-scan table is exact: ``DMS_score = E(mutant) - E(focus)``.

Everything is drawn from one ``numpy.random.default_rng(seed)``, so a seed fixes the family, the
focus sequence and the table byte for byte. ``python -m pyro_deepseq.data.synthetic --out DIR``
writes ``DIR/synthetic.a2m`` and ``DIR/synthetic_dms.csv``; :func:`default_family` returns the copy
committed under ``data/synthetic/`` (or generates one into a cache folder).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError
from ..utils.cache import cache_dir
from ..utils.cli import run
from ..utils.files import atomic_write

ALPHABET = "ACDEFGHIKLMNPQRSTVWY"
FOCUS_NAME = "SYNTH"
A2M_NAME = "synthetic.a2m"
DMS_NAME = "synthetic_dms.csv"
_REPO_DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "synthetic"
_MIN_PAIR_SEPARATION = 3


@dataclass(frozen=True, eq=False)
class SyntheticFamily:
    """A sampled family together with the Potts model that generated it.

    Attributes
    ----------
    headers : list of str
        Record names without ``>``; the focus ``SYNTH/1-L`` comes first.
    sequences : list of str
        Aligned sequences of length ``L`` over ``ALPHABET`` and ``-`` (fragments' missing ends).
    fields : np.ndarray, shape (L, 20)
        Per-site fields ``h_i(a)``.
    couplings : np.ndarray, shape (L, L, 20, 20)
        ``J_ij(a, b)``; symmetric (``J[i, j, a, b] == J[j, i, b, a]``), zero on the diagonal
        blocks and for uncoupled pairs.
    pairs : np.ndarray, shape (P, 2)
        The coupled site pairs ``(i, j)``, ``i < j``, 0-based, sorted.
    focus : str
        The wild-type sequence (no gaps), a local maximum of the energy.
    dms : pandas.DataFrame
        Columns ``mutant``, ``DMS_score``, ``num_mutations``: all single mutants, then the
        double mutants, with exact energy differences to the focus.
    seed : int
        The seed everything was drawn from.
    """

    headers: list[str]
    sequences: list[str]
    fields: np.ndarray
    couplings: np.ndarray
    pairs: np.ndarray
    focus: str
    dms: pd.DataFrame
    seed: int

    def energy(self, codes: np.ndarray) -> np.ndarray:
        """Potts energy ``E(x)`` of integer-coded sequences (higher = fitter).

        Parameters
        ----------
        codes : np.ndarray of int, shape (n, L)
            Indices into ``ALPHABET``; no gaps, because the energy is defined on full sequences.

        Returns
        -------
        np.ndarray, shape (n,)
        """
        return _energy(self.fields, self.couplings, self.pairs, codes)


def _energy(
    fields: np.ndarray, couplings: np.ndarray, pairs: np.ndarray, codes: np.ndarray
) -> np.ndarray:
    """Vectorised Potts energy; only the coupled ``pairs`` are visited because ``J`` is sparse."""
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.shape[1] != fields.shape[0]:
        raise ValueError(f"codes must have shape (n, {fields.shape[0]}), got {codes.shape}")
    if codes.size and not 0 <= codes.min() <= codes.max() < fields.shape[1]:
        raise ValueError(f"codes must lie in [0, {fields.shape[1]}): gaps have no energy")
    site = np.arange(fields.shape[0])
    energy = fields[site, codes].sum(axis=1)
    i, j = pairs[:, 0], pairs[:, 1]
    return energy + couplings[i, j, codes[:, i], codes[:, j]].sum(axis=1)


def _sample_pairs(length: int, num_pairs: int, rng: np.random.Generator) -> np.ndarray:
    """Draw distinct coupled pairs at least ``_MIN_PAIR_SEPARATION`` apart, like tertiary contacts.

    Returns
    -------
    np.ndarray of int, shape (num_pairs, 2)
        Rows ``(i, j)`` with ``i < j``, sorted lexicographically.
    """
    i, j = np.triu_indices(length, k=_MIN_PAIR_SEPARATION)
    if num_pairs > i.size:
        raise ValueError(f"num_pairs={num_pairs} exceeds the {i.size} possible pairs")
    chosen = np.sort(rng.choice(i.size, size=num_pairs, replace=False))
    return np.stack([i[chosen], j[chosen]], axis=1)


def _sample_potts(
    length: int, num_pairs: int, field_scale: float, coupling_scale: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw Gaussian fields and Gaussian couplings on a sparse random set of pairs.

    Returns
    -------
    fields : np.ndarray, shape (L, 20)
    couplings : np.ndarray, shape (L, L, 20, 20)
    pairs : np.ndarray of int, shape (P, 2)
    """
    q = len(ALPHABET)
    fields = field_scale * rng.standard_normal((length, q))
    pairs = _sample_pairs(length, num_pairs, rng)
    couplings = np.zeros((length, length, q, q))
    block = coupling_scale * rng.standard_normal((num_pairs, q, q))
    couplings[pairs[:, 0], pairs[:, 1]] = block
    couplings[pairs[:, 1], pairs[:, 0]] = block.transpose(0, 2, 1)
    return fields, couplings, pairs


def _conditional_logits(
    fields: np.ndarray,
    couplings: np.ndarray,
    partners: list[np.ndarray],
    x: np.ndarray,
    i: int,
    skip: int = -1,
) -> np.ndarray:
    """Unnormalised log-probabilities of each letter at site ``i`` given the other sites.

    Parameters
    ----------
    partners : list of np.ndarray
        Coupled sites of each site.
    x : np.ndarray of int, shape (L, n)
        Site-major, so that each site's states are one contiguous row.
    skip : int
        A partner to leave out, for the joint update of the pair ``(i, skip)``.

    Returns
    -------
    np.ndarray, shape (20, n)
    """
    logits = np.repeat(fields[i][:, None], x.shape[1], axis=1)
    for j in partners[i]:
        if j != skip:
            logits += couplings[i, j].take(x[j], axis=1)
    return logits


def _partners(couplings: np.ndarray) -> list[np.ndarray]:
    """For each site, the sites it is coupled to (so a Gibbs update touches only those)."""
    nonzero = np.any(couplings != 0, axis=(2, 3))
    return [np.flatnonzero(row) for row in nonzero]


def _draw(weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Inverse-CDF draw of one letter per chain from unnormalised ``weights`` (k, n); overwrites.

    The cumulative sum runs as in-place row additions over the site-major array, several times
    faster than ``np.cumsum`` along a 20-long axis.
    """
    for letter in range(1, weights.shape[0]):
        weights[letter] += weights[letter - 1]
    u = rng.random(weights.shape[1]) * weights[-1]
    return np.minimum((weights < u).sum(axis=0), weights.shape[0] - 1)


def _site_weights(logits: np.ndarray) -> np.ndarray:
    """``exp`` of :func:`_conditional_logits`, scaled so the largest weight per chain is 1."""
    return np.exp(logits - logits.max(axis=0))


def _gibbs(
    fields: np.ndarray,
    couplings: np.ndarray,
    pairs: np.ndarray,
    num_chains: int,
    num_sweeps: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Run independent blocked-Gibbs chains from uniform random starts; return their final states.

    Each coupled pair ``(i, j)`` is redrawn jointly from its 400-letter conditional (``x_i`` from
    its marginal, then ``x_j`` given ``x_i``). Strong couplings make a pair's good letter
    combinations deep wells that single-site updates would take thousands of sweeps to cross;
    joint updates cross them in one. Sites without partners are independent of the rest, so one
    exact draw at the end replaces their sweeps. All chains advance together.

    Returns
    -------
    np.ndarray of int, shape (num_chains, L)
    """
    length, q = fields.shape
    partners = _partners(couplings)
    lonely = [i for i in range(length) if partners[i].size == 0]
    pair_weights = [np.exp(couplings[i, j] - couplings[i, j].max()) for i, j in pairs]
    x = rng.integers(q, size=(length, num_chains))
    for _ in range(num_sweeps):
        for (i, j), joint in zip(pairs, pair_weights, strict=True):
            w_i = _site_weights(_conditional_logits(fields, couplings, partners, x, i, skip=j))
            w_j = _site_weights(_conditional_logits(fields, couplings, partners, x, j, skip=i))
            x[i] = _draw(w_i * np.einsum("ab,bn->an", joint, w_j), rng)
            x[j] = _draw(joint.take(x[i], axis=0).T * w_j, rng)
    for i in lonely:
        x[i] = _draw(_site_weights(_conditional_logits(fields, couplings, partners, x, i)), rng)
    return x.T


def _polish(fields: np.ndarray, couplings: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Greedy coordinate ascent until no single substitution raises the energy.

    The result is a local maximum, like a natural wild type: no single mutant is fitter.

    Parameters
    ----------
    x : np.ndarray of int, shape (L,)

    Returns
    -------
    np.ndarray of int, shape (L,)
    """
    partners = _partners(couplings)
    x = x[:, None].copy()
    changed = True
    while changed:
        changed = False
        for i in range(x.shape[0]):
            best = int(np.argmax(_conditional_logits(fields, couplings, partners, x, i)[:, 0]))
            changed |= best != x[i, 0]
            x[i, 0] = best
    return x[:, 0]


def _fragment(codes: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Replace an N- or C-terminal run of letters by gaps (code -1) in a ``fraction`` of rows.

    Real alignments hold many fragments; the gap runs are between a tenth and half the length,
    so every column stays well below the usual 30% gap filters.

    Parameters
    ----------
    codes : np.ndarray of int, shape (n, L)

    Returns
    -------
    np.ndarray of int, shape (n, L)
        A copy, with -1 where letters were removed.
    """
    n, length = codes.shape
    rows = rng.choice(n, size=round(fraction * n), replace=False)
    cut = rng.integers(max(1, length // 10), length // 2 + 1, size=rows.size)
    from_n_term = rng.random(rows.size) < 0.5
    column = np.arange(length)
    gap = np.where(from_n_term[:, None], column < cut[:, None], column >= (length - cut)[:, None])
    out = codes.copy()
    out[rows] = np.where(gap, -1, codes[rows])
    return out


def _records(focus: np.ndarray, others: np.ndarray) -> tuple[list[str], list[str]]:
    """A2M headers and sequence strings; ``/START-END`` gives the covered residue range.

    Parameters
    ----------
    focus : np.ndarray of int, shape (L,)
    others : np.ndarray of int, shape (n, L)
        Codes with -1 for gaps; every row keeps at least one letter.
    """
    letters = np.array(list(ALPHABET + "-"))
    length = focus.size
    headers = [f"{FOCUS_NAME}/1-{length}"]
    sequences = ["".join(letters[focus])]
    covered = others >= 0
    start = covered.argmax(axis=1) + 1
    end = length - covered[:, ::-1].argmax(axis=1)
    width = len(str(others.shape[0]))
    for k, row in enumerate(others):
        headers.append(f"synth_{k + 1:0{max(6, width)}d}/{start[k]}-{end[k]}")
        sequences.append("".join(letters[row]))
    return headers, sequences


def _single_mutants(focus: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All ``L * 19`` single substitutions, ordered by position, then by letter.

    Returns
    -------
    sites : np.ndarray of int, shape (L * 19, 1)
    letters : np.ndarray of int, shape (L * 19, 1)
    """
    q = len(ALPHABET)
    site, letter = np.divmod(np.arange(focus.size * q), q)
    keep = letter != focus[site]
    return site[keep, None], letter[keep, None]


def _double_mutants(
    focus: np.ndarray, pairs: np.ndarray, num_doubles: int, coupled_fraction: float, rng
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct double substitutions, a ``coupled_fraction`` of them at coupled pairs.

    Each (pair, letter, letter) combination is drawn without replacement, so the count is exact.

    Returns
    -------
    sites : np.ndarray of int, shape (num_doubles, 2)
        Positions, ascending within a row.
    letters : np.ndarray of int, shape (num_doubles, 2)
        Rows ordered by position, then by letter.
    """
    q = len(ALPHABET)
    i, j = np.triu_indices(focus.size, k=1)
    is_coupled = np.zeros((focus.size, focus.size), dtype=bool)
    is_coupled[pairs[:, 0], pairs[:, 1]] = True
    num_coupled = round(num_doubles * coupled_fraction)
    chosen = []
    for pool, count in (
        (pairs, num_coupled),
        (np.stack([i, j], axis=1)[~is_coupled[i, j]], num_doubles - num_coupled),
    ):
        combo = rng.choice(len(pool) * (q - 1) ** 2, size=count, replace=False)
        pair, offset = np.divmod(combo, (q - 1) ** 2)
        chosen.append(np.column_stack([pool[pair], *np.divmod(offset, q - 1)]))
    site_a, site_b, off_a, off_b = np.concatenate(chosen).T
    sites = np.stack([site_a, site_b], axis=1)
    letters = (focus[sites] + 1 + np.stack([off_a, off_b], axis=1)) % q
    order = np.lexsort((letters[:, 1], letters[:, 0], sites[:, 1], sites[:, 0]))
    return sites[order], letters[order]


def _mutant_name(focus: np.ndarray, sites: np.ndarray, letters: np.ndarray) -> str:
    """ProteinGym notation, e.g. ``A12G:K30E``: wild-type letter, 1-based position, new letter."""
    return ":".join(
        f"{ALPHABET[focus[s]]}{s + 1}{ALPHABET[a]}" for s, a in zip(sites, letters, strict=True)
    )


def _dms_table(
    fields: np.ndarray, couplings: np.ndarray, pairs: np.ndarray, focus: np.ndarray, mutants
) -> pd.DataFrame:
    """Exact ``E(mutant) - E(focus)`` for each ``(sites, letters)`` group, in ProteinGym notation.

    Parameters
    ----------
    mutants : iterable of (np.ndarray, np.ndarray)
        Groups of mutants with the same number of substitutions; each array has shape (n, k).
    """
    wild_energy = _energy(fields, couplings, pairs, focus[None, :])[0]
    frames = []
    for sites, letters in mutants:
        codes = np.repeat(focus[None, :], sites.shape[0], axis=0)
        np.put_along_axis(codes, sites, letters, axis=1)
        names = [_mutant_name(focus, *row) for row in zip(sites, letters, strict=True)]
        score = _energy(fields, couplings, pairs, codes) - wild_energy
        frames.append(
            pd.DataFrame({"mutant": names, "DMS_score": score, "num_mutations": sites.shape[1]})
        )
    return pd.concat(frames, ignore_index=True)


def generate_family(
    seed: int = 0,
    length: int = 60,
    num_sequences: int = 3000,
    *,
    num_pairs: int | None = None,
    field_scale: float = 2.5,
    coupling_scale: float = 3.5,
    num_sweeps: int = 100,
    fragment_fraction: float = 0.2,
    num_doubles: int = 1000,
    coupled_fraction: float = 0.8,
) -> SyntheticFamily:
    """Sample a Potts model, a family from it, its focus sequence and the exact DMS table.

    Parameters
    ----------
    seed : int
        Seeds the single ``numpy.random.default_rng`` behind every random choice.
    length : int
        Number of alignment columns ``L``.
    num_sequences : int
        Records in the family, the focus included.
    num_pairs : int, optional
        Coupled site pairs; ``length // 4`` by default. Denser couplings (``length // 2``, one
        partner per site) blur the single-mutant ranking of a site-independent model without
        making the doubles reliably harder for it, which defeats the family's purpose.
    field_scale, coupling_scale : float
        Standard deviations of ``h_i(a)`` and of ``J_ij(a, b)`` on coupled pairs. The defaults
        give a diverse but structured family (about 55% identity to the focus) in which coupled
        doubles are clearly epistatic.
    num_sweeps : int
        Blocked-Gibbs sweeps per chain; each of the ``num_sequences`` chains yields one sequence.
        With the default scales the energy and pair statistics are stable from about 100 on.
    fragment_fraction : float
        Share of non-focus sequences turned into N- or C-terminal fragments.
    num_doubles : int
        Double mutants in the DMS table.
    coupled_fraction : float
        Share of the doubles placed at coupled pairs, where epistasis shows; the rest are
        exactly additive.

    Returns
    -------
    SyntheticFamily

    Raises
    ------
    ValueError
        If ``length < 6`` or ``num_sequences < 2``.
    """
    if length < 2 * _MIN_PAIR_SEPARATION or num_sequences < 2:
        raise ValueError("need length >= 6 and num_sequences >= 2")
    rng = np.random.default_rng(seed)
    num_pairs = length // 4 if num_pairs is None else num_pairs
    fields, couplings, pairs = _sample_potts(length, num_pairs, field_scale, coupling_scale, rng)
    samples = _gibbs(fields, couplings, pairs, num_sequences, num_sweeps, rng)
    best = int(np.argmax(_energy(fields, couplings, pairs, samples)))
    focus = _polish(fields, couplings, samples[best])
    others = _fragment(np.delete(samples, best, axis=0), fragment_fraction, rng)
    headers, sequences = _records(focus, others)
    mutants = (
        _single_mutants(focus),
        _double_mutants(focus, pairs, num_doubles, coupled_fraction, rng),
    )
    return SyntheticFamily(
        headers=headers,
        sequences=sequences,
        fields=fields,
        couplings=couplings,
        pairs=pairs,
        focus=sequences[0],
        dms=_dms_table(fields, couplings, pairs, focus, mutants),
        seed=seed,
    )


def _write_text(path: Path, text: str) -> None:
    """Atomically, with ``\n`` line ends so the bytes are the same on every OS.

    Two processes filling the cache at once each write their own temporary file; the last rename
    wins and both results are identical.
    """
    with atomic_write(path) as temporary:
        temporary.write_text(text, encoding="ascii", newline="\n")


def write_family(
    out_dir: str | os.PathLike, seed: int = 0, overwrite: bool = False
) -> tuple[Path, Path]:
    """Generate the default-sized family and write ``synthetic.a2m`` and ``synthetic_dms.csv``.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Created if missing.
    seed : int
    overwrite : bool
        Replace existing files; without it an existing file raises :class:`DataError`.

    Returns
    -------
    (Path, Path)
        The alignment and the DMS table.
    """
    out_dir = Path(out_dir)
    a2m_path, dms_path = out_dir / A2M_NAME, out_dir / DMS_NAME
    for path in (a2m_path, dms_path):
        if path.exists() and not overwrite:
            raise DataError(f"{path}: already exists; pass overwrite=True (--force) to replace it")
    family = generate_family(seed=seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    records = (f">{h}\n{s}\n" for h, s in zip(family.headers, family.sequences, strict=True))
    _write_text(a2m_path, "".join(records))
    _write_text(dms_path, family.dms.to_csv(index=False, float_format="%.6f", lineterminator="\n"))
    return a2m_path, dms_path


def default_family() -> tuple[Path, Path]:
    """Paths of the embedded default family: the repository copy, else a cached one.

    An installed package has no ``data/`` folder next to it, so the family is then generated
    once (seed 0, about a second) into ``cache_dir("synthetic")`` (``$PYRO_DEEPSEQ_CACHE``, else
    ``$XDG_CACHE_HOME/pyro_deepseq``, else ``~/.cache/pyro_deepseq``) and reused afterwards.

    Returns
    -------
    (Path, Path)
        ``synthetic.a2m`` and ``synthetic_dms.csv``.
    """
    repo_paths = (_REPO_DATA_DIR / A2M_NAME, _REPO_DATA_DIR / DMS_NAME)
    if all(path.is_file() for path in repo_paths):
        return repo_paths
    folder = cache_dir("synthetic")
    cached = (folder / A2M_NAME, folder / DMS_NAME)
    if all(path.is_file() for path in cached):
        return cached
    return write_family(folder, overwrite=True)


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m pyro_deepseq.data.synthetic [--out DIR] [--seed N] [--force]``."""
    return run(_write_command, argv)


def _write_command(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pyro_deepseq.data.synthetic",
        description="Write a synthetic protein family (A2M) and its exact DMS table (CSV).",
    )
    parser.add_argument("--out", type=Path, default=Path("data/synthetic"), help="output folder")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--force", action="store_true", help="overwrite existing files")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    paths = write_family(args.out, seed=args.seed, overwrite=args.force)
    for path in paths:
        print(path)
    print(f"done in {time.perf_counter() - started:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
