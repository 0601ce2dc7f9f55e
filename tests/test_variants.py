"""Variants as whole sequences: each FASTA record read by its length and turned into its mutant."""

import numpy as np
import pytest

from pyro_deepseq.data.mutations import LETTER_OUTSIDE_ALPHABET, MutationSet
from pyro_deepseq.data.variants import from_sequences
from pyro_deepseq.errors import DataError

from .conftest import DHFR_WT, needs_shared, write


def changed(sequence: str, index: int, letter: str) -> str:
    return sequence[:index] + letter + sequence[index + 1 :]


def spread(blat, first: int, length: int, filler: str = "G") -> str:
    """BLAT's focus letters placed by UniProt number in a sequence that starts at ``first``."""
    letters = [filler] * length
    for position, letter in zip(blat.positions, blat.focus_sequence, strict=True):
        letters[position - first] = letter
    return "".join(letters)


@needs_shared
def test_each_record_is_read_by_its_length(tmp_path, blat):
    wild = blat.focus_sequence  # 253 focus columns, positions 29-283 of BLAT_ECOLX/24-286
    span = spread(blat, first=24, length=263)
    whole = spread(blat, first=1, length=290)
    records = {
        "aligned wild type": wild,
        "aligned double": changed(changed(wild, 0, "A"), 10, "W"),
        "span single": changed(span, 42 - 24, "Y"),  # position 42 within the span
        "whole protein": changed(changed(whole, 41, "Y"), 10, "C"),  # 11 is no focus position
        "deletion": changed(wild, 5, "-"),
        "stop": changed(wild, 7, "*"),
    }
    fasta = write(tmp_path / "designs.fasta", "".join(f">{k}\n{v}\n" for k, v in records.items()))
    variants = from_sequences(fasta, blat)
    double = f"{wild[0]}29A:{wild[10]}{blat.positions[10]}W"
    expected = ["WT", double, f"{wild[42 - 29]}42Y", f"{wild[42 - 29]}42Y"]
    assert variants.scoreable["name"].tolist() == list(records)[:4]
    assert variants.scoreable["mutant"].tolist() == expected
    assert variants.scoreable["row"].tolist() == [0, 1, 2, 3]
    np.testing.assert_array_equal(variants.codes, MutationSet.from_mutants(expected, blat).codes)
    assert variants.unscoreable["name"].tolist() == ["deletion", "stop"]
    assert variants.unscoreable["row"].tolist() == [4, 5]
    assert (variants.unscoreable["reason"] == LETTER_OUTSIDE_ALPHABET).all()
    assert variants.unscoreable["detail"].iloc[0] == f"'-' at position {blat.positions[5]}"


@needs_shared
def test_a_record_of_no_known_length_is_an_error_naming_it(tmp_path, blat):
    fasta = write(tmp_path / "designs.fasta", f">ok\n{blat.focus_sequence}\n\n>short one\nMKV\n")
    with pytest.raises(DataError) as error:
        from_sequences(fasta, blat)
    assert str(error.value) == (
        f"{fasta}, line 4: 'short one' has 3 letters; expected 253 (one per focus column), "
        "263 (the focus record's span 24-286), or at least 283 (the whole protein, numbered from 1)"
    )


@needs_shared
def test_the_published_wild_type_of_a_dms_maps_to_the_focus(dhfr):
    variants = from_sequences(DHFR_WT, dhfr)  # the whole DYR_ECOLI protein, 159 letters
    assert variants.scoreable["mutant"].tolist() == ["WT"]
    assert variants.unscoreable.empty
