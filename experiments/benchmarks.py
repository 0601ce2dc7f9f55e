"""The DMS benchmarks the experiment scripts score, read from ``../shared/data``."""

from __future__ import annotations

import json
from pathlib import Path

from scipy.stats import spearmanr

from pyro_deepseq.data.alignment import Alignment
from pyro_deepseq.data.mutations import MutationSet
from pyro_deepseq.models.independent import SiteIndependentModel
from pyro_deepseq.utils.files import atomic_write

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
#: name → (alignment, DMS table, score column)
DATASETS = {
    "blat": (
        DATA / "BLAT_ECOLX_hmmerbit_plmc_n5_m30_f50_t0.2_r24-286_id100_b105.a2m",
        DATA / "BLAT_ECOLX_Ranganathan2015.csv",
        "2500",
    ),
    "dhfr": (
        DATA / "DYR_ECOLI" / "DHFR.a2m",
        DATA / "DYR_ECOLI" / "DYR_ECOLI_Thompson_plusLon_2019.csv",
        "score",
    ),
}


def load(name: str) -> tuple[Alignment, MutationSet]:
    a2m, table, column = DATASETS[name]
    alignment = Alignment.from_file(a2m)
    return alignment, MutationSet.from_table(table, alignment, score_column=column)


def spearman(predicted, mutations: MutationSet) -> float:
    return round(float(spearmanr(predicted, mutations.scoreable["score"]).statistic), 4)


def site_independent_rho(alignment: Alignment, mutations: MutationSet) -> float:
    """The floor every VAE must beat."""
    model = SiteIndependentModel.fit(alignment)
    return spearman(model.delta(mutations.codes, alignment.focus_codes), mutations)


def write_json(results: dict, out: Path) -> None:
    """Write (or rewrite) a results file atomically: a long run keeps what it has measured."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(out) as temporary:
        temporary.write_text(json.dumps(results, indent=2) + "\n")
