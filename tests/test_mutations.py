"""Tests of mutant parsing, DMS table reading and mapping onto an alignment's focus sequence."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pyro_deepseq.data.alignment import Alignment
from pyro_deepseq.data.mutations import (
    LETTER_OUTSIDE_ALPHABET,
    MISSING_SCORE,
    POSITION_NOT_FOCUS,
    REPEATED_POSITION,
    SYNONYMOUS,
    WILD_TYPE_MISMATCH,
    MutationSet,
    Substitution,
    UnscoreableMutant,
    locate_mutant,
    parse_mutant,
    read_dms,
)
from pyro_deepseq.errors import DataError, DataWarning

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
BLAT_ALIGNMENT = DATA / "BLAT_ECOLX_hmmerbit_plmc_n5_m30_f50_t0.2_r24-286_id100_b105.a2m"
BLAT_TABLE = DATA / "BLAT_ECOLX_Ranganathan2015.csv"
DHFR_ALIGNMENT = DATA / "DYR_ECOLI" / "DHFR.a2m"
DHFR_TABLE = DATA / "DYR_ECOLI" / "DYR_ECOLI_Thompson_plusLon_2019.csv"
needs_data = pytest.mark.skipif(
    not BLAT_TABLE.is_file(), reason=f"shared data not found at {DATA} (checkout without ../shared)"
)


def _alignment(tmp_path: Path, text: str) -> Alignment:
    path = tmp_path / "tiny.a2m"
    path.write_text(text)
    return Alignment.from_file(path)


@pytest.fixture
def tiny(tmp_path):
    """Focus MKTAYG at positions 10-15, every column a focus column."""
    return _alignment(tmp_path, ">P/10-15\nMKTAYG\n>s1\nMKTAYA\n>s2\nMRTAFG\n")


@pytest.fixture(scope="module")
def blat():
    if not BLAT_ALIGNMENT.is_file():
        pytest.skip(f"shared data not found at {DATA}")
    return Alignment.from_file(BLAT_ALIGNMENT)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# -- parsing ---------------------------------------------------------------------------------------
def test_parse_single_and_multi():
    assert parse_mutant("A42G") == (Substitution("A", 42, "G"),)
    assert parse_mutant(" A42G:K50E ") == (Substitution("A", 42, "G"), Substitution("K", 50, "E"))
    assert str(Substitution("A", 42, "G")) == "A42G"


@pytest.mark.parametrize("text", ["WT", "wt", "_wt", "", "  "])
def test_parse_wild_type(text):
    assert parse_mutant(text) == ()


def test_parse_unknown_letters_parse():
    assert parse_mutant("X42*") == (Substitution("X", 42, "*"),)


@pytest.mark.parametrize("text", ["42G", "A42", "A4x2G", "A42G::K5E", "a42g", "A42G:", "A-42G"])
def test_parse_malformed_raises_naming_the_string(text):
    with pytest.raises(DataError, match=repr(text).replace("*", r"\*")):
        parse_mutant(text)


def test_parse_non_string_raises():
    with pytest.raises(DataError, match="not a string"):
        parse_mutant(float("nan"))


# -- mapping onto a tiny alignment -----------------------------------------------------------------
def test_each_reason(tiny):
    mutants = ["M10A", "M9A", "A11G", "K11X", "K11K", "K11A:K11G", "WT", "M10A:G15C", "M16A"]
    result = MutationSet.from_mutants(mutants, tiny)
    assert result.scoreable["mutant"].tolist() == ["M10A", "WT", "M10A:G15C"]
    assert result.scoreable["row"].tolist() == [0, 6, 7]
    assert result.unscoreable["reason"].tolist() == [
        POSITION_NOT_FOCUS,
        WILD_TYPE_MISMATCH,
        LETTER_OUTSIDE_ALPHABET,
        SYNONYMOUS,
        REPEATED_POSITION,
        POSITION_NOT_FOCUS,
    ]
    assert result.unscoreable["row"].tolist() == [1, 2, 3, 4, 5, 8]
    assert result.counts_by_reason() == {
        POSITION_NOT_FOCUS: 2,
        WILD_TYPE_MISMATCH: 1,
        LETTER_OUTSIDE_ALPHABET: 1,
        SYNONYMOUS: 1,
        REPEATED_POSITION: 1,
    }
    assert (result.num_mutants, result.num_scoreable) == (9, 3)
    assert "expected K" in result.unscoreable["detail"][1]
    assert "given A" in result.unscoreable["detail"][1]
    assert "3 of 9 scoreable" in repr(result)


@pytest.mark.parametrize(
    ("mutant", "reason"),
    [
        ("A11G:M9A", POSITION_NOT_FOCUS),  # position before wild type, whatever the order
        ("K11X:A12G", WILD_TYPE_MISMATCH),  # wild type before letter
        ("K11K:T12X", LETTER_OUTSIDE_ALPHABET),  # letter before synonymous
        ("T12A:T12T", SYNONYMOUS),  # synonymous before repeated
    ],
)
def test_reason_precedence(tiny, mutant, reason):
    with pytest.raises(UnscoreableMutant) as caught:
        locate_mutant(mutant, tiny)
    assert caught.value.reason == reason
    assert mutant in str(caught.value)


def test_locate_mutant_and_wild_type_message(tiny):
    columns, codes = locate_mutant("M10A:G15C", tiny)
    assert columns.tolist() == [0, 5]
    assert codes.tolist() == [tiny.alphabet.index("A"), tiny.alphabet.index("C")]
    with pytest.raises(UnscoreableMutant, match="expected K at position 11.*given A"):
        locate_mutant("A11G", tiny)


def test_mutated_codes_match_a_loop(tiny):
    mutants = ["M10A:G15C", "WT", "Y14W", "K11R:T12S:A13D"]
    result = MutationSet.from_mutants(mutants, tiny)
    assert result.codes.dtype == np.uint8
    assert result.codes.shape == (4, 6)
    for row, mutant in zip(result.codes, mutants, strict=True):
        expected = list(tiny.focus_sequence)
        for substitution in parse_mutant(mutant):
            expected[substitution.position - 10] = substitution.mutant
        assert "".join(tiny.alphabet[code] for code in row) == "".join(expected)


def test_lower_case_and_gap_columns_are_not_focus(tmp_path):
    # letters M k T A Y G are positions 10..15; the '-' is no position; k (11) is not a focus column
    aln = _alignment(tmp_path, ">P/10-15\nMkT-AYG\n>s1\nMKTAAYA\n")
    assert aln.focus_sequence == "MTAYG"
    result = MutationSet.from_mutants(["K11A", "T12A", "G15C"], aln)
    assert result.unscoreable["reason"].tolist() == [POSITION_NOT_FOCUS]
    assert "lower case or a gap" in result.unscoreable["detail"][0]
    decoded = ["".join(aln.alphabet[c] for c in row) for row in result.codes]
    assert decoded == ["MAAYG", "MTAYC"]


def test_empty_list_gives_empty_result(tiny):
    result = MutationSet.from_mutants([], tiny)
    assert result.num_mutants == 0
    assert result.codes.shape == (0, 6)


def test_nothing_maps_raises_with_diagnosis(tiny):
    with pytest.raises(DataError) as caught:
        MutationSet.from_mutants(["M110A", "K111A:T112A", "A11G"], tiny)
    message = str(caught.value)
    for part in ["none of the 3", "'P/10-15'", "10-15", "11-112", "numbering", "M110A"]:
        assert part in message
    assert f"{POSITION_NOT_FOCUS}: 2, {WILD_TYPE_MISMATCH}: 1" in message


def test_mostly_wrong_wild_types_warn(tiny):
    with pytest.warns(DataWarning, match="2 of the 3 mutants at focus positions"):
        result = MutationSet.from_mutants(["M10A", "A11G", "A12G"], tiny)
    assert result.num_scoreable == 1


# -- reading tables --------------------------------------------------------------------------------
def test_missing_score_is_a_reason_after_mapping(tiny, tmp_path):
    path = _write(tmp_path / "t.csv", "mutant,DMS_score\nM10A,1.5\nK11A,\nT12A,NA\nM9A,\nWT,0\n")
    result = MutationSet.from_table(path, tiny)
    assert result.score_column == "DMS_score"
    assert result.scoreable["score"].tolist() == [1.5, 0.0]
    assert result.scoreable["row"].tolist() == [2, 6]
    assert result.unscoreable["reason"].tolist() == [
        MISSING_SCORE,
        MISSING_SCORE,
        POSITION_NOT_FOCUS,
    ]
    assert result.unscoreable["row"].tolist() == [3, 4, 5]


def test_all_scores_missing_hints_at_the_column(tiny, tmp_path):
    path = _write(tmp_path / "t.csv", "mutant,fitness\nM10A,\nK11A,NA\n")
    with pytest.raises(DataError, match="every score in column 'fitness' is missing"):
        MutationSet.from_table(path, tiny, score_column="fitness")


def test_read_dms_default_score_column(tmp_path):
    path = _write(tmp_path / "t.tsv", "mutant\tother\nM10A\t1\n")
    table = read_dms(path)
    assert list(table.columns) == ["row", "mutant"]
    assert table.attrs["score_column"] is None


def test_blank_lines_keep_line_numbers(tmp_path):
    path = _write(tmp_path / "t.csv", "mutant,s\nM10A,1\n\nK11A,2\n")
    assert read_dms(path, score_column="s")["row"].tolist() == [2, 4]


def test_csv_tsv_xlsx_agree(tiny, tmp_path):
    table = pd.DataFrame(
        {
            "variant": ["M10A", "A11G", "WT", "K11R:T12S", "G15*", "Y14W", "T12T"],
            "2500": [0.5, 1.0, 0.0, None, 2.0, -1.25, 3.0],
        }
    )
    table.to_csv(tmp_path / "t.csv", index=False)
    table.to_csv(tmp_path / "t.tsv", sep="\t", index=False)
    table.to_excel(tmp_path / "t.xlsx", index=False)
    results = [
        MutationSet.from_table(tmp_path / name, tiny, mutant_column="variant", score_column="2500")
        for name in ["t.csv", "t.tsv", "t.xlsx"]
    ]
    first = results[0]
    assert first.num_scoreable == 3
    for other in results[1:]:
        pd.testing.assert_frame_equal(other.scoreable, first.scoreable)
        pd.testing.assert_frame_equal(other.unscoreable, first.unscoreable)
        np.testing.assert_array_equal(other.codes, first.codes)


def test_xlsx_numeric_header_found_by_name(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.append(["mutant", 2500])
    book.active.append(["M10A", 0.25])
    book.save(tmp_path / "t.xlsx")
    table = read_dms(tmp_path / "t.xlsx", score_column="2500")
    assert table["score"].tolist() == [0.25]


@pytest.mark.parametrize(
    ("name", "text", "kwargs", "pattern"),
    [
        ("absent.csv", None, {}, r"absent\.csv: DMS table not found"),
        ("empty.csv", "", {}, r"empty\.csv: empty file"),
        ("blank.csv", "\n\n", {}, r"blank\.csv: empty file"),
        ("header.csv", "mutant,score\n", {}, r"header\.csv: .*no data rows"),
        ("t.csv", "variant,score\nM10A,1\n", {}, r"t\.csv: no mutant column 'mutant'.*'variant'"),
        ("t.csv", "mutant,x\nM10A,1\n", {"score_column": "2500"}, r"no score column '2500'.*'x'"),
        (
            "t.csv",
            "mutant,s\nM10A,1\nK11A,\nT12A,high\nA13G,low\n",
            {"score_column": "s"},
            r"t\.csv, line 4, column 's': score 'high' is not a finite number \(2 such",
        ),
        ("t.csv", "mutant\nM10A\n\nA4x2G\n", {}, r"t\.csv, line 4, column 'mutant'.*'A4x2G'"),
        ("t.json", "{}", {}, r"t\.json: unknown table extension"),
    ],
)
def test_bad_tables_raise_naming_file_and_place(tiny, tmp_path, name, text, kwargs, pattern):
    path = tmp_path / name
    if text is not None:
        path.write_text(text)
    with pytest.raises(DataError, match=pattern):
        MutationSet.from_table(path, tiny, **kwargs)


# -- real data -------------------------------------------------------------------------------------
@needs_data
def test_blat_column_2500(blat):
    result = MutationSet.from_table(BLAT_TABLE, blat, score_column="2500")
    assert result.num_mutants == 4997
    assert result.num_scoreable == 4807
    assert result.counts_by_reason() == {POSITION_NOT_FOCUS: 190}
    positions = {int(m[1:-1]) for m in result.unscoreable["mutant"]}
    assert positions == {24, 25, 26, 27, 28, 56, 238, 284, 285, 286}
    assert np.isfinite(result.scoreable["score"]).all()
    changed = result.codes != blat.focus_codes
    assert result.codes.shape == (4807, 253)
    assert (changed.sum(axis=1) == 1).all()
    columns = changed.argmax(axis=1)
    expected = [parse_mutant(m)[0] for m in result.scoreable["mutant"]]
    assert blat.positions[columns].tolist() == [s.position for s in expected]
    assert [blat.focus_sequence[c] for c in columns] == [s.wild_type for s in expected]


@needs_data
def test_blat_shifted_numbering(blat, tmp_path):
    table = pd.read_csv(BLAT_TABLE, dtype=str)
    shift = table["mutant"].str.replace(r"\d+", lambda m: str(int(m[0]) + 300), regex=True)
    pd.DataFrame({"mutant": shift, "2500": table["2500"]}).to_csv(tmp_path / "s.csv", index=False)
    with pytest.raises(DataError, match=r"none of the 4997.*'BLAT_ECOLX/24-286'.*29-283.*324-586"):
        MutationSet.from_table(tmp_path / "s.csv", blat, score_column="2500")
    # +100 lands inside the focus range: 76 wild types still agree by chance, hence a warning
    shift = table["mutant"].str.replace(r"\d+", lambda m: str(int(m[0]) + 100), regex=True)
    with pytest.warns(DataWarning, match="wrong numbering"):
        result = MutationSet.from_mutants(shift, blat)
    assert result.num_scoreable == 76


@needs_data
def test_dhfr_all_rows_map():
    # the focus row has 12 '-' columns; positions count letters, so every DMS row maps
    dhfr = Alignment.from_file(DHFR_ALIGNMENT)
    result = MutationSet.from_table(DHFR_TABLE, dhfr, score_column="score")
    assert (result.num_mutants, result.num_scoreable) == (2363, 2363)
    assert result.codes.shape == (2363, 159)
