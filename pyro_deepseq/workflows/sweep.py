"""Many families × many seeds: the sweep's jobs, their order, and running them here or on Ray.

``deepseq sweep`` (:mod:`pyro_deepseq.cli.sweep`) reads the families and reports; here each fit
is a [`DeepSequence`][pyro_deepseq.DeepSequence] trained into ``DIR/<family>/seed<k>`` (resumed
when it was cut off) and each scoring an [`Ensemble`][pyro_deepseq.Ensemble] of one run. A job
records its outcome in ``fit.json`` or ``score.json``, so running the sweep again skips completed
jobs, resumes interrupted fits and retries failed ones.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..api import DeepSequence, Ensemble
from ..errors import DataError
from ..evaluation.metrics import spearman
from ..scoring import ScoringOptions
from ..scoring.estimators import Scores, ensemble
from ..utils.files import atomic_write, write_table
from .cluster import connect
from .retries import Failure, diagnose, given_up, memory_request, plain
from .runs import Family

SUMMARY_COLUMNS = (
    "family",
    "seed",
    "status",
    "rho",
    "n_scored",
    "steps",
    "fit_seconds",
    "score_seconds",
    "fit_tries",
    "score_tries",
    "resumed_from",
    "retried",
    "device",
    "host",
    "error",
)


# --- the jobs: plain functions of plain values, run in-process or as Ray tasks -----------------


def fit_job(family: Family, seed: int, out: str, threads: int | None, tries: int = 1) -> dict:
    """Fit one seed into ``out/<family>/seed<k>``, resuming a fit that was cut off.

    ``tries`` counts this try (a try after the worker died resumes from the last checkpoint).
    """
    folder = Path(out) / family.fit_folder / f"seed{seed}"
    settings = {**dict(family.settings), "seed": seed}
    asked = {"alignment": family.alignment, **settings}

    def work() -> dict:
        with _logged(folder / "fit.log", asked):
            model = DeepSequence(family.alignment, out=folder, **settings)
            if model.choice.get("reason"):
                print(model.choice["reason"])
            resumed_from = model.step
            if resumed_from:
                print(f"resuming from step {resumed_from:,}")
            try:
                model.fit(progress=False)
            except KeyboardInterrupt:
                print(f"interrupted at step {model.step:,}; saved {folder / 'model.pt'}")
                raise
            seconds = model.progress.seconds
            print(f"trained {model.step:,} steps in {seconds:.1f} s on {model.device}")
        return {"steps": model.step, "device": model.device.type, "resumed_from": resumed_from}

    return _job(folder / "fit.json", asked, threads, work, tries)


def score_job(
    family: Family, seed: int, out: str, threads: int | None, fitted: dict, tries: int = 1
) -> dict:
    """Score one fitted seed: ``predictions.csv`` (and the unscoreable rows) beside its fit."""
    folder = Path(out) / family.name / f"seed{seed}"
    checkpoint = Path(out) / family.fit_folder / f"seed{seed}"
    options = ScoringOptions.of(dict(family.scoring))
    columns = {"mutant_column": family.mutant_column, "score_column": family.score_column}
    asked = {"checkpoint": str(checkpoint), "mutations": family.mutations, **columns}
    asked.update(dataclasses.asdict(options))
    if fitted["status"] != "done":
        return {"status": "skipped", "error": f"fit seed {seed} failed", "tries": 0}

    def work() -> dict:
        with _logged(folder / "predict.log", asked):
            models = Ensemble.load([checkpoint])
            mutations = models.variants(family.mutations, **columns)
            table, _ = models.score(mutations, options)
            write_table(table, folder / "predictions.csv")
            if len(mutations.unscoreable):
                write_table(mutations.unscoreable, folder / "predictions_unscoreable.csv")
            print(f"scored {mutations.num_scoreable:,} of {mutations.num_mutants:,} variants")
        return _accuracy(table)

    return _job(folder / "score.json", asked, threads, work, tries)


def ensemble_job(family: Family, out: str, *scored: dict) -> dict:
    """Average the scored seeds' Δ into ``ensemble_predictions.csv`` (cheap: always redone)."""
    seeds = [
        seed
        for seed, result in zip(family.seeds, scored, strict=True)
        if result["status"] == "done"
    ]
    if not seeds:
        return {"status": "skipped", "error": "no seed was scored", "tries": 0}
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
    write_table(table, folder / "ensemble_predictions.csv")
    return {
        "status": "done",
        "tries": 1,
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
    rho = spearman(table[measured[0]], table["prediction"]) if measured else None
    return {"rho": None if rho is None or math.isnan(rho) else float(rho), "n_scored": len(table)}


def _job(
    record: Path, asked: dict, threads: int | None, work: Callable[[], dict], tries: int = 1
) -> dict:
    """Run ``work`` once: a completed record of the same ``asked`` settings is returned as it is.

    Ctrl-C (Ray's cancel) leaves no record: the job is run again, a fit resumed, next time.
    """
    done = _read_record(record)
    asked = json.loads(json.dumps(asked))  # as the record holds it (tuples become lists)
    if done.get("status") == "done" and done.get("asked") == asked:
        return {**done, "skipped": True}
    if done.get("status") == "done":
        return {
            "status": "failed",
            "error": f"{record.parent} was run with other settings; remove it or use another --out",
            "tries": 0,
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
    seconds = round(time.perf_counter() - started, 2)
    result.update(asked=asked, seconds=seconds, host=platform.node(), tries=tries)
    with atomic_write(record) as temporary:
        temporary.write_text(json.dumps(result, indent=2) + "\n")
    return {**result, "skipped": False}


def _read_record(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _message(error: BaseException) -> str:
    text = str(error) if isinstance(error, DataError) else f"{type(error).__name__}: {error}"
    return plain(text)


@contextlib.contextmanager
def _logged(log: Path, asked: dict):
    """What a job prints goes to ``log``, after a line naming its settings (one per try)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a") as handle, contextlib.redirect_stdout(handle):
        with contextlib.redirect_stderr(handle):
            print(f"$ {json.dumps(asked)}", flush=True)
            yield


# --- running the jobs ----------------------------------------------------------------------


@dataclass(eq=False)
class Job:
    """One fit, scoring or ensemble, and the number of times it was started."""

    kind: str  # fit, score or ensemble
    family: Family
    seed: int | None = None
    tries: int = 0
    retried: list[str] = field(default_factory=list)  # why each earlier try ended

    @property
    def label(self) -> str:
        seed = "" if self.seed is None else f" seed {self.seed}"
        name = self.family.fit_folder if self.kind == "fit" else self.family.name
        return f"{self.kind} {name}{seed}"

    def needs(self) -> list[str]:
        """Labels of the jobs whose results this one takes."""
        name = self.family.name
        if self.kind == "score":
            return [f"fit {self.family.fit_folder} seed {self.seed}"]
        if self.kind == "ensemble":
            return [f"score {name} seed {seed}" for seed in self.family.seeds]
        return []


def plan(families: list[Family]) -> list[Job]:
    """Every job, family by family: fits, then their scoring and the ensemble (with a table).

    Families with the same ``fit_name`` (ProteinGym's assays of one MSA) share their fits.
    """
    jobs, fitted = [], set()
    for family in families:
        for seed in family.seeds:
            if (family.fit_folder, seed) not in fitted:
                fitted.add((family.fit_folder, seed))
                jobs.append(Job("fit", family, seed))
        if family.mutations is not None:
            jobs += [Job("score", family, seed) for seed in family.seeds]
            jobs.append(Job("ensemble", family))
    return jobs


@dataclass
class Tally:
    """Counts for the progress line, and the time estimate."""

    total: int
    slots: float
    done: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: list = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    def finished(self, label: str, result: dict) -> None:
        status = result["status"]
        if status == "done":
            self.done += 1
        elif status == "skipped":
            self.skipped += 1
        else:
            self.failed += 1
        if not result.get("skipped") and "seconds" in result:
            self.seconds.append(result["seconds"])
        outcome = "skipped (done before)" if result.get("skipped") else status
        if status != "done":
            outcome += f": {result['error']}"
        self.say(f"{label}: {outcome}")

    def say(self, text: str) -> None:
        remaining = self.total - self.done - self.failed - self.skipped
        running = min(remaining, max(1, int(self.slots)))
        left = np.mean(self.seconds) * remaining / max(1.0, self.slots) if self.seconds else 0
        skipped = f"{self.skipped} skipped, " if self.skipped else ""
        print(
            f"[{self.done} done, {running if remaining else 0} running, {self.failed} failed, "
            f"{skipped}{self.total} jobs; ~{_duration(left)} left] {plain(text)}",
            flush=True,
        )


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


class Sweep:
    """The jobs, their results, and which jobs can start: those whose needs are met.

    A job whose fit failed, or an ensemble none of whose seeds was scored, is not run: its
    result says it was skipped and which job failed, the failing job's row has the cause.
    """

    def __init__(self, families: list[Family], out: str, slots: float):
        self.out, self.jobs, self.results = out, plan(families), {}
        self.waiting = list(self.jobs)
        self.tally = Tally(len(self.jobs), slots)

    def ready(self, at_most: int | None = None) -> list[Job]:
        """Jobs that can start now, in plan order, taken off the waiting list (``at_most``)."""
        ready, skipped = [], True
        while skipped:  # a skipped job can leave the ensemble that needs it nothing to wait on
            waiting, skipped = [], False
            for index, job in enumerate(self.waiting):
                if at_most is not None and len(ready) >= at_most:
                    waiting += self.waiting[index:]
                    break
                needs = [self.results.get(label) for label in job.needs()]
                if any(result is None for result in needs):
                    waiting.append(job)
                elif job.kind != "fit" and not any(r["status"] == "done" for r in needs):
                    self.finish(job, {"status": "skipped", "error": self._cause(job), "tries": 0})
                    skipped = True
                else:
                    ready.append(job)
            self.waiting = waiting
        return ready

    def _cause(self, job: Job) -> str:
        """Which of the jobs it needs failed: ``fit seed 0 failed``."""
        failed = {"fit": [], "score": []}
        for seed in job.family.seeds if job.kind == "ensemble" else [job.seed]:
            fitted = self.results[f"fit {job.family.fit_folder} seed {seed}"]
            failed["fit" if fitted["status"] != "done" else "score"].append(str(seed))
        return ", ".join(
            f"{kind} seed{'s' if len(seeds) > 1 else ''} {', '.join(seeds)} failed"
            for kind, seeds in failed.items()
            if seeds
        )

    def call(self, job: Job, threads: int | None) -> tuple[Callable, tuple]:
        """The job's function and arguments (``tries`` counts this try)."""
        out = self.out
        if job.kind == "fit":
            return fit_job, (job.family, job.seed, out, threads, job.tries)
        if job.kind == "score":
            fitted = self.results[f"fit {job.family.fit_folder} seed {job.seed}"]
            return score_job, (job.family, job.seed, out, threads, fitted, job.tries)
        return ensemble_job, (job.family, out, *(self.results[label] for label in job.needs()))

    def finish(self, job: Job, result: dict) -> None:
        self.results[job.label] = result
        self.tally.finished(job.label, result)

    def by_family(self) -> dict:
        """``{name: (fits, scores, ensemble)}``, as :func:`summarize` takes them."""
        grouped = {}
        for family in dict.fromkeys(job.family for job in self.jobs):
            fits = [self.results[f"fit {family.fit_folder} seed {s}"] for s in family.seeds]
            if family.mutations is None:
                grouped[family.name] = (fits, None, None)
                continue
            scores = [self.results[f"score {family.name} seed {s}"] for s in family.seeds]
            grouped[family.name] = (fits, scores, self.results[f"ensemble {family.name}"])
        return grouped


def run_sequential(families: list[Family], out: str) -> dict:
    """Every job in this process, one after another, with all its threads."""
    sweep = Sweep(families, out, slots=1)
    while ready := sweep.ready(at_most=1):  # family by family, as planned
        (job,) = ready
        job.tries += 1
        function, arguments = sweep.call(job, threads=None)
        sweep.finish(job, function(*arguments))
    return sweep.by_family()


def run_on_ray(
    families, out: str, address: str | None, cpus: float, gpus: float, retries: int = 2
) -> dict:
    """Every job as a Ray task; scoring starts when its fit is done, the ensemble after them.

    A job whose worker died is tried again, up to ``retries`` times (see
    :mod:`~pyro_deepseq.workflows.retries`). Ctrl-C cancels the running jobs (fits save a
    checkpoint) and raises ``KeyboardInterrupt``.
    """
    paths = [p for f in families for p in (f.alignment, f.mutations) if p is not None]
    ray = connect(address, out, sorted(set(paths)))
    try:
        return RayRunner(ray, Sweep(families, out, 1), cpus, gpus, retries).run()
    finally:
        ray.shutdown()


class RayRunner:
    """Submits the sweep's ready jobs as Ray tasks and tries again those whose worker died.

    Tasks get ``max_retries=0``: this driver decides on every try, so that it counts them, can
    ask a job killed for memory to reserve that memory, and never passes one task's failure to
    another (a job that needs a failed one is skipped, with the cause, instead).
    """

    STOP_SECONDS = 60  # how long Ctrl-C waits for cancelled fits to save their checkpoints

    def __init__(self, ray, sweep: Sweep, cpus: float, gpus: float, retries: int):
        self.ray, self.sweep, self.retries = ray, sweep, retries
        self.threads = max(1, int(cpus))
        heavy = {"num_cpus": cpus, "num_gpus": gpus, "max_retries": 0}
        self.tasks = {  # kind → (Ray's function, its resources)
            "fit": (ray.remote(fit_job), heavy),
            "score": (ray.remote(score_job), heavy),
            "ensemble": (ray.remote(ensemble_job), {"num_cpus": 0.1, "max_retries": 0}),
        }
        self.memory = {}  # (kind, family) → bytes reserved after a job was killed for memory
        self.running = {}  # ObjectRef → Job
        resources = ray.cluster_resources()
        slots = resources.get("CPU", 1) / cpus
        self.sweep.tally.slots = min(slots, resources.get("GPU", 0) / gpus) if gpus else slots

    def run(self) -> dict:
        try:
            for job in self.sweep.ready():
                self.submit(job)
            while self.running:
                finished, _ = self.ray.wait(list(self.running), num_returns=1, timeout=1.0)
                for reference in finished:
                    self.collect(reference)
        except KeyboardInterrupt:
            self.stop()
            raise
        return self.sweep.by_family()

    def submit(self, job: Job) -> None:
        job.tries += 1
        function, arguments = self.sweep.call(job, self.threads)
        task, resources = self.tasks[job.kind]
        memory = self.memory.get((job.kind, job.family.name))
        if memory:
            resources = {**resources, "memory": memory}
        self.running[task.options(**resources).remote(*arguments)] = job

    def collect(self, reference) -> None:
        """Record a finished task's result, or try it again, then start what it unblocked."""
        job = self.running.pop(reference)
        try:
            result = self.ray.get(reference)
        except self.ray.exceptions.RayError as error:
            result = self.failed(job, diagnose(error))
        if result is not None:
            retried = {"retried": "; ".join(job.retried)} if job.retried else {}
            self.sweep.finish(job, {**result, "tries": result.get("tries", job.tries), **retried})
            for ready in self.sweep.ready():
                self.submit(ready)

    def failed(self, job: Job, failure: Failure) -> dict | None:
        """The final result of a job Ray returned nothing for, or None when it is tried again."""
        if not failure.retriable or job.tries > self.retries:
            return {"status": "failed", "error": given_up(failure, job.tries), "tries": job.tries}
        if failure.out_of_memory:
            request = memory_request(failure, self._largest_node())
            if request is None:
                error = given_up(failure, job.tries, no_node_fits=True)
                return {"status": "failed", "error": error, "tries": job.tries}
            key = (job.kind, job.family.name)
            self.memory[key] = max(self.memory.get(key, 0), int(request))
        job.retried.append(f"{job.kind} try {job.tries}: {failure.message}")
        resumes = "; a fit resumes from its last checkpoint" if job.kind == "fit" else ""
        self.sweep.tally.say(
            f"{job.label}: {failure.message}; trying again (try {job.tries + 1} of "
            f"{self.retries + 1}{resumes})"
        )
        self.submit(job)
        return None

    def _largest_node(self) -> float:
        nodes = [n["Resources"].get("memory", 0) for n in self.ray.nodes() if n.get("Alive")]
        return max(nodes, default=0)

    def stop(self) -> None:
        """Ctrl-C: cancel the running jobs (fits save a checkpoint on the way out) and wait."""
        print(
            f"interrupted: stopping {len(self.running)} running jobs (fits save a checkpoint); "
            "run the same command again to continue",
            file=sys.stderr,
            flush=True,
        )
        running = list(self.running)
        for reference in running:
            self.ray.cancel(reference)
        if running:
            self.ray.wait(running, num_returns=len(running), timeout=self.STOP_SECONDS)


def summarize(families: list[Family], results: dict) -> pd.DataFrame:
    """One row per (family, seed) and one per family's ensemble."""
    rows = []
    for family in families:
        fits, scores, combined = results[family.name]
        for index, seed in enumerate(family.seeds):
            fitted = fits[index]
            scored = scores[index] if scores else {}
            failed = fitted if fitted["status"] != "done" else scored
            reasons = [r["retried"] for r in (fitted, scored) if r.get("retried")]
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
                    "fit_tries": fitted.get("tries"),
                    "score_tries": scored.get("tries"),
                    "resumed_from": fitted.get("resumed_from"),
                    "retried": "; ".join(reasons) or None,
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
                    "score_tries": combined.get("tries"),
                    "retried": combined.get("retried"),
                    "error": combined.get("error"),
                }
            )
    summary = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    integers = ("n_scored", "steps", "fit_tries", "score_tries", "resumed_from")
    return summary.astype(dict.fromkeys(integers, "Int64"))
