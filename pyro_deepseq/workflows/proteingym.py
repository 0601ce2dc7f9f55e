"""ProteinGym's terms: its reference file in, its score files, metrics and leaderboard out.

``deepseq sweep --proteingym REFERENCE.csv --msa-dir DIR --dms-dir DIR --out OUT``
runs the benchmark (this module turns the reference file into the sweep's families and its
results into ProteinGym's files); ``deepseq proteingym evaluate|compare`` reruns the
last steps on existing outputs.

The reference file (ProteinGym's ``DMS_substitutions.csv``) has a row per assay: ``DMS_id``,
``DMS_filename``, ``UniProt_ID``, ``target_seq``, ``MSA_filename``, ``MSA_start``, ``MSA_end`` and,
when known, ``MSA_theta`` (0.2, or 0.01 for viruses), ``coarse_selection_type``,
``MSA_Neff_L_category`` and ``taxon``. Mutants use the numbering of ``target_seq`` (1 = its first
residue); the MSA covers ``MSA_start``–``MSA_end`` of it, and its focus record numbers its residues
from the ``/START-END`` of its header (from 1 without one). So a mutant at position p is scored at
p + START − ``MSA_start``; one outside ``MSA_start``–``MSA_end`` is unscoreable.

One model per (MSA, seed) is fitted into ``OUT/<MSA name>/seed<k>``, and each assay that uses the
MSA is scored into ``OUT/<DMS_id>/``. Then:

- ``OUT/scores/<DMS_id>.csv``: the DMS file's columns and ``pyro_deepseq``, the seeds' ensemble
  Δ ELBO (empty where unscoreable), as ProteinGym's own scripts read score files;
- ``OUT/unscoreable/<DMS_id>.csv``: the rows without a score, each with its reason;
- ``OUT/proteingym_metrics.csv``: Spearman, AUC, MCC, NDCG and Recall per assay, on its scored rows
  (:mod:`pyro_deepseq.evaluation.metrics`); ``OUT/proteingym_summary.csv`` their averages; a figure;
- ``OUT/proteingym_assays.csv``: each assay's status (done, failed, missing files), row counts
  and wall times, and ``OUT/proteingym_time.json``: what 217 assays would take.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import plots
from ..data.fasta import name_and_region, read_records
from ..data.mutations import POSITION_NOT_FOCUS, WILD_TYPE_MISMATCH, parse_mutant
from ..errors import DataError
from ..evaluation import metrics as pg_metrics
from ..utils.files import atomic_write, write_table
from .runs import Family

REQUIRED = (
    "DMS_id",
    "DMS_filename",
    "UniProt_ID",
    "target_seq",
    "MSA_filename",
    "MSA_start",
    "MSA_end",
)
#: Our column in the score files.
SCORE_COLUMN = "pyro_deepseq"
METRIC_COLUMNS = ("DMS_id", *pg_metrics.METRICS, "n_scored", "n_unscoreable")
ASSAY_COLUMNS = (
    "DMS_id",
    "UniProt_ID",
    "MSA",
    "status",
    "error",
    "n_rows",
    "n_scored",
    "n_unscoreable",
    "fit_seconds",
    "score_seconds",
    "seconds",
)
#: Assays in ProteinGym's substitution benchmark (v1), for the time estimate.
BENCHMARK_ASSAYS = 217
DEFAULT_THETA = 0.2
_SAFE = re.compile(r"[^A-Za-z0-9._-]")


# --- the reference file -----------------------------------------------------------------------


def read_reference(path: str | Path, only: Sequence[str] | None = None) -> pd.DataFrame:
    """The assays of a reference file (``only`` those named), checked; errors name file and line.

    Returns the table with ``MSA_start``, ``MSA_end`` as int, ``MSA_theta`` as float (default
    0.2) and a ``line`` column.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: reference file not found")
    table = pd.read_csv(path, dtype={"DMS_id": str, "target_seq": str})
    missing = [column for column in REQUIRED if column not in table.columns]
    if missing:
        raise DataError(f"{path}: needs the columns {', '.join(missing)}")
    table["line"] = np.arange(len(table)) + 2
    repeated = sorted(set(table["DMS_id"][table["DMS_id"].duplicated()]))
    if repeated:
        raise DataError(f"{path}: DMS_id must be unique; repeated: {', '.join(repeated)}")
    if only:
        unknown = sorted(set(only) - set(table["DMS_id"]))
        if unknown:
            raise DataError(f"{path}: no assay {', '.join(unknown)} in it")
        table = table[table["DMS_id"].isin(only)]
    if "MSA_theta" not in table:
        table["MSA_theta"] = DEFAULT_THETA
    for row in table.itertuples():
        _check_row(path, row)
    table = table.astype({"MSA_start": int, "MSA_end": int})
    table["MSA_theta"] = table["MSA_theta"].fillna(DEFAULT_THETA).astype(float)
    return table.reset_index(drop=True)


