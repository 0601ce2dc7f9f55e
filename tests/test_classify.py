"""Clinical classes as EVE computes them: the mixture, the score, the uncertainty, the classes,
labels and their metrics, and the classify command end to end on the synthetic family."""

import json

import numpy as np
import pandas as pd
import pytest

from pyro_deepseq import DeepSequence
from pyro_deepseq.cli import classify, fit
from pyro_deepseq.data.synthetic import default_family
from pyro_deepseq.errors import DataError, DataWarning
from pyro_deepseq.evaluation import classification as cls

from .test_fit_predict import TINY

RNG = np.random.default_rng(0)


def two_gaussians(benign=(-1.0, 0.5, 2000), pathogenic=(3.0, 1.5, 1000), seed=0):
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.normal(*pathogenic), rng.normal(*benign)])  # pathogenic first


def singles(index, stderr=None, length=None):
    """A singles table of ``index`` on a made-up protein: 19 substitutions per position."""
    letters = "ACDEFGHIKLMNPQRSTVWY"
    mutants = [f"A{1 + i // 19}{letters[1 + i % 19]}" for i in range(len(index))]
    stderr = np.zeros(len(index)) if stderr is None else stderr
    return cls.singles_table(mutants, index, stderr)


# --- the mixture and the score -------------------------------------------------------------------


def test_the_mixture_recovers_two_known_gaussians_pathogenic_the_higher():
    mixture = cls.fit_mixture(two_gaussians())
    np.testing.assert_allclose(mixture.means, (-1.0, 3.0), atol=0.1)
    np.testing.assert_allclose(mixture.sds, (0.5, 1.5), atol=0.1)
    np.testing.assert_allclose(mixture.weights, (2 / 3, 1 / 3), atol=0.02)
    assert mixture.problem() is None and mixture.separation() > 2
    # component 1 (pathogenic) is the higher index, whatever order the data or EM found
    flipped = cls.fit_mixture(-two_gaussians())
    np.testing.assert_allclose(flipped.means, (-3.0, 1.0), atol=0.1)
    assert flipped.weights[1] == pytest.approx(2 / 3, abs=0.02)
    scores = mixture.posterior([-1.0, 3.0, 10.0])
    assert scores[0] < 0.01 and scores[1] > 0.99 and scores[2] > 0.99
    assert cls.fit_mixture(two_gaussians()) == mixture  # fixed seed


def test_the_posterior_matches_scikit_learn_where_it_is_monotone():
    from sklearn.mixture import GaussianMixture

    x = two_gaussians()
    settings = {"init_params": "k-means++", "max_iter": 500, "reg_covar": 1e-6}
    model = GaussianMixture(2, n_init=10, random_state=0, **settings).fit(x.reshape(-1, 1))
    grid = np.linspace(-0.5, 8, 50)
    pathogenic = int(np.argmax(model.means_[:, 0]))
    expected = model.predict_proba(grid.reshape(-1, 1))[:, pathogenic]
    np.testing.assert_allclose(cls.fit_mixture(x).posterior(grid), expected, atol=1e-6)


@pytest.mark.parametrize("wider", ["pathogenic", "benign"])
def test_the_posterior_is_made_monotone_at_the_tails(wider):
    sds = (0.5, 2.0) if wider == "pathogenic" else (2.0, 0.5)
    mixture = cls.Mixture((0.5, 0.5), (0.0, 4.0), sds)
    grid = np.linspace(-30, 30, 2001)
    raw, score = mixture.posterior(grid, monotone=False), mixture.posterior(grid)
    vertex = mixture.vertex()
    if wider == "pathogenic":  # a far-benign index would be called pathogenic again
        assert raw[0] > 0.5 and vertex < 0.0
        assert score[0] == pytest.approx(mixture.posterior(vertex, monotone=False))
        kept = grid >= vertex
    else:  # a far-damaging index would fall back toward benign
        assert raw[-1] < 0.5 and vertex > 4.0
        kept = grid <= vertex
    assert np.all(np.diff(score) >= 0)
    np.testing.assert_array_equal(score[kept], raw[kept])
    equal = cls.Mixture((0.5, 0.5), (0.0, 4.0), (1.0, 1.0))
    assert equal.vertex() is None and np.all(np.diff(equal.posterior(grid)) >= 0)


