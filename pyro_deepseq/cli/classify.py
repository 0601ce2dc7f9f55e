"""``deepseq classify``: clinical classes of every single substitution, as EVE.

Scores every single substitution of a protein (``predict --singles``, ensembles included), or
reads indices already scored (``--predictions``), fits a two-component Gaussian mixture to the
evolutionary indices (−Δ ELBO) and writes, per variant, ``mutant``, ``position``, ``wild_type``,
``mutant_letter``, ``evol_index``, ``evol_index_stderr``, ``score`` (P pathogenic),
``uncertainty`` (bits) and ``class``: the ``--retain`` share of least uncertain variants is
Pathogenic (score > 0.5) or Benign, the rest Uncertain.

Several proteins (runs of different focus sequences, a sweep's folder, several prediction files)
share a global mixture, mixed with each protein's own at ``--protein-weight``; ``--out`` is then a
folder with one table per protein and ``summary.csv``. ``--labels`` adds ROC AUC and the accuracy
at 100/90/75/50 % retained. Existing files are never overwritten without ``--force``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .. import plots
from ..api import Ensemble
from ..data.focus import Focus
from ..data.mutations import MutationSet
from ..errors import DataError
from ..evaluation import classification as cls
from ..inference.checkpoint import load_checkpoint
from ..scoring.options import add_scoring_flags, scoring_options
from ..utils.cli import run
from ..utils.files import write_table

#: Predictions files whose own name says nothing of the protein: named by their folder.
GENERIC_STEMS = frozenset({"singles", "ensemble_singles", "predictions", "ensemble_predictions"})
SAFE = re.compile(cls.SAFE_NAME)
NAMED = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)=(.+)")
OTHER_PROTEIN = "protein not classified"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deepseq classify", description=__doc__)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--checkpoint",
        type=Path,
        nargs="+",
        help="runs (DIR/model.pt or DIR), a folder of runs or a sweep's folder; runs of one "
        "focus sequence are scored as an ensemble, different ones as different proteins",
    )
    source.add_argument(
        "--predictions",
        nargs="+",
        help="[NAME=]CSV already scored: predict --singles' output or a classified table",
    )
    scoring = parser.add_argument_group("scoring (with --checkpoint)")
    add_scoring_flags(scoring, ("samples", "precision", "batch_size", "device"))
    parser.add_argument("--seed", type=int, default=0, help="seed of scoring and of the mixtures")
    parser.add_argument(
        "--retain", type=float, help=f"share of least uncertain variants classified ({cls.RETAIN})"
    )
    parser.add_argument(
        "--protein-weight",
        type=float,
        help="weight on a protein's own mixture against the global one (0.3)",
    )
    parser.add_argument("--thresholds", type=Path, help="classify on the scale of this JSON")
    parser.add_argument("--save-thresholds", type=Path, help="write the scale used as JSON")
    labels = parser.add_argument_group("labels")
    labels.add_argument("--labels", type=Path, help="CSV of labelled variants")
    labels.add_argument("--label-column", help="default: label, DMS_score_bin, …")
    labels.add_argument("--mutant-column", default="mutant")
    labels.add_argument(
        "--one-means",
        choices=("pathogenic", "fit"),
        help="what a label 1 means (default: fit for DMS_score_bin, else pathogenic)",
    )
    labels.add_argument(
        "--protein-column", default="protein", help="with several proteins: whose variant"
    )
    parser.add_argument(
        "--out", type=Path, help="output CSV (one protein) or folder (several proteins)"
    )
    parser.add_argument("--force", action="store_true", help="overwrite existing outputs")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run(_classify, argv)


def _classify(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    _check(args)
    started = time.perf_counter()
    sources = _sources(args)
    outputs = _outputs(args, sources)
    for path in [*_flat(outputs), args.save_thresholds]:
        if path is not None and path.exists() and not args.force:
            raise DataError(f"{path} exists; pass --force to overwrite it")
    labels = _labels(args, sources)
    tables, focuses = _score(args, sources, labels)
    scored = time.perf_counter()
    thresholds = cls.Thresholds.load(args.thresholds) if args.thresholds else None
    weight = cls.PROTEIN_WEIGHT if args.protein_weight is None else args.protein_weight
    retain = cls.RETAIN if args.retain is None else args.retain
    result = cls.classify(tables, retain, weight, thresholds, args.seed)
    summary, left_out, labelled = _evaluate(result, labels, focuses, args.labels)
    _write(args, result, summary, left_out, labelled, focuses, outputs)
    _report(result, summary, left_out, outputs, scored - started, time.perf_counter() - scored)
    return 0


def _check(args) -> None:
    scoring_options(args)  # checked before anything is read
    if args.thresholds is not None and (args.retain, args.protein_weight) != (None, None):
        raise DataError("--thresholds fixes the scale; drop --retain and --protein-weight")
    if args.retain is not None and not 0 <= args.retain <= 1:
        raise DataError(f"--retain must lie in [0, 1], got {args.retain}")
    if args.protein_weight is not None and not 0 <= args.protein_weight <= 1:
        raise DataError(f"--protein-weight must lie in [0, 1], got {args.protein_weight}")


# --- inputs --------------------------------------------------------------------------------------


def _sources(args) -> dict[str, list[Path] | Path]:
    """Each protein's name and its runs (``--checkpoint``) or its predictions file."""
    if args.predictions:
        sources = {}
        for text in args.predictions:
            match = NAMED.fullmatch(text)
            name, path = match.groups() if match and not Path(text).exists() else (None, text)
            path = Path(path)
            name = name or (path.parent.name if path.stem in GENERIC_STEMS else path.stem)
            if name in sources:
                raise DataError(f"two predictions files are named {name!r}; write NAME=CSV")
            sources[SAFE.sub("_", name) or "protein"] = path
        return sources
    groups: dict[tuple[str, str], list[Path]] = {}
    for path in _runs(args.checkpoint):
        metadata = load_checkpoint(path)["alignment"]
        groups.setdefault((metadata["focus"], metadata["focus_sequence"]), []).append(path)
    sources = {}
    for (focus, _), paths in groups.items():
        name = SAFE.sub("_", focus.split("/")[0]) or "protein"
        name = name if name not in sources else f"{name}_{len(sources) + 1}"
        sources[name] = paths
    return sources