def _check_row(path: Path, row) -> None:
    where = f"{path}, line {row.line} ({row.DMS_id})"
    for column in REQUIRED:
        value = getattr(row, column)
        if not isinstance(value, str | int | float) or pd.isna(value) or value == "":
            raise DataError(f"{where}: {column} is empty")
    try:
        start, end = int(row.MSA_start), int(row.MSA_end)
    except ValueError:
        raise DataError(f"{where}: MSA_start and MSA_end must be whole numbers") from None
    if not 1 <= start <= end <= len(row.target_seq):
        raise DataError(
            f"{where}: MSA_start-MSA_end {start}-{end} is not within target_seq "
            f"(1-{len(row.target_seq)})"
        )


def msa_name(filename: str, theta: float, thetas: set[float]) -> str:
    """The folder of an MSA's models: its file name without extension (and θ if it varies)."""
    stem = _SAFE.sub("_", Path(filename).stem)
    return f"{stem}_theta{theta:g}" if len(thetas) > 1 else stem


# --- mapping an assay onto its MSA ------------------------------------------------------------


class MissingFile(DataError):
    """An assay's MSA or DMS file is absent: reported, the other assays go on."""


def read_focus(path: Path) -> tuple[str, int]:
    """The first (focus) record of an alignment: its residues, upper case, and its first number."""
    focus = next(read_records(path))
    _, region = name_and_region(focus.header)
    residues = re.sub(r"[^A-Za-z]", "", focus.sequence.decode("ascii", errors="replace")).upper()
    return residues, region[0] if region else 1


def map_assay(row, msa: Path, dms: pd.DataFrame, where: str):
    """Renumber an assay's mutants from ``target_seq`` onto the MSA's focus numbering.

    Returns
    -------
    mapped : pd.DataFrame
        Columns ``mutant`` (MSA numbering), ``DMS_score``, ``dms_row`` (index in the DMS file),
        one row per mutant within ``MSA_start``–``MSA_end``.
    outside : pd.DataFrame
        Columns ``dms_row``, ``mutant``, ``reason``, ``detail``: mutants outside that range, or
        whose wild type disagrees with ``target_seq``.
    """
    focus, first = read_focus(msa)
    start, end, target = row.MSA_start, row.MSA_end, row.target_seq.upper()
    expected = target[start - 1 : end]
    if focus != expected:
        differ = sum(a != b for a, b in zip(focus, expected, strict=False))
        raise DataError(
            f"{msa}: its focus sequence ({len(focus)} residues) is not target_seq[{start}-{end}] "
            f"of {row.DMS_id} ({len(expected)} residues, {differ} positions differ)"
        )
    shift = first - start
    mapped, outside = [], []
    for index, mutant in enumerate(dms["mutant"]):
        try:
            substitutions = parse_mutant(mutant)
        except DataError as error:
            raise DataError(f"{where}, line {index + 2}: {error}") from None
        problem = _problem(substitutions, target, start, end)
        if problem is not None:
            outside.append((index, mutant, *problem))
            continue
        renumbered = ":".join(f"{s.wild_type}{s.position + shift}{s.mutant}" for s in substitutions)
        mapped.append((renumbered or "WT", dms["DMS_score"].iloc[index], index))
    return (
        pd.DataFrame(mapped, columns=["mutant", "DMS_score", "dms_row"]),
        pd.DataFrame(outside, columns=["dms_row", "mutant", "reason", "detail"]),
    )


