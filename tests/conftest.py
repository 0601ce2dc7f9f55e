"""Shared fixtures: real data from ../shared/data, a private cache, a clean Pyro parameter store."""

from pathlib import Path

import pyro.poutine as poutine
import pytest
import torch

from pyro_deepseq.data.alignment import Alignment
from pyro_deepseq.models.networks import local_params
from pyro_deepseq.models.objective import Minibatch

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
BLAT = SHARED / "BLAT_ECOLX_hmmerbit_plmc_n5_m30_f50_t0.2_r24-286_id100_b105.a2m"
BLAT_DMS = SHARED / "BLAT_ECOLX_Ranganathan2015.csv"
DHFR = SHARED / "DYR_ECOLI" / "DHFR.a2m"
DHFR_DMS = SHARED / "DYR_ECOLI" / "DYR_ECOLI_Thompson_plusLon_2019.csv"
DHFR_WT = SHARED / "DYR_ECOLI" / "DYR_ECOLI_Thompson_plusLon_2019.fasta"
TRNA = SHARED / "RF00005_CCU.fasta"

needs_shared = pytest.mark.skipif(
    not SHARED.is_dir(), reason="../shared/data is not beside the repo"
)


@pytest.fixture(autouse=True, scope="session")
def private_cache(tmp_path_factory):
    """Keep cached weights out of the user's home and shared between the tests of one run."""
    patch = pytest.MonkeyPatch()
    patch.setenv("PYRO_DEEPSEQ_CACHE", str(tmp_path_factory.mktemp("cache")))
    yield
    patch.undo()


@pytest.fixture(scope="session")
def blat():
    return Alignment.from_file(BLAT)


@pytest.fixture(scope="session")
def dhfr():
    return Alignment.from_file(DHFR)


def write(path: Path, text: str) -> Path:
    """Write ``text`` (dedented of a leading newline) to ``path`` and return it."""
    path.write_text(text.lstrip("\n"))
    return path


def random_batch(rows: int, length: int, letters: int, scale: float, seed: int = 1) -> Minibatch:
    """Random sequences (gaps included), each weighing ``scale``, global sites weighing 0.1."""
    generator = torch.Generator().manual_seed(seed)
    codes = torch.randint(0, letters + 1, (rows, length), generator=generator)
    return Minibatch(codes, letters, torch.arange(rows), rows, torch.full((rows,), scale), 0.1)


def traces(vae, batch):
    """The guide's trace, and the model's replayed on it."""
    with local_params():
        guide = poutine.trace(vae.guide).get_trace(batch)
        model = poutine.trace(poutine.replay(vae.model, trace=guide)).get_trace(batch)
    return guide, model
