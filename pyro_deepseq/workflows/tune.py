"""A search over a family's model settings, judged by held-out log-likelihood, on Ray Tune.

Each trial is a [`DeepSequence`][pyro_deepseq.DeepSequence] with settings drawn from a declared
space (Tune's random search), trained with a holdout (:mod:`pyro_deepseq.inference.heldout`) into
``DIR/trials/<trial>``. It pauses at rungs of its step budget to report its held-out
log-likelihood, and ASHA (asynchronous successive halving) ends the trials that lag at a rung. No
measurement chooses anything: a DMS table, when given, is scored for every trial after the search,
beside its likelihood, for analysis. Tune keeps the experiment's state in ``DIR/tune``, so the same
command continues an interrupted search; a trial cut off continues its run from its checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..api import DeepSequence, Ensemble
from ..data.alignment import Alignment
from ..errors import DataError
from ..inference.config import TrainConfig
from ..inference.presets import PRESETS
from ..inference.settings import MODEL_FIELDS

METRIC = "heldout_loglik"
#: What is searched when no space is given: the VAE's latent size, EVE's two regularisers and the
#: learning rate. The site-independent model is not drawn: it is fitted once, beside the trials.
DEFAULT_SPACE = {
    "latent_dim": [10, 30, 50],
    "decoder_dropout": [0.0, 0.1],
    "group_sparsity": [True, False],
    "lr": {"loguniform": [1e-3, 6e-3]},  # above: 2 of 8 trials diverged on KKA2 (L 233)
}
DISTRIBUTIONS = ("uniform", "loguniform", "randint")


@dataclass(frozen=True)
class Search:
    """What one search runs: the family, the space and the budget of each trial."""

    alignment: str | Alignment  # a file, or one read (its θ) or built in memory (a subsample)
    out: str
    space: dict
    trials: int = 16
    steps: int = 6000
    rungs: int = 4  # held-out reports per trial (ASHA's decision points)
    holdout: float = 0.1
    preset: str = "fast"  # the base of every trial of its model
    seed: int = 0
    cpus: float = 1.0
    concurrent: int = 0  # trials at once at most (0: as many as the CPUs allow)

    @property
    def report_every(self) -> int:
        return max(1, self.steps // self.rungs)

    def next_rung(self, step: int) -> int:
        """The step of the next report after ``step``: the same rungs for every trial, so that
        one continued from a checkpoint between two is compared where the others were."""
        return min(self.steps, (step // self.report_every + 1) * self.report_every)


def read_space(path: Path | None) -> dict:
    """A search space from a JSON file: ``{"setting": [choices…]}`` or
    ``{"setting": {"loguniform": [low, high]}}`` (also ``uniform``, ``randint``)."""
    if path is None:
        return DEFAULT_SPACE
    try:
        space = json.loads(Path(path).read_text())
    except OSError as error:
        raise DataError(f"{path}: cannot read the search space ({error.strerror})") from None
    except ValueError as error:
        raise DataError(f"{path}: not JSON: {error}") from None
    if not isinstance(space, dict) or not space:
        raise DataError(f'{path}: give an object of settings, e.g. {{"latent_dim": [10, 30]}}')
    known = MODEL_FIELDS | {field.name for field in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(space) - known - {"alignment", "theta", "alphabet", "focus"})
    if unknown:
        raise DataError(f"{path}: not settings of fit: {', '.join(unknown)}")
    for name, values in space.items():
        ranged = isinstance(values, dict) and len(values) == 1 and set(values) <= set(DISTRIBUTIONS)
        if not (isinstance(values, list) and values) and not ranged:
            raise DataError(
                f"{path}: {name}: give a list of choices or one of "
                f"{', '.join(DISTRIBUTIONS)} with [low, high]"
            )
    return space


def trial_settings(config: dict, search: Search) -> dict:
    """A trial's ``DeepSequence`` settings: its draws, on the preset of its model."""
    base = PRESETS[search.preset][0]["model"]
    model = config.get("model", base)
    settings = {"model": model, "holdout": search.holdout, "seed": search.seed}
    settings.update(steps=search.steps, **({"preset": search.preset} if model == base else {}))
    drawn = {k: tuple(v) if isinstance(v, list) else v for k, v in config.items() if k != "model"}
    if model == "independent":  # it has no model settings and no training
        drawn = {k: v for k, v in drawn.items() if k not in MODEL_FIELDS and k != "lr"}
    return {**settings, **drawn}


def run_trial(config: dict, search: Search, threads: int) -> None:
    """One trial (a Tune function): train, pausing at each rung to report held-out likelihood."""
    import torch
    from ray import tune

    torch.set_num_threads(threads)
    folder = Path(search.out) / "trials" / tune.get_context().get_trial_id()
    settings = trial_settings(config, search)
    model = DeepSequence(search.alignment, out=folder, **settings)
    if model.vae is None:
        model.fit(progress=False)
        tune.report({METRIC: model.heldout_log_likelihood, "step": search.steps})
        return
    while model.step < search.steps:
        model.fit(progress=False, until=search.next_rung(model.step))
        tune.report(
            {
                METRIC: model.heldout_log_likelihood,
                "step": model.step,
                "seconds": model.progress.seconds,
            }
        )


def tune_space(space: dict):
    """The space in Tune's terms."""
    from ray import tune

    made = {}
    for name, values in space.items():
        if isinstance(values, list):
            made[name] = tune.choice(values)
        else:
            ((kind, (low, high)),) = values.items()
            made[name] = getattr(tune, kind)(low, high)
    return made


