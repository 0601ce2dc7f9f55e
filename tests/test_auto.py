"""The default for a user's alignment: the auto preset, the site-independent offset, the depth
ladder and the warnings a user can act on."""

import json

import numpy as np
import pyro
import pytest
import torch
from scipy.stats import spearmanr

from pyro_deepseq.cli import fit, inspect
from pyro_deepseq.data.alignment import Alignment
from pyro_deepseq.data.depth import subsample
from pyro_deepseq.data.diagnostics import (
    gappy_message,
    shallow_message,
    unscoreable_message,
    warn_alignment,
)
from pyro_deepseq.data.mutations import MutationSet
from pyro_deepseq.errors import DataWarning
from pyro_deepseq.inference import settings
from pyro_deepseq.inference.checkpoint import load_checkpoint
from pyro_deepseq.inference.config import ModelConfig, TrainConfig
from pyro_deepseq.inference.presets import PRESETS, auto_preset
from pyro_deepseq.models import BayesianVAE
from pyro_deepseq.models.independent import SiteIndependentModel

from .conftest import BLAT_DMS, needs_shared, write

TINY = ["--latent-dim", "3", "--encoder-hidden", "16", "--decoder-hidden", "8", "16", "--quiet"]


def test_auto_preset_chooses_from_the_alignments_depth_and_variation():
    fast_model, fast_train = PRESETS["fast"]
    # BLAT (site entropy 1.95 nats per column): deep, the fast preset
    model, train, reason = auto_preset(8355, 253, 2605.0, 1.951)
    assert (model, train) == (fast_model, fast_train)
    assert reason.startswith("auto preset: Neff/L 10.30, 1.95 nats per column (deep and varied;")
    assert auto_preset(1476, 253, 759.0, 1.957)[0] == fast_model  # BLAT@3.0: the VAE won there
    # BLAT@1.0: the VAE without group sparsity, which beat the fast preset on the rungs below 3
    model, train, reason = auto_preset(386, 253, 253.3, 1.95)
    assert (model, train) == ({**fast_model, "group_sparsity": False}, fast_train)
    assert reason.endswith("schedule, without group sparsity (Neff/L below 3)")
    ModelConfig(**model)  # valid settings
    # DHFR subsampled to Neff/L 0.3: shallow, the site-independent model
    model, train, reason = auto_preset(51, 159, 47.7, 1.904)
    assert (model, train) == ({"model": "independent"}, {})
    assert "(shallow, Neff/L below 1;" in reason and "site-independent model" in reason
    # POLG at θ = 0.01: Neff/L 18.9, but its columns barely vary: the site-independent model
    model, _, reason = auto_preset(7606, 113, 2135.0, 0.592)
    assert model == {"model": "independent"} and "(varies little, below 1 nat;" in reason
    # the same, when the user asks for the VAE: the shallow VAE settings
    model, train, _ = auto_preset(51, 159, 47.7, 1.904, vae=True)
    assert model == {**fast_model, "site_offset": True, "initial_log_scale": -1.0}
    assert train == fast_train
    for size in [(8355, 253, 2605.0, 1.951), (51, 159, 47.7, 1.904)]:
        model, train, _ = auto_preset(*size, vae=True)
        ModelConfig(**model), TrainConfig(**train)  # valid settings
        assert auto_preset(*size) == auto_preset(*size)  # pure


def test_site_entropy_is_zero_for_a_fixed_column_and_log_k_for_a_uniform_one():
    letters = 20
    fixed = SiteIndependentModel(np.log(np.eye(letters)[[0]] + 1e-300))
    uniform = SiteIndependentModel(np.full((1, letters), -np.log(letters)))
    assert fixed.entropy() == pytest.approx(0.0, abs=1e-9)
    assert uniform.entropy() == pytest.approx(np.log(letters))
    both = SiteIndependentModel(np.concatenate([fixed.log_frequencies, uniform.log_frequencies]))
    assert both.entropy() == pytest.approx(np.log(letters) / 2)  # the mean over columns


def test_paper_and_fast_presets_are_unchanged():
    assert PRESETS["paper"][1]["steps"] == 300_000
    fast_model, fast_train = PRESETS["fast"]
    assert "site_offset" not in fast_model and fast_train["steps"] == 6000