def _problem(substitutions, target: str, start: int, end: int) -> tuple[str, str] | None:
    for s in substitutions:
        if not start <= s.position <= end:
            return POSITION_NOT_FOCUS, (
                f"position {s.position} is outside MSA_start-MSA_end {start}-{end} of target_seq"
            )
    for s in substitutions:
        if s.position <= len(target) and target[s.position - 1] != s.wild_type:
            return WILD_TYPE_MISMATCH, (
                f"target_seq has {target[s.position - 1]} at {s.position}, the mutant {s.wild_type}"
            )
    return None


# --- the plan: families for the sweep ---------------------------------------------------------


@dataclass
class Plan:
    """The assays of a benchmark run, the sweep's families for them, and what went wrong early."""

    reference: pd.DataFrame
    out: Path
    dms_dir: Path
    families: list
    problems: dict  # DMS_id -> (status, error)

    @classmethod
    def prepare(cls, reference, msa_dir, dms_dir, out, fit_args=(), predict_args=(), seeds=(0,)):
        """Map every assay whose files exist; one fit per MSA, shared by its assays."""
        out, msa_dir, dms_dir = Path(out).resolve(), Path(msa_dir), Path(dms_dir)
        thetas = reference.groupby("MSA_filename")["MSA_theta"].agg(set).to_dict()
        families, problems = [], {}
        for row in reference.itertuples():
            msa = msa_dir / row.MSA_filename
            try:
                table = _prepare_assay(row, msa, dms_dir / row.DMS_filename, out)
            except MissingFile as error:
                problems[row.DMS_id] = ("missing", str(error))
                continue
            except DataError as error:
                problems[row.DMS_id] = ("failed", str(error))
                continue
            families.append(
                Family(
                    name=row.DMS_id,
                    alignment=str(msa.resolve()),
                    seeds=tuple(seeds),
                    mutations=str(table),
                    score_column="DMS_score",
                    fit_args=(*fit_args, "--theta", f"{row.MSA_theta:g}"),
                    predict_args=tuple(predict_args),
                    fit_name=msa_name(row.MSA_filename, row.MSA_theta, thetas[row.MSA_filename]),
                )
            )
        return cls(reference, out, dms_dir, families, problems)

    def report(self) -> None:
        for dms_id, (status, error) in self.problems.items():
            print(f"{dms_id}: {status}: {error}", flush=True)

    def finish(self, summary: pd.DataFrame, published: Sequence[Path] = ()) -> list[Path]:
        """Score files, metrics, summary, figure, times, and the comparison with ``published``."""
        written = evaluate(self.reference, self.dms_dir, self.out, summary, self.problems)
        metrics_csv = self.out / "proteingym_metrics.csv"
        if published and len(pd.read_csv(metrics_csv)):
            written += write_comparison(metrics_csv, published, self.out)
        return written


def _prepare_assay(row, msa: Path, dms_path: Path, out: Path) -> Path:
    """Write the assay's renumbered table (and its rows outside the MSA) under OUT/proteingym."""
    absent = [str(p) for p in (msa, dms_path) if not p.is_file()]
    if absent:
        raise MissingFile(f"file not found: {', '.join(absent)}")
    dms = read_dms_file(dms_path)
    mapped, outside = map_assay(row, msa, dms, str(dms_path))
    if mapped.empty:
        raise DataError(f"{dms_path}: no mutant lies within MSA_start-MSA_end")
    table = out / "proteingym" / f"{row.DMS_id}.csv"
    for frame, path in ((mapped, table), (outside, table.with_name(f"{row.DMS_id}_outside.csv"))):
        write_table(frame, path)
    return table


def read_dms_file(path: Path) -> pd.DataFrame:
    """A ProteinGym DMS file: ``mutant`` and ``DMS_score`` at least (``DMS_score_bin`` for AUC)."""
    table = pd.read_csv(path, dtype={"mutant": str}, keep_default_na=False, na_values=[""])
    missing = [column for column in ("mutant", "DMS_score") if column not in table]
    if missing:
        raise DataError(f"{path}: needs the columns {', '.join(missing)}")
    if not pd.api.types.is_numeric_dtype(table["DMS_score"]):
        raise DataError(f"{path}: DMS_score is not numeric throughout")
    return table


# --- after the sweep: ProteinGym's files -------------------------------------------------------


