"""The CI sweep (2 small synthetic families × 2 seeds) one job after another, then on local Ray.

Both run in fresh processes of ``deepseq sweep`` on the same run description, each
into its own folder, and their wall times (Ray's start included) go to
experiments/results/sweep_benchmark.json.

    python experiments/bench_sweep.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from bench_weights import machine
from benchmarks import ROOT, write_json

from pyro_deepseq.data.synthetic import default_family, write_family

FIT = "--steps 100 --latent-dim 4 --encoder-hidden 64 --decoder-hidden 16 64 --batch-size 64"
MODES = {"sequential": ["--sequential"], "ray": ["--cpus-per-job", "1"]}


def main() -> int:
    results = {"machine": machine(), "fit_args": FIT, "runs": []}
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        other = write_family(folder / "other", seed=1)
        rows = [("synth", *default_family()), ("other", *other)]
        runs = folder / "runs.csv"
        runs.write_text(
            "name,alignment,mutations,model,seeds,fit_args,predict_args\n"
            + "".join(
                f"{name},{a2m},{dms},vanilla,0 1,{FIT} --no-plots,--samples 10 --no-plots\n"
                for name, a2m, dms in rows
            )
        )
        for mode, flags in MODES.items():
            out = folder / mode
            started = time.perf_counter()
            command = [sys.executable, "-m", "pyro_deepseq", "sweep", str(runs), "--out", str(out)]
            subprocess.run([*command, *flags], check=True, capture_output=True)
            seconds = time.perf_counter() - started
            summary = pd.read_csv(out / "summary.csv", dtype={"seed": str})
            together = summary[summary["seed"] == "ensemble"].set_index("family")
            row = {
                "mode": mode,
                "seconds": round(seconds, 1),
                "ensemble_rho": together["rho"].round(4).to_dict(),
                "fit_seconds": summary["fit_seconds"].dropna().round(1).tolist(),
            }
            results["runs"].append(row)
            print(row, flush=True)
    write_json(results, ROOT / "experiments" / "results" / "sweep_benchmark.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