def test_uncertainty_is_one_bit_at_a_half_and_none_at_the_ends():
    np.testing.assert_allclose(cls.uncertainty([0.0, 0.5, 1.0]), [0.0, 1.0, 0.0])
    p = np.linspace(0.01, 0.99, 9)
    np.testing.assert_allclose(cls.uncertainty(p), cls.uncertainty(1 - p))
    np.testing.assert_allclose(cls.uncertainty([0.25]), [0.8112781244591328])  # by hand


@pytest.mark.parametrize("retain", [0.0, 0.5, 0.75, 0.9, 1.0])
def test_exactly_the_requested_share_is_classified(retain):
    score = RNG.uniform(size=1001)
    bits = cls.uncertainty(score)
    classes = cls.assign_classes(score, bits, cls.uncertainty_threshold(bits, retain))
    assert (classes != cls.UNCERTAIN).sum() == round(retain * 1001)
    called = classes != cls.UNCERTAIN
    assert (classes[called & (score > 0.5)] == cls.PATHOGENIC).all()
    assert (classes[called & (score <= 0.5)] == cls.BENIGN).all()
    if 0 < retain < 1:  # the classified are the least uncertain
        assert bits[called].max() <= bits[~called].min()
    tied = np.repeat([0.1, 0.2, 0.3, 0.4], 25)  # ties aside: a tie at the cut is kept whole
    assert (tied <= cls.uncertainty_threshold(tied, 0.3)).sum() == 50


def test_the_protein_weight_gives_its_own_mixture_at_one_and_the_global_at_zero():
    tables = {"a": singles(two_gaussians(seed=1)), "b": singles(two_gaussians(seed=2) + 2.0)}
    index = tables["a"]["evol_index"]
    own = cls.fit_mixture(index).posterior(index)
    pooled = cls.fit_mixture(np.concatenate([t["evol_index"] for t in tables.values()]))
    at_one = cls.classify(tables, protein_weight=1.0)
    np.testing.assert_allclose(at_one.tables["a"]["score"], own)
    assert at_one.thresholds.pooled is None  # not fitted when it is not used
    at_zero = cls.classify(tables, protein_weight=0.0)
    np.testing.assert_allclose(at_zero.tables["a"]["score"], pooled.posterior(index))
    mixed = cls.classify(tables)  # EVE's 0.3
    expected = 0.3 * own + 0.7 * pooled.posterior(index)
    np.testing.assert_allclose(mixed.tables["a"]["score"], expected)
    classified = sum((t["class"] != cls.UNCERTAIN).sum() for t in mixed.tables.values())
    assert classified == round(0.75 * 6000)  # the share is of both proteins pooled


def test_thresholds_saved_and_loaded_classify_a_later_protein_on_the_same_scale(tmp_path):
    tables = {"a": singles(two_gaussians(seed=1)), "b": singles(two_gaussians(seed=2) + 2.0)}
    first = cls.classify(tables, retain=0.5)
    path = first.thresholds.save(tmp_path / "scale.json")
    assert json.loads(path.read_text())["retain"] == 0.5
    loaded = cls.Thresholds.load(path)
    assert loaded == first.thresholds
    later = cls.classify({"c": singles(two_gaussians(seed=3))}, thresholds=loaded)
    index = later.tables["c"]["evol_index"]
    expected = cls.mixed_score(index, later.mixtures["c"], loaded.pooled, 0.3)
    np.testing.assert_allclose(later.tables["c"]["score"], expected)
    assert later.thresholds.uncertainty == first.thresholds.uncertainty
    alone = cls.classify(tables, thresholds=cls.Thresholds(0.75, 0.5))  # saved without a global
    own = alone.mixtures["a"].posterior(tables["a"]["evol_index"])
    np.testing.assert_allclose(alone.tables["a"]["score"], own)
    assert (alone.tables["a"]["uncertainty"] <= 0.5).sum() == (
        alone.tables["a"]["class"] != "Uncertain"
    ).sum()
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(DataError, match="bad.json: not a thresholds file"):
        cls.Thresholds.load(tmp_path / "bad.json")