def evaluate(reference, dms_dir, out, summary=None, problems=None) -> list[Path]:
    """Write score files, per-assay metrics, their summary, a figure and the time report."""
    out, problems = Path(out), dict(problems or {})
    summary = summary if summary is not None else _read_summary(out)
    rows, assays = [], []
    run = reference[~reference["DMS_id"].isin(problems)]
    sharing = run.groupby("MSA_filename")["DMS_id"].count().to_dict()
    for row in reference.itertuples():
        status = problems.get(row.DMS_id)
        result = _collect(row, Path(dms_dir), out, summary) if status is None else None
        shared = sharing.get(row.MSA_filename, 1)
        if result is None or "error" in result:
            error = status or ("failed", result["error"] if result else "")
            assays.append(_assay_row(row, *error, summary=summary, sharing=shared))
            continue
        rows.append({"DMS_id": row.DMS_id, **result["metrics"]})
        assays.append(_assay_row(row, "done", None, result, summary, shared))
    per_assay = pd.DataFrame(rows, columns=list(METRIC_COLUMNS))
    assay_table = pd.DataFrame(assays, columns=list(ASSAY_COLUMNS))
    written = [
        write_table(per_assay, out / "proteingym_metrics.csv"),
        write_table(assay_table, out / "proteingym_assays.csv"),
    ]
    if len(per_assay):
        grouped = per_assay.merge(reference.drop(columns=["line"]), on="DMS_id", how="left")
        written.append(write_table(pg_metrics.summarize(grouped), out / "proteingym_summary.csv"))
        written.append(
            plots.save(plots.proteingym_metrics(per_assay), out / "proteingym_metrics.png")
        )
    estimate = time_estimate(assay_table)
    with atomic_write(out / "proteingym_time.json") as temporary:
        temporary.write_text(json.dumps(estimate, indent=2) + "\n")
    written.append(out / "proteingym_time.json")
    _print_results(per_assay, assay_table, estimate)
    return written


def _collect(row, dms_dir: Path, out: Path, summary: pd.DataFrame | None) -> dict:
    """One assay's score file, unscoreable rows and metrics, from its ensemble's predictions."""
    ensemble = out / row.DMS_id / "ensemble_predictions.csv"
    if not ensemble.is_file():
        return {"error": _sweep_error(summary, row.DMS_id) or f"{ensemble} not found"}
    dms = read_dms_file(dms_dir / row.DMS_filename)
    mapped = pd.read_csv(out / "proteingym" / f"{row.DMS_id}.csv", dtype={"mutant": str})
    outside = pd.read_csv(out / "proteingym" / f"{row.DMS_id}_outside.csv", dtype={"mutant": str})
    predicted = pd.read_csv(ensemble, dtype={"mutant": str})
    rejected = _unscoreable(out / row.DMS_id)
    kept = mapped[~mapped.index.isin(rejected["row"] - 2)]
    if len(kept) != len(predicted) or list(kept["mutant"]) != list(predicted["mutant"]):
        return {"error": f"{ensemble} does not match {out / 'proteingym' / row.DMS_id}.csv"}
    scores = np.full(len(dms), np.nan)
    scores[kept["dms_row"].to_numpy()] = predicted["prediction"].to_numpy()
    rejected = rejected.assign(dms_row=mapped["dms_row"].to_numpy()[rejected["row"] - 2])
    rejected["mutant"] = dms["mutant"].to_numpy()[rejected["dms_row"]]
    unscoreable = pd.concat([outside, rejected[list(outside.columns)]]).sort_values("dms_row")
    write_table(dms.assign(**{SCORE_COLUMN: scores}), out / "scores" / f"{row.DMS_id}.csv")
    write_table(unscoreable.drop(columns="dms_row"), out / "unscoreable" / f"{row.DMS_id}.csv")
    scored = ~np.isnan(scores)
    labels = dms["DMS_score_bin"].to_numpy()[scored] if "DMS_score_bin" in dms else None
    values = pg_metrics.assay_metrics(dms["DMS_score"].to_numpy()[scored], scores[scored], labels)
    counts = {"n_scored": int(scored.sum()), "n_unscoreable": int((~scored).sum())}
    return {"metrics": {**values, **counts}, "n_rows": len(dms), **counts}


