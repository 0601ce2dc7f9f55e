"""The API as a notebook uses it: no side effects until asked, cells that can be re-run."""

import numpy as np
import pytest

from pyro_deepseq import Alignment, DataError, DeepSequence
from pyro_deepseq.data.synthetic import default_family

TINY = {"latent_dim": 4, "encoder_hidden": (64,), "decoder_hidden": (16, 64), "batch_size": 64}
RUN = {"model": "vanilla", "steps": 20, **TINY}


def test_building_and_fitting_in_memory_prints_and_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    alignment = Alignment.from_file(default_family()[0])
    model = DeepSequence(alignment, **TINY, steps=10)  # the auto preset decides
    assert model.choice["preset"] == "auto" and "auto preset" in model.choice["reason"]
    model.fit(progress=False)
    assert capsys.readouterr().out == ""
    assert list(tmp_path.iterdir()) == []
    assert model.out is None and model.step == 10


def test_re_running_a_cell_with_the_same_out_continues_the_run(tmp_path):
    out = tmp_path / "nb"
    first = DeepSequence(out=out, **RUN).fit(progress=False)
    again = DeepSequence(out=out, **RUN)  # the same cell, run a second time
    assert again.step == 20
    again.fit(progress=False)  # already trained: nothing to do
    assert again.step == 20
    for name, value in first.vae.state_dict().items():
        assert np.array_equal(value.numpy(), again.vae.state_dict()[name].numpy()), name
    longer = DeepSequence(out=out, **{**RUN, "steps": 30}).fit(progress=False)
    assert longer.step == 30
    with pytest.raises(DataError, match=r"lr \(saved 0.001, given 0.01\).*DeepSequence.load"):
        DeepSequence(out=out, **RUN, lr=0.01)


def test_a_run_from_the_file_continues_with_the_alignment_read_from_it(tmp_path):
    path = default_family()[0]
    DeepSequence(path, out=tmp_path / "nb", **RUN).fit(progress=False)  # focus: the first record
    again = DeepSequence(Alignment.from_file(path), out=tmp_path / "nb", **RUN)  # focus named
    assert again.step == 20
    with pytest.raises(DataError, match=r"focus \(saved None, given 'other'\)"):
        DeepSequence(path, out=tmp_path / "nb", focus="other", **RUN)


def test_an_alignment_built_in_memory_trains_scores_and_reloads(tmp_path):
    read = Alignment.from_file(default_family()[0])
    built = Alignment(read.codes, read.alphabet, read.positions, read.focus_index, read.headers)
    model = DeepSequence(built, **RUN).fit(progress=False)
    table = model.predict(["H1A", "Y2C"], samples=3).table
    path = model.save(tmp_path / "saved")
    assert model.out == tmp_path / "saved"
    loaded = DeepSequence.load(path)
    again = loaded.predict(["H1A", "Y2C"], samples=3).table
    assert np.allclose(again["prediction"], table["prediction"])
    with pytest.raises(DataError, match=r"alignment built in memory.*alignment=\.\.\."):
        _ = loaded.alignment
    assert DeepSequence.load(path, alignment=built).alignment is built
    changed = Alignment(read.codes[:-1], read.alphabet, read.positions, read.focus_index)
    with pytest.raises(DataError, match="has changed since the checkpoint"):
        DeepSequence.load(path, alignment=changed)


def test_fit_takes_training_settings_until_the_run_starts():
    model = DeepSequence(**RUN)
    model.fit(steps=10, lr=3e-3, lr_schedule="cosine", progress=False)
    assert model.train_config.lr == 3e-3 and model.step == 10
    with pytest.raises(DataError, match="trained 10 steps with its settings"):
        model.fit(lr=1e-2)
    with pytest.raises(DataError, match="given to DeepSequence"):
        DeepSequence(**RUN).fit(theta=0.5)
    with pytest.raises(DataError, match="not training settings: latent_dim"):
        DeepSequence(**RUN).fit(latent_dim=3)


def test_save_needs_a_folder_in_memory():
    with pytest.raises(DataError, match="give save\\(\\) a folder"):
        DeepSequence(**RUN).save()