def test_a_global_mixture_that_does_not_separate_gives_way_to_each_proteins_own():
    # Each protein separates, but one's pathogenic mode sits on the other's benign one: pooled,
    # a narrow central peak and a wide component around it, with the same mean.
    a = two_gaussians(benign=(0.0, 0.5, 800), pathogenic=(3.0, 0.5, 200), seed=1)
    b = two_gaussians(benign=(-3.0, 0.5, 200), pathogenic=(0.0, 0.5, 800), seed=2)
    tables = {"a": singles(a), "b": singles(b)}
    pooled = np.concatenate([t["evol_index"] for t in tables.values()])
    assert cls.fit_mixture(pooled).problem() is not None
    with pytest.warns(DataWarning, match="global mixture does not separate the 2 proteins"):
        result = cls.classify(tables)
    own = result.mixtures["a"].posterior(tables["a"]["evol_index"])
    np.testing.assert_allclose(result.tables["a"]["score"], own)
    assert result.thresholds.pooled is None and result.thresholds.protein_weight == 1.0
    assert result.problems == {"a": None, "b": None}
    assert sum((t["class"] != cls.UNCERTAIN).sum() for t in result.tables.values()) == 1500


def test_a_mixture_that_does_not_separate_warns_and_leaves_every_class_uncertain():
    tables = {"flat": singles(RNG.normal(size=1500)), "fine": singles(two_gaussians())}
    with pytest.warns(DataWarning, match="protein 'flat': the mixture does not separate"):
        result = cls.classify(tables, protein_weight=1.0)
    assert (result.tables["flat"]["class"] == cls.UNCERTAIN).all()
    assert result.problems["flat"] and result.problems["fine"] is None
    assert (result.tables["fine"]["class"] != cls.UNCERTAIN).sum() == round(0.75 * 3000)
    lopsided = cls.Mixture((0.995, 0.005), (0.0, 5.0), (1.0, 1.0))
    assert "0.5% of the variants" in lopsided.problem()


# --- labels ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "cells", "expected"),
    [
        ("label", ["Pathogenic", "benign", "Likely_pathogenic", "likely benign", "VUS"],
         [1, 0, 1, 0, np.nan]),
        ("label", ["1", "0", "1", "0", ""], [1, 0, 1, 0, np.nan]),
        ("DMS_score_bin", ["0", "1", "0", "1", "NA"], [1, 0, 1, 0, np.nan]),  # 0: not fit
        ("ClinicalSignificance", ["Pathogenic/Likely pathogenic", "Benign/Likely benign",
                                  "Pathogenic", "Benign", "Uncertain significance"],
         [1, 0, 1, 0, np.nan]),
    ],
)  # fmt: skip
def test_labels_in_each_accepted_form(tmp_path, column, cells, expected):
    path = tmp_path / "labels.csv"
    mutants = ["A1C", "A1D", "A2C", "A2D", "A3C"]
    pd.DataFrame({"mutant": mutants, column: cells}).to_csv(path, index=False)
    labels = cls.read_labels(path)  # the label column found by its name
    np.testing.assert_array_equal(labels["label"], expected)
    assert labels["row"].tolist() == [2, 3, 4, 5, 6]
    flipped = cls.read_labels(path, label_column=column, one_means="fit")
    if column != "DMS_score_bin":
        np.testing.assert_array_equal(flipped["label"], 1 - np.array(expected))


def test_labels_without_a_label_column_or_any_label_are_errors(tmp_path):
    path = tmp_path / "labels.csv"
    pd.DataFrame({"mutant": ["A1C"], "fitness": ["0.3"]}).to_csv(path, index=False)
    with pytest.raises(DataError, match="labels.csv: no label column"):
        cls.read_labels(path)
    with pytest.raises(DataError, match="column 'fitness': no cell reads as a label"):
        cls.read_labels(path, label_column="fitness")


