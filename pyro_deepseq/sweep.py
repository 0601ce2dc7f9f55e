"""``python -m pyro_deepseq.sweep RUNS.csv --out DIR``: many families × many seeds, one table of ρ.

RUNS.csv has a row per protein family (in the spirit of ProteinGym's reference file):

==============  ============================================================================
name            the family's folder name under DIR (required, unique)
alignment       its alignment (required)
mutations       its DMS table (optional: without it the family is fitted, not scored)
score_column    measured column of the table (default DMS_score)
mutant_column   mutant column of the table (default mutant)
model, preset   as ``fit --model`` and ``fit --preset``
seeds           seeds to train, e.g. ``0 1 2 3 4`` (default 0)
fit_args        any further ``fit`` flags, e.g. ``--steps 2000 --batch-size 400``
predict_args    any further ``predict`` flags, e.g. ``--samples 200``
==============  ============================================================================

Relative paths are read from RUNS.csv's folder. Each (family, seed) is fitted into
``DIR/<name>/seed<k>/`` and scored into its ``predictions.csv``, exactly as ``fit`` and
``predict`` write them; each family's ensemble follows (``DIR/<name>/ensemble_predictions.csv``).
``DIR/summary.csv`` and ``summary.png`` give every seed's and every ensemble's ρ.

``--proteingym REFERENCE.csv --msa-dir DIR --dms-dir DIR`` runs ProteinGym's benchmark instead of
RUNS.csv: one family per assay, one fit per MSA shared by its assays, and ProteinGym's score files,
metrics and leaderboard comparison at the end (:mod:`pyro_deepseq.proteingym`).

Jobs are Ray tasks with resource requests (``--cpus-per-job``, ``--gpus-per-job``; fractional GPUs
let small models share one): on a local Ray instance sized to the machine, or on a cluster with
``--address``. ``--sequential`` runs them one after another in this process, without Ray. A job
records its outcome in ``fit.json`` or ``score.json`` beside its outputs, so running the same
command again skips completed jobs, resumes interrupted fits and retries failed jobs; a failing job
never stops the others, and its error is in the summary.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import re
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.stats import spearmanr

from . import fit, plots, predict
from .errors import DataError
from .inference.checkpoint import load_checkpoint
from .inference.config import TrainConfig, from_dict
from .scoring.estimators import Scores, ensemble
from .utils.cli import run
from .utils.devices import resolve_device
from .utils.files import atomic_write

COLUMNS = (
    "name",
    "alignment",
    "mutations",
    "score_column",
    "mutant_column",
    "model",
    "preset",
    "seeds",
    "fit_args",
    "predict_args",
)
REQUIRED = ("name", "alignment")
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
SUMMARY_COLUMNS = (
    "family",
    "seed",
    "status",
    "rho",
    "n_scored",
    "steps",
    "fit_seconds",
    "score_seconds",
    "device",
    "host",
    "error",
)


@dataclass(frozen=True)
class Family:
    """One row of RUNS.csv, with absolute paths."""

    name: str
    alignment: str
    seeds: tuple[int, ...]
    mutations: str | None = None
    score_column: str | None = None
    mutant_column: str = "mutant"
    model: str | None = None
    preset: str | None = None
    fit_args: tuple[str, ...] = field(default=())
    predict_args: tuple[str, ...] = field(default=())
    #: Folder of the fitted models when several families share them (ProteinGym's assays of one
    #: MSA): ``DIR/<fit_name>/seed<k>``; None fits into the family's own folder.
    fit_name: str | None = None

    @property
    def fit_folder(self) -> str:
        """The folder under DIR that holds this family's fitted seeds."""
        return self.fit_name or self.name


