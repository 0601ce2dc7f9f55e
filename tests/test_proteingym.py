"""ProteinGym's terms: its metrics by hand, its reference file end to end, its leaderboard."""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import ndcg_score

from pyro_deepseq.cli import proteingym as proteingym_command
from pyro_deepseq.cli import sweep
from pyro_deepseq.errors import DataError
from pyro_deepseq.evaluation import metrics
from pyro_deepseq.workflows import proteingym

from .conftest import SHARED, needs_shared, write

# --- the metrics, on inputs small enough to check by hand -------------------------------------

DMS = np.arange(20.0)  # gains i / 19
BINS = (DMS >= 10).astype(int)


def test_a_perfect_ranking_scores_one_everywhere():
    values = metrics.assay_metrics(DMS, DMS * 3 + 1, BINS)
    assert values == {"Spearman": 1.0, "AUC": 1.0, "MCC": 1.0, "NDCG": 1.0, "Recall": 1.0}


def test_a_reversed_ranking():
    values = metrics.assay_metrics(DMS, -DMS, BINS)
    assert values["Spearman"] == -1.0 and values["AUC"] == 0.0 and values["MCC"] == -1.0
    assert values["Recall"] == 0.0
    # n = 20, so k = 2: the two lowest DMS scores (gains 0 and 1/19) take ranks 1 and 2
    assert values["NDCG"] == pytest.approx((1 / 19 / np.log2(3)) / (1 + (18 / 19) / np.log2(3)))


def test_a_constant_prediction():
    values = metrics.assay_metrics(DMS, np.zeros(20), BINS)
    assert np.isnan(values["Spearman"])
    assert values["AUC"] == 0.5  # every pair tied
    assert values["MCC"] == 0.0  # all predicted fit (≥ the median)
    assert values["Recall"] == 1.0  # every variant is at its 90th percentile, so in the top
    # ties ranked as np.argsort orders them, as in ProteinGym: argsort(argsort(-0)) = identity,
    # so DMS rows 0 and 1 (gains 0 and 1/19) take ranks 1 and 2, like the reversed ranking
    assert values["NDCG"] == metrics.ndcg(DMS, -DMS)


def test_ties_in_the_dms_and_the_prediction():
    dms = np.array([1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0, 5.0, 5.0])
    prediction = np.array([0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0, 5.0])
    # Spearman on average ranks: scipy's own computation
    assert metrics.spearman(dms, prediction) == pytest.approx(spearmanr(dms, prediction)[0])
    # median of the prediction is 2.5: rows 5-9 predicted fit; DMS classes split at 3 (≥ 3 fit)
    bins = (dms >= 3).astype(int)  # rows 4-9 fit
    tp, fp, fn, tn = 5, 0, 1, 4
    expected = (tp * tn - fp * fn) / np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    assert metrics.mcc(bins, prediction) == pytest.approx(expected)
    # top 10 %: the DMS's 90th percentile is 5.0 (rows 8 and 9), the prediction's 4.1 (row 9)
    assert metrics.top_recall(dms, prediction) == 0.5


def test_recall_counts_the_top_tenth():
    dms = np.arange(20.0)  # 90th percentile 17.1: rows 18 and 19 are the top
    prediction = np.arange(20.0)
    prediction[[18, 10]] = prediction[[10, 18]]  # row 18 leaves the predicted top, row 10 joins
    assert metrics.top_recall(dms, prediction) == 0.5


