"""The training loop shared by every model: stochastic variational inference with Adam.

Each step draws a minibatch (:mod:`pyro_deepseq.models.objective` scales it), evaluates the
mean-field negative ELBO of the model/guide pair (:func:`~pyro_deepseq.models.objective.loss`:
analytic KL terms, the loss of ``TraceMeanField_ELBO``) and takes an Adam step over the modules'
own parameters. Parameters stay local to the modules (``module_local_params``), so nothing is left
in Pyro's global parameter store and two models in one notebook cannot collide; the optimizer is a
plain ``torch.optim.Adam`` whose state goes into the checkpoint.

Checkpoints hold parameters, optimizer state, random-number state, the history and the configs, so
that a resumed run takes exactly the steps an uninterrupted one would have.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd
import torch
from tqdm.auto import tqdm

from ..data.alignment import Alignment
from ..errors import DataError
from ..models.independent import SiteIndependentModel
from ..models.meanfield import NoisePool
from ..models.networks import evaluating, local_params
from ..models.objective import Minibatch, MinibatchSampler, elbo_terms, loss
from ..utils.devices import keep_freed_memory, resolve_device
from ..utils.files import write_table
from .checkpoint import alignment_metadata, save_checkpoint
from .config import ModelConfig, TrainConfig, to_dict
from .heldout import split, vae_log_likelihood
from .schedules import kl_weight, learning_rate

HISTORY_COLUMNS = (
    "step",
    "loss",
    "reconstruction",
    "kl_latent",
    "kl_global",
    "elbo",
    "heldout_elbo",
    "heldout_loglik",
    "kl_weight",
    "lr",
    "seconds",
)


@dataclass
class Progress:
    """What changes as training goes on; all of it is saved in checkpoints."""

    step: int = 0
    seconds: float = 0.0
    history: dict = field(default_factory=lambda: {c: [] for c in HISTORY_COLUMNS})
    best_heldout: float = -float("inf")
    evaluations_since_best: int = 0
    stopped_early: bool = False
    #: The held-out log-likelihood where training last stopped or paused
    #: (:mod:`~pyro_deepseq.inference.heldout`).
    heldout_log_likelihood: float = math.nan

    def __post_init__(self):  # a history saved before a column existed gets it, empty
        rows = len(self.history.get("step", []))
        for column in HISTORY_COLUMNS:
            self.history.setdefault(column, [math.nan] * rows)


class Trainer:
    """Trains one model on one alignment and writes its checkpoint.

    Parameters
    ----------
    vae : torch.nn.Module
        Has ``.model`` and ``.guide`` (Pyro callables taking a :class:`Minibatch`).
    alignment : Alignment
    model_config, train_config : ModelConfig, TrainConfig
    checkpoint_path : str or Path, optional
        Where ``model.pt`` goes: written every ``checkpoint_every`` steps, at a history row once
        ``checkpoint_seconds`` have passed since the last one, at the end and on Ctrl-C. None
        trains in memory and writes nothing.
    preset : dict, optional
        How the settings were chosen (``{"preset": name, "reason": …}``), kept in the checkpoint.
    """

    def __init__(
        self,
        vae,
        alignment: Alignment,
        model_config: ModelConfig,
        train_config: TrainConfig,
        checkpoint_path: Path | None,
        preset: dict | None = None,
    ):
        self.config, self.model_config = train_config, model_config
        self.preset = preset or {"preset": None}
        self.device = resolve_device(train_config.device)
        if self.device.type == "cpu":
            keep_freed_memory()
        if getattr(model_config, "site_offset", False) and hasattr(vae, "set_site_offset"):
            vae.set_site_offset(SiteIndependentModel.fit(alignment).log_frequencies)
        self.vae = vae.to(self.device)
        self.alignment = alignment
        self.checkpoint_path = None if checkpoint_path is None else Path(checkpoint_path)
        self._saved_at = time.perf_counter()
        self.metadata = alignment_metadata(alignment)
        self.optimizer = torch.optim.Adam(self.vae.parameters(), lr=train_config.lr, fused=True)
        steps = train_config.noise_pool_steps
        self.noise_pool = NoisePool(steps) if steps > 1 else None
        self.progress = Progress()
        codes = torch.as_tensor(alignment.codes, device=self.device)
        weights = torch.as_tensor(alignment.weights, dtype=torch.float32, device=self.device)
        holdout = split(alignment, train_config.holdout, train_config.seed)
        train_rows = torch.as_tensor(holdout.train, device=self.device)
        self.heldout_rows = torch.as_tensor(holdout.heldout, device=self.device)
        if not len(self.heldout_rows):
            self.heldout_rows = None
        letters = len(alignment.alphabet)
        self.sampler = MinibatchSampler(
            codes, weights, train_rows, letters, train_config.batch_size, train_config.sampling
        )
        self.heldout = _heldout_batch(codes, weights, self.heldout_rows, letters)
        self.best_state = None

    def restore(self, state: dict) -> None:
        """Continue from a checkpoint's parameters, optimizer, random state and history."""
        self.vae.load_state_dict(state["state_dict"])
        self.optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["rng"]["torch"])
        if self.device.type == "cuda" and state["rng"]["cuda"] is not None:
            torch.cuda.set_rng_state(state["rng"]["cuda"], self.device)
        if self.noise_pool is not None and state["rng"].get("noise"):
            self.noise_pool.restore(state["rng"]["noise"])
        self.progress = Progress(**state["progress"])
        self.best_state = state.get("best_state_dict")
        self.preset = state.get("preset", self.preset)

    def run(self, show_progress: bool = True, until: int | None = None) -> Progress:
        """Train up to ``config.steps`` (or early stopping); Ctrl-C saves a checkpoint first.

        ``until`` pauses earlier, at that step count, without changing the learning-rate schedule
        (which runs to ``config.steps``): the run can be inspected and then continued. Pause at a
        multiple of ``log_every`` to continue exactly as an uninterrupted run would: a history
        row draws random numbers.
        """
        stop = self.config.steps if until is None else min(until, self.config.steps)
        self.vae.train()  # dropout on; scoring may have left the module in evaluation mode
        with local_params():
            bar = tqdm(
                total=stop,
                initial=self.progress.step,
                unit="step",
                disable=not show_progress,
                dynamic_ncols=True,
            )
            try:
                self._loop(bar, stop)
            except KeyboardInterrupt:
                self.save()
                raise
            finally:
                bar.close()
            finished = self.progress.step >= self.config.steps or self.progress.stopped_early
            if finished and self.best_state is not None:
                self.vae.load_state_dict(self.best_state)
            if self.heldout is not None:
                self._score_heldout()
            self.save()
        return self.progress

    def _loop(self, bar, stop: int) -> None:
        config, progress = self.config, self.progress
        losses, started = [], time.perf_counter() - progress.seconds
        while progress.step < stop and not progress.stopped_early:
            step = progress.step
            lr = learning_rate(step, config.lr, config.steps, config.lr_schedule)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            batch = self.sampler.draw().annealed(kl_weight(step, config.kl_warmup, config.kl_cycle))
            batch = replace(batch, noise=self.noise_pool)
            self.optimizer.zero_grad(set_to_none=True)
            try:
                value = loss(self.vae.model, self.vae.guide, batch)
            except ValueError as error:  # a distribution's check found NaN parameters
                self._stop_if_diverged(cause=error)
                raise
            value.backward()
            self.optimizer.step()
            if self.noise_pool is not None:
                self.noise_pool.end_step()
            losses.append(value.detach())
            progress.step += 1
            progress.seconds = time.perf_counter() - started
            if progress.step % config.log_every == 0 or progress.step == stop:
                mean_loss = torch.stack(losses).mean().item()
                if not math.isfinite(mean_loss):
                    self._stop_if_diverged(mean_loss)
                self._log(batch, mean_loss, lr, bar)
                losses = []
            if progress.step % config.checkpoint_every == 0 or self._checkpoint_due():
                self._stop_if_diverged()
                self.save()

    def _checkpoint_due(self) -> bool:
        """At a history row (so that a resumed run continues exactly), once enough time passed.

        A slow step count alone would leave a run killed early with nothing to resume from.
        """
        step, config = self.progress.step, self.config
        elapsed = time.perf_counter() - self._saved_at
        return step % config.log_every == 0 and elapsed >= config.checkpoint_seconds

    def _stop_if_diverged(self, loss: float | None = None, cause: Exception | None = None) -> None:
        """Stop with advice, keeping the last checkpoint, once training has diverged.

        Called before each checkpoint, and when a logged ``loss`` is not finite or a distribution
        refused its parameters (``cause``; the caller re-raises it when they are finite): never
        a synchronisation per step.
        """
        finite = all(bool(p.isfinite().all()) for p in self.vae.parameters())
        if finite and (loss is None or math.isfinite(loss)):
            return
        kept = (
            f"the last checkpoint, {self.checkpoint_path}, is kept"
            if self.checkpoint_path is not None and self.checkpoint_path.exists()
            else "no checkpoint had been written yet"
        )
        raise DataError(
            f"training diverged near step {self.progress.step + 1}: the "
            f"{'loss is' if finite else 'parameters are'} no longer finite at learning rate "
            f"{self.config.lr:g}. Lower --lr and start again; {kept}."
        ) from cause

    def _log(self, batch: Minibatch, loss: float, lr: float, bar) -> None:
        progress = self.progress
        with torch.no_grad(), evaluating(self.vae):  # the history's terms without dropout
            terms = elbo_terms(self.vae.model, self.vae.guide, batch)
            due = self.heldout is not None and progress.step % self.config.eval_every == 0
            heldout = self._evaluate() if due else float("nan")
        row = dict(
            terms,
            step=progress.step,
            loss=loss,
            heldout_elbo=heldout,
            heldout_loglik=float("nan"),  # where training stops or pauses (_score_heldout)
            kl_weight=batch.kl_weight,
            lr=lr,
            seconds=round(progress.seconds, 3),
        )
        for column in HISTORY_COLUMNS:
            progress.history[column].append(float(row[column]))
        rate = progress.step * self.config.batch_size / max(progress.seconds, 1e-9)
        bar.set_postfix(loss=f"{loss:.2f}", seq_per_s=f"{rate:.0f}", refresh=False)
        bar.update(progress.step - bar.n)

    def _evaluate(self) -> float:
        """Weighted mean ELBO of the held-out sequences; tracks the best for early stopping."""
        progress = self.progress
        value = elbo_terms(self.vae.model, self.vae.guide, self.heldout)["elbo"]
        if value > progress.best_heldout:
            progress.best_heldout, progress.evaluations_since_best = value, 0
            self.best_state = {k: v.detach().clone() for k, v in self.vae.state_dict().items()}
        else:
            progress.evaluations_since_best += 1
            progress.stopped_early = progress.evaluations_since_best >= self.config.patience
        return value

    def _score_heldout(self) -> None:
        """The held-out log-likelihood where training stopped or paused, in the progress and the
        last history row: drawn with the run's seed, outside its random stream (so a paused run
        continues as an uninterrupted one would)."""
        progress, heldout = self.progress, self.heldout
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(self.config.seed)
            value = vae_log_likelihood(self.vae, heldout.codes, heldout.scale, heldout.letters)
        progress.heldout_log_likelihood = value
        if progress.history["step"]:
            progress.history["heldout_loglik"][-1] = value

    def save(self) -> None:
        """Write the checkpoint and history, when the run has a folder."""
        self._saved_at = time.perf_counter()
        if self.checkpoint_path is None:
            return
        save_checkpoint(self.checkpoint_path, self.state())
        write_history(self.progress.history, self.checkpoint_path.with_name("history.csv"))

    def state(self) -> dict:
        """Everything a checkpoint holds: enough to continue exactly where training is."""
        progress = self.progress
        return {
            "model_config": to_dict(self.model_config),
            "train_config": to_dict(self.config),
            "alignment": self.metadata,
            "preset": self.preset,
            "state_dict": self.vae.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "rng": {
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state(self.device)
                if self.device.type == "cuda"
                else None,
                "noise": self.noise_pool.state() if self.noise_pool else None,
            },
            "progress": {
                "step": progress.step,
                "seconds": progress.seconds,
                "history": progress.history,
                "best_heldout": progress.best_heldout,
                "evaluations_since_best": progress.evaluations_since_best,
                "stopped_early": progress.stopped_early,
                "heldout_log_likelihood": progress.heldout_log_likelihood,
            },
            "best_state_dict": self.best_state,
        }


def write_history(history: dict, path: Path) -> None:
    """One row per logged step, one column per loss term (see :data:`HISTORY_COLUMNS`)."""
    table = pd.DataFrame(history, columns=list(HISTORY_COLUMNS))
    table["step"] = table["step"].astype(int)
    write_table(table, path)


def _heldout_batch(codes, weights, rows, letters) -> Minibatch | None:
    """All held-out sequences as one batch whose terms are their weighted mean (per Neff)."""
    if rows is None:
        return None
    held = weights[rows]
    scale = held / held.sum()
    return Minibatch(
        codes[rows].long(),
        letters,
        torch.arange(len(rows), device=rows.device),
        len(rows),
        scale,
        1.0 / float(held.sum()),
    )
