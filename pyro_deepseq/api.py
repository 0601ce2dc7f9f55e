"""The Python API: one object from an alignment to predictions.

>>> model = DeepSequence("family.a2m", preset="fast")      # doctest: +SKIP
>>> model.fit()                                             # doctest: +SKIP
>>> model.predict("dms.csv", score_column="fitness")        # doctest: +SKIP

[`DeepSequence`][pyro_deepseq.DeepSequence] trains, resumes, scores, embeds and saves one model;
[`Ensemble`][pyro_deepseq.Ensemble]
scores several trained runs together. The commands (``fit``, ``predict``, ``embed``) are thin
layers over these two classes and write the same checkpoints and tables.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyro
import torch

from . import plots
from .data.alignment import ALPHABETS, Alignment
from .data.diagnostics import warn_alignment
from .data.focus import Focus
from .data.mutations import WILD_TYPE_MISMATCH, MutationSet, another_protein
from .data.synthetic import default_family
from .data.variants import from_sequences
from .errors import DataError
from .evaluation import classification
from .evaluation.metrics import spearman
from .inference.checkpoint import (
    alignment_metadata,
    alignment_sha256,
    file_sha256,
    load_checkpoint,
    save_checkpoint,
)
from .inference.config import ModelConfig, TrainConfig, to_dict
from .inference.heldout import site_independent_log_likelihood, split
from .inference.presets import AUTO
from .inference.settings import (
    chosen_preset,
    resolve,
    resolve_auto,
    resolve_training,
    resumed,
)
from .inference.training import Progress, Trainer, write_history
from .models import build_model, latent_posterior
from .models.independent import SiteIndependentModel
from .scoring import Scores, ScoringOptions, ensemble, score_variants
from .utils.devices import resolve_device
from .utils.files import atomic_write

#: Files read as variant sequences rather than as a table of mutants.
SEQUENCE_SUFFIXES = {".fasta", ".fa", ".faa", ".fas", ".a2m", ".a3m"}


class DeepSequence:
    """A model of one protein family: train it, score variants, embed sequences.

    Building one has no side effects: it prints nothing and writes nothing.
    [`fit`][pyro_deepseq.DeepSequence.fit] trains in
    memory, and writes checkpoints only when the model has a run folder (``out``, or one given to
    [`save`][pyro_deepseq.DeepSequence.save]). Constructing it again with the same ``out`` and
    settings, as re-running a
    notebook cell does, continues the run saved there.

    Parameters
    ----------
    alignment : str, Path or Alignment, optional
        The family's alignment (a2m, a3m or aligned FASTA), or an
        [`Alignment`][pyro_deepseq.Alignment] already read or built in memory (a checkpoint
        names it by the hash of its content); default: the embedded synthetic family.
    preset : str, optional
        ``"auto"`` (the default with an alignment: chosen from its depth and variation; the
        reason is in ``choice["reason"]``), ``"paper"``, ``"fast"`` or ``"eve"``; settings given
        next to it win.
    out : str or Path, optional
        The run folder (``model.pt``, ``history.csv``, ``config.json``); default: none, the model
        lives in memory until [`save`][pyro_deepseq.DeepSequence.save]. A folder that already
        holds a run with these settings is continued; one with other settings is refused (load
        it with [`load`][pyro_deepseq.DeepSequence.load]).
    **settings : dict
        Any field of ``ModelConfig`` (``model``, ``latent_dim``, the Bayesian switches, …) or
        ``TrainConfig`` (``steps``, ``lr``, ``seed``, …); see ``python -m pyro_deepseq.fit
        --help``.
    """

    def __init__(self, alignment=None, preset: str | None = None, out=None, **settings):
        loaded = alignment if isinstance(alignment, Alignment) else None
        if loaded is not None:
            read_with = _alignment_settings(loaded)
            clash = [k for k, v in read_with.items() if settings.get(k, v) != v]
            if clash:
                raise DataError(f"the alignment was read with other {', '.join(clash)}")
            settings = {**settings, **read_with}
            alignment = loaded.path  # None for an alignment built in memory
        if alignment is not None:
            settings["alignment"] = str(alignment)
        model = settings.pop("model", None)
        given = loaded is not None or alignment is not None
        self.choice = {"preset": chosen_preset(preset, model, given)}
        if self.choice["preset"] == AUTO:  # the settings depend on the alignment
            loaded = loaded or _read_alignment(resolve(model, None, settings)[1], None)
            model_config, train_config, reason = resolve_auto(model, settings, loaded)
            self.choice["reason"] = reason
        else:
            model_config, train_config = resolve(model, self.choice["preset"], settings)
        out = None if out is None else Path(out)
        state = None
        if out is not None and (out / "model.pt").exists():
            state = _continued(out, model_config, train_config, loaded)
            self.choice = state.get("preset", self.choice)
        self._setup(model_config, train_config, out, state=state, alignment=loaded)

    def _setup(self, model_config, train_config, out, state: dict | None, alignment=None):
        self.model_config: ModelConfig = model_config
        self.train_config: TrainConfig = train_config
        #: The run folder checkpoints go to; None: in memory only.
        self.out: Path | None = None if out is None else Path(out)
        self._state, self._alignment, self._trainer = state, alignment, None
        if state is None:
            self._alignment = alignment or _read_alignment(train_config, None)
            warn_alignment(self._alignment)
        self.metadata = state["alignment"] if state else alignment_metadata(self._alignment)
        if state is not None and alignment is not None:
            _check_same_alignment(alignment, self.metadata)
        self.focus = Focus.from_metadata(self.metadata)
        self.vae = None
        if model_config.model != "independent":
            pyro.set_rng_seed(train_config.seed)
            self.vae = build_model(
                model_config, len(self.focus.positions), len(self.focus.alphabet)
            )
            if state is not None:
                self.vae.load_state_dict(state["state_dict"])

    @classmethod
    def load(
        cls, path, model: str | None = None, alignment: Alignment | None = None, **changes
    ) -> DeepSequence:
        """A trained (or part-trained) run from ``DIR/model.pt`` or ``DIR``;
        [`fit`][pyro_deepseq.DeepSequence.fit] continues it there.

        Only ``steps`` (to train further) and ``device`` may differ from the checkpoint's
        settings; any other setting given must equal the saved one. An
        [`Alignment`][pyro_deepseq.Alignment] given as ``alignment`` is the training alignment
        (checked by its hash): how a run trained on one built in memory gets it back.
        """
        if alignment is not None and not isinstance(alignment, Alignment):
            changes["alignment"], alignment = str(alignment), None  # a file: a setting to check
        path = Path(path)
        state = load_checkpoint(path)
        model_config, train_config = resumed(state, model, changes)
        folder = path if path.is_dir() else path.parent
        instance = cls.__new__(cls)
        instance.choice = state.get("preset", {"preset": None})
        instance._setup(model_config, train_config, folder, state, alignment)
        return instance

    def __repr__(self) -> str:
        out = None if self.out is None else str(self.out)
        return (
            f"DeepSequence({self.model_config.model}, focus {self.focus.focus_name}, "
            f"{len(self.focus.positions)} columns, {self.step:,} steps, out={out!r})"
        )

    @property
    def alignment(self) -> Alignment:
        """The training alignment, read when first needed (and checked against the checkpoint)."""
        if self._alignment is None:
            self._alignment = _read_alignment(self.train_config, self._state)
        return self._alignment

    @property
    def progress(self) -> Progress:
        """Steps, seconds and the logged history so far."""
        if self._trainer is not None:
            return self._trainer.progress
        if self._state is not None and "progress" in self._state:
            return Progress(**self._state["progress"])
        return Progress()

    @property
    def step(self) -> int:
        return self.progress.step

    @property
    def history(self) -> pd.DataFrame:
        """One row per logged step: the loss, each of its terms, the learning rate, seconds."""
        return pd.DataFrame(self.progress.history)

    @property
    def heldout_log_likelihood(self) -> float:
        """The model's log-likelihood of its held-out sequences (``holdout`` > 0), in nats per
        sequence, where training last stopped or paused: how well it predicts sequences of the
        family it never saw (see `pyro_deepseq.inference.heldout`); NaN before the first
        [`fit`][pyro_deepseq.DeepSequence.fit]."""
        return self.progress.heldout_log_likelihood

    @property
    def device(self) -> torch.device:
        return resolve_device(self.train_config.device)

    def fit(
        self,
        steps: int | None = None,
        progress: bool = True,
        until: int | None = None,
        **settings,
    ) -> DeepSequence:
        """Train to ``steps`` (default: the settings'), with checkpoints in ``out`` if set.

        ``until`` pauses at that step without changing the learning-rate schedule, which runs
        to ``steps`` (pause at a multiple of ``log_every`` for the run to continue exactly as an
        uninterrupted one). Calling it again, or on a loaded run, continues where training
        stopped. ``settings`` are training settings (``lr``, ``batch_size``, ``lr_schedule``, …)
        for a run not started yet. Ctrl-C saves a checkpoint first (when there is a run folder;
        in memory the model stays as it was), then raises ``KeyboardInterrupt``.
        """
        if settings:
            self.train_config = self._training_settings(settings)
        if steps is not None:
            self.train_config = dataclasses.replace(self.train_config, steps=steps)
        if self.vae is None:
            self._fit_independent()
            return self
        if self._trainer is None:
            self._trainer = self._new_trainer()
        self._trainer.config = self.train_config
        self._trainer.run(show_progress=progress, until=until)
        return self

    def _training_settings(self, settings: dict) -> TrainConfig:
        """The training settings with ``settings`` changed, before the run starts."""
        fixed = {"alignment", "theta", "alphabet", "focus"} & set(settings)
        if fixed:
            raise DataError(
                f"{', '.join(sorted(fixed))}: alignment settings are given to DeepSequence(...), "
                "not to fit()"
            )
        if self.step > 0 and set(settings) - {"device"}:
            raise DataError(
                f"this run has trained {self.step:,} steps with its settings; build a new "
                "DeepSequence to train with others (fit(steps=…) trains further)"
            )
        return resolve_training(self.train_config, settings)

    def _new_trainer(self) -> Trainer:
        checkpoint = None if self.out is None else self.out / "model.pt"
        trainer = Trainer(
            self.vae, self.alignment, self.model_config, self.train_config, checkpoint, self.choice
        )
        if self._state is not None:
            trainer.restore(self._state)
        if self.out is not None:
            self._write_config(self.out, trainer.metadata)
        return trainer

    def _fit_independent(self) -> None:
        """The site-independent baseline, saved as a checkpoint that loads the same way; with a
        holdout, fitted on the training sequences and scored on the held-out ones."""
        alignment, config = self.alignment, self.train_config
        holdout = split(alignment, config.holdout, config.seed)
        model = SiteIndependentModel.fit(alignment, rows=holdout.train)
        progress = Progress()
        if len(holdout.heldout):
            progress.heldout_log_likelihood = site_independent_log_likelihood(
                model, alignment.codes[holdout.heldout], alignment.weights[holdout.heldout]
            )
        self._state = {
            "model_config": to_dict(self.model_config),
            "train_config": to_dict(config),
            "alignment": alignment_metadata(alignment),
            "preset": self.choice,
            "state_dict": {"log_frequencies": torch.as_tensor(model.log_frequencies)},
            "progress": dataclasses.asdict(progress),
        }
        if self.out is not None:
            self._write_run(self.out, self._state)

    def _write_run(self, folder: Path, state: dict) -> None:
        """model.pt, history.csv and config.json: a run folder that
        [`load`][pyro_deepseq.DeepSequence.load] reads."""
        save_checkpoint(folder / "model.pt", state)
        write_history(state.get("progress", {}).get("history", {}), folder / "history.csv")
        self._write_config(folder, state["alignment"])

    def _write_config(self, folder: Path, metadata: dict) -> None:
        summary = {k: v for k, v in metadata.items() if k not in ("positions", "focus_sequence")}
        document = {
            "model": to_dict(self.model_config),
            "train": to_dict(self.train_config),
            "alignment": summary,
            "preset": self.choice,
        }
        with atomic_write(folder / "config.json") as temporary:
            temporary.write_text(json.dumps(document, indent=2) + "\n")

    def save(self, folder=None, overwrite: bool = False) -> Path:
        """Write the run (``model.pt``, ``history.csv``, ``config.json``) to ``folder``, default
        ``out``; [`load`][pyro_deepseq.DeepSequence.load] reads it back. A model kept in memory
        gets ``folder`` as its run folder, so that further training checkpoints there."""
        if folder is None and self.out is None:
            raise DataError("give save() a folder: this model has no run folder (out=)")
        folder = Path(folder) if folder is not None else self.out
        path = folder / "model.pt"
        if path.exists() and not overwrite and folder != self.out:
            raise DataError(f"{path} exists; pass overwrite=True to replace it")
        state = self._trainer.state() if self._trainer is not None else self._state
        if state is None:
            raise DataError("nothing to save yet: fit the model first")
        self._write_run(folder, state)
        if self.out is None:
            self.out = folder
            if self._trainer is not None:
                self._trainer.checkpoint_path = path
        return path

    def predict(self, variants=None, **options) -> Predictions:
        """Score variants: the table ``python -m pyro_deepseq.predict`` writes, with the rows it
        could not score.

        ``variants``: a DMS table (.csv, .tsv, .xlsx), a FASTA of variant sequences, a list of
        mutants (``["H24A", "K35E:T40S"]``) or a [`MutationSet`][pyro_deepseq.MutationSet];
        default: the synthetic family's table when the model was trained on it. ``options`` are
        those of [`Ensemble.predict`][pyro_deepseq.Ensemble.predict].
        """
        return Ensemble([self]).predict(variants, **options)

    def singles(self, **options) -> pd.DataFrame:
        """Δ of every single substitution: focus positions × letters (the landscape matrix)."""
        return Ensemble([self]).singles(**options)

    def classify(
        self, retain: float = classification.RETAIN, thresholds=None, seed: int = 0, **options
    ):
        """EVE's clinical classes of every single substitution; see
        [`Ensemble.classify`][pyro_deepseq.Ensemble.classify]."""
        return Ensemble([self]).classify(retain, thresholds, seed, **options)

    def embed(self, sequences=None) -> pd.DataFrame:
        """Each sequence's latent mean (``z1`` …) and sd (``sd_z1`` …), indexed by its header.

        ``sequences``: an [`Alignment`][pyro_deepseq.Alignment] or aligned file with the model's
        columns; default: the training alignment.
        """
        if self.vae is None:
            raise DataError("the site-independent model has no latent space")
        alignment = sequences if sequences is not None else self.alignment
        if not isinstance(alignment, Alignment):
            alignment = Alignment.from_file(
                alignment, self.train_config.theta, self.train_config.alphabet
            )
        if alignment.num_positions != len(self.focus.positions):
            raise DataError(
                f"{alignment.path}: {alignment.num_positions} focus columns, but the model has "
                f"{len(self.focus.positions)}"
            )
        self.vae.to(self.device).eval()
        means, scales = latent_posterior(self.vae, alignment.codes)
        dims = range(1, means.shape[1] + 1)
        table = pd.DataFrame(
            np.hstack([means, scales]),
            columns=[f"z{d}" for d in dims] + [f"sd_z{d}" for d in dims],
            index=pd.Index(alignment.headers, name="sequence"),
        )
        return table.assign(weight=alignment.weights)

    def plot_history(self):
        """The loss terms over training (a matplotlib Figure)."""
        return plots.training_curves(self.history)

    def plot_latent(self, labels: Sequence[str] | None = None):
        """The training sequences' latent means, coloured by ``labels`` or by sequence weight."""
        embedding = self.embed()
        means = embedding.filter(regex=r"^z\d+$").to_numpy()
        if labels is None:
            return plots.latent_space(means, weights=embedding["weight"].to_numpy())
        return plots.latent_space(means, labels)

    def scores(self, mutations: MutationSet, options: ScoringOptions) -> Scores:
        """Δ and its standard error for ``mutations`` (see
        [`Ensemble.predict`][pyro_deepseq.Ensemble.predict])."""
        if options.site_independent or self.vae is None:
            if options.site_independent:
                model = SiteIndependentModel.fit(self.alignment)
            else:
                model = SiteIndependentModel(self._state["state_dict"]["log_frequencies"].numpy())
            delta = model.delta(mutations.codes, self.focus.focus_codes)
            return Scores(delta, np.zeros_like(delta))  # exact: no sampling
        device = resolve_device(options.device)
        self.vae.to(device).eval()
        pyro.set_rng_seed(options.seed)
        return score_variants(
            self.vae,
            mutations.codes,
            self.focus.focus_codes,
            len(self.focus.alphabet),
            options.samples,
            options.batch_size,
            device,
            options.estimator,
            options.particles,
            options.precision,
        )


@dataclass(frozen=True)
class Predictions:
    """What [`predict`][pyro_deepseq.DeepSequence.predict] returns.

    Attributes
    ----------
    table : pd.DataFrame
        One row per scored variant, as ``predict`` writes its CSV.
    unscoreable : pd.DataFrame
        The variants left out: ``row``, ``mutant``, ``reason`` and ``detail``.
    score_column : str or None
        The measured column of ``table``, when the variants came with measurements.
    """

    table: pd.DataFrame
    unscoreable: pd.DataFrame
    score_column: str | None = None

    def spearman(self, column: str = "prediction") -> float:
        """Spearman's ρ of ``column`` (a member's is ``prediction_NAME``) against the measured
        values (pairs with a missing value are left out)."""
        if self.score_column is None:
            raise DataError("these variants have no measured column to correlate with")
        return spearman(self.table[self.score_column], self.table[column])

    def __repr__(self) -> str:
        measured = f", measured {self.score_column!r}" if self.score_column else ""
        return (
            f"Predictions({len(self.table):,} scored, {len(self.unscoreable):,} unscoreable"
            f"{measured})"
        )


class Ensemble:
    """Several trained runs of one family, scored together (the mean of their Δ).

    Members are [`DeepSequence`][pyro_deepseq.DeepSequence] objects or checkpoint paths; paths are
    loaded one at a
    time while scoring, so an ensemble of large models needs one model's memory.
    """

    def __init__(self, members: Sequence):
        if not members:
            raise DataError("an ensemble needs at least one member")
        self.members = list(members)
        self.labels = _labels(self.members)
        self.focus = self._load(self.members[0]).focus

    @classmethod
    def load(cls, paths) -> Ensemble:
        """Checkpoints (``DIR/model.pt`` or ``DIR``); a folder without one stands for its runs."""
        paths = [paths] if isinstance(paths, str | Path) else paths
        found = []
        for path in map(Path, paths):
            if path.is_dir() and not (path / "model.pt").exists():
                runs = sorted(path.glob("*/model.pt"))
                if not runs:
                    raise DataError(f"{path}: no model.pt in it or in its subfolders")
                found += runs
            else:
                found.append(path / "model.pt" if path.is_dir() else path)
        return cls(found)

    def __len__(self) -> int:
        return len(self.members)

    @staticmethod
    def _load(member) -> DeepSequence:
        return member if isinstance(member, DeepSequence) else DeepSequence.load(member)

    def _each(self) -> Iterator[tuple[str, DeepSequence]]:
        """(label, model) per member, checked to share the first member's focus."""
        for label, member in zip(self.labels, self.members, strict=True):
            model = self._load(member)
            same = model.focus.focus_sequence == self.focus.focus_sequence
            if not same or not np.array_equal(model.focus.positions, self.focus.positions):
                raise DataError(f"{member}: trained on another focus sequence than the first run")
            yield label, model

    def variants(self, variants=None, mutant_column="mutant", score_column=None) -> MutationSet:
        """The [`MutationSet`][pyro_deepseq.MutationSet] that ``variants`` names (see
        [`DeepSequence.predict`][pyro_deepseq.DeepSequence.predict])."""
        if isinstance(variants, MutationSet):
            return variants
        if isinstance(variants, list | tuple):
            return MutationSet.from_mutants(variants, self.focus)
        if variants is not None and Path(variants).suffix.lower() in SEQUENCE_SUFFIXES:
            return from_sequences(Path(variants), self.focus)
        table = variants
        if table is None:
            a2m, table = default_family()
            if self._load(self.members[0]).metadata["sha256"] != file_sha256(a2m):
                raise DataError(
                    "give a table of mutants (this model was not trained on the embedded "
                    "synthetic family, whose table is the default)"
                )
        mutations = MutationSet.from_table(table, self.focus, mutant_column, score_column)
        mismatched = mutations.counts_by_reason().get(WILD_TYPE_MISMATCH, 0)
        if another_protein(mismatched, mutations.num_scoreable):
            raise DataError(
                f"{table}: {mismatched:,} mutants name a wild-type letter other than the focus "
                f"sequence's ({self.focus.focus_name}), more than the {mutations.num_scoreable:,}"
                " that match; is this table for another protein or numbering?"
            )
        return mutations

    def predict(
        self, variants=None, score_column: str | None = None, mutant_column="mutant", **options
    ) -> Predictions:
        """Score variants with every member. The result's ``table`` has ``mutant``,
        ``prediction`` (Δ, higher = fitter), ``stderr``, each member's prediction when there are
        several, and the measured column; its ``unscoreable`` rows say why each was left out.

        ``options`` are the fields of [`ScoringOptions`][pyro_deepseq.ScoringOptions]:
        ``samples`` (500), ``estimator`` (``"elbo"``, or ``"iwae"`` with ``particles`` each),
        ``precision`` (``"bfloat16"`` multiplies the decoder's output layer in bfloat16),
        ``batch_size``, ``seed``, ``device`` and ``site_independent`` (score with the
        site-independent model of each member's alignment instead).
        """
        mutations = self.variants(variants, mutant_column, score_column)
        table, _ = self.score(mutations, ScoringOptions.of(options))
        return Predictions(table, mutations.unscoreable, mutations.score_column)

    def singles(self, **options) -> pd.DataFrame:
        """Δ of every single substitution as a focus positions × letters matrix."""
        _, scores = self.score(MutationSet.all_singles(self.focus), ScoringOptions.of(options))
        return plots.singles_matrix(
            scores.delta, self.focus.focus_sequence, self.focus.positions, self.focus.alphabet
        )

    def evol_indices(self, **options) -> pd.DataFrame:
        """Every single substitution's evolutionary index (−Δ, EVE's sign) and its standard
        error: the table EVE's classification reads (``options`` as in
        [`predict`][pyro_deepseq.Ensemble.predict])."""
        mutations = MutationSet.all_singles(self.focus)
        _, scores = self.score(mutations, ScoringOptions.of(options))
        mutants = mutations.scoreable["mutant"].tolist()
        return classification.singles_table(mutants, -scores.delta, scores.stderr)

    def classify(
        self, retain: float = classification.RETAIN, thresholds=None, seed: int = 0, **options
    ):
        """EVE's clinical classes (pathogenic, benign, uncertain) of every single substitution.

        A two-component Gaussian mixture over the evolutionary indices gives each variant a
        score (P(pathogenic)) and an uncertainty; the ``retain`` share of least uncertain
        variants is classified. ``thresholds`` (``Thresholds.load(path)``) classifies on a saved
        scale instead; ``seed`` seeds scoring and the mixture; ``options`` are scoring options.
        The result's ``tables`` hold one table per protein, as ``deepseq classify`` writes it.
        """
        table = self.evol_indices(seed=seed, **options)
        name = self.focus.focus_name
        return classification.classify({name: table}, retain, thresholds=thresholds, seed=seed)

    def score(self, mutations: MutationSet, options: ScoringOptions) -> tuple[pd.DataFrame, Scores]:
        """The predictions table and the ensemble's scores for ``mutations``."""
        if options.site_independent and len(self) > 1:
            raise DataError("site-independent scoring takes one checkpoint")
        members = {label: model.scores(mutations, options) for label, model in self._each()}
        scores = ensemble(list(members.values()))
        named = ["name"] if "name" in mutations.scoreable else []
        table = mutations.scoreable[[*named, "mutant"]].assign(
            prediction=scores.delta, stderr=scores.stderr
        )
        if len(members) > 1:
            for label, member in members.items():
                table[f"prediction_{label}"] = member.delta
        if mutations.score_column is not None:
            table[mutations.score_column] = mutations.scoreable["score"].to_numpy()
        return table.reset_index(drop=True), scores


def _labels(members: list) -> list[str]:
    """Each member's name: its run folder's, or its position when those repeat."""
    names = [_label(member) for member in members]
    return [name if names.count(name) == 1 else str(i) for i, name in enumerate(names)]


def _label(member) -> str:
    if not isinstance(member, DeepSequence):
        return Path(member).parent.name
    return "model" if member.out is None else member.out.name


def _read_alignment(config: TrainConfig, state: dict | None) -> Alignment:
    """The run's alignment (the synthetic family without one), checked against a checkpoint."""
    if state is not None and state["alignment"]["path"] is None:
        raise DataError(
            "this run was trained on an alignment built in memory: pass it back with "
            "DeepSequence.load(path, alignment=...)"
        )
    path = config.alignment or default_family()[0]
    alignment = Alignment.from_file(
        path, config.theta, config.alphabet, config.focus, config.device
    )
    if state is not None:
        _check_same_alignment(alignment, state["alignment"])
    return alignment


def _check_same_alignment(alignment: Alignment, metadata: dict) -> None:
    """The alignment a checkpoint was trained on: the same file content, or the same sequences."""
    if alignment_sha256(alignment) != metadata["sha256"]:
        where = alignment.path or "the alignment given"
        raise DataError(f"{where} has changed since the checkpoint was written")


def _continued(out: Path, model_config: ModelConfig, train_config: TrainConfig, alignment):
    """The checkpoint in ``out``, when it is a run of these settings (a notebook cell re-run)."""
    state = load_checkpoint(out)
    saved = resumed(state, None, {})
    same = {"steps": train_config.steps, "device": train_config.device}
    differ = [
        f"{name} (saved {before!r}, given {after!r})"
        for config, before_config in zip((model_config, train_config), saved, strict=True)
        for name, after in dataclasses.asdict(config).items()
        if name not in same
        and _differs(name, before := dataclasses.asdict(before_config)[name], after, state)
    ]
    if differ:
        raise DataError(
            f"{out} holds a run with other settings: {'; '.join(differ)}. Continue that run "
            f"with DeepSequence.load({str(out)!r}), or give another out="
        )
    if alignment is not None:
        _check_same_alignment(alignment, state["alignment"])
    return state


def _differs(name: str, before, after, state: dict) -> bool:
    """A setting changed. A focus left unnamed (the first record: a file read by its path) is the
    one an alignment read before names (an Alignment given): the same run."""
    if name == "focus":
        before, after = (value or state["alignment"]["focus"] for value in (before, after))
    return before != after


def _alignment_settings(alignment: Alignment) -> dict:
    """The reading settings of an alignment already read: θ, alphabet, focus."""
    return {
        "theta": alignment.theta,
        "alphabet": _alphabet_name(alignment.alphabet),
        "focus": alignment.focus_name,
    }


def _alphabet_name(letters: str) -> str:
    return next(name for name, value in ALPHABETS.items() if value == letters)