def test_ndcg_is_sklearns_on_min_max_gains_without_ties():
    generator = np.random.default_rng(0)
    for n in (10, 37, 200):
        dms, prediction = generator.normal(size=n), generator.normal(size=n)
        gains = (dms - dms.min()) / (dms.max() - dms.min())
        expected = ndcg_score(gains[None], prediction[None], k=n // 10)
        assert metrics.ndcg(dms, prediction) == pytest.approx(expected)


def _proteingym_reference():
    """ProteinGym's own metric code, from the ``proteingym`` package when it is installed.

    Loaded from its file: the package's ``__init__`` does not import (release 1.3).
    """
    spec = importlib.util.find_spec("proteingym")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("the proteingym package is not installed")
    path = Path(spec.submodule_search_locations[0]) / "performance_DMS_benchmarks.py"
    module_spec = importlib.util.spec_from_file_location("pg_performance", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_ndcg_and_recall_are_proteingyms_own_with_ties():
    reference = _proteingym_reference()
    generator = np.random.default_rng(1)
    for n in (9, 11, 50, 333):
        dms = np.round(generator.normal(size=n), 1)  # rounded: ties in both
        prediction = np.round(generator.normal(size=n), 1)
        expected = reference.calc_ndcg(pd.Series(dms), pd.Series(prediction))
        assert metrics.ndcg(dms, prediction) == pytest.approx(expected, abs=1e-12)
        expected = reference.calc_toprecall(dms, prediction)
        assert metrics.top_recall(dms, prediction) == pytest.approx(expected, abs=1e-12)


def test_ndcg_of_fewer_than_ten_variants_is_zero_and_of_a_flat_assay_nan():
    assert metrics.ndcg(np.arange(9.0), np.arange(9.0)) == 0.0  # k = 0
    assert np.isnan(metrics.ndcg(np.ones(20), np.arange(20.0)))


def test_auc_of_a_single_class_is_nan():
    assert np.isnan(metrics.auc(np.ones(5), np.arange(5.0)))


def test_summary_averages_proteins_then_selection_types():
    table = pd.DataFrame(
        {
            "UniProt_ID": ["A", "A", "B", "C"],
            "coarse_selection_type": ["Activity", "Activity", "Activity", "Stability"],
            "MSA_Neff_L_category": ["high", "high", "low", "low"],
            "taxon": ["Human", "Human", "Virus", "Virus"],
        }
    )
    for metric, base in zip(metrics.METRICS, (0.0, 0.5, 0.1, 0.2, 0.3), strict=True):
        table[metric] = base + np.array([0.2, 0.4, 0.5, 0.9])
    summary = metrics.summarize(table).set_index(["group", "category"])
    spearman = summary["Spearman"]
    # proteins: A = 0.3, B = 0.5, C = 0.9; Activity = (0.3 + 0.5) / 2 = 0.4, Stability = 0.9
    assert spearman["Average", "over selection types"] == pytest.approx(0.65)
    assert spearman["Proteins", "mean per UniProt_ID"] == pytest.approx(1.7 / 3)
    assert spearman["Assays", "mean per assay"] == pytest.approx(0.5)
    assert spearman["MSA depth", "High"] == pytest.approx(0.3)  # capitalised as ProteinGym does
    assert spearman["MSA depth", "Low"] == pytest.approx(0.7)
    assert spearman["Taxon", "Virus"] == pytest.approx(0.7)
    assert summary.loc[("Selection type", "Activity"), "n_proteins"] == 2
    assert summary.loc[("Average", "over selection types"), "AUC"] == pytest.approx(1.15)


# --- a small layout in ProteinGym's layout, built from ../shared/data ----------------------

REFERENCE_COLUMNS = (
    "DMS_id,DMS_filename,UniProt_ID,taxon,MSA_Neff_L_category,coarse_selection_type,target_seq,"
    "MSA_filename,MSA_start,MSA_end,MSA_theta,DMS_binarization_cutoff,includes_multiple_mutants"
)


def _head(source, target, records: int):
    """The first ``records`` records of an alignment (the focus first): a quick real MSA."""
    lines, seen = [], 0
    for line in source.read_text().splitlines():
        seen += line.startswith(">")
        if seen > records:
            break
        lines.append(line)
    target.write_text("\n".join(lines) + "\n")


def _wild_type(fasta) -> str:
    return "".join(fasta.read_text().splitlines()[1:]).strip()


def _dms_file(source, target, target_seq: str, first: int, outside=()) -> float:
    """ProteinGym's DMS file from a dev table: numbered from ``first``, with mutated sequences.

    ``outside``: positions of target_seq (outside the MSA) where to add a made-up mutant to W.
    """
    table = pd.read_csv(source, usecols=["mutant", "score"])
    rows = [(f"{target_seq[p - 1]}{p}W", None, 0.0) for p in outside]
    for mutant, score in zip(table["mutant"], table["score"], strict=True):
        wild, position, letter = mutant[0], int(mutant[1:-1]) - first + 1, mutant[-1]
        if not 1 <= position <= len(target_seq):
            continue
        sequence = target_seq[: position - 1] + letter + target_seq[position:]
        rows.append((f"{wild}{position}{letter}", sequence, score))
    rows = [(m, s or target_seq[: int(m[1:-1]) - 1] + "W" + target_seq[int(m[1:-1]) :], v)
            for m, s, v in rows]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["mutant", "mutated_sequence", "DMS_score"])
    cutoff = float(frame["DMS_score"].median())
    frame["DMS_score_bin"] = (frame["DMS_score"] >= cutoff).astype(int)
    frame.to_csv(target, index=False)
    return cutoff


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    """Four dev assays on three MSAs (one shared, one offset) and one whose DMS file is missing."""
    folder = tmp_path_factory.mktemp("proteingym")
    msas, dms = folder / "MSA_files", folder / "DMS_substitutions"
    msas.mkdir(), dms.mkdir()
    _head(SHARED / "DYR_ECOLI" / "DHFR.a2m", msas / "DYR_ECOLI.a2m", 300)
    _head(SHARED / "RL401_YEAST" / "RL401_YEAST.a2m", msas / "RL40A_YEAST.a2m", 300)
    _head(SHARED / "YAP1_HUMAN" / "YAP1_HUMAN.a2m", msas / "YAP1_HUMAN.a2m", 300)
    dhfr = _wild_type(SHARED / "DYR_ECOLI" / "DYR_ECOLI_Thompson_plusLon_2019.fasta")
    ubiquitin = _wild_type(SHARED / "RL401_YEAST" / "RL401_YEAST_Mavor_2016.fasta")
    yap1 = _wild_type(SHARED / "YAP1_HUMAN" / "YAP1_HUMAN_Araya_2012.fasta")[159:260]
    assays = [  # DMS_id, source table, UniProt, taxon, depth, type, target_seq, first, MSA, span
        ("DYR_ECOLI_Thompson_2019", "DYR_ECOLI/DYR_ECOLI_Thompson_plusLon_2019.csv", "DYR_ECOLI",
         "Prokaryote", "Medium", "OrganismalFitness", dhfr, 1, "DYR_ECOLI.a2m", (1, 159)),
        ("RL40A_YEAST_Mavor_2016", "RL401_YEAST/RL401_YEAST_Mavor_2016.csv", "RL40A_YEAST",
         "Eukaryote", "Medium", "OrganismalFitness", ubiquitin, 1, "RL40A_YEAST.a2m", (1, 76)),
        ("RL40A_YEAST_Roscoe_2014", "RL401_YEAST/RL401_YEAST_Roscoe_2014.csv", "RL40A_YEAST",
         "Eukaryote", "Medium", "Activity", ubiquitin, 1, "RL40A_YEAST.a2m", (1, 76)),
        ("YAP1_HUMAN_Araya_2012", "YAP1_HUMAN/YAP1_HUMAN_Araya_2012.csv", "YAP1_HUMAN", "Human",
         "Low", "Binding", yap1, 160, "YAP1_HUMAN.a2m", (11, 46)),
    ]  # fmt: skip
    lines = [REFERENCE_COLUMNS]
    for dms_id, source, uniprot, taxon, depth, kind, seq, first, msa, (start, end) in assays:
        outside = (5, 60) if first == 160 else ()  # YAP1: two made-up mutants off the MSA
        cutoff = _dms_file(SHARED / source, dms / f"{dms_id}.csv", seq, first, outside)
        lines.append(
            f"{dms_id},{dms_id}.csv,{uniprot},{taxon},{depth},{kind},{seq},{msa},{start},{end},"
            f"0.2,{cutoff},False"
        )
    lines.append(  # listed, but its DMS file was never downloaded
        f"DYR_ECOLI_Nguyen_2023,DYR_ECOLI_Nguyen_2023.csv,DYR_ECOLI,Prokaryote,High,"
        f"OrganismalFitness,{dhfr},DYR_ECOLI.a2m,1,159,0.2,0,False"
    )
    reference = write(folder / "DMS_substitutions.csv", "\n".join(lines) + "\n")
    return reference, msas, dms


@pytest.fixture(scope="module")
def finished(layout, tmp_path_factory):
    """The layout swept once, one after another, with the site-independent model."""
    reference, msas, dms = layout
    out = tmp_path_factory.mktemp("out")
    argv = [
        *("--proteingym", str(reference), "--msa-dir", str(msas), "--dms-dir", str(dms)),
        *("--out", str(out), "--sequential", "--fit-args=--model independent --no-plots"),
        "--predict-args=--no-plots",
    ]
    code = sweep.main(argv)
    return out, argv, code


def test_read_reference_checks_and_filters(layout, tmp_path):
    reference, _, _ = layout
    table = proteingym.read_reference(reference, only=["YAP1_HUMAN_Araya_2012"])
    assert list(table["DMS_id"]) == ["YAP1_HUMAN_Araya_2012"]
    assert table["MSA_start"].iloc[0] == 11 and table["MSA_theta"].iloc[0] == 0.2
    with pytest.raises(DataError, match="no assay NOPE in it"):
        proteingym.read_reference(reference, only=["NOPE"])
    bad = write(tmp_path / "ref.csv", REFERENCE_COLUMNS + "\nX,x.csv,U,,,,ACDE,m.a2m,2,9,0.2,,\n")
    with pytest.raises(DataError, match=r"line 2 \(X\): MSA_start-MSA_end 2-9 is not within"):
        proteingym.read_reference(bad)


@needs_shared
def test_the_benchmark_runs_end_to_end(layout, finished, capsys):
    reference, _, dms = layout
    out, _, code = finished
    assert code == 1  # one assay's DMS file is missing: reported, the others done
    assays = pd.read_csv(out / "proteingym_assays.csv").set_index("DMS_id")
    assert assays.loc["DYR_ECOLI_Nguyen_2023", "status"] == "missing"
    assert "DYR_ECOLI_Nguyen_2023.csv" in assays.loc["DYR_ECOLI_Nguyen_2023", "error"]
    done = assays[assays["status"] == "done"]
    assert len(done) == 4 and (done["n_scored"] + done["n_unscoreable"] == done["n_rows"]).all()
    assert (done["seconds"] > 0).all()
    # one model per MSA: the two ubiquitin assays share RL40A_YEAST's fit
    fitted = sorted(p.parent.parent.name for p in out.glob("*/seed0/model.pt"))
    assert fitted == ["DYR_ECOLI", "RL40A_YEAST", "YAP1_HUMAN"]

    metrics_table = pd.read_csv(out / "proteingym_metrics.csv")
    assert list(metrics_table.columns) == list(proteingym.METRIC_COLUMNS)
    for row in metrics_table.itertuples():  # the score file gives the same numbers again
        scores = pd.read_csv(out / "scores" / f"{row.DMS_id}.csv")
        source = pd.read_csv(dms / f"{row.DMS_id}.csv")
        assert list(scores.columns) == [*source.columns, "pyro_deepseq"]
        pd.testing.assert_frame_equal(scores[source.columns], source)
        scored = scores.dropna(subset=["pyro_deepseq"])
        assert len(scored) == row.n_scored
        rho = spearmanr(scored["DMS_score"], scored["pyro_deepseq"]).statistic
        assert row.Spearman == pytest.approx(rho)
        unscoreable = pd.read_csv(out / "unscoreable" / f"{row.DMS_id}.csv")
        assert len(unscoreable) == row.n_unscoreable
        assert set(unscoreable["mutant"]) == set(scores["mutant"][scores["pyro_deepseq"].isna()])
    rho = metrics_table.set_index("DMS_id")["Spearman"]  # site-independent, 300 sequences
    assert rho["DYR_ECOLI_Thompson_2019"] > 0.25 and rho["YAP1_HUMAN_Araya_2012"] > 0.4

    yap1 = pd.read_csv(out / "unscoreable" / "YAP1_HUMAN_Araya_2012.csv")
    outside = yap1[yap1["detail"].str.contains("outside MSA_start-MSA_end 11-46 of target_seq")]
    assert list(outside["mutant"].str[1:-1].astype(int)) == [5, 60]  # the made-up ones
    lower = yap1[yap1["detail"].str.contains("outside the focus positions 173-203")]
    assert len(lower) == 362 - 319  # lower-case ends of the WW domain, in UniProt numbering
    assert set(lower["mutant"].str[1:-1].astype(int)) <= {11, 12, 13, 45, 46}  # target_seq's
    summary = pd.read_csv(out / "proteingym_summary.csv")
    assert set(summary["group"]) >= {"Average", "Proteins", "Assays", "MSA depth", "Taxon"}
    assert (out / "proteingym_metrics.png").stat().st_size > 5000
    estimate = json.loads((out / "proteingym_time.json").read_text())
    assert estimate["assays_timed"] == 4 and estimate["benchmark_assays"] == 217


@needs_shared
def test_the_offset_maps_target_numbering_onto_the_msa(layout, finished):
    out, _, _ = finished
    mapped = pd.read_csv(out / "proteingym" / "YAP1_HUMAN_Araya_2012.csv")
    scores = pd.read_csv(out / "scores" / "YAP1_HUMAN_Araya_2012.csv")
    original = scores["mutant"].iloc[mapped["dms_row"]].str[1:-1].astype(int).to_numpy()
    renumbered = mapped["mutant"].str[1:-1].astype(int).to_numpy()
    assert (renumbered - original == 159).all()  # the MSA's /170-205 is target_seq's 11-46


@needs_shared
def test_running_again_skips_what_is_done_and_evaluate_reruns_the_last_step(
    layout, finished, capsys
):
    reference, _, dms = layout
    out, argv, _ = finished
    before = pd.read_csv(out / "proteingym_metrics.csv")
    assert sweep.main(argv) == 1
    printed = capsys.readouterr().out
    assert printed.count("skipped (done before)") == 3 + 4  # 3 fits, 4 scorings
    assert "[11 done, 0 running, 0 failed, 11 jobs" in printed  # 3 fits, 4 × (score, ensemble)
    pd.testing.assert_frame_equal(pd.read_csv(out / "proteingym_metrics.csv"), before)
    (out / "proteingym_metrics.csv").unlink()
    argv = ["evaluate", str(reference), "--dms-dir", str(dms), "--out", str(out)]
    assert proteingym_command.main(argv) == 1  # the missing assay is still missing
    pd.testing.assert_frame_equal(pd.read_csv(out / "proteingym_metrics.csv"), before)


def test_missing_msa_is_reported_and_nothing_to_run_is_an_error(layout, tmp_path, capsys):
    reference, _, dms = layout
    argv = ["--proteingym", str(reference), "--msa-dir", str(tmp_path), "--dms-dir", str(dms)]
    assert sweep.main([*argv, "--out", str(tmp_path / "out"), "--sequential"]) == 1
    captured = capsys.readouterr()
    assert "DYR_ECOLI_Thompson_2019: missing: file not found:" in captured.out
    assert "error:" in captured.err and "no assay could be prepared" in captured.err
    assert sweep.main(["--proteingym", str(reference), "--out", str(tmp_path)]) == 1
    assert "needs --msa-dir and --dms-dir" in capsys.readouterr().err


# --- the leaderboard --------------------------------------------------------------------------

PUBLISHED = """
DMS ID,Site-Independent,DeepSequence (single),DeepSequence (ensemble),EVE (ensemble),GEMME,Number of Mutants,Selection Type,UniProt ID,MSA_Neff_L_category,Taxon
A_1,0.30,0.50,0.55,0.52,0.60,100,Activity,A,High,Human
A_2,0.10,0.20,0.25,0.30,0.40,100,Activity,A,High,Human
B_1,0.40,0.45,0.50,0.50,0.42,50,Stability,B,Low,Virus
C_1,0.10,0.10,0.10,0.10,0.10,50,Stability,C,Low,Virus
"""  # noqa: E501


def test_the_comparison_ranks_us_and_gives_the_gaps(tmp_path, capsys):
    published = write(tmp_path / "DMS_substitutions_Spearman_DMS_level.csv", PUBLISHED)
    ours = pd.DataFrame({"DMS_id": ["A_1", "A_2", "B_1", "Z_9"], "Spearman": [0.53, 0.5, 0.3, 0.9]})
    ours.to_csv(tmp_path / "proteingym_metrics.csv", index=False)
    argv = ["compare", str(tmp_path / "proteingym_metrics.csv"), str(published)]
    assert proteingym_command.main(argv) == 0
    table = pd.read_csv(tmp_path / "proteingym_leaderboard_Spearman.csv").set_index("DMS_id")
    assert list(table.index) == ["A_1", "A_2", "B_1", "mean over proteins"]  # Z_9 unpublished
    assert table.loc["A_1", "rank"] == 3 and table.loc["A_1", "n_models"] == 6  # 0.55, 0.60 above
    assert table.loc["A_2", "rank"] == 1 and table.loc["B_1", "rank"] == 6
    assert table.loc["A_1", "gap_DeepSequence"] == pytest.approx(0.53 - 0.55)  # the ensemble
    assert table.loc["B_1", "gap_GEMME"] == pytest.approx(0.3 - 0.42)
    # per protein first: ours (A: 0.515, B: 0.3) = 0.4075; GEMME (0.5, 0.42) = 0.46 is above it
    mean = table.loc["mean over proteins"]
    assert mean["pyro_deepseq"] == pytest.approx(0.4075)
    assert mean["GEMME"] == pytest.approx(0.46) and mean["rank"] == 4
    assert "our rank and gap" in capsys.readouterr().out


def test_the_comparison_names_a_baseline_it_cannot_find(tmp_path):
    published = proteingym.read_published(write(tmp_path / "p.csv", PUBLISHED))
    ours = pd.DataFrame({"DMS_id": ["A_1"], "Spearman": [0.5]})
    with pytest.raises(DataError, match="no column 'Tranception'"):
        proteingym.compare(ours, published, baselines=["Tranception"])
    assert proteingym.metric_of("DMS_substitutions_Top_recall_DMS_level.csv") == "Recall"
    assert proteingym.metric_of("DMS_substitutions_NDCG_DMS_level.csv") == "NDCG"


class _EagerRay:
    """Stands in for Ray: runs each task when it is submitted, and counts the submissions."""

    class exceptions:  # noqa: N801 - the attribute ray.exceptions
        RayError = RuntimeError

    def __init__(self):
        self.submitted = []

    def init(self, **options):
        pass

    def shutdown(self):
        pass

    def cluster_resources(self):
        return {"CPU": 2.0}

    def remote(self, function):
        return _EagerTask(self, function)

    def wait(self, pending, num_returns, timeout=None):
        return pending[:num_returns], pending[num_returns:]

    def get(self, reference):
        return reference.value


class _EagerTask:
    def __init__(self, ray, function):
        self.ray, self.function = ray, function

    def options(self, **resources):
        return self

    def remote(self, *args):
        self.ray.submitted.append(self.function.__name__)
        values = [a.value if isinstance(a, _Done) else a for a in args]
        return _Done(self.function(*values))


class _Done:
    def __init__(self, value):
        self.value = value


RL40A_IDS = ["RL40A_YEAST_Mavor_2016", "RL40A_YEAST_Roscoe_2014"]
RL40A = f"""DMS ID,Site-Independent,DeepSequence (ensemble),EVE (ensemble),GEMME,UniProt ID
{RL40A_IDS[0]},0.6,0.7,0.7,0.65,RL40A_YEAST
{RL40A_IDS[1]},0.6,0.7,0.7,0.65,RL40A_YEAST
"""


@needs_shared
def test_on_ray_the_assays_of_one_msa_share_its_fits(layout, tmp_path, monkeypatch):
    reference, msas, dms = layout
    fake = _EagerRay()
    monkeypatch.setitem(sys.modules, "ray", fake)
    argv = [
        *("--proteingym", str(reference), "--msa-dir", str(msas), "--dms-dir", str(dms)),
        *("--out", str(tmp_path), "--only", "RL40A_YEAST_Mavor_2016", "RL40A_YEAST_Roscoe_2014"),
        *("--seeds", "0", "1", "--fit-args=--model independent --no-plots"),
        "--predict-args=--no-plots",
        *("--leaderboard", str(write(tmp_path / "DMS_substitutions_AUC_DMS_level.csv", RL40A))),
    ]
    assert sweep.main(argv) == 0
    assert fake.submitted.count("fit_job") == 2  # one MSA × 2 seeds, for both assays
    assert fake.submitted.count("score_job") == 4 and fake.submitted.count("ensemble_job") == 2
    assert sorted(p.parent.name for p in tmp_path.glob("*/seed*/model.pt")) == ["seed0", "seed1"]
    assert len(pd.read_csv(tmp_path / "proteingym_metrics.csv")) == 2
    compared = pd.read_csv(tmp_path / "proteingym_leaderboard_AUC.csv")  # AUC, from the name
    assert list(compared["DMS_id"]) == [*RL40A_IDS, "mean over proteins"]
    ours = pd.read_csv(tmp_path / "proteingym_metrics.csv").set_index("DMS_id")["AUC"]
    assert compared["pyro_deepseq"].iloc[0] == pytest.approx(ours[RL40A_IDS[0]])