def _unscoreable(folder: Path) -> pd.DataFrame:
    """The rows ``predict`` could not score (the same for every seed): row, reason, detail."""
    for path in sorted(folder.glob("seed*/predictions_unscoreable.csv")):
        return pd.read_csv(path, dtype={"mutant": str})
    return pd.DataFrame({"row": pd.Series(dtype=int), "reason": [], "detail": []})


def _read_summary(out: Path) -> pd.DataFrame | None:
    path = out / "summary.csv"
    return pd.read_csv(path, dtype={"seed": str}) if path.is_file() else None


def _sweep_error(summary: pd.DataFrame | None, dms_id: str) -> str | None:
    if summary is None:
        return None
    errors = summary[(summary["family"] == dms_id) & summary["error"].notna()]["error"]
    return str(errors.iloc[0]) if len(errors) else None


def _assay_row(row, status, error, result=None, summary=None, sharing=1) -> dict:
    """A line of proteingym_assays.csv: status, counts and the assay's share of the times."""
    fit, score = _seconds(summary, row.DMS_id, sharing)
    return {
        "DMS_id": row.DMS_id,
        "UniProt_ID": row.UniProt_ID,
        "MSA": row.MSA_filename,
        "status": status,
        "error": error,
        "n_rows": (result or {}).get("n_rows"),
        "n_scored": (result or {}).get("n_scored"),
        "n_unscoreable": (result or {}).get("n_unscoreable"),
        "fit_seconds": fit,
        "score_seconds": score,
        "seconds": None if fit is None and score is None else round((fit or 0) + (score or 0), 2),
    }


def _seconds(summary, dms_id: str, sharing: int) -> tuple[float | None, float | None]:
    """The assay's scoring seconds, and its share of its MSA's fits (split among its assays)."""
    if summary is None or "fit_seconds" not in summary:
        return None, None
    seeds = summary[(summary["family"] == dms_id) & (summary["seed"] != "ensemble")]
    if seeds.empty:
        return None, None
    fit = float(seeds["fit_seconds"].fillna(0).sum()) / max(1, sharing)
    return round(fit, 2), round(float(seeds["score_seconds"].fillna(0).sum()), 2)


def time_estimate(assays: pd.DataFrame, total: int = BENCHMARK_ASSAYS) -> dict:
    """Wall time of the whole benchmark from the measured per-assay times (one core per job).

    The jobs' seconds summed over ``total`` assays at the measured mean, divided among the job
    slots, but never below the longest assay measured (a fit and its scoring run in turn).
    """
    timed = assays.dropna(subset=["seconds"])
    if timed.empty:
        return {"assays_timed": 0}
    mean, longest = float(timed["seconds"].mean()), float(timed["seconds"].max())
    job_seconds = mean * total
    return {
        "assays_timed": len(timed),
        "mean_seconds_per_assay": round(mean, 1),
        "fit_seconds_per_assay": round(float(timed["fit_seconds"].mean()), 1),
        "score_seconds_per_assay": round(float(timed["score_seconds"].mean()), 1),
        "benchmark_assays": total,
        "job_hours": round(job_seconds / 3600, 2),
        "hours_on_16_cores": round(max(job_seconds / 16, longest) / 3600, 2),
        "hours_on_ray_4x16_cores": round(max(job_seconds / 64, longest) / 3600, 2),
        "hours_on_ray_16x16_cores": round(max(job_seconds / 256, longest) / 3600, 2),
    }


def _print_results(per_assay: pd.DataFrame, assays: pd.DataFrame, estimate: dict) -> None:
    for row in per_assay.itertuples():
        values = "  ".join(f"{m} {getattr(row, m):.3f}" for m in pg_metrics.METRICS)
        print(f"{row.DMS_id}: {values}  ({row.n_scored:,} scored, {row.n_unscoreable:,} not)")
    for row in assays[assays["status"] != "done"].itertuples():
        print(f"{row.DMS_id}: {row.status}: {row.error}")
    if estimate.get("assays_timed"):
        print(
            f"{estimate['mean_seconds_per_assay']:.0f} s of jobs per assay: "
            f"{estimate['benchmark_assays']} assays take ~{estimate['hours_on_16_cores']} h on 16 "
            f"cores, ~{estimate['hours_on_ray_4x16_cores']} h on a Ray cluster of 4 × 16"
        )


