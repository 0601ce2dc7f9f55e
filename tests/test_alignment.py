"""Reading alignments the way DeepSequence does, checked on the real families and small files."""

import numpy as np
import pytest
import torch

from pyro_deepseq.data.alignment import INVALID_LETTER, Alignment
from pyro_deepseq.data.fasta import read_records
from pyro_deepseq.errors import DataError, DataWarning

from .conftest import DHFR, DHFR_WT, TRNA, needs_shared, write


@needs_shared
def test_blat_matches_the_original(blat):
    assert blat.num_records == 8403
    assert blat.num_sequences == 8355
    assert blat.dropped == {INVALID_LETTER: 48}
    assert blat.num_positions == 253
    expected = [p for p in range(29, 284) if p not in (56, 238)]
    assert blat.positions.tolist() == expected
    assert blat.focus_name == "BLAT_ECOLX/24-286"
    assert blat.focus_sequence.startswith("VKVKDAEDQLGARVGYIELDLNSGKILSFRPEE")
    assert abs(blat.neff - 2605.0) < 1.0
    assert "8,355 sequences × 253 positions (29–283)" in repr(blat)


@needs_shared
def test_dhfr_gap_columns_of_the_focus_are_not_focus_columns(dhfr):
    raw = next(read_records(DHFR)).sequence
    assert len(raw) == 171 and raw.count(b"-") == 12
    assert dhfr.num_positions == 159
    assert dhfr.positions.tolist() == list(range(1, 160))
    wild_type = "".join(line.strip() for line in DHFR_WT.read_text().splitlines()[1:])
    assert dhfr.focus_sequence == wild_type


@needs_shared
def test_trna_uses_the_rna_alphabet_and_numbers_from_one():
    with pytest.warns(DataWarning, match="no /START-END"):
        trna = Alignment.from_file(TRNA, alphabet="rna")
    assert trna.alphabet == "ACGU"
    assert (trna.num_sequences, trna.num_positions) == (1919, 72)
    assert trna.positions.tolist() == list(range(1, 73))
    assert trna.focus_sequence.startswith("GUUCCGUUGG")


def test_focus_columns_positions_and_gaps(tmp_path):
    path = write(
        tmp_path / "a.a2m",
        """
>P/10-16
acD-EFgH
>s1
.cD-E.gH
>s2
..W-YF.A
>s3
..X-AF.A
""",
    )
    aln = Alignment.from_file(path)
    # focus letters a c D E F g H are positions 10..16; '-' is not a focus column
    assert aln.positions.tolist() == [12, 13, 14, 16]
    assert aln.focus_sequence == "DEFH"
    assert aln.num_sequences == 3 and aln.dropped == {INVALID_LETTER: 1}
    assert aln.headers == ["P/10-16", "s1", "s2"]
    one_hot = aln.one_hot()
    assert one_hot.shape == (3, 4, 20) and one_hot.dtype == torch.float32
    assert one_hot[1, 2].sum() == 0  # s1 has '.' at the F column: a gap is all zeros
    assert one_hot[2].argmax(-1).tolist() == ["ACDEFGHIKLMNPQRSTVWY".index(c) for c in "WYFA"]
    assert aln.codes.dtype == np.uint8 and aln.codes[1, 2] == aln.gap_code


def test_a3m_insertions_are_removed(tmp_path):
    a2m = write(tmp_path / "f.a2m", ">P/1-6\nAcDEFG\n>s1\nA.DEYG\n>s2\nAkDE-G\n")
    a3m = write(tmp_path / "f.a3m", ">P/1-6\nAcDEFG\n>s1\nADEYG\n>s2\nAkDE-G\n")
    expected = Alignment.from_file(a2m)
    got = Alignment.from_file(a3m)
    assert np.array_equal(got.codes, expected.codes)
    assert got.positions.tolist() == expected.positions.tolist() == [1, 3, 4, 5, 6]