def test_labels_are_placed_and_the_others_reported_by_reason(tmp_path):
    table = singles(np.arange(38.0))  # positions 1-2 of a protein AA
    focus = cls.table_focus(table, "toy", "ACDEFGHIKLMNPQRSTVWY")
    labels = pd.DataFrame(
        {
            "row": [2, 3, 4, 5, 6, 7, 8, 9],
            "mutant": ["A1C", "A2W", "A9C", "G1C", "A1C:A2D", "A1D", "A1C", "A1X"],
            "label": [1.0, 0.0, 1.0, 1.0, 0.0, np.nan, 0.0, 1.0],
        }
    )
    labelled, left_out = cls.match_labels(labels, table, focus, "labels.csv")
    assert labelled["mutant"].tolist() == ["A1C", "A2W"]
    assert labelled["label"].tolist() == [1.0, 0.0]
    assert left_out["reason"].tolist() == [
        "position not a focus column",
        "wild-type mismatch",
        cls.NOT_SINGLE,
        cls.NO_LABEL,
        cls.LABELLED_TWICE,
        "letter outside the alphabet",
    ]
    other = labels.assign(mutant=["G1C", "G2C", "G1D", "A1C", "G2D", "G2E", "G1E", "G2F"])
    with pytest.raises(DataError, match=r"labels.csv: the labelled mutants do not match .* 'G1C'"):
        cls.match_labels(other, table, focus, "labels.csv")


def test_label_metrics_at_each_retained_fraction():
    index = np.linspace(-5, 5, 200)
    table = singles(index).assign(score=1 / (1 + np.exp(-index)))
    table["uncertainty"] = cls.uncertainty(table["score"])
    table["label"] = (index > 0).astype(float)
    metrics = cls.label_metrics(table, table["uncertainty"])
    assert metrics["auc_score"] == metrics["auc_index"] == 1.0
    assert metrics["accuracy_100"] == metrics["accuracy_50"] == 1.0
    assert metrics["classified_75"] == 0.75 and metrics["labelled_pathogenic"] == 100
    table["label"] = 1 - table["label"]
    assert cls.label_metrics(table, table["uncertainty"])["accuracy_90"] == 0.0