# --- the leaderboard --------------------------------------------------------------------------

#: Baselines compared by default, and the published column each stands for.
BASELINES = ("Site-Independent", "DeepSequence", "EVE", "GEMME")
_NOT_MODELS = {
    "Number of Mutants",
    "number_mutants",
    "Selection Type",
    "UniProt ID",
    "UniProt_ID",
    "MSA_Neff_L_category",
    "Taxon",
}


def read_published(path: str | Path) -> pd.DataFrame:
    """A published per-assay table (``DMS_substitutions_<Metric>_DMS_level.csv``), by DMS id."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: published table not found")
    table = pd.read_csv(path)
    index = next((c for c in ("DMS ID", "DMS_id", "DMS id") if c in table), None)
    if index is None:
        raise DataError(f"{path}: no 'DMS ID' column; is this a per-assay (DMS_level) table?")
    return table.set_index(index)


def metric_of(path: str | Path) -> str:
    """The metric a published table holds, from its name (Spearman if none is named)."""
    name = Path(path).name
    if "Top_recall" in name:
        return "Recall"
    return next((m for m in pg_metrics.METRICS if f"_{m}_" in name), "Spearman")


def baseline_column(published: pd.DataFrame, name: str) -> str:
    """The published column of a baseline: its exact name, else ``NAME (ensemble)``."""
    for candidate in (name, f"{name} (ensemble)"):
        if candidate in published.columns:
            return candidate
    raise DataError(f"no column {name!r} in the published table; it has {models(published)}")


def models(published: pd.DataFrame) -> list[str]:
    """The published table's model columns."""
    return [
        c
        for c in published.columns
        if c not in _NOT_MODELS and pd.api.types.is_numeric_dtype(published[c])
    ]


def compare(
    ours: pd.DataFrame,
    published: pd.DataFrame,
    metric: str = "Spearman",
    baselines: Sequence[str] = BASELINES,
) -> pd.DataFrame:
    """Our rank among the published models and the gap to each baseline, per assay we ran.

    Returns one row per assay found in both tables (``DMS_id``, ``pyro_deepseq``, ``rank``,
    ``n_models``, then ``<baseline>`` and ``gap_<baseline>`` = ours − theirs), and a last row
    ``mean over proteins`` with each column averaged per protein first when ``UniProt ID`` is
    known, and ranked among the models' same averages.
    """
    columns = models(published)
    chosen = {name: baseline_column(published, name) for name in baselines}
    common = [d for d in ours["DMS_id"] if d in published.index]
    if not common:
        raise DataError("none of our assays is in the published table; are the DMS ids the same?")
    mine = ours.set_index("DMS_id").loc[common, metric]
    table = published.loc[common, columns].assign(pyro_deepseq=mine)
    rows = [_rank_row(d, table.loc[d], chosen) for d in common]
    proteins = _protein_key(published, common)
    mean = table.groupby(proteins).mean().mean()
    rows.append(_rank_row("mean over proteins", mean, chosen))
    return pd.DataFrame(rows)


def _protein_key(published: pd.DataFrame, common: list[str]) -> list[str]:
    for column in ("UniProt ID", "UniProt_ID"):
        if column in published:
            return list(published.loc[common, column])
    return common


def _rank_row(label: str, values: pd.Series, chosen: dict) -> dict:
    ours = values["pyro_deepseq"]
    others = values.drop("pyro_deepseq").dropna()
    row = {
        "DMS_id": label,
        "pyro_deepseq": ours,
        "rank": int((others > ours).sum()) + 1,
        "n_models": len(others) + 1,
    }
    for name, column in chosen.items():
        row[name] = values[column]
        row[f"gap_{name}"] = ours - values[column]
    return row


def write_comparison(metrics_csv, published_paths, out_dir, baselines=BASELINES) -> list[Path]:
    """Compare ``proteingym_metrics.csv`` with each published table; print and write them."""
    ours = pd.read_csv(metrics_csv)
    written = []
    for path in published_paths:
        metric = metric_of(path)
        table = compare(ours, read_published(path), metric, baselines)
        written.append(write_table(table, Path(out_dir) / f"proteingym_leaderboard_{metric}.csv"))
        print(f"{metric}: our rank and gap to the baselines (ours − theirs)")
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return written