def test_wrapped_records_equal_single_line_records(tmp_path):
    one = write(tmp_path / "one.fasta", ">P/1-8\nACDEFGHI\n>s\nACDEFGHK\n")
    wrapped = write(tmp_path / "wrapped.fasta", ">P/1-8\nACD\nEFG\n\nHI\n>s\nACDEFGH\nK\n")
    assert np.array_equal(Alignment.from_file(one).codes, Alignment.from_file(wrapped).codes)


def test_named_focus_record(tmp_path):
    path = write(tmp_path / "a.a2m", ">first/1-3\nACD\n>second/5-7 description\nAcD\n")
    aln = Alignment.from_file(path, focus="second")
    assert aln.focus_name == "second/5-7 description"
    assert aln.positions.tolist() == [5, 7]
    with pytest.raises(DataError, match="no record is named 'third'"):
        Alignment.from_file(path, focus="third")


def test_duplicate_headers_are_kept_with_one_warning(tmp_path):
    path = write(tmp_path / "a.a2m", ">P/1-3\nACD\n>x\nACE\n>x\nACF\n>x\nAGF\n")
    with pytest.warns(DataWarning, match="1 header.*more than once") as caught:
        aln = Alignment.from_file(path)
    assert len(caught) == 1
    assert aln.num_sequences == 4


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("empty.a2m", "", "empty"),
        ("blank.a2m", "\n\n", "empty"),
        ("plain.txt", "ACDEFG\n>s\nACD\n", r"line 1: not a FASTA-like alignment"),
        ("lower.a2m", ">P/1-3\nacd\n>s\nACD\n", "line 1: .*no upper-case letter"),
        (
            "ragged.a2m",
            ">P/1-3\nACD\n>s1\nACD\n\n>s2\nACDE\n",
            "line 6: record 's2' has aligned length 4",
        ),
        (
            "region.a2m",
            ">P/1-5\nACD\n>s\nACD\n",
            r"says /1-5 \(5 residues\), but its row has 3 letters",
        ),
        ("focus.a2m", ">P/1-3\nAXD\n>s\nACD\n", "focus sequence has 'X' at position 2"),
        ("binary.a2m", ">P/1-3\nACD\n>\xff\xfe\nACD\n", None),
    ],
)
def test_bad_alignments_name_the_problem(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_bytes(text.encode("latin-1"))
    if message is None:  # a header that is not UTF-8
        message = "line 3: header is not UTF-8"
    with pytest.raises(DataError, match=message) as error:
        Alignment.from_file(path)
    assert str(path) in str(error.value)


def test_missing_file_and_bad_options(tmp_path):
    with pytest.raises(DataError, match="alignment file not found"):
        Alignment.from_file(tmp_path / "nope.a2m")
    path = write(tmp_path / "a.a2m", ">P/1-3\nACD\n>s\nACE\n")
    for theta in (0, 1, -0.1, 1.5):
        with pytest.raises(DataError, match="theta must lie strictly between 0 and 1"):
            Alignment.from_file(path, theta=theta)
    with pytest.raises(DataError, match="unknown alphabet 'amino'"):
        Alignment.from_file(path, alphabet="amino")


def test_weights_are_lazy_and_cached_per_alignment(tmp_path):
    path = write(tmp_path / "a.a2m", ">P/1-4\nACDE\n>s1\nACDE\n>s2\nACDF\n>s3\nWWWW\n>s4\n----\n")
    aln = Alignment.from_file(path, theta=0.2)
    assert "Neff not computed" in repr(aln)
    # P, s1 identical (4/4 > 0.8); s2 shares 3/4 = 0.75 with them; the all-gap row weighs 0
    assert aln.weights.tolist() == [0.5, 0.5, 1.0, 1.0, 0.0]
    assert aln.neff == 3.0
    assert Alignment.from_file(path, theta=0.3).weights.tolist() == [1 / 3, 1 / 3, 1 / 3, 1, 0]
