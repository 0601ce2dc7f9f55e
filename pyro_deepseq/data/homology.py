"""From one protein sequence and a sequence database to a model-ready family alignment.

The search is HMMER's jackhmmer, run through pyhmmer (an optional dependency: ``pip install
pyro_deepseq[align]``), with EVcouplings' conventions:

- The query (or the region of it to model, ``START-END`` in its own numbering) is the first
  profile; each iteration includes every hit and domain scoring at least ``bits × L`` bits, where
  ``L`` is the region's length (the inclusion threshold in bits per residue), builds a profile
  from their alignment (the query included, one match state per query residue) and searches again,
  until no new sequence is included or the iterations run out.
- The database streams from disk in blocks that worker threads search in parallel; a pass holds at
  most ``2 × threads`` blocks in memory, never the whole database.
- The included domains of the last iteration become rows, one column per residue of the region:
  insertions relative to the query are dropped (trimmed to the region), a row is named
  ``TARGET/START-END`` after the target residues it aligns. Then, each step counted: rows covering
  less than half of the region are dropped; columns where more than 30 % of the rows have a gap
  are written in lower case (they are not focus columns); rows with a letter outside the 20 amino
  acids in a focus column are dropped (the reader would drop them); identical rows are removed
  once, the first (the focus, then the best scoring) kept. The focus, the query region named
  ``NAME/START-END``, is the first row.
"""

from __future__ import annotations

import gzip
import re
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from ..errors import DataError
from .alignment import ALPHABETS
from .fasta import name_and_region, read_records

AMINO_ACIDS = ALPHABETS["protein"]
MIN_COVERAGE = 0.5
MAX_COLUMN_GAPS = 0.3
#: EVE's depth criteria: focus columns ≥ 0.8 L and 10 L ≤ N ≤ 100,000.
MIN_FOCUS_SHARE = 0.8
MIN_SEQUENCES_PER_POSITION = 10
MAX_SEQUENCES = 100_000
BLOCK_SIZE = 2_000
INSTALL_HINT = "pip install 'pyro_deepseq[align]'"


# -- the query ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Query:
    """The query protein: its name, its sequence (upper case) and the number of its first residue.

    A header ``NAME/START-END`` whose range matches the sequence's length numbers the residues from
    START (UniProt numbering of a fragment); otherwise from 1.
    """

    name: str
    sequence: str
    first: int = 1

    @property
    def last(self) -> int:
        return self.first + len(self.sequence) - 1

    def region(self, region: tuple[int, int] | None) -> tuple[int, int]:
        """``(start, end)`` of ``region`` (default the whole query), checked against the query."""
        start, end = (self.first, self.last) if region is None else region
        if not self.first <= start <= end <= self.last:
            raise DataError(
                f"--region {start}-{end} lies outside the query {self.name} "
                f"(positions {self.first}–{self.last})"
            )
        return start, end

    def subsequence(self, start: int, end: int) -> str:
        return self.sequence[start - self.first : end - self.first + 1]


def read_query(path: str | Path) -> Query:
    """Read a one-record FASTA protein query; letters must be among the 20 amino acids."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: query file not found")
    records = list(read_records(path))
    if len(records) != 1:
        raise DataError(f"{path}: expected one query sequence, found {len(records)} records")
    record = records[0]
    sequence = record.sequence.decode("ascii", errors="replace").upper()
    bad = next((i for i, letter in enumerate(sequence) if letter not in AMINO_ACIDS), None)
    if not sequence or bad is not None:
        shown = f"{sequence[bad]!r} at residue {bad + 1}" if sequence else "no residues"
        raise DataError(
            f"{path}, line {record.line}: the query has {shown}; a query may only hold the 20 "
            f"amino acids ({AMINO_ACIDS})"
        )
    name, region = name_and_region(record.header)
    if region and region[1] - region[0] + 1 == len(sequence):
        return Query(name, sequence, region[0])
    word = record.header.split()[0] if record.header.split() else "query"
    return Query(word, sequence)


def parse_region(text: str) -> tuple[int, int]:
    """``"START-END"`` → ``(START, END)``; ``ValueError`` unless 1 ≤ START ≤ END."""
    match = re.fullmatch(r"\s*(\d+)\s*-\s*(\d+)\s*", text)
    if match is None or not 1 <= int(match[1]) <= int(match[2]):
        raise ValueError(f"expected START-END with 1 <= START <= END, got {text!r}")
    return int(match[1]), int(match[2])


# -- the search --------------------------------------------------------------------------------
def _pyhmmer():
    try:
        import pyhmmer
    except ImportError:
        raise DataError(f"building alignments needs pyhmmer: {INSTALL_HINT}") from None
    return pyhmmer


@dataclass(frozen=True)
class DomainRow:
    """One included domain, trimmed to the region: ``row`` has one letter or ``-`` per column."""

    name: str
    row: str
    score: float
    inserted: int  # target residues in insert states, dropped by the trimming


@dataclass
class SearchResult:
    """The last iteration's included domains and what the search cost."""

    bits: float
    threshold: float
    rows: list[DomainRow]
    included_sequences: int
    iterations: int
    converged: bool
    searched: int
    seconds: float
    log: list[str] = field(default_factory=list)


