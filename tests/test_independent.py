"""The site-independent baseline: its arithmetic by hand, and its measured ρ as a floor."""

import numpy as np
import pytest
from scipy.stats import spearmanr

from pyro_deepseq.data.alignment import Alignment
from pyro_deepseq.data.mutations import MutationSet
from pyro_deepseq.data.synthetic import default_family
from pyro_deepseq.models.independent import SiteIndependentModel

from .conftest import BLAT_DMS, DHFR_DMS, needs_shared, write


def test_frequencies_and_scores_by_hand(tmp_path):
    path = write(tmp_path / "a.a2m", ">P/1-2\nAC\n>s1\nAD\n>s2\nW-\n")
    aln = Alignment.from_file(path, theta=0.01)  # every sequence its own cluster: weights 1
    model = SiteIndependentModel.fit(aln, pseudocount=0.5)
    # column 1: A twice, W once, + 0.5 each of 20 letters -> total 13
    assert np.exp(model.log_frequencies[0, 0]) == pytest.approx(2.5 / 13)
    assert np.exp(model.log_frequencies[0, 18]) == pytest.approx(1.5 / 13)
    # column 2: C once, D once (the gap counts nothing) -> total 12
    assert np.exp(model.log_frequencies[1, 1]) == pytest.approx(1.5 / 12)
    np.testing.assert_allclose(np.exp(model.log_frequencies).sum(1), 1.0)
    variant = np.array([[18, 2]], dtype=np.uint8)  # "WD"
    expected = np.log(1.5 / 13) + np.log(1.5 / 12) - np.log(2.5 / 13) - np.log(1.5 / 12)
    assert model.delta(variant, aln.focus_codes)[0] == pytest.approx(expected)
    gapped = np.array([[0, aln.gap_code]], dtype=np.uint8)
    assert model.log_probability(gapped)[0] == pytest.approx(np.log(2.5 / 13))


@needs_shared
@pytest.mark.parametrize(
    ("family", "table", "column", "floor"),
    # measured: BLAT 0.601, DHFR 0.377 (pseudocount 1)
    [("blat", BLAT_DMS, "2500", 0.59), ("dhfr", DHFR_DMS, "score", 0.36)],
)
def test_site_independent_spearman_floor(request, family, table, column, floor):
    aln = request.getfixturevalue(family)
    mutations = MutationSet.from_table(table, aln, score_column=column)
    predicted = SiteIndependentModel.fit(aln).delta(mutations.codes, aln.focus_codes)
    rho = spearmanr(predicted, mutations.scoreable["score"]).statistic
    assert rho > floor


def test_synthetic_family_singles_ranked_well_doubles_worse():
    """The embedded family's couplings make doubles epistatic: an additive model loses on them."""
    paths = default_family()
    aln = Alignment.from_file(paths[0])
    mutations = MutationSet.from_table(paths[1], aln)
    predicted = SiteIndependentModel.fit(aln).delta(mutations.codes, aln.focus_codes)
    table = mutations.scoreable.assign(predicted=predicted)
    singles = table[~table["mutant"].str.contains(":")]
    doubles = table[table["mutant"].str.contains(":")]
    rho_singles = spearmanr(singles["predicted"], singles["score"]).statistic
    rho_doubles = spearmanr(doubles["predicted"], doubles["score"]).statistic
    # measured: singles 0.789, doubles 0.446
    assert rho_singles > 0.7
    assert rho_doubles < rho_singles - 0.25
