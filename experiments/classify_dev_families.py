"""EVE's clinical classes on dev families, against labels from their deep mutational scans.

Each family is fitted briefly (``fit --preset fast --steps N``; an existing run is reused), its
singles are classified once (``classify --checkpoint``), and each of its DMS tables is binarised at
its median, ProteinGym's default cutoff (at or above the median: fit, benign; below: pathogenic).
``classify --predictions`` then reads the classified indices again (no re-scoring) with those labels
and reports ROC AUC and the accuracy at 100/90/75/50 % retained. The families are also classified
together, with a global mixture mixed in at EVE's weight 0.3. ``--timing`` measures what scoring
a 400-column protein's 7,600 singles costs, and extrapolates to 2,000 samples.
Writes experiments/results/classify_dev_families.json.

    nice -n 10 python experiments/classify_dev_families.py --steps 2000 --samples 200 --timing
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyro
import torch
from benchmarks import DATA, ROOT, write_json
from scipy.stats import spearmanr

from pyro_deepseq.cli import classify, fit
from pyro_deepseq.evaluation import classification as cls
from pyro_deepseq.inference.checkpoint import load_checkpoint
from pyro_deepseq.inference.config import ModelConfig
from pyro_deepseq.inference.presets import PRESETS
from pyro_deepseq.models import build_model
from pyro_deepseq.scoring import score_variants

FAMILIES = {
    "YAP1_HUMAN": ["YAP1_HUMAN_Araya_2012.csv"],
    "RL401_YEAST": [
        "RL401_YEAST_Mavor_2016.csv",
        "RL401_YEAST_Roscoe_2013.csv",
        "RL401_YEAST_Roscoe_2014.csv",
    ],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000, help="training steps (fast preset)")
    parser.add_argument("--samples", type=int, default=200, help="ELBO samples per single")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "classify")
    parser.add_argument(
        "--models", nargs="+", default=["bayesian", "independent"], help="fit --model of each run"
    )
    parser.add_argument("--timing", action="store_true", help="time a 400-column protein")
    parser.add_argument("--timing-samples", type=int, default=5)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "experiments" / "results" / "classify_dev_families.json"
    )
    args = parser.parse_args()
    results = {"steps": args.steps, "samples": args.samples, "cutoff": "median", "rows": []}
    for model in args.models:
        for family, tables in FAMILIES.items():
            classified, seconds = _classified(args, family, model)
            results[f"{family}_{model}_classify_seconds"] = seconds
            progress = load_checkpoint(_run(args, family, model)).get("progress", {})
            results[f"{family}_{model}_steps"] = progress.get("step")
            for table in tables:
                row = _evaluate(args, family, classified, DATA / family / table)
                results["rows"].append({"model": model} | row)
                write_json(results, args.out)
        results["rows"] += [{"model": model} | row for row in _together(args, model)]
        write_json(results, args.out)
    if args.timing:
        results["timing"] = {p: _timing(p, args.timing_samples) for p in ("fast", "paper")}
        write_json(results, args.out)
    print(_markdown(results))
    return 0


def _run(args, family: str, model: str) -> Path:
    return args.runs / (family if model == "bayesian" else f"{family}-{model}")


def _classified(args, family: str, model: str) -> tuple[Path, float]:
    """Fit (unless done) and classify every single of ``family``; the table and its seconds."""
    run = _run(args, family, model)
    if not (run / "model.pt").exists():
        alignment = DATA / family / f"{family}.a2m"
        argv = ["--alignment", str(alignment), "--model", model, "--steps", str(args.steps)]
        argv += ["--preset", "fast"] if model == "bayesian" else []
        assert fit.main([*argv, "--out", str(run), "--quiet", "--no-plots"]) == 0
    out = run / "classified.csv"
    started = time.perf_counter()
    argv = ["--checkpoint", str(run), "--samples", str(args.samples), "--out", str(out)]
    assert classify.main([*argv, "--force"]) == 0
    return out, round(time.perf_counter() - started, 1)


def _labels(dms: Path, out: Path, protein: str | None = None) -> Path:
    """``mutant``, ``DMS_score_bin`` (1 at or above the median: fit), optionally ``protein``."""
    table = pd.read_csv(dms)[["mutant", "score"]].dropna()
    table["DMS_score_bin"] = (table["score"] >= table["score"].median()).astype(int)
    if protein is not None:
        table["protein"] = protein
    table.to_csv(out, index=False)
    return out


def _evaluate(args, family: str, classified: Path, dms: Path) -> dict:
    labels = _labels(dms, args.runs / f"{dms.stem}_labels.csv")
    out = args.runs / f"{dms.stem}_classified.csv"
    argv = ["--predictions", str(classified), "--labels", str(labels), "--out", str(out)]
    assert classify.main([*argv, "--force"]) == 0
    summary = pd.read_csv(out.with_name(f"{out.stem}_summary.csv")).iloc[0].to_dict()
    table = pd.read_csv(out)
    measured = pd.read_csv(dms).set_index("mutant")["score"]
    scored = table[table["mutant"].isin(measured.index)]
    rho = spearmanr(-scored["evol_index"], measured[scored["mutant"]]).statistic
    return {"family": family, "dms": dms.stem, "mode": "own mixture", "rho": round(rho, 4)} | {
        key: _plain(value) for key, value in summary.items() if key != "protein"
    }


def _together(args, model: str) -> list[dict]:
    """Both families classified at once (global mixture, weight 0.3), each with its first DMS."""
    predictions, labels = [], []
    for family, tables in FAMILIES.items():
        predictions.append(f"{family}={_run(args, family, model) / 'classified.csv'}")
        dms = DATA / family / tables[0]
        labels.append(pd.read_csv(_labels(dms, args.runs / f"{family}_joint.csv", family)))
    joint = args.runs / "joint_labels.csv"
    pd.concat(labels).to_csv(joint, index=False)
    folder = args.runs / f"together-{model}"
    argv = ["--predictions", *predictions, "--labels", str(joint), "--out", str(folder)]
    with contextlib.redirect_stdout(io.StringIO()):
        assert classify.main([*argv, "--force", "--no-plots"]) == 0
    summary = pd.read_csv(folder / "summary.csv")
    rows = []
    for row in summary.to_dict("records"):
        family = row.pop("protein")
        dms = FAMILIES[family][0].removesuffix(".csv") if family in FAMILIES else "both"
        rows.append({"family": family, "dms": dms, "mode": "global + own (w 0.3)"})
        rows[-1] |= {key: _plain(value) for key, value in row.items()}
    return rows


def _timing(preset: str, samples: int) -> dict:
    """Seconds to score 7,600 singles of a 400-column protein (untrained weights: the cost does
    not depend on them), measured at ``samples`` and extrapolated linearly to 2,000."""
    length, letters = 400, 20
    pyro.set_rng_seed(0)
    vae = build_model(ModelConfig(**PRESETS[preset][0]), length, letters).eval()
    rng = np.random.default_rng(0)
    wild = rng.integers(0, letters, length).astype(np.uint8)
    variants = np.repeat(wild[None], length * (letters - 1), 0)
    for i in range(len(variants)):
        position, shift = divmod(i, letters - 1)
        variants[i, position] = (wild[position] + 1 + shift) % letters
    started, cpu = time.perf_counter(), time.process_time()
    scores = score_variants(vae, variants, wild, letters, samples)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    table = cls.singles_table(
        [f"A{1 + i // 19}C" for i in range(len(variants))], -scores.delta, scores.stderr
    )
    started = time.perf_counter()
    cls.classify({"timing": table})
    mixture_seconds = time.perf_counter() - started
    return {
        "singles": len(variants),
        "samples": samples,
        "seconds": round(seconds, 1),
        "cpu_seconds": round(cpu, 1),
        "seconds_at_2000_samples": round(seconds * 2000 / samples),
        "mixture_seconds": round(mixture_seconds, 2),
        "threads": torch.get_num_threads(),
        "load_average": os.getloadavg()[0],
    }


def _plain(value):
    if isinstance(value, (np.floating, float)):
        return None if np.isnan(value) else round(float(value), 4)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _markdown(results: dict) -> str:
    lines = [
        "| model | family | DMS | mode | labelled | AUC score | AUC index | acc 100 % | acc 90 % | "
        "acc 75 % | acc 50 % | ρ |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in results["rows"]:
        accuracy = " | ".join(
            f"{row.get(f'accuracy_{p}') or 0:.3f} ({row.get(f'classified_{p}') or 0:.0%})"
            for p in (100, 90, 75, 50)
        )
        lines.append(
            f"| {row['model']} | {row['family']} | {row['dms']} | {row['mode']} | "
            f"{row.get('labelled')} | "
            f"{row.get('auc_score')} | {row.get('auc_index')} | {accuracy} | {row.get('rho', '')} |"
        )
    return "\n".join(lines) + "\n" + json.dumps(results.get("timing", {}), indent=1)


if __name__ == "__main__":
    sys.exit(main())