@pytest.mark.parametrize(
    "argv, preset",
    [
        ([], None),  # the embedded synthetic family keeps the plain defaults
        (["--alignment", "x.a2m"], "auto"),
        (["--alignment", "x.a2m", "--model", "vanilla"], None),
        (["--alignment", "x.a2m", "--preset", "fast"], "fast"),
        (["--preset", "auto"], "auto"),
    ],
)
def test_which_runs_get_the_auto_preset(argv, preset):
    args = fit.build_parser().parse_args(argv)
    alignment = getattr(args, "alignment", None) is not None
    assert settings.chosen_preset(args.preset, args.model, alignment) == preset


def test_fit_says_and_stores_what_auto_chose(tmp_path, capsys):
    family = write(tmp_path / "f.a2m", ">P/1-4\nACDE\n>s1\nACDF\n>s2\nWCDE\n")
    out = tmp_path / "run"
    assert fit.main(["--alignment", str(family), "--steps", "3", "--out", str(out), *TINY]) == 0
    captured = capsys.readouterr()
    line = next(s for s in captured.out.splitlines() if s.startswith("auto preset:"))
    assert line.startswith("auto preset: Neff/L 0.75, ")
    assert "(shallow, Neff/L below 1; N 3, L 4, Neff 3): the Bayesian VAE as asked" in line
    assert f"warning: {family}: shallow alignment, Neff/L = 0.75" in captured.err
    state = load_checkpoint(out)
    assert state["preset"] == {"preset": "auto", "reason": line}
    assert state["model_config"]["site_offset"] is True
    assert state["model_config"]["initial_log_scale"] == -1.0
    assert state["train_config"]["lr_schedule"] == "cosine"
    assert state["model_config"]["encoder_hidden"] == [16]  # flags beat the preset
    config = json.loads((out / "config.json").read_text())
    assert config["preset"]["preset"] == "auto"
    offset = state["state_dict"]["model.decoder.offset"]
    expected = SiteIndependentModel.fit(Alignment.from_file(family)).log_frequencies
    np.testing.assert_allclose(offset.numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("flag, sparse", [([], False), (["--group-sparsity"], True)])
def test_a_medium_depth_alignment_trains_the_vae_without_group_sparsity(
    tmp_path, capsys, flag, sparse
):
    # six sequences, no two within 20 % identity: Neff 6, L 4, so Neff/L 1.5, and varied columns
    family = write(
        tmp_path / "f.a2m", ">P/1-4\nACDE\n>a\nKLMN\n>b\nPQRS\n>c\nTVWY\n>d\nFGHI\n>e\nDEAC\n"
    )
    out = tmp_path / "run"
    argv = ["--alignment", str(family), "--steps", "3", "--out", str(out), *TINY, *flag]
    assert fit.main(argv) == 0
    line = next(s for s in capsys.readouterr().out.splitlines() if s.startswith("auto preset:"))
    assert line.startswith("auto preset: Neff/L 1.50, ")
    assert line.endswith("schedule, without group sparsity (Neff/L below 3)")
    state = load_checkpoint(out)
    assert state["model_config"]["group_sparsity"] is sparse  # a flag beats the preset
    assert any("sparsity" in name for name in state["state_dict"]) is sparse


def test_the_offset_is_the_site_independent_model_when_the_weights_are_zero():
    pyro.set_rng_seed(0)
    vae = BayesianVAE(
        5, 20, latent_dim=2, encoder_hidden=(8,), decoder_hidden=(4, 8), site_offset=True
    )
    offset = torch.randn(5, 20).log_softmax(-1)
    vae.set_site_offset(offset)
    decoder = vae.model.decoder
    zeros = {name: torch.zeros(spec.shape) for name, spec in decoder.weights.items()}
    logits = decoder(torch.randn(3, 2), zeros)
    torch.testing.assert_close(logits, offset.expand(3, 5, 20))
    with pytest.raises(ValueError, match="without site_offset"):
        BayesianVAE(5, 20, encoder_hidden=(8,), decoder_hidden=(4, 8)).set_site_offset(offset)


def test_subsample_reaches_the_depth_asked_for_with_the_focus_first(tmp_path):
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 20, (300, 30)).astype(np.uint8)  # random: weights ≈ 1, Neff ≈ N
    alignment = Alignment(codes, focus_index=7)
    shallow = subsample(alignment, 1.0, seed=3)
    assert shallow.neff >= 30 and shallow.num_sequences <= 31
    np.testing.assert_array_equal(shallow.focus_codes, alignment.focus_codes)
    again = subsample(alignment, 1.0, seed=3)
    np.testing.assert_array_equal(again.codes, shallow.codes)
    with pytest.raises(ValueError, match="the alignment has 300"):
        subsample(alignment, 20.0)


