"""fit and predict on a CUDA device; skipped on machines without one (run them where there is).

Random numbers differ between devices, so CUDA runs are checked against the CPU's accuracy and
against exact results where no randomness enters (the weights, a checkpoint read back on the CPU).
"""

import numpy as np
import pandas as pd
import pytest
import torch

from pyro_deepseq.cli import fit, predict
from pyro_deepseq.data.alignment import Alignment
from pyro_deepseq.data.synthetic import default_family
from pyro_deepseq.data.weights import sequence_weights
from pyro_deepseq.inference.checkpoint import load_checkpoint

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]
SMALL = ["--latent-dim", "4", "--encoder-hidden", "64", "--decoder-hidden", "16", "64", "--quiet"]


def test_weights_on_cuda_equal_the_cpus():
    codes = Alignment.from_file(default_family()[0]).codes
    np.testing.assert_array_equal(
        sequence_weights(codes, 20, 0.2, "cuda"), sequence_weights(codes, 20, 0.2, "cpu")
    )


@pytest.mark.parametrize("model", ["vanilla", "bayesian", "ladder"])
def test_fit_and_predict_on_cuda(tmp_path, model, capsys):
    out = tmp_path / model
    argv = ["--model", model, "--steps", "300", "--device", "cuda", "--out", str(out), *SMALL]
    assert fit.main(argv) == 0
    assert "on cuda" in capsys.readouterr().out
    state = load_checkpoint(out)  # read back on the CPU
    assert state["train_config"]["device"] == "cuda" and state["progress"]["step"] == 300
    assert predict.main(["--checkpoint", str(out), "--samples", "50", "--device", "cuda"]) == 0
    table = pd.read_csv(out / "predictions.csv")
    assert len(table) == 2140 and np.isfinite(table["prediction"]).all()
    rho = table["prediction"].corr(table["DMS_score"], method="spearman")
    assert rho > 0.3  # the CPU reaches about 0.6 with these settings
    low = out.with_name(f"{model}_bfloat16.csv")
    args = ["--checkpoint", str(out), "--samples", "50", "--device", "cuda", "--out", str(low)]
    assert predict.main([*args, "--precision", "bfloat16"]) == 0  # same seed, same draws
    moved = (pd.read_csv(low)["prediction"] - table["prediction"]).abs()
    assert (moved < 0.1 * table["stderr"]).all()  # as on the CPU
    cpu = out.with_name(f"{model}_on_cpu.csv")
    args = ["--checkpoint", str(out), "--samples", "50", "--device", "cpu", "--out", str(cpu)]
    assert predict.main(args) == 0  # a CUDA checkpoint scores on the CPU too
    assert pd.read_csv(cpu)["prediction"].corr(table["prediction"], method="spearman") > 0.9


def test_resume_on_cuda_continues_the_run(tmp_path):
    out = tmp_path / "run"
    first = ["--model", "vanilla", "--steps", "50", "--device", "cuda", "--out", str(out), *SMALL]
    assert fit.main(first) == 0
    assert fit.main([*first[:3], "100", *first[4:], "--resume"]) == 0
    assert load_checkpoint(out)["progress"]["step"] == 100
