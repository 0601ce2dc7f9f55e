"""The Python API: one object from an alignment to predictions.

>>> model = DeepSequence("family.a2m", preset="fast")      # doctest: +SKIP
>>> model.fit()                                             # doctest: +SKIP
>>> model.predict("dms.csv", score_column="fitness")        # doctest: +SKIP

:class:`DeepSequence` trains, resumes, scores, embeds and saves one model; :class:`Ensemble`
scores several trained runs together. The commands (``fit``, ``predict``, ``embed``) are thin
layers over these two classes and write the same checkpoints and tables.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyro
import torch

from . import plots
from .data.alignment import ALPHABETS, Alignment
from .data.diagnostics import warn_alignment
from .data.focus import Focus
from .data.mutations import WILD_TYPE_MISMATCH, MutationSet
from .data.synthetic import default_family
from .data.variants import from_sequences
from .errors import DataError
from .inference.checkpoint import (
    alignment_metadata,
    file_sha256,
    load_checkpoint,
    save_checkpoint,
)
from .inference.config import ModelConfig, TrainConfig, to_dict
from .inference.presets import AUTO
from .inference.settings import chosen_preset, default_out, resolve, resolve_auto, resumed
from .inference.training import Progress, Trainer, write_history
from .models import build_model, latent_posterior
from .models.independent import SiteIndependentModel
from .scoring import Scores, ensemble, score_variants
from .utils.devices import resolve_device
from .utils.files import atomic_write

#: Files read as variant sequences rather than as a table of mutants.
SEQUENCE_SUFFIXES = {".fasta", ".fa", ".faa", ".fas", ".a2m", ".a3m"}
IWAE_PARTICLES = 10


class DeepSequence:
    """A model of one protein family: train it, score variants, embed sequences.

    Parameters
    ----------
    alignment : str, Path or Alignment, optional
        The family's alignment (a2m, a3m or aligned FASTA); default: the embedded synthetic
        family. An :class:`Alignment` must have been read from a file (the checkpoint names it).
    preset : str, optional
        ``"paper"``, ``"fast"`` or ``"eve"`` (see :data:`~pyro_deepseq.inference.presets.PRESETS`);
        settings given next to it win.
    out : str or Path, optional
        The run folder (``model.pt``, ``history.csv``, ``config.json``); default
        ``runs/NAME-MODEL-seedS``, as ``fit`` uses. An existing run is never overwritten:
        continue it with :meth:`load`.
    **settings : dict
        Any field of :class:`~pyro_deepseq.inference.config.ModelConfig` (``model``,
        ``latent_dim``, the Bayesian switches, …) or
        :class:`~pyro_deepseq.inference.config.TrainConfig` (``steps``, ``lr``, ``seed``, …).
    """

    def __init__(self, alignment=None, preset: str | None = None, out=None, **settings):
        loaded = alignment if isinstance(alignment, Alignment) else None
        if loaded is not None:
            if loaded.path is None:
                raise DataError("DeepSequence needs an Alignment read from a file (its path)")
            read_with = _alignment_settings(loaded)
            clash = [k for k, v in read_with.items() if settings.get(k, v) != v]
            if clash:
                raise DataError(f"the alignment was read with other {', '.join(clash)}")
            settings = {**settings, **read_with}
            alignment = loaded.path
        if alignment is not None:
            settings["alignment"] = str(alignment)
        model = settings.pop("model", None)
        self.choice = {"preset": chosen_preset(preset, model, alignment is not None)}
        if self.choice["preset"] == AUTO:  # the settings depend on the alignment
            loaded = loaded or _read_alignment(resolve(model, None, settings)[1], None)
            model_config, train_config, reason = resolve_auto(model, settings, loaded)
            self.choice["reason"] = reason
            print(reason)
        else:
            model_config, train_config = resolve(model, self.choice["preset"], settings)
        out = Path(out) if out is not None else default_out(model_config, train_config)
        if (out / "model.pt").exists():
            raise DataError(
                f"{out / 'model.pt'} exists: pass --resume to continue it (in Python: "
                "DeepSequence.load), or choose another --out"
            )
        self._setup(model_config, train_config, out, state=None, alignment=loaded)

    def _setup(self, model_config, train_config, out: Path, state: dict | None, alignment=None):
        self.model_config: ModelConfig = model_config
        self.train_config: TrainConfig = train_config
        self.out = Path(out)
        self._state, self._alignment, self._trainer = state, alignment, None
        if state is None:
            self._alignment = alignment or _read_alignment(train_config, None)
            warn_alignment(self._alignment)
        self.metadata = state["alignment"] if state else alignment_metadata(self._alignment)
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
    def load(cls, path, model: str | None = None, **changes) -> DeepSequence:
        """A trained (or part-trained) run from ``DIR/model.pt`` or ``DIR``.

        Only ``steps`` (to train further with :meth:`fit`) and ``device`` may differ from the
        checkpoint's settings; any other setting given must equal the saved one.
        """
        path = Path(path)
        state = load_checkpoint(path)
        model_config, train_config = resumed(state, model, changes)
        folder = path if path.is_dir() else path.parent
        instance = cls.__new__(cls)
        instance.choice = state.get("preset", {"preset": None})
        instance._setup(model_config, train_config, folder, state)
        return instance

    def __repr__(self) -> str:
        return (
            f"DeepSequence({self.model_config.model}, focus {self.focus.focus_name}, "
            f"{len(self.focus.positions)} columns, {self.step:,} steps, out={str(self.out)!r})"
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
    def device(self) -> torch.device:
        return resolve_device(self.train_config.device)

    def fit(self, steps: int | None = None, progress: bool = True) -> DeepSequence:
        """Train to ``steps`` (default: the settings'), writing checkpoints to :attr:`out`.

        Calling it again, or on a loaded run, continues where training stopped. Ctrl-C saves a
        checkpoint first, then raises ``KeyboardInterrupt``.
        """
        if steps is not None:
            self.train_config = dataclasses.replace(self.train_config, steps=steps)
        if self.vae is None:
            self._fit_independent()
            return self
        if self._trainer is None:
            self._trainer = self._new_trainer()
        self._trainer.config = self.train_config
        self._trainer.run(show_progress=progress)
        return self

    def _new_trainer(self) -> Trainer:
        trainer = Trainer(
            self.vae,
            self.alignment,
            self.model_config,
            self.train_config,
            self.out / "model.pt",
            self.choice,
        )
        if self._state is not None:
            trainer.restore(self._state)
        self._write_config(trainer.metadata)
        return trainer

    def _fit_independent(self) -> None:
        """The site-independent baseline, saved as a checkpoint that loads the same way."""
        model = SiteIndependentModel.fit(self.alignment)
        metadata = alignment_metadata(self.alignment)
        self._state = {
            "model_config": to_dict(self.model_config),
            "train_config": to_dict(self.train_config),
            "alignment": metadata,
            "preset": self.choice,
            "state_dict": {"log_frequencies": torch.as_tensor(model.log_frequencies)},
        }
        save_checkpoint(self.out / "model.pt", self._state)
        write_history({}, self.out / "history.csv")
        self._write_config(metadata)

    def _write_config(self, metadata: dict) -> None:
        summary = {k: v for k, v in metadata.items() if k not in ("positions", "focus_sequence")}
        document = {
            "model": to_dict(self.model_config),
            "train": to_dict(self.train_config),
            "alignment": summary,
            "preset": self.choice,
        }
        with atomic_write(self.out / "config.json") as temporary:
            temporary.write_text(json.dumps(document, indent=2) + "\n")

    def save(self, folder, overwrite: bool = False) -> Path:
        """Write the checkpoint (``model.pt``) to ``folder``; :meth:`load` reads it back."""
        path = Path(folder) / "model.pt"
        if path.exists() and not overwrite:
            raise DataError(f"{path} exists; pass overwrite=True to replace it")
        state = self._trainer.state() if self._trainer is not None else self._state
        if state is None:
            raise DataError("nothing to save yet: fit the model first")
        save_checkpoint(path, state)
        return path

    def predict(self, variants=None, **options) -> pd.DataFrame:
        """Score variants; the same table ``python -m pyro_deepseq.predict`` writes.

        ``variants``: a DMS table (.csv, .tsv, .xlsx), a FASTA of variant sequences, a list of
        mutants (``["H24A", "K35E:T40S"]``) or a :class:`MutationSet`; default: the synthetic
        family's table when the model was trained on it. ``options`` are those of
        :meth:`Ensemble.predict`. Unscoreable rows, with reasons, are in
        ``table.attrs["unscoreable"]``.
        """
        return Ensemble([self]).predict(variants, **options)

    def singles(self, **options) -> pd.DataFrame:
        """Δ of every single substitution: focus positions × letters (the landscape matrix)."""
        return Ensemble([self]).singles(**options)

    def embed(self, sequences=None) -> pd.DataFrame:
        """Each sequence's latent mean (``z1`` …) and sd (``sd_z1`` …), indexed by its header.

        ``sequences``: an :class:`Alignment` or aligned file with the model's columns; default:
        the training alignment.
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

    def scores(self, mutations: MutationSet, options: dict) -> Scores:
        """Δ and its standard error for ``mutations`` (see :meth:`Ensemble.predict`)."""
        if options["site_independent"] or self.vae is None:
            if options["site_independent"]:
                model = SiteIndependentModel.fit(self.alignment)
            else:
                model = SiteIndependentModel(self._state["state_dict"]["log_frequencies"].numpy())
            delta = model.delta(mutations.codes, self.focus.focus_codes)
            return Scores(delta, np.zeros_like(delta))  # exact: no sampling
        device = resolve_device(options["device"])
        self.vae.to(device).eval()
        pyro.set_rng_seed(options["seed"])
        return score_variants(
            self.vae,
            mutations.codes,
            self.focus.focus_codes,
            len(self.focus.alphabet),
            options["samples"],
            options["batch_size"],
            device,
            options["estimator"],
            options["particles"],
            options["precision"],
        )


class Ensemble:
    """Several trained runs of one family, scored together (the mean of their Δ).

    Members are :class:`DeepSequence` objects or checkpoint paths; paths are loaded one at a
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
        """The :class:`MutationSet` that ``variants`` names (see :meth:`DeepSequence.predict`)."""
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
        if mismatched > mutations.num_scoreable:
            raise DataError(
                f"{table}: {mismatched:,} mutants name a wild-type letter other than the focus "
                f"sequence's ({self.focus.focus_name}), more than the {mutations.num_scoreable:,}"
                " that match; is this table for another protein or numbering?"
            )
        return mutations

    def predict(
        self,
        variants=None,
        score_column: str | None = None,
        mutant_column: str = "mutant",
        samples: int = 500,
        estimator: str = "elbo",
        particles: int | None = None,
        precision: str = "float32",
        batch_size: int = 256,
        seed: int = 0,
        device: str = "auto",
        site_independent: bool = False,
    ) -> pd.DataFrame:
        """Score variants with every member: ``mutant``, ``prediction`` (Δ, higher = fitter),
        ``stderr``, each member's prediction when there are several, the measured column.

        ``samples`` estimates per variant and member (``estimator`` ``"elbo"``, the paper's, or
        ``"iwae"`` with ``particles`` each, default 10); ``precision="bfloat16"`` multiplies the
        decoder's output layer in bfloat16; ``site_independent`` scores with the
        site-independent model of each member's alignment instead.
        """
        options = scoring_options(locals())
        mutations = self.variants(variants, mutant_column, score_column)
        table, _ = self.score(mutations, options)
        table.attrs["unscoreable"] = mutations.unscoreable
        return table

    def singles(self, **options) -> pd.DataFrame:
        """Δ of every single substitution as a focus positions × letters matrix."""
        _, scores = self.score(MutationSet.all_singles(self.focus), scoring_options(options))
        return plots.singles_matrix(
            scores.delta, self.focus.focus_sequence, self.focus.positions, self.focus.alphabet
        )

    def score(self, mutations: MutationSet, options: dict) -> tuple[pd.DataFrame, Scores]:
        """The predictions table and the ensemble's :class:`Scores` for ``mutations``."""
        if options["site_independent"] and len(self) > 1:
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


#: The scoring options of :meth:`Ensemble.predict`, and their defaults.
SCORING_OPTIONS = {
    "samples": 500,
    "estimator": "elbo",
    "particles": None,
    "precision": "float32",
    "batch_size": 256,
    "seed": 0,
    "device": "auto",
    "site_independent": False,
}


def scoring_options(given: dict) -> dict:
    """Scoring options with defaults filled in and checked."""
    arguments = {"self", "variants", "mutant_column", "score_column"}
    unknown = set(given) - set(SCORING_OPTIONS) - arguments
    if unknown:
        raise DataError(f"unknown scoring options: {', '.join(sorted(unknown))}")
    options = {k: given.get(k, v) for k, v in SCORING_OPTIONS.items()}
    if options["particles"] is not None and options["estimator"] != "iwae":
        raise DataError("--particles applies to --estimator iwae only")
    if options["particles"] is None:
        options["particles"] = IWAE_PARTICLES if options["estimator"] == "iwae" else 1
    if min(options["samples"], options["batch_size"], options["particles"]) < 1:
        raise DataError("--samples, --batch-size and --particles must be at least 1")
    return options


def _labels(members: list) -> list[str]:
    """Each member's name: its run folder's, or its position when those repeat."""
    names = [m.out.name if isinstance(m, DeepSequence) else Path(m).parent.name for m in members]
    return [name if names.count(name) == 1 else str(i) for i, name in enumerate(names)]


def _read_alignment(config: TrainConfig, state: dict | None) -> Alignment:
    """The run's alignment (the synthetic family without one), checked against a checkpoint."""
    path = config.alignment or default_family()[0]
    alignment = Alignment.from_file(
        path, config.theta, config.alphabet, config.focus, config.device
    )
    if state is not None and file_sha256(path) != state["alignment"]["sha256"]:
        raise DataError(f"{path} has changed since the checkpoint was written")
    return alignment


def _alignment_settings(alignment: Alignment) -> dict:
    """The reading settings of an alignment already read: θ, alphabet, focus."""
    return {
        "theta": alignment.theta,
        "alphabet": _alphabet_name(alignment.alphabet),
        "focus": alignment.focus_name,
    }


def _alphabet_name(letters: str) -> str:
    return next(name for name, value in ALPHABETS.items() if value == letters)
