"""Synthetic family: deterministic, exact DMS scores, sparse epistatic couplings, golden files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pyro_deepseq.data import synthetic
from pyro_deepseq.data.synthetic import (
    ALPHABET,
    default_family,
    generate_family,
    main,
    write_family,
)
from pyro_deepseq.errors import DataError

COMMITTED = Path(__file__).resolve().parents[1] / "data" / "synthetic"


@pytest.fixture(scope="module")
def family():
    """The default family (seed 0), generated once for the whole module (about a second)."""
    return generate_family(seed=0)


def loop_energy(family, sequence: str) -> float:
    """``E(x)`` by plain loops over every site and every pair ``i < j``, zeros included."""
    x = [ALPHABET.index(letter) for letter in sequence]
    energy = 0.0
    for i in range(len(x)):
        energy += family.fields[i][x[i]]
        for j in range(i + 1, len(x)):
            energy += family.couplings[i][j][x[i]][x[j]]
    return energy


def apply_mutant(focus: str, mutant: str) -> str:
    """Apply ``A12G:K30E`` to ``focus``, checking each wild-type letter on the way."""
    letters = list(focus)
    for part in mutant.split(":"):
        position = int(part[1:-1])
        assert letters[position - 1] == part[0]
        letters[position - 1] = part[-1]
    return "".join(letters)


def positions(mutant: str) -> tuple[int, ...]:
    return tuple(int(part[1:-1]) for part in mutant.split(":"))


def test_same_seed_same_family_and_other_seed_differs():
    first, again = (generate_family(seed=3, length=30, num_sequences=300) for _ in range(2))
    other = generate_family(seed=4, length=30, num_sequences=300)
    assert first.sequences == again.sequences and first.headers == again.headers
    pd.testing.assert_frame_equal(first.dms, again.dms)
    np.testing.assert_array_equal(first.couplings, again.couplings)
    assert first.sequences != other.sequences
    assert not np.array_equal(first.fields, other.fields)


def test_committed_files_equal_fresh_cli_output(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--seed", "0"]) == 0
    printed = capsys.readouterr().out
    for name in (synthetic.A2M_NAME, synthetic.DMS_NAME):
        assert str(tmp_path / name) in printed
        assert (tmp_path / name).read_bytes() == (COMMITTED / name).read_bytes(), name
    assert default_family() == (COMMITTED / synthetic.A2M_NAME, COMMITTED / synthetic.DMS_NAME)
    sizes = [(COMMITTED / name).stat().st_size for name in (synthetic.A2M_NAME, synthetic.DMS_NAME)]
    assert sum(sizes) < 400_000  # 282 kB


def test_dms_scores_equal_energy_differences_from_plain_loops(family):
    rng = np.random.default_rng(0)
    picked = rng.choice(len(family.dms), size=12, replace=False)
    wild = loop_energy(family, family.focus)
    for mutant, score in family.dms.iloc[picked][["mutant", "DMS_score"]].itertuples(index=False):
        expected = loop_energy(family, apply_mutant(family.focus, mutant)) - wild
        assert score == pytest.approx(expected, abs=1e-9), mutant
    full = [s for s in family.sequences[:50] if "-" not in s][:5]
    codes = np.array([[ALPHABET.index(letter) for letter in s] for s in full])
    np.testing.assert_allclose(family.energy(codes), [loop_energy(family, s) for s in full])


def test_couplings_are_sparse_and_symmetric(family):
    couplings, length = family.couplings, len(family.focus)
    assert couplings.shape == (length, length, 20, 20)
    np.testing.assert_array_equal(couplings, couplings.transpose(1, 0, 3, 2))
    coupled = np.argwhere(np.any(couplings != 0, axis=(2, 3)))
    assert not np.any(coupled[:, 0] == coupled[:, 1])
    np.testing.assert_array_equal(coupled[coupled[:, 0] < coupled[:, 1]], family.pairs)
    assert 0 < len(family.pairs) <= length // 2


def test_coupled_doubles_are_non_additive(family):
    dms = family.dms.set_index("mutant")["DMS_score"]
    doubles = [m for m in dms.index if ":" in m]
    coupled_pairs = {tuple(p) for p in (family.pairs + 1).tolist()}
    epistasis = {m: dms[m] - sum(dms[part] for part in m.split(":")) for m in doubles}
    coupled = [m for m in doubles if positions(m) in coupled_pairs]
    assert len(coupled) >= len(doubles) / 2
    assert np.mean([abs(epistasis[m]) > 1.0 for m in coupled]) > 0.8  # 0.94 observed
    assert max(abs(epistasis[m]) for m in doubles if m not in coupled) < 1e-9


def test_family_is_diverse_but_structured(family):
    length = len(family.focus)
    focus = np.array(list(family.focus))
    rows = np.array([list(s) for s in family.sequences[1:]])
    covered = rows != "-"
    identity = ((rows == focus) & covered).sum(1) / covered.sum(1)
    assert 0.35 < identity.mean() < 0.8  # 0.586 observed
    assert 0.1 < np.mean(~covered.all(1)) < 0.3  # fragments
    assert family.headers[0] == f"SYNTH/1-{length}" and family.sequences[0] == family.focus
    assert set(family.focus) <= set(ALPHABET) and len(set(family.headers)) == len(family.headers)
    assert {len(s) for s in family.sequences} == {length}


def test_dms_table_layout_and_focus_is_a_local_optimum(family):
    dms = family.dms
    assert list(dms.columns) == ["mutant", "DMS_score", "num_mutations"]
    singles = dms[dms.num_mutations == 1]
    assert len(singles) == len(family.focus) * 19 and len(dms) - len(singles) == 1000
    assert all(a < b for a, b in map(positions, dms.mutant[dms.num_mutations == 2]))
    assert dms.mutant.is_unique and (singles.DMS_score <= 0).all()


def test_write_family_refuses_to_overwrite(tmp_path, capsys):
    (tmp_path / synthetic.DMS_NAME).write_text("keep me\n")
    with pytest.raises(DataError, match=synthetic.DMS_NAME):
        write_family(tmp_path)
    assert main(["--out", str(tmp_path)]) == 1
    assert capsys.readouterr().err.startswith("error: ")
    assert (tmp_path / synthetic.DMS_NAME).read_text() == "keep me\n"
    assert not (tmp_path / synthetic.A2M_NAME).exists()


def test_cli_usage_error_exits_2():
    with pytest.raises(SystemExit) as exit_info:
        main(["--seed", "zero"])
    assert exit_info.value.code == 2


def test_default_family_without_repo_copy_is_generated_once_into_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(synthetic, "_REPO_DATA_DIR", tmp_path / "installed" / "data")
    monkeypatch.setenv("PYRO_DEEPSEQ_CACHE", str(tmp_path / "cache"))
    a2m, dms = default_family()
    assert a2m == tmp_path / "cache" / "synthetic" / synthetic.A2M_NAME
    assert a2m.read_bytes() == (COMMITTED / synthetic.A2M_NAME).read_bytes()

    def fail(*args, **kwargs):
        raise AssertionError("regenerated although the cache is filled")

    monkeypatch.setattr(synthetic, "write_family", fail)
    assert default_family() == (a2m, dms)