def _runs(paths: list[Path]) -> list[Path]:
    """Every model.pt named or found up to two folders below (runs, seeds, a sweep's families)."""
    found = []
    for path in paths:
        if path.is_dir() and not (path / "model.pt").exists():
            runs = sorted(path.glob("*/model.pt")) or sorted(path.glob("*/*/model.pt"))
            if not runs:
                raise DataError(f"{path}: no model.pt in it or in the two folder levels below it")
            found += runs
        else:
            found.append(path / "model.pt" if path.is_dir() else path)
    return list(dict.fromkeys(found))


def _labels(args, sources: dict) -> pd.DataFrame | None:
    """The labels, with a ``protein`` column (every row the one protein's when there is one)."""
    if args.labels is None:
        return None
    several = len(sources) > 1
    column = args.protein_column if several else None
    labels = cls.read_labels(
        args.labels, args.mutant_column, args.label_column, args.one_means, column
    )
    if not several:
        labels["protein"] = next(iter(sources))
    return labels


def _score(args, sources: dict, labels) -> tuple[dict[str, pd.DataFrame], dict[str, Focus]]:
    """Each protein's singles table and focus: scored with its runs, or read. Labels that do not
    match a protein are refused before it is scored."""
    tables, focuses = {}, {}
    for name, source in sources.items():
        if isinstance(source, Path):
            tables[name] = cls.read_scored(source)
            focuses[name] = cls.table_focus(tables[name], name)
            continue
        models = Ensemble(source)
        focus = models.focus
        mutations = MutationSet.all_singles(focus)
        if labels is not None and (labels["protein"] == name).any():
            mutants = mutations.scoreable["mutant"]
            unscored = cls.singles_table(mutants, np.zeros(len(mutants)), np.zeros(len(mutants)))
            cls.match_labels(labels[labels["protein"] == name], unscored, focus, args.labels)
        tables[name] = models.evol_indices(**dataclasses.asdict(scoring_options(args)))
        focuses[name] = focus
        print(f"{name}: scored {len(tables[name]):,} singles with {len(source)} run(s)")
    return tables, focuses


# --- outputs -------------------------------------------------------------------------------------


def _outputs(args, sources: dict) -> dict:
    """Where everything goes: per protein its table and figures, then the shared files."""
    figures = ("histogram", "map") + (("roc",) if args.labels else ())
    if len(sources) == 1:
        ((name, source),) = sources.items()
        out = args.out or _default_single(source)
        stem = out.with_suffix("")
        per = {name: {"table": out} | {f: Path(f"{stem}_{f}.png") for f in figures}}
        shared = {"summary": Path(f"{stem}_summary.csv")}
        shared["unscoreable"] = Path(f"{stem}_unscoreable_labels.csv")
    else:
        folder = args.out or _common(sources) / "classified"
        per = {
            name: {"table": folder / f"{name}.csv"}
            | {f: folder / f"{name}_{f}.png" for f in figures}
            for name in sources
        }
        shared = {"summary": folder / "summary.csv"}
        shared["unscoreable"] = folder / "unscoreable_labels.csv"
    if args.no_plots:
        per = {name: {"table": paths["table"]} for name, paths in per.items()}
    if args.labels is None:
        shared.pop("unscoreable")
    return {"proteins": per, **shared}


def _flat(outputs: dict) -> list[Path]:
    paths = [path for files in outputs["proteins"].values() for path in files.values()]
    return paths + [path for key, path in outputs.items() if key != "proteins"]


def _default_single(source) -> Path:
    if isinstance(source, Path):
        return source.with_name(f"{source.stem}_classified.csv")
    return _common({"": source}) / "classified.csv"