def read_runs(path: str | Path) -> list[Family]:
    """The families of a run description; errors name the file and line."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: run description not found")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    unknown = sorted(set(table.columns) - set(COLUMNS))
    if unknown:
        raise DataError(f"{path}: unknown columns {unknown}; known: {', '.join(COLUMNS)}")
    missing = [column for column in REQUIRED if column not in table.columns]
    if missing:
        raise DataError(f"{path}: needs the columns {', '.join(missing)}")
    families = [_family(row, path, line) for line, row in enumerate(_rows(table), start=2)]
    names = [family.name for family in families]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise DataError(f"{path}: family names must be unique; repeated: {', '.join(repeated)}")
    if not families:
        raise DataError(f"{path}: no families in it")
    return families


def _rows(table: pd.DataFrame):
    for row in table.to_dict("records"):
        yield {key: value.strip() for key, value in row.items()}


def _family(row: dict, path: Path, line: int) -> Family:
    where = f"{path}, line {line}"
    for column in REQUIRED:
        if not row[column]:
            raise DataError(f"{where}: {column} is empty")
    if not SAFE_NAME.fullmatch(row["name"]):
        raise DataError(f"{where}: name {row['name']!r} must be letters, digits, '.', '_' or '-'")
    try:
        seeds = tuple(int(seed) for seed in (row.get("seeds") or "0").replace(",", " ").split())
        fit_args, predict_args = (shlex.split(row.get(k, "")) for k in ("fit_args", "predict_args"))
    except ValueError as error:
        raise DataError(f"{where}: {error}") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise DataError(f"{where}: seeds must be distinct whole numbers, got {row['seeds']!r}")
    folder = path.resolve().parent
    return Family(
        name=row["name"],
        alignment=os.path.normpath(folder / row["alignment"]),
        seeds=seeds,
        mutations=os.path.normpath(folder / row["mutations"]) if row.get("mutations") else None,
        score_column=row.get("score_column") or None,
        mutant_column=row.get("mutant_column") or "mutant",
        model=row.get("model") or None,
        preset=row.get("preset") or None,
        fit_args=tuple(fit_args),
        predict_args=tuple(predict_args),
    )


# --- the jobs: plain functions of plain values, run in-process or as Ray tasks -----------------


def fit_job(family: Family, seed: int, out: str, threads: int | None) -> dict:
    """Fit one seed into ``out/<family>/seed<k>``, resuming a fit that was cut off."""
    folder = Path(out) / family.fit_folder / f"seed{seed}"
    argv = ["--alignment", family.alignment, "--seed", str(seed), "--out", str(folder), "--quiet"]
    argv += [f"--{k}={v}" for k, v in (("model", family.model), ("preset", family.preset)) if v]
    argv += family.fit_args

    def work() -> dict:
        resume = ["--resume"] if (folder / "model.pt").exists() else []
        _command(fit._fit, argv + resume, folder / "fit.log")
        state = load_checkpoint(folder / "model.pt")
        device = resolve_device(from_dict(TrainConfig, state["train_config"]).device)
        return {"steps": state.get("progress", {}).get("step"), "device": device.type}

    return _job(folder / "fit.json", argv, threads, work)


def score_job(family: Family, seed: int, out: str, threads: int | None, fitted: dict) -> dict:
    """Score one fitted seed: ``predictions.csv`` beside its checkpoint."""
    folder = Path(out) / family.name / f"seed{seed}"
    table = folder / "predictions.csv"
    checkpoint = Path(out) / family.fit_folder / f"seed{seed}"
    argv = ["--checkpoint", str(checkpoint), "--mutations", str(family.mutations)]
    argv += ["--out", str(table)]
    argv += ["--mutant-column", family.mutant_column, "--force"]
    argv += ["--score-column", family.score_column] if family.score_column else []
    argv += family.predict_args
    if fitted["status"] != "done":
        return {"status": "failed", "error": "not scored: its fit failed"}

    def work() -> dict:
        _command(predict._predict, argv, folder / "predict.log")
        return _accuracy(pd.read_csv(table))

    return _job(folder / "score.json", argv, threads, work)


def ensemble_job(family: Family, out: str, *scored: dict) -> dict:
    """Average the scored seeds' Δ into ``ensemble_predictions.csv`` (cheap: always redone)."""
    seeds = [
        seed
        for seed, result in zip(family.seeds, scored, strict=True)
        if result["status"] == "done"
    ]
    if not seeds:
        return {"status": "failed", "error": "no seed was scored"}
    started = time.perf_counter()
    folder = Path(out) / family.name
    tables = [pd.read_csv(folder / f"seed{seed}" / "predictions.csv") for seed in seeds]
    members = [Scores(t["prediction"].to_numpy(), t["stderr"].to_numpy()) for t in tables]
    combined = ensemble(members)
    table = pd.DataFrame(
        {"mutant": tables[0]["mutant"], "prediction": combined.delta, "stderr": combined.stderr}
    )
    for seed, member in zip(seeds, members, strict=True):
        table[f"prediction_seed{seed}"] = member.delta
    for column in _measured(tables[0]):
        table[column] = tables[0][column]
    with atomic_write(folder / "ensemble_predictions.csv") as temporary:
        table.to_csv(temporary, index=False)
    return {
        "status": "done",
        "seeds": seeds,
        "score_seconds": round(time.perf_counter() - started, 2),
        **_accuracy(table),
    }