def test_shallow_and_gappy_alignments_are_named_in_warnings(tmp_path):
    rows = [">P/1-6\nACDEFG"] + [f">s{i}\nAC{'DEFGHI'[i % 6]}E--" for i in range(5)]
    family = write(tmp_path / "gappy.a2m", "\n".join(rows) + "\n")
    alignment = Alignment.from_file(family)
    assert f"{family}: shallow alignment, Neff/L = " in shallow_message(alignment)
    message = gappy_message(alignment)
    assert f"{family}: 2 of 6 focus columns (33%) are more than 50% gaps" in message
    assert "(positions 5, 6)" in message
    with pytest.warns(DataWarning) as caught:
        warn_alignment(alignment)
    assert len(caught) == 2
    deep = Alignment(np.random.default_rng(0).integers(0, 20, (50, 6)).astype(np.uint8))
    assert shallow_message(deep) is None and gappy_message(deep) is None


def test_inspect_warns_when_most_dms_rows_fall_outside(tmp_path, capsys):
    family = write(tmp_path / "f.a2m", ">P/1-4\nACDE\n>s1\nACDF\n>s2\nWCDE\n")
    table = write(tmp_path / "dms.csv", "mutant,score\nA1C,0.1\nC2D,0.3\nA9C,1\nW12A,2\n")
    assert inspect.main([str(family), "--mutations", str(table), "--score-column", "score"]) == 0
    captured = capsys.readouterr()
    assert f"warning: {table}: 2 of 4 rows (50%) cannot be scored" in captured.err
    assert f"warning: {family}: shallow alignment, Neff/L = 0.75" in captured.err
    assert "Neff/L              0.75 (below 1: shallow)" in captured.out
    entropy = SiteIndependentModel.fit(Alignment.from_file(family)).entropy()
    assert f"site entropy        {entropy:.2f} nats per column (fit's default" in captured.out
    mutations = MutationSet.from_table(table, Alignment.from_file(family), score_column="score")
    assert unscoreable_message(mutations, table).startswith(f"{table}: 2 of 4 rows")


def test_fit_falls_back_to_the_site_independent_model_when_shallow(tmp_path, capsys):
    family = write(tmp_path / "f.a2m", ">P/1-4\nACDE\n>s1\nACDF\n>s2\nWCDE\n")
    out = tmp_path / "run"
    assert fit.main(["--alignment", str(family), "--out", str(out), "--quiet", "--no-plots"]) == 0
    assert "the site-independent model, which the VAE did not beat" in capsys.readouterr().out
    state = load_checkpoint(out)
    assert state["model_config"]["model"] == "independent"
    assert state["preset"]["preset"] == "auto"


#: BLAT subsampled to Neff/L 0.3 (seed 0): its site-independent ρ, measured.
SHALLOW_BLAT_SI = 0.5842


@needs_shared
def test_shallow_blat_with_the_default_settings_keeps_the_site_independent_floor(blat):
    shallow = subsample(blat, 0.3, seed=0)
    assert shallow.neff / shallow.num_positions == pytest.approx(0.3, abs=0.01)
    mutations = MutationSet.from_table(BLAT_DMS, shallow, score_column="2500")
    entropy = SiteIndependentModel.fit(shallow).entropy()
    sizes = shallow.num_sequences, shallow.num_positions, shallow.neff, entropy
    model, _, reason = auto_preset(*sizes)
    assert model == {"model": "independent"} and "(shallow, Neff/L below 1;" in reason
    # the default's fit: the site-independent model of the subsample
    site = SiteIndependentModel.fit(shallow).delta(mutations.codes, shallow.focus_codes)
    rho = spearmanr(site, mutations.scoreable["score"]).statistic
    assert rho >= SHALLOW_BLAT_SI - 1e-3  # measured 0.5842 (the fast preset: below it, see docs)