def _common(sources: dict) -> Path:
    """The deepest folder holding every input (runs or predictions files)."""
    paths = [path for s in sources.values() for path in (s if isinstance(s, list) else [s])]
    return Path(os.path.commonpath([path.parent for path in paths]))


def _evaluate(result: cls.Classified, labels, focuses: dict, source):
    """The summary (with label metrics), the labelled variants left out, and those kept."""
    summary = result.summary()
    if labels is None:
        return summary, None, {}
    fine = [t["uncertainty"] for n, t in result.tables.items() if result.problems[n] is None]
    pool = np.concatenate(fine) if fine else np.array([])
    left_out, labelled, metrics = [], {}, []
    for name, table in result.tables.items():
        mine = labels[labels["protein"] == name]
        if not len(mine):
            metrics.append({})
            continue
        labelled[name], unscoreable = cls.match_labels(mine, table, focuses[name], source)
        left_out.append(unscoreable.assign(protein=name))
        metrics.append(cls.label_metrics(labelled[name], pool))
    others = labels[~labels["protein"].isin(list(result.tables))]
    if len(others):
        detail = "no classified protein of this name"
        left_out.append(
            others[["row", "mutant", "protein"]].assign(reason=OTHER_PROTEIN, detail=detail)
        )
    summary = pd.concat([summary, pd.DataFrame(metrics, index=summary.index)], axis=1)
    if len(labelled) > 1:
        together = pd.concat(labelled.values())
        summary.loc[len(summary)] = {"protein": "all", **cls.label_metrics(together, pool)}
    columns = ["protein", "row", "mutant", "reason", "detail"]
    return summary, pd.concat(left_out)[columns].sort_values("row"), labelled


def _write(args, result, summary, left_out, labelled, focuses, outputs) -> None:
    for name, table in result.tables.items():
        files = outputs["proteins"][name]
        columns = [*cls.COLUMNS, *(["label"] if name in labelled else [])]
        if name in labelled:
            table = table.join(labelled[name]["label"])
        write_table(table[columns], files["table"])
        mixture = result.mixtures[name]
        if "histogram" in files and mixture is not None:
            plots.save(plots.index_histogram(table, mixture, name), files["histogram"])
        if "map" in files and mixture is not None:
            plots.save(plots.score_map(table, focuses[name].alphabet), files["map"])
        if "roc" in files and name in labelled and labelled[name]["label"].nunique() == 2:
            plots.save(plots.roc_curves(labelled[name], name), files["roc"])
    write_table(summary, outputs["summary"])
    if left_out is not None and len(left_out):
        write_table(left_out, outputs["unscoreable"])
    if args.save_thresholds is not None:
        result.thresholds.save(args.save_thresholds)


def _report(result, summary, left_out, outputs, scoring: float, classifying: float) -> None:
    scale = result.thresholds
    print(
        f"classified {sum(map(len, result.tables.values())):,} variants of "
        f"{len(result.tables)} protein(s) (scoring {scoring:.1f} s, mixtures {classifying:.1f} s); "
        f"uncertainty threshold {scale.uncertainty:.4f} bits (retain {scale.retain:g})"
    )
    for row in summary.to_dict("records"):
        if row["protein"] == "all":
            print(f"all proteins: {_metrics_line(row)}")
            continue
        print(
            f"{row['protein']}: {row['pathogenic']:,} Pathogenic, {row['benign']:,} Benign, "
            f"{row['uncertain']:,} Uncertain; median stderr of the index "
            f"{row['median_stderr']:.3f}, {row['unstable']:,} calls change within ±2 stderr"
        )
        if not pd.isna(row.get("labelled", np.nan)):
            print(f"{row['protein']}: {_metrics_line(row)}")
    if left_out is not None:
        for reason, count in left_out["reason"].value_counts().items():
            print(f"labelled but unscoreable: {count:,} {reason}")
        if len(left_out):
            print(f"unscoreable labelled variants written to {outputs['unscoreable']}")
    tables = [files["table"] for files in outputs["proteins"].values()]
    print(f"wrote {', '.join(map(str, tables[:3]))}{' …' if len(tables) > 3 else ''}")
    print(f"wrote {outputs['summary']}")


def _metrics_line(row: dict) -> str:
    def number(value) -> str:
        return "n/a" if value is None or pd.isna(value) else f"{value:.3f}"

    parts = [
        f"{int(row['labelled']):,} labelled ({int(row['labelled_pathogenic']):,} pathogenic)",
        f"AUC {number(row['auc_score'])} (score), {number(row['auc_index'])} (index)",
    ]
    for fraction in cls.RETAINED:
        percent = int(round(100 * fraction))
        parts.append(
            f"{percent}%: accuracy {number(row[f'accuracy_{percent}'])} "
            f"on {number(row[f'classified_{percent}'])} classified"
        )
    return "; ".join(parts)


if __name__ == "__main__":
    sys.exit(main())