# --- the command ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny VAE of the synthetic family, and labels from its exact Δ energies: the most
    damaging third of the singles pathogenic."""
    folder = tmp_path_factory.mktemp("classify")
    out = folder / "tiny"
    assert fit.main(["--steps", "100", "--out", str(out), "--no-plots", *TINY]) == 0
    table = pd.read_csv(default_family()[1])
    single = table[table["num_mutations"] == 1]
    damaging = single["DMS_score"] <= single["DMS_score"].quantile(1 / 3)
    labels = folder / "labels.csv"
    single.assign(label=np.where(damaging, "pathogenic", "benign"))[["mutant", "label"]].to_csv(
        labels, index=False
    )
    return out, labels


def test_classify_end_to_end_on_the_synthetic_family(trained, capsys):
    run, labels = trained
    args = ["--checkpoint", str(run), "--samples", "20", "--labels", str(labels)]
    assert classify.main(args) == 0
    out = capsys.readouterr().out
    table = pd.read_csv(run / "classified.csv")
    assert list(table.columns) == [*cls.COLUMNS, "label"]
    assert len(table) == 60 * 19 and (table["evol_index_stderr"] > 0).all()
    assert (table["class"] != cls.UNCERTAIN).sum() == round(0.75 * 1140)
    assert table.loc[table["class"] == cls.PATHOGENIC, "score"].min() > 0.5
    summary = pd.read_csv(run / "classified_summary.csv")
    assert summary["auc_score"].iloc[0] > 0.75  # 100 tiny steps, 20 samples: measured 0.798
    assert summary["classified_50"].iloc[0] == pytest.approx(0.5, abs=0.01)
    assert "AUC" in out and "calls change within ±2 stderr" in out
    for figure in ("histogram", "map", "roc"):
        assert (run / f"classified_{figure}.png").stat().st_size > 5000
    assert classify.main(args) == 1  # nothing is overwritten
    assert "classified.csv exists; pass --force" in capsys.readouterr().err


def test_the_api_classifies_as_the_command_does(trained, tmp_path):
    run, _ = trained
    out = tmp_path / "cli.csv"
    flags = ["--checkpoint", str(run), "--samples", "20", "--seed", "3", "--no-plots"]
    assert classify.main([*flags, "--out", str(out)]) == 0
    result = DeepSequence.load(run).classify(samples=20, seed=3)
    (table,) = result.tables.values()
    expected = table[list(cls.COLUMNS)].reset_index(drop=True)
    pd.testing.assert_frame_equal(pd.read_csv(out), expected, check_dtype=False)
    assert (expected["class"] != cls.UNCERTAIN).sum() == round(0.75 * len(expected))


def test_classify_reads_scored_tables_and_shares_a_global_mixture(trained, tmp_path, capsys):
    run, labels = trained
    scored = run / "classified.csv"
    if not scored.exists():
        assert classify.main(["--checkpoint", str(run), "--samples", "20", "--no-plots"]) == 0
    again = tmp_path / "again.csv"
    assert classify.main(["--predictions", str(scored), "--out", str(again), "--no-plots"]) == 0
    first, second = pd.read_csv(scored), pd.read_csv(again)
    np.testing.assert_allclose(second["evol_index"], first["evol_index"])  # read, not re-scored
    np.testing.assert_allclose(second["score"], first["score"])
    shifted = tmp_path / "shifted.csv"
    first.assign(evol_index=first["evol_index"] + 1.0).to_csv(shifted, index=False)
    labels_of_both = tmp_path / "both.csv"
    one = pd.read_csv(labels)
    pd.concat([one.assign(protein="A"), one.assign(protein="B")]).to_csv(labels_of_both)
    folder = tmp_path / "many"
    many = ["--predictions", f"A={scored}", f"B={shifted}", "--out", str(folder), "--no-plots"]
    scale = tmp_path / "scale.json"
    args = [*many, "--labels", str(labels_of_both), "--save-thresholds", str(scale)]
    assert classify.main(args) == 0
    summary = pd.read_csv(folder / "summary.csv")
    assert summary["protein"].tolist() == ["A", "B", "all"]
    assert summary["labelled"].tolist() == [1140, 1140, 2280]
    assert json.loads(scale.read_text())["global_mixture"] is not None
    later = [
        "--predictions",
        str(again),
        "--thresholds",
        str(scale),
        "--out",
        str(tmp_path / "l.csv"),
    ]
    assert classify.main([*later, "--no-plots"]) == 0
    assert classify.main([*later, "--retain", "0.5"]) == 1
    assert "--thresholds fixes the scale" in capsys.readouterr().err


def test_bad_input_is_an_error_without_a_traceback(trained, tmp_path, capsys):
    run, _ = trained
    scored = tmp_path / "scored.csv"
    singles(two_gaussians()[:1140]).to_csv(scored, index=False)  # wild type A everywhere
    other = tmp_path / "other.csv"
    pd.DataFrame({"mutant": ["C1A", "C2A", "C3D"], "label": [1, 0, 1]}).to_csv(other, index=False)
    cases = {
        "labelled mutants do not match protein 'scored'": ["--labels", str(other)],
        "--retain must lie in [0, 1]": ["--retain", "2"],
        "missing.csv: predictions file not found": ["--predictions", str(tmp_path / "missing.csv")],
    }
    for message, extra in cases.items():
        code = classify.main(["--predictions", str(scored), "--no-plots", *extra])
        error = capsys.readouterr().err
        assert code == 1 and message in error and "Traceback" not in error, error
    assert not (tmp_path / "scored_classified.csv").exists()
    bad = tmp_path / "double.csv"
    pd.DataFrame({"mutant": ["A1C:A2C"], "prediction": [1.0]}).to_csv(bad, index=False)
    assert classify.main(["--predictions", str(bad)]) == 1
    assert "classify takes single substitutions only" in capsys.readouterr().err
    assert classify.main(["--checkpoint", str(tmp_path)]) == 1
    assert "no model.pt" in capsys.readouterr().err
