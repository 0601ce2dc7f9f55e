"""``deepseq align``: BLAT found among decoys, the post-processing, the errors.

The database is built here from ../shared/data: a sample of the released BLAT alignment's
sequences with their gaps removed (600 of 8,403: the whole set takes minutes on two cores), the
same alignment's rows of those sequences as the reference, and decoys (DHFR and ubiquitin family
sequences, shuffled BLAT sequences). The floors were measured on this sample: at 0.3 bits per
residue (3 iterations) 592 of its 595 distinct BLAT sequences were recovered, no decoy at any
threshold, 251 focus columns (released: 253) and Neff 382.5 (the released rows of the same
sequences: 383.9).
"""

import gzip
import importlib.util
import random
import re
import sys

import numpy as np
import pandas as pd
import pytest

from pyro_deepseq.cli.align import main
from pyro_deepseq.data.alignment import Alignment
from pyro_deepseq.data.fasta import read_records
from pyro_deepseq.data.homology import (
    Depth,
    DomainRow,
    postprocess,
    read_query,
    recommend,
    search,
)
from pyro_deepseq.data.weights import sequence_weights
from pyro_deepseq.errors import DataError

from .conftest import BLAT, DHFR, SHARED, needs_shared, write

needs_pyhmmer = pytest.mark.skipif(
    importlib.util.find_spec("pyhmmer") is None, reason="pyhmmer is in the align extra"
)
RL401 = SHARED / "RL401_YEAST" / "RL401_YEAST.a2m"
SAMPLE = 600


def _degapped(path):
    for record in read_records(path):
        yield record.header.split()[0], record.sequence.translate(None, b"-.").upper().decode()


def _write_fasta(path, records):
    text = "".join(f">{name}\n{seq}\n" for name, seq in records)
    if path.suffix == ".gz":
        with gzip.open(path, "wt") as handle:
            handle.write(text)
    else:
        path.write_text(text)
    return path


@pytest.fixture(scope="module")
def blat_database(tmp_path_factory):
    """Query, database, ``{name: sequence}`` and the sampled BLAT names (focus first)."""
    rng = random.Random(0)
    blat = list(_degapped(BLAT))
    sample = [blat[0]] + rng.sample(blat[1:], SAMPLE - 1)
    decoys = [(f"decoy_{n}", s) for n, s in rng.sample(list(_degapped(DHFR)), 300)]
    decoys += [(f"decoy_{n}", s) for n, s in rng.sample(list(_degapped(RL401)), 300)]
    for i in range(200):
        letters = list(rng.choice(blat)[1])
        rng.shuffle(letters)
        decoys.append((f"shuffled_{i}", "".join(letters)))
    folder = tmp_path_factory.mktemp("blat")
    database = _write_fasta(folder / "database.fasta", sample + decoys)
    query = _write_fasta(folder / "query.fasta", [blat[0]])
    return query, database, dict(sample + decoys), [name for name, _ in sample]


@pytest.fixture(scope="module")
def built(blat_database, tmp_path_factory):
    query, database, _, _ = blat_database
    out = tmp_path_factory.mktemp("built") / "blat.a2m"
    argv = ["--query", str(query), "--database", str(database), "--out", str(out)]
    argv += ["--bitscore", "0.7", "0.3", "--iterations", "3", "--threads", "2", "--quiet"]
    assert main(argv) == 0
    return out


@needs_shared
@needs_pyhmmer
def test_blat_is_recovered_without_decoys(built, blat_database):
    _, _, sequences, sample = blat_database
    table = pd.read_csv(built.with_name("blat.depth.csv"))
    assert table["bitscore"].tolist() == [0.3, 0.7]
    assert table["recommended"].tolist() == [True, False]  # relaxed: N < 10 L at both
    assert table["reason"][0].startswith("relaxed")
    assert built.read_text() == built.with_name("blat_b0.3.a2m").read_text()
    family = {sequences[name] for name in sample}
    for bits, floor in ((0.3, 0.98), (0.7, 0.55)):
        alignment = Alignment.from_file(built.with_name(f"blat_b{bits}.a2m"))
        sources = [re.sub(r"/\d+-\d+$", "", h) for h in alignment.headers[1:]]
        assert not [s for s in sources if s.startswith(("decoy", "shuffled"))]
        found = {sequences[s] for s in sources} | {sequences[sample[0]]}
        assert len(found & family) >= floor * len(family), (bits, len(found), len(family))
    row = table.iloc[0]
    assert row["sequences"] == alignment_rows(built) and row["dropped_coverage"] == 0