def check_database(path: str | Path) -> Path:
    """Open the database once: it must exist and hold FASTA records (``.gz`` allowed)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: database file not found")
    with _database(path, block_size=1) as blocks:
        if not next(blocks, None):
            raise DataError(f"{path}: the database holds no sequences")
    return path


@contextmanager
def _database(path: Path, block_size: int) -> Iterator[Iterator]:
    """Blocks of digital sequences read from ``path`` one at a time; errors name the file."""
    easel = _pyhmmer().easel
    handle = gzip.open(path, "rb") if path.suffix == ".gz" else None
    source = str(path) if handle is None else handle  # easel reads plain files itself
    try:
        if handle is not None:
            handle.peek(1)
    except (OSError, EOFError) as error:
        handle.close()
        raise DataError(f"{path}: not a readable gzip file ({error})") from None
    alphabet = easel.Alphabet.amino()

    def blocks():
        try:
            with easel.SequenceFile(source, digital=True, alphabet=alphabet, format="fasta") as f:
                while block := f.read_block(sequences=block_size):
                    yield block
        except EOFError:
            return
        except (ValueError, OSError, SystemError) as error:  # easel's errors, a corrupt .gz
            raise DataError(f"{path}: not a readable FASTA database: {error}") from None

    try:
        yield blocks()
    finally:
        if handle is not None:
            handle.close()


def search(
    region: str,
    name: str,
    database: Path,
    bits: float,
    iterations: int = 5,
    threads: int = 1,
    block_size: int = BLOCK_SIZE,
    progress: bool = True,
) -> SearchResult:
    """jackhmmer of ``region`` against ``database`` at ``bits`` per residue (EVcouplings' rule).

    Parameters
    ----------
    region : str
        Query residues to model (upper case, 20 amino acids); the profile has one match state each.
    name : str
        Name of the query (for the profile).
    bits : float
        Inclusion and reporting threshold in bits per residue; the threshold is ``bits × len``.
    """
    pyhmmer = _pyhmmer()
    plan7, easel = pyhmmer.plan7, pyhmmer.easel
    alphabet = easel.Alphabet.amino()
    query = easel.TextSequence(name=name, sequence=region).digitize(alphabet)
    threshold = bits * len(region)
    options = {"T": threshold, "domT": threshold, "incT": threshold, "incdomT": threshold}
    builder = plan7.Builder(alphabet, seed=42, architecture="hand")
    background = plan7.Background(alphabet)
    hmm = builder.build(query, background)[0]
    ranking, previous, started = easel.KeyHash(), 1, time.perf_counter()
    result = SearchResult(bits, threshold, [], 0, 0, False, 0, 0.0)
    for iteration in range(1, iterations + 1):
        pass_started = time.perf_counter()
        label = f"{bits:g} bits/residue, iteration {iteration}/{iterations}"
        hits, searched = _search_pass(hmm, database, options, threads, block_size, label, progress)
        hits.sort(by="key")
        new = hits.compare_ranking(ranking)
        msa = hits.to_msa(
            alphabet,
            sequences=[query],
            traces=[plan7.Trace.from_sequence(query)],
            all_consensus_cols=True,
            digitize=True,
        )
        msa.name = f"{name}-i{iteration}"
        included = sum(hit.included for hit in hits)
        seconds = time.perf_counter() - pass_started
        result.log.append(
            f"{label}: {searched:,} sequences searched in {seconds:.1f} s "
            f"({searched / max(seconds, 1e-9):,.0f}/s, {threads} thread(s)), "
            f"{len(hits):,} hits, {included:,} included"
        )
        result.iterations, result.searched = iteration, searched
        result.included_sequences = included
        if new == 0 and len(msa.sequences) <= previous:
            result.converged = True
            break
        if iteration < iterations:
            hmm, previous = builder.build_msa(msa, background)[0], len(msa.sequences)
    result.rows = domain_rows(hits, len(region))
    result.seconds = time.perf_counter() - started
    return result


def _search_pass(hmm, database, options, threads, block_size, label, progress):
    """One pass over the database: blocks searched by ``threads`` workers, hits merged.

    Returns the merged ``TopHits`` (E-values over the whole database) and the sequences searched.
    """
    plan7 = _pyhmmer().plan7
    alphabet = hmm.alphabet
    results, searched, found = [], 0, 0
    bar = tqdm(
        desc=label, unit=" seq", disable=None if progress else True, dynamic_ncols=True, leave=False
    )

    def work(block):
        pipeline = plan7.Pipeline(alphabet, **options)
        return len(block), pipeline.search_hmm(hmm, block)

    def collect(done):
        nonlocal searched, found
        for future in done:
            size, hits = future.result()
            results.append(hits)
            searched, found = searched + size, found + len(hits)
            bar.update(size)
        bar.set_postfix(hits=found, refresh=False)

    with _database(database, block_size) as blocks, ThreadPoolExecutor(threads) as pool:
        pending = set()
        try:
            for block in blocks:
                pending.add(pool.submit(work, block))
                if len(pending) >= 2 * threads:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    collect(done)
            collect(pending)
        finally:
            for future in pending:
                future.cancel()
            bar.close()
    if not results:
        raise DataError(f"{database}: the database holds no sequences")
    return _merge(results), searched


def _merge(hits: list):
    """Merge ``TopHits`` in groups, so that many blocks do not make merging quadratic."""
    while len(hits) > 1:
        hits = [group[0].merge(*group[1:]) for group in _groups(hits, 32)]
    return hits[0]


def _groups(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def domain_rows(hits, length: int) -> list[DomainRow]:
    """Included domains of included hits as rows of ``length`` region columns, best score first."""
    rows = []
    for hit in sorted((h for h in hits if h.included), key=lambda h: -h.score):
        name = hit.name.decode() if isinstance(hit.name, bytes) else hit.name
        for domain in hit.domains:
            if domain.included:
                rows.append(_domain_row(name, domain, length))
    return rows


def _domain_row(name: str, domain, length: int) -> DomainRow:
    """Place a domain's match-state letters in their region columns; drop its insertions."""
    alignment = domain.alignment
    row = ["-"] * length
    column, inserted = alignment.hmm_from - 1, 0
    for state, letter in zip(alignment.hmm_sequence, alignment.target_sequence, strict=True):
        if state == ".":  # an insert state: a target residue with no query column
            inserted += 1
            continue
        row[column] = letter.upper() if letter.isalpha() else "-"
        column += 1
    start, end = alignment.target_from, alignment.target_to
    return DomainRow(f"{name}/{start}-{end}", "".join(row), float(domain.score), inserted)


# -- post-processing ---------------------------------------------------------------------------
#: What each post-processing step counted, in order.
STEPS = {
    "domains": "included domains",
    "insert_residues_trimmed": "residues in insertions, trimmed",
    "dropped_coverage": "dropped: cover less than {coverage:.0%} of the region",
    "lowercase_columns": "columns in lower case (more than {gaps:.0%} gaps)",
    "dropped_letters": "dropped: a letter outside the 20 amino acids in a focus column",
    "dropped_identical": "dropped: identical to an earlier row",
    "sequences": "sequences written (focus included)",
}


@dataclass
class Built:
    """A post-processed alignment: records ``(header, row)``, focus first, and the step counts."""

    records: list[tuple[str, str]]
    steps: dict[str, int]
    focus_columns: int

    def a2m(self) -> str:
        return "".join(f">{header}\n{row}\n" for header, row in self.records)


def postprocess(
    focus: str,
    region: str,
    rows: list[DomainRow],
    min_coverage: float = MIN_COVERAGE,
    max_column_gaps: float = MAX_COLUMN_GAPS,
) -> Built:
    """EVcouplings' filters on the search's rows (see the module docstring); counts each step.

    Parameters
    ----------
    focus : str
        Header of the focus row, ``NAME/START-END``.
    region : str
        The focus row: the query region, upper case.
    rows : list of DomainRow
        The included domains, each ``len(region)`` columns long.
    """
    length = len(region)
    steps = {"domains": len(rows), "insert_residues_trimmed": sum(r.inserted for r in rows)}
    kept = [r for r in rows if _residues(r.row) >= min_coverage * length]
    steps["dropped_coverage"] = len(rows) - len(kept)
    records = [(focus, region)] + [(r.name, r.row) for r in kept]
    gaps = [sum(row[c] == "-" for _, row in records) for c in range(length)]
    upper = [g <= max_column_gaps * len(records) for g in gaps]
    steps["lowercase_columns"] = upper.count(False)
    records = [(h, _case(row, upper)) for h, row in records]
    valid = [records[0]] + [r for r in records[1:] if _standard(r[1], upper)]
    steps["dropped_letters"] = len(records) - len(valid)
    unique, seen = [], set()
    for header, row in valid:
        if row not in seen:
            seen.add(row)
            unique.append((header, row))
    steps["dropped_identical"] = len(valid) - len(unique)
    steps["sequences"] = len(unique)
    return Built(unique, steps, upper.count(True))


def _residues(row: str) -> int:
    return len(row) - row.count("-")


def _case(row: str, upper: list[bool]) -> str:
    return "".join(
        letter if keep else ("." if letter == "-" else letter.lower())
        for letter, keep in zip(row, upper, strict=True)
    )


def _standard(row: str, upper: list[bool]) -> bool:
    return all(
        letter in AMINO_ACIDS or letter == "-"
        for letter, keep in zip(row, upper, strict=True)
        if keep
    )


# -- depth and the recommendation --------------------------------------------------------------
@dataclass(frozen=True)
class Depth:
    """The depth of one threshold's alignment, as training would read it."""

    bits: float
    num_sequences: int
    focus_columns: int
    region_length: int
    neff: float

    @property
    def region_share(self) -> float:
        return self.focus_columns / self.region_length

    @property
    def neff_per_length(self) -> float:
        return self.neff / self.focus_columns

    @property
    def covers(self) -> bool:
        return self.focus_columns >= MIN_FOCUS_SHARE * self.region_length

    @property
    def deep_enough(self) -> bool:
        return MIN_SEQUENCES_PER_POSITION * self.region_length <= self.num_sequences

    @property
    def not_too_deep(self) -> bool:
        return self.num_sequences <= MAX_SEQUENCES


def recommend(depths: list[Depth]) -> tuple[int, str]:
    """Index of the threshold EVE's criteria choose, and why.

    Qualifying: focus columns ≥ 0.8 L and 10 L ≤ N ≤ 100,000 (L the region's length); among them
    the lowest threshold, the deepest alignment within the bounds (on BLAT the highest qualifying
    threshold, 0.7 bits, kept only 65 % of the family; 0.3 kept 98.6 % and no decoy). Relaxed
    when none qualifies: among those covering 0.8 L, the one whose N is nearest the window (by
    ratio); if none covers 0.8 L, the most focus columns.
    """
    length = depths[0].region_length
    window = f"{MIN_SEQUENCES_PER_POSITION} L = {MIN_SEQUENCES_PER_POSITION * length:,}"
    qualifying = [i for i, d in enumerate(depths) if d.covers and d.deep_enough and d.not_too_deep]
    if qualifying:
        best = min(qualifying, key=lambda i: depths[i].bits)
        return best, (
            f"meets EVE's criteria (focus columns ≥ 0.8 L, {window} ≤ N ≤ {MAX_SEQUENCES:,}); "
            "the lowest such threshold, the deepest alignment within the bounds"
        )
    covering = [i for i, d in enumerate(depths) if d.covers]
    if covering:
        best = min(covering, key=lambda i: (_distance(depths[i]), -depths[i].bits))
        return best, (
            f"relaxed: no threshold gives {window} ≤ N ≤ {MAX_SEQUENCES:,} with focus columns ≥ "
            "0.8 L; this one covers 0.8 L with N nearest that range"
        )
    best = max(range(len(depths)), key=lambda i: (depths[i].focus_columns, depths[i].bits))
    return best, "relaxed: no threshold covers 0.8 L; this one has the most focus columns"


def _distance(depth: Depth) -> float:
    """How far N lies outside [10 L, 100,000], as a ratio (1 inside)."""
    low = MIN_SEQUENCES_PER_POSITION * depth.region_length
    return max(low / depth.num_sequences, depth.num_sequences / MAX_SEQUENCES, 1.0)
