"""``align`` on BLAT: recovery, search timing, and ρ of a model trained on the built alignment.

The database: every sequence of the released BLAT alignment with its gaps removed, plus decoys
(every DHFR and ubiquitin (RL401) family sequence, and 2,000 shuffled BLAT sequences). The query:
the BLAT focus sequence, ``BLAT_ECOLX/24-286``. Stages (results go to one JSON, rewritten after
each stage, so that a run cut short keeps what it measured):

- ``search``: ``deepseq align`` at several thresholds; per threshold the recovery
  of the BLAT sequences (distinct sequences of the database found in the alignment), the decoys
  included, focus columns and Neff beside the released alignment's, the search's sequences/s.
- ``train``: the fast preset (same flags, same seed) on the recommended alignment and on the
  released one; Spearman ρ of each against the DMS column 2500.

Usage:
    python experiments/align_blat.py [--work DIR] [--bitscore 0.3 0.5 0.7] [--threads 2]
        [--steps 6000] [--samples 500] [--stage search|train|all] [--labels built released]
        [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from pyro_deepseq.data.alignment import Alignment  # noqa: E402
from pyro_deepseq.data.fasta import read_records  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
BLAT = SHARED / "BLAT_ECOLX_hmmerbit_plmc_n5_m30_f50_t0.2_r24-286_id100_b105.a2m"
DECOYS = [SHARED / "DYR_ECOLI" / "DHFR.a2m", SHARED / "RL401_YEAST" / "RL401_YEAST.a2m"]
DMS = SHARED / "BLAT_ECOLX_Ranganathan2015.csv"
SHUFFLED = 2_000


def degapped(path: Path):
    """``(name, sequence)`` of each record with its gaps removed, upper case."""
    for record in read_records(path):
        yield record.header.split()[0], record.sequence.translate(None, b"-.").upper().decode()


def build_database(folder: Path, seed: int = 0) -> tuple[Path, Path, dict]:
    """Write ``database.fasta`` and ``query.fasta``; return them and ``{name: sequence}``."""
    rng = random.Random(seed)
    blat = list(degapped(BLAT))
    records = list(blat)
    for path in DECOYS:
        records += [(f"decoy_{name}", seq) for name, seq in degapped(path)]
    for i in range(SHUFFLED):
        letters = list(rng.choice(blat)[1])
        rng.shuffle(letters)
        records.append((f"shuffled_{i}", "".join(letters)))
    folder.mkdir(parents=True, exist_ok=True)
    database, query = folder / "database.fasta", folder / "query.fasta"
    database.write_text("".join(f">{name}\n{seq}\n" for name, seq in records))
    query.write_text(f">{blat[0][0]}\n{blat[0][1]}\n")
    return database, query, dict(records)


def recovery(path: Path, sequences: dict) -> dict:
    """Distinct BLAT sequences of the database present in the alignment, and decoys included."""
    alignment = Alignment.from_file(path)
    sources = [re.sub(r"/\d+-\d+$", "", h.split()[0]) for h in alignment.headers[1:]]
    family = {seq for name, seq in sequences.items() if not name.startswith(("decoy", "shuff"))}
    found = {sequences[name] for name in sources} | {next(iter(sequences.values()))}
    return {
        "blat_distinct_in_database": len(family),
        "blat_distinct_recovered": len(found & family),
        "recovery": round(len(found & family) / len(family), 4),
        "decoys": sum(name.startswith(("decoy", "shuff")) for name in sources),
        "num_sequences": alignment.num_sequences,
        "focus_columns": alignment.num_positions,
        "neff": round(alignment.neff, 1),
    }


def stage_search(args, results: dict) -> None:
    database, query, sequences = build_database(args.work)
    out = args.work / "blat.a2m"
    command = [sys.executable, "-m", "pyro_deepseq", "align", "--query", str(query)]
    command += ["--database", str(database), "--out", str(out), "--force", "--quiet"]
    command += ["--bitscore", *map(str, args.bitscore), "--threads", str(args.threads)]
    started = time.perf_counter()
    log = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    print(log)
    released = Alignment.from_file(BLAT)
    table = pd.read_csv(out.with_name("blat.depth.csv")).to_dict("records")
    results["search"] = {
        "database_sequences": len(sequences),
        "threads": args.threads,
        "wall_seconds": round(time.perf_counter() - started, 1),
        "log": log.splitlines(),
        "released": {
            "num_sequences": released.num_sequences,
            "focus_columns": released.num_positions,
            "neff": round(released.neff, 1),
        },
        "thresholds": [{**row, **recovery(Path(row["file"]), sequences)} for row in table],
        "recommended_file": str(out),
    }


def stage_train(args, results: dict) -> None:
    """The same fit and predict on the built and the released alignments; ρ of each."""
    runs = {"built": args.work / "blat.a2m", "released": BLAT}
    train = results.setdefault("train", {})
    train.update({"steps": args.steps, "preset": "fast", "seed": 0, "samples": args.samples})
    for label in args.labels:
        alignment, out = runs[label], args.work / f"fit_{label}"
        started = time.perf_counter()
        fit = [sys.executable, "-m", "pyro_deepseq.fit", "--alignment", str(alignment)]
        fit += ["--preset", "fast", "--steps", str(args.steps), "--seed", "0", "--out", str(out)]
        subprocess.run([*fit, "--no-plots"], cwd=ROOT, check=True)
        trained = time.perf_counter() - started
        predict = [sys.executable, "-m", "pyro_deepseq.predict", "--checkpoint"]
        predict += [str(out / "model.pt"), "--mutations", str(DMS), "--score-column", "2500"]
        predict += ["--samples", str(args.samples), "--out", str(out / "predictions.csv")]
        predict += ["--force", "--no-plots"]
        text = subprocess.run(predict, cwd=ROOT, check=True, capture_output=True, text=True)
        rho = float(re.search(r"Spearman ρ = (-?[\d.]+)", text.stdout)[1])
        train[label] = {
            "alignment": os.path.relpath(alignment, ROOT),
            "rho": rho,
            "train_seconds": round(trained),
        }
        print(label, train[label], flush=True)
        _save(args.out, {"train": train})


def _save(path: Path, results: dict) -> None:
    """Merge ``results`` into the JSON at ``path`` (stages may run as separate processes)."""
    current = json.loads(path.read_text()) if path.exists() else {}
    for key, value in results.items():
        if isinstance(value, dict) and isinstance(current.get(key), dict):
            current[key].update(value)
        else:
            current[key] = value
    train = current.get("train", {})
    if "built" in train and "released" in train:
        train["difference"] = round(train["built"]["rho"] - train["released"]["rho"], 4)
    path.write_text(json.dumps(current, indent=2, default=_plain) + "\n")


def _plain(value):
    return value.item() if hasattr(value, "item") else str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "align_blat")
    parser.add_argument("--bitscore", type=float, nargs="+", default=[0.3, 0.5, 0.7])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=6_000)
    parser.add_argument("--samples", type=int, default=500, help="ELBO samples per mutant")
    parser.add_argument("--labels", nargs="+", choices=["built", "released"])
    parser.add_argument("--stage", choices=["search", "train", "all"], default="all")
    parser.add_argument("--out", type=Path, default=ROOT / "experiments/results/align_blat.json")
    args = parser.parse_args()
    args.labels = args.labels or ["built", "released"]
    results = {}
    if args.stage in ("search", "all"):
        stage_search(args, results)
        _save(args.out, results)
    if args.stage in ("train", "all"):
        stage_train(args, results)


if __name__ == "__main__":
    main()