def alignment_rows(path):
    return sum(1 for _ in read_records(path))


@needs_shared
@needs_pyhmmer
def test_built_alignment_resembles_the_released_rows(built, blat_database, blat):
    _, _, _, sample = blat_database
    alignment = Alignment.from_file(built)
    assert alignment.focus_name == "BLAT_ECOLX/24-286"
    assert alignment.positions[0] >= 24 and alignment.positions[-1] <= 286
    released = blat
    rows = np.flatnonzero(np.isin([h.split()[0] for h in released.headers], sample))
    reference = sequence_weights(released.codes[rows], 20, 0.2, "cpu").sum()
    assert abs(alignment.num_positions - released.num_positions) <= 4  # 251 vs 253
    assert abs(alignment.neff - reference) <= 0.03 * reference  # 382.5 vs 383.9
    shared = np.isin(released.positions, alignment.positions).sum()
    assert shared >= 249


def test_postprocess_counts_each_step():
    rows = [
        DomainRow("a/1-8", "ACDEFGHI", 50.0, 0),
        DomainRow("b/1-3", "ACD-----", 40.0, 0),  # covers 3 of 8: dropped
        DomainRow("c/2-8", "-CDEFGHK", 30.0, 2),
        DomainRow("d/1-8", "ACDXFGHI", 20.0, 0),  # X in a focus column: dropped
        DomainRow("e/1-8", "ACDEFGHI", 10.0, 0),  # identical to a: dropped
        DomainRow("f/1-7", "-CDEFGH-", 5.0, 0),
    ]
    built = postprocess("Q/11-18", "ACDEFGHW", rows)
    assert built.steps == {
        "domains": 6,
        "insert_residues_trimmed": 2,
        "dropped_coverage": 1,
        "lowercase_columns": 1,  # column 1: 2 gaps in 6 rows, more than 30 %
        "dropped_letters": 1,
        "dropped_identical": 1,
        "sequences": 4,
    }
    assert built.focus_columns == 7
    assert built.records == [
        ("Q/11-18", "aCDEFGHW"),
        ("a/1-8", "aCDEFGHI"),
        ("c/2-8", ".CDEFGHK"),
        ("f/1-7", ".CDEFGH-"),
    ]
    assert built.a2m().startswith(">Q/11-18\naCDEFGHW\n>a/1-8\n")


def test_recommendation_follows_eve_criteria():
    def depth(bits, n, columns):
        return Depth(bits, n, columns, 100, n / 2)

    good = [depth(0.3, 50_000, 95), depth(0.5, 5_000, 90), depth(0.7, 900, 85)]
    assert recommend(good)[0] == 0 and recommend(good)[1].startswith("meets")
    shallow = [depth(0.3, 800, 95), depth(0.5, 300, 90), depth(0.7, 200, 70)]
    assert recommend(shallow)[0] == 0 and "nearest" in recommend(shallow)[1]
    deep = [depth(0.1, 400_000, 99), depth(0.3, 150_000, 95)]
    assert recommend(deep)[0] == 1
    narrow = [depth(0.3, 5_000, 70), depth(0.5, 4_000, 75)]
    assert recommend(narrow) == (1, recommend(narrow)[1]) and "most focus" in recommend(narrow)[1]


def test_query_numbering_and_errors(tmp_path):
    query = read_query(write(tmp_path / "q.fasta", ">P12345/11-16 a protein\nacdEFG\n"))
    assert (query.name, query.sequence, query.first, query.last) == ("P12345", "ACDEFG", 11, 16)
    assert query.subsequence(*query.region((12, 14))) == "CDE"
    with pytest.raises(DataError, match=r"--region 15-20 lies outside .*positions 11–16"):
        query.region((15, 20))
    plain = read_query(write(tmp_path / "p.fasta", ">sp|X|Y other/2-9\nACDEFG\n"))
    assert (plain.name, plain.first) == ("sp|X|Y", 1)
    with pytest.raises(DataError, match=r"q2.fasta, line 1: the query has 'B' at residue 3"):
        read_query(write(tmp_path / "q2.fasta", ">q\nACBD\n"))
    with pytest.raises(DataError, match="expected one query sequence, found 2"):
        read_query(write(tmp_path / "q3.fasta", ">a\nAC\n>b\nDE\n"))