class Interrupted(KeyboardInterrupt):
    """The search stopped (Ctrl-C) before its trials ended; Tune saved its state."""


def run(search: Search, address: str | None):
    """Run (or continue) the search; the trials' table, with each trial's folder.

    Raises :class:`Interrupted` when Ctrl-C stopped it: the same call continues it.
    """
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # Tune's plain output, which verbose=0 quiets
    # After Ctrl-C, Tune warns of each trial not started yet that it has no metrics: none is due.
    logging.getLogger("ray.tune.analysis.experiment_analysis").setLevel(logging.ERROR)
    try:
        from ray import tune
    except ImportError:
        raise DataError(
            "the search runs on Ray Tune, which is not installed: pip install -e '.[cluster]'"
        ) from None
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search.basic_variant import BasicVariantGenerator

    from .cluster import connect

    path = search.alignment if isinstance(search.alignment, str) else search.alignment.path
    ray = connect(address, search.out, [str(path)] if path else [])
    try:
        storage = Path(search.out).resolve()
        trainable = tune.with_resources(
            tune.with_parameters(run_trial, search=search, threads=max(1, int(search.cpus))),
            {"cpu": search.cpus},
        )
        if tune.Tuner.can_restore(storage / "tune"):
            print(f"continuing the search in {storage / 'tune'}")
            tuner = tune.Tuner.restore(
                str(storage / "tune"), trainable, resume_unfinished=True, resume_errored=True
            )
        else:
            scheduler = ASHAScheduler(
                time_attr="step",
                max_t=search.steps,
                grace_period=search.report_every,
                reduction_factor=2,
            )
            tuner = tune.Tuner(
                trainable,
                param_space=tune_space(search.space),
                tune_config=tune.TuneConfig(
                    metric=METRIC,
                    mode="max",
                    num_samples=search.trials,
                    scheduler=scheduler,
                    search_alg=BasicVariantGenerator(
                        random_state=search.seed, max_concurrent=search.concurrent
                    ),
                ),
                run_config=tune.RunConfig(name="tune", storage_path=str(storage), verbose=0),
            )
        tuner.fit()
        # What Tune saved, not what fit() returned: after Ctrl-C that calls the trials it
        # stopped terminated, while its saved state keeps them pending, to be continued.
        results = tune.Tuner.restore(str(storage / "tune"), trainable).get_results()
    finally:
        ray.shutdown()
    if results.num_terminated + results.num_errors < len(results):
        raise Interrupted
    trials = pd.concat([table(results, search), site_independent(search)], ignore_index=True)
    return trials.sort_values(METRIC, ascending=False, ignore_index=True)


def site_independent(search: Search) -> pd.DataFrame:
    """The site-independent model on the same held-out sequences: the floor every trial is
    compared with (seconds to fit, so it is fitted here rather than drawn as a trial)."""
    folder = Path(search.out) / "site-independent"
    model = DeepSequence(
        search.alignment, model="independent", holdout=search.holdout, seed=search.seed, out=folder
    )
    model.fit(progress=False)
    row = {
        "trial": "site-independent",
        "model": "independent",
        METRIC: model.heldout_log_likelihood,
    }
    return pd.DataFrame([{**row, "steps": 0, "status": "done", "folder": str(folder)}])


def table(results, search: Search) -> pd.DataFrame:
    """One row per trial: its drawn settings, last held-out likelihood, steps, seconds, status."""
    rows = []
    for result in results:
        metrics = result.metrics or {}
        # A trial that failed before its first report has no metrics, and no config in Tune's
        # results: its folder (run_trial_<experiment>_<n>_<n>_<settings>_<date>) keeps both.
        folder = Path(result.path).name.removeprefix(f"{run_trial.__name__}_")
        trial = metrics.get("trial_id") or "_".join(folder.split("_")[:2])
        config = result.config or json.loads((Path(result.path) / "params.json").read_text())
        steps = metrics.get("step", 0)
        done = result.error is None and steps >= search.steps
        status = "error" if result.error else "done" if done else "stopped early"
        drawn = trial_settings(config, search)  # what the trial's model took of them
        rows.append(
            {
                "trial": trial,
                "model": drawn["model"],
                **{name: _plain(drawn.get(name)) for name in search.space if name != "model"},
                METRIC: metrics.get(METRIC, math.nan),
                "steps": steps,
                "seconds": round(metrics.get("seconds", math.nan), 1),
                "status": status,
                "folder": str(Path(search.out) / "trials" / trial),
            }
        )
    return pd.DataFrame(rows)


def _plain(value):
    return " ".join(map(str, value)) if isinstance(value, list | tuple) else value


def add_rho(trials: pd.DataFrame, mutations: str, score_column: str | None, samples: int):
    """Each trial's ρ against a DMS table, beside its likelihood: for analysis, never to choose."""
    rho = [
        Ensemble.load([folder]).predict(mutations, score_column, samples=samples).spearman()
        if (Path(folder) / "model.pt").exists()
        else math.nan
        for folder in trials["folder"]
    ]
    return trials.assign(rho=rho)


def keep_best(trials: pd.DataFrame, out: Path) -> Path:
    """Copy the trial with the highest held-out likelihood's run to ``out/best``."""
    best = trials.dropna(subset=[METRIC]).iloc[0]
    target = out / "best"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(best["folder"], target)
    return target