def _measured(table: pd.DataFrame) -> list[str]:
    """The measured column of a predictions table, if it has one: what is not a prediction."""
    made = ("mutant", "prediction", "stderr")
    return [c for c in table.columns if c not in made and not c.startswith("prediction_")]


def _accuracy(table: pd.DataFrame) -> dict:
    """ρ of a predictions table against its measured column."""
    measured = _measured(table)
    rho = spearmanr(table["prediction"], table[measured[0]]).statistic if measured else None
    return {"rho": None if rho is None or math.isnan(rho) else float(rho), "n_scored": len(table)}


def _job(record: Path, argv: list[str], threads: int | None, work: Callable[[], dict]) -> dict:
    """Run ``work`` once: a completed record with the same arguments is returned as it is."""
    done = _read_record(record)
    if done.get("status") == "done" and done.get("argv") == argv:
        return {**done, "skipped": True}
    if done.get("status") == "done":
        return {
            "status": "failed",
            "error": f"{record.parent} was run with other settings; remove it or use another --out",
        }
    if threads:
        torch.set_num_threads(threads)
    started = time.perf_counter()
    try:
        result = {"status": "done", **work()}
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # noqa: BLE001 - one job's failure must not stop the sweep
        result = {"status": "failed", "error": _message(error)}
    result.update(argv=argv, seconds=round(time.perf_counter() - started, 2), host=platform.node())
    with atomic_write(record) as temporary:
        temporary.write_text(json.dumps(result, indent=2) + "\n")
    return {**result, "skipped": False}