@pytest.fixture(scope="module")
def small(tmp_path_factory, blat_database):
    """60 BLAT sequences and 40 decoys, gzipped."""
    query, _, sequences, sample = blat_database
    records = [(n, sequences[n]) for n in sample[:60]]
    records += [(n, s) for n, s in sequences.items() if n.startswith("decoy")][:40]
    folder = tmp_path_factory.mktemp("small")
    return query, _write_fasta(folder / "small.fasta.gz", records)


@needs_shared
@needs_pyhmmer
def test_region_and_gzip(small, tmp_path, capsys):
    query, database = small
    out = tmp_path / "region.a2m"
    argv = ["--query", str(query), "--database", str(database), "--out", str(out)]
    assert main([*argv, "--region", "60-150", "--iterations", "1", "--threads", "1"]) == 0
    alignment = Alignment.from_file(out)
    assert alignment.focus_name == "BLAT_ECOLX/60-150"
    assert alignment.positions[0] >= 60 and alignment.positions[-1] <= 150
    assert alignment.num_sequences > 20  # 25 after one iteration
    printed = capsys.readouterr().out
    assert "sequences searched" in printed and "recommended: 0.5 bits per residue" in printed


@needs_shared
@needs_pyhmmer
def test_threads_and_blocks_do_not_change_the_hits(small):
    query, database = small
    region = read_query(query).sequence[:120]
    one = search(region, "q", database, 0.5, 2, threads=1, block_size=1000, progress=False)
    many = search(region, "q", database, 0.5, 2, threads=2, block_size=7, progress=False)
    assert one.rows == many.rows and len(one.rows) > 30
    assert one.searched == many.searched == 100


@needs_shared
@needs_pyhmmer
@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("bad_query", "the query has 'J' at residue 4"),
        ("empty_database", "the database holds no sequences"),
        ("text_database", "not a readable FASTA database"),
        ("missing_database", "database file not found"),
        ("bad_gzip", "db.fasta.gz: not a readable gzip file"),
        ("region", r"--region 300-400 lies outside the query BLAT_ECOLX \(positions 24–286\)"),
        ("no_hits", "no sequence in .* reaches 0.5 bits per residue"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, blat_database, case, message):
    query, _, sequences, _ = blat_database
    database = _write_fasta(tmp_path / "db.fasta", [(n, sequences[n]) for n in sequences][:20])
    extra = []
    if case == "bad_query":
        query = write(tmp_path / "q.fasta", ">q\nACDJKL\n")
    elif case == "empty_database":
        database = write(tmp_path / "db.fasta", "")
    elif case == "text_database":
        database = write(tmp_path / "db.fasta", "this is not FASTA\n")
    elif case == "bad_gzip":
        database = write(tmp_path / "db.fasta.gz", ">plain text, not gzip\nACD\n")
    elif case == "missing_database":
        database = tmp_path / "nope.fasta"
    elif case == "region":
        extra = ["--region", "300-400"]
    elif case == "no_hits":
        ubiquitins = [(n, s) for n, s in sequences.items() if n.startswith("decoy") and len(s) < 90]
        database = _write_fasta(tmp_path / "db.fasta", ubiquitins[:30])
    out = tmp_path / "out" / "family.a2m"
    argv = ["--query", str(query), "--database", str(database), "--out", str(out), "--quiet"]
    assert main([*argv, "--iterations", "1", *extra]) == 1
    err = capsys.readouterr().err
    assert re.search(message, err) and err.startswith("error: ") and "Traceback" not in err
    assert not out.parent.exists() or not list(out.parent.iterdir())


def test_existing_outputs_usage_errors_and_missing_pyhmmer(tmp_path, capsys, monkeypatch):
    query = write(tmp_path / "q.fasta", ">q\nACDEFGHIKL\n")
    database = write(tmp_path / "db.fasta", ">t\nACDEFGHIKL\n")
    out = write(tmp_path / "family.a2m", "mine\n")
    argv = ["--query", str(query), "--database", str(database), "--out", str(out)]
    assert main(argv) == 1
    assert "family.a2m exists; pass --force" in capsys.readouterr().err
    assert out.read_text() == "mine\n"
    for bad in (["--region", "5-2"], ["--bitscore", "0"], ["--threads", "0"]):
        with pytest.raises(SystemExit) as exit_:
            main([*argv, "--force", *bad])
        assert exit_.value.code == 2
    monkeypatch.setitem(sys.modules, "pyhmmer", None)
    assert main([*argv, "--force"]) == 1
    assert "pip install 'pyro_deepseq[align]'" in capsys.readouterr().err
    assert out.read_text() == "mine\n"