def _read_record(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _message(error: BaseException) -> str:
    return str(error) if isinstance(error, DataError) else f"{type(error).__name__}: {error}"


def _command(command, argv: list[str], log: Path) -> None:
    """Run a CLI command's body with its output in ``log``; a non-zero status is an error."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a") as handle, contextlib.redirect_stdout(handle):
        with contextlib.redirect_stderr(handle):
            print(f"$ {' '.join(map(shlex.quote, argv))}", flush=True)
            try:
                code = command(argv)
            except SystemExit as error:  # argparse rejected fit_args or predict_args
                code = error.code
    if code == 130:
        raise KeyboardInterrupt
    if code:
        raise DataError(f"exit status {code}; see {log}")


# --- running the jobs ----------------------------------------------------------------------


@dataclass
class Tally:
    """Counts for the progress line, and the time estimate."""

    total: int
    slots: float
    done: int = 0
    failed: int = 0
    seconds: list = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    def finished(self, label: str, result: dict) -> None:
        if result["status"] == "done":
            self.done += 1
        else:
            self.failed += 1
        if not result.get("skipped") and "seconds" in result:
            self.seconds.append(result["seconds"])
        outcome = "skipped (done before)" if result.get("skipped") else result["status"]
        if result["status"] == "failed":
            outcome += f": {result['error']}"
        remaining = self.total - self.done - self.failed
        running = min(remaining, max(1, int(self.slots)))
        left = np.mean(self.seconds) * remaining / max(1.0, self.slots) if self.seconds else 0
        print(
            f"[{self.done} done, {running if remaining else 0} running, {self.failed} failed, "
            f"{self.total} jobs; ~{_duration(left)} left] {label}: {outcome}",
            flush=True,
        )


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def run_sequential(families: list[Family], out: str) -> dict:
    """Every job in this process, one after another, with all its threads."""
    tally = Tally(_count_jobs(families), slots=1)
    results, shared = {}, {}
    for family in families:
        fits = []
        for seed in family.seeds:
            key = (family.fit_folder, seed)
            if key not in shared:  # families that share a fit_name share its fits
                shared[key] = fit_job(family, seed, out, threads=None)
                tally.finished(f"fit {family.fit_folder} seed {seed}", shared[key])
            fits.append(shared[key])
        if family.mutations is None:
            results[family.name] = (fits, None, None)
            continue
        scores = []
        for seed, fitted in zip(family.seeds, fits, strict=True):
            scores.append(score_job(family, seed, out, None, fitted))
            tally.finished(f"score {family.name} seed {seed}", scores[-1])
        combined = ensemble_job(family, out, *scores)
        tally.finished(f"ensemble {family.name}", combined)
        results[family.name] = (fits, scores, combined)
    return results


def run_on_ray(families, out: str, address: str | None, cpus: float, gpus: float) -> dict:
    """Every job as a Ray task; scoring waits on its fit, the ensemble on the scoring."""
    try:
        import ray
    except ImportError:
        raise DataError(
            "the sweep runs on Ray, which is not installed: pip install -e '.[cluster]' "
            "(or pass --sequential to run the jobs one after another without it)"
        ) from None
    if address:
        ray.init(address=address, log_to_driver=False)
    else:
        ray.init(include_dashboard=False, log_to_driver=False)
    try:
        threads = max(1, int(cpus))
        fit_task = ray.remote(fit_job).options(num_cpus=cpus, num_gpus=gpus, max_retries=0)
        score_task = ray.remote(score_job).options(num_cpus=cpus, num_gpus=gpus, max_retries=0)
        ensemble_task = ray.remote(ensemble_job).options(num_cpus=0.1, max_retries=0)
        labels, jobs, fitted = {}, {}, {}
        for family in families:
            for seed in family.seeds:
                key = (family.fit_folder, seed)
                if key not in fitted:  # families that share a fit_name share its fits
                    fitted[key] = fit_task.remote(family, seed, out, threads)
                    labels[fitted[key]] = f"fit {family.fit_folder} seed {seed}"
            fits = [fitted[(family.fit_folder, s)] for s in family.seeds]
            scores = combined = None
            if family.mutations is not None:
                scores = [
                    score_task.remote(family, s, out, threads, f)
                    for s, f in zip(family.seeds, fits, strict=True)
                ]
                for reference, seed in zip(scores, family.seeds, strict=True):
                    labels[reference] = f"score {family.name} seed {seed}"
                combined = ensemble_task.remote(family, out, *scores)
                labels[combined] = f"ensemble {family.name}"
            jobs[family.name] = (fits, scores, combined)
        resources = ray.cluster_resources()
        slots = resources.get("CPU", 1) / cpus
        if gpus:
            slots = min(slots, resources.get("GPU", 0) / gpus)
        tally, results, pending = Tally(len(labels), slots), {}, list(labels)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            try:
                results[ready[0]] = ray.get(ready[0])
            except ray.exceptions.RayError as error:  # a worker died (out of memory, a node lost)
                results[ready[0]] = {"status": "failed", "error": str(error).splitlines()[0]}
            tally.finished(labels[ready[0]], results[ready[0]])
        return {
            name: (
                [results[r] for r in fits],
                None if scores is None else [results[r] for r in scores],
                None if combined is None else results[combined],
            )
            for name, (fits, scores, combined) in jobs.items()
        }
    finally:
        ray.shutdown()


def _count_jobs(families: list[Family]) -> int:
    fits = {(f.fit_folder, seed) for f in families for seed in f.seeds}
    return len(fits) + sum(len(f.seeds) + 1 for f in families if f.mutations)


def summarize(families: list[Family], results: dict) -> pd.DataFrame:
    """One row per (family, seed) and one per family's ensemble."""
    rows = []
    for family in families:
        fits, scores, combined = results[family.name]
        for index, seed in enumerate(family.seeds):
            fitted = fits[index]
            scored = scores[index] if scores else {}
            failed = fitted if fitted["status"] != "done" else scored
            rows.append(
                {
                    "family": family.name,
                    "seed": str(seed),
                    "status": failed.get("status", "done"),
                    "rho": scored.get("rho"),
                    "n_scored": scored.get("n_scored"),
                    "steps": fitted.get("steps"),
                    "fit_seconds": fitted.get("seconds"),
                    "score_seconds": scored.get("seconds"),
                    "device": fitted.get("device"),
                    "host": fitted.get("host"),
                    "error": failed.get("error"),
                }
            )
        if combined is not None:
            rows.append(
                {
                    "family": family.name,
                    "seed": "ensemble",
                    "status": combined["status"],
                    "rho": combined.get("rho"),
                    "n_scored": combined.get("n_scored"),
                    "score_seconds": combined.get("score_seconds"),
                    "error": combined.get("error"),
                }
            )
    summary = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    return summary.astype({"n_scored": "Int64", "steps": "Int64"})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pyro_deepseq.sweep", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("runs", type=Path, nargs="?", help="the run description (CSV)")
    parser.add_argument("--out", type=Path, required=True, help="folder of all the runs")
    parser.add_argument(
        "--address", help="a Ray cluster's address (auto, or HOST:PORT); default: a local one"
    )
    parser.add_argument("--cpus-per-job", type=float, default=1.0, help="CPUs of each job (1)")
    parser.add_argument(
        "--gpus-per-job", type=float, default=0.0, help="GPUs of each job, e.g. 0.25 (default 0)"
    )
    parser.add_argument(
        "--sequential", action="store_true", help="run the jobs one by one here, without Ray"
    )
    _proteingym_options(parser)
    return parser


def _proteingym_options(parser: argparse.ArgumentParser) -> None:
    """The benchmark's options: its reference file instead of a run description."""
    group = parser.add_argument_group(
        "ProteinGym", "run ProteinGym's benchmark (see pyro_deepseq.proteingym) instead of RUNS"
    )
    group.add_argument("--proteingym", type=Path, metavar="REFERENCE", help="DMS_substitutions.csv")
    group.add_argument("--msa-dir", type=Path, help="folder of the reference's MSA_filename")
    group.add_argument("--dms-dir", type=Path, help="folder of the reference's DMS_filename")
    group.add_argument("--only", nargs="+", metavar="DMS_ID", help="these assays only")
    group.add_argument("--seeds", nargs="+", type=int, default=[0], help="seeds per MSA (0)")
    group.add_argument(
        "--fit-args", default="--preset fast", help="fit flags for every MSA ('--preset fast')"
    )
    group.add_argument("--predict-args", default="", help="predict flags for every assay")
    group.add_argument(
        "--leaderboard",
        nargs="+",
        type=Path,
        metavar="PUBLISHED",
        help="ProteinGym's DMS_substitutions_<Metric>_DMS_level.csv: our rank and gaps",
    )


def _benchmark(args):
    """The ProteinGym plan when --proteingym is given (its families replace RUNS.csv's)."""
    from . import proteingym  # its metrics need scikit-learn, which plain sweeps do not

    if (args.runs is None) == (args.proteingym is None):
        raise DataError("give a run description RUNS.csv or --proteingym REFERENCE.csv")
    if args.proteingym is None:
        return None
    if args.msa_dir is None or args.dms_dir is None:
        raise DataError("--proteingym needs --msa-dir and --dms-dir")
    if len(set(args.seeds)) != len(args.seeds):
        raise DataError(f"--seeds must be distinct, got {args.seeds}")
    reference = proteingym.read_reference(args.proteingym, args.only)
    fit_args, predict_args = shlex.split(args.fit_args), shlex.split(args.predict_args)
    plan = proteingym.Plan.prepare(
        reference, args.msa_dir, args.dms_dir, args.out, fit_args, predict_args, args.seeds
    )
    plan.report()
    if not plan.families:
        raise DataError(f"{args.proteingym}: no assay could be prepared (see above)")
    return plan


def main(argv: Sequence[str] | None = None) -> int:
    return run(_sweep, argv)


def _sweep(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    if args.cpus_per_job <= 0 or args.gpus_per_job < 0:
        raise DataError("--cpus-per-job must be positive and --gpus-per-job not negative")
    if args.sequential and (args.address or args.gpus_per_job):
        raise DataError("--address and --gpus-per-job need Ray; drop --sequential")
    benchmark = _benchmark(args)
    families = benchmark.families if benchmark else read_runs(args.runs)
    out = str(args.out.resolve())
    started = time.perf_counter()
    if args.sequential:
        results = run_sequential(families, out)
    else:
        results = run_on_ray(families, out, args.address, args.cpus_per_job, args.gpus_per_job)
    summary = summarize(families, results)
    with atomic_write(args.out / "summary.csv") as temporary:
        summary.to_csv(temporary, index=False)
    written = [args.out / "summary.csv"]
    if summary["rho"].notna().any():
        written.append(plots.save(plots.sweep_summary(summary), args.out / "summary.png"))
    failed = summary[summary["status"] != "done"]
    print(
        f"swept {len(families)} families in {time.perf_counter() - started:.1f} s; "
        f"{len(failed)} of {len(summary)} rows failed; wrote {', '.join(map(str, written))}"
    )
    for row in summary[summary["seed"] == "ensemble"].itertuples():
        if row.rho is not None and not pd.isna(row.rho):
            print(f"{row.family}: ensemble ρ = {row.rho:.4f} over {row.n_scored:,} variants")
    if benchmark:
        written = benchmark.finish(summary, args.leaderboard or ())
        print(f"wrote {', '.join(map(str, written))}")
        return 1 if len(failed) or benchmark.problems else 0
    return 1 if len(failed) else 0


if __name__ == "__main__":
    sys.exit(main())
