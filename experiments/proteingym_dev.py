"""The dev families in ProteinGym's layout, run with one command (``sweep --proteingym``).

Builds, from ``../shared/data``, what a ProteinGym user holds: a reference file
(``DMS_substitutions.csv``) for the 8 dev assays on 6 MSAs, a folder of MSAs and a folder of DMS
files with ``mutant``, ``mutated_sequence``, ``DMS_score`` and ``DMS_score_bin`` (split at the
median, the reference's ``DMS_binarization_cutoff``). BLAT's table has no wild-type FASTA, so its
``target_seq`` is the alignment's focus span 24-286, numbered from 1: its mutants are renumbered,
and the run has to map them back onto the alignment's UniProt numbering.

Then it runs the benchmark, compares with ProteinGym's published Spearman table (the rows of these
assays, ``experiments/proteingym/``) and copies the outputs to ``experiments/results/``::

    python experiments/proteingym_dev.py --label independent --max-sequences 2000
    python experiments/proteingym_dev.py --label fast1000 --only RL40A_YEAST_Mavor_2016 \
        RL40A_YEAST_Roscoe_2013 RL40A_YEAST_Roscoe_2014 YAP1_HUMAN_Araya_2012 \
        --fit-args "--preset fast --steps 1000" --predict-args "--samples 50"
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
PUBLISHED = ROOT / "experiments" / "proteingym" / "DMS_substitutions_Spearman_DMS_level_dev.csv"
BLAT_A2M = "BLAT_ECOLX_hmmerbit_plmc_n5_m30_f50_t0.2_r24-286_id100_b105.a2m"
COLUMNS = ("UniProt_ID", "taxon", "MSA_Neff_L_category", "coarse_selection_type", "MSA_theta")
#: DMS_id: (table, score column, FASTA or None, MSA, metadata as in COLUMNS)
ASSAYS = {
    "BLAT_ECOLX_Stiffler_2015": ("BLAT_ECOLX_Ranganathan2015.csv", "2500", None, BLAT_A2M,
                                 ("BLAT_ECOLX", "Prokaryote", "High", "OrganismalFitness", 0.2)),
    "DYR_ECOLI_Thompson_2019": ("DYR_ECOLI/DYR_ECOLI_Thompson_plusLon_2019.csv", "score",
                                "DYR_ECOLI/DYR_ECOLI_Thompson_plusLon_2019.fasta",
                                "DYR_ECOLI/DHFR.a2m",
                                ("DYR_ECOLI", "Prokaryote", "Medium", "OrganismalFitness", 0.2)),
    "KKA2_KLEPN_Melnikov_2014": ("KKA2_KLEPN/KKA2_KLEPN_Melnikov_2014.csv", "score",
                                 "KKA2_KLEPN/KKA2_KLEPN_Melnikov_2014.fasta",
                                 "KKA2_KLEPN/KKA2_KLEPN.a2m",
                                 ("KKA2_KLEPN", "Prokaryote", "High", "OrganismalFitness", 0.2)),
    "POLG_HCVJF_Qi_2014": ("POLG_HCVJF/POLG_HCVJF_Qi_2014.csv", "score",
                           "POLG_HCVJF/POLG_HCVJF_Qi_2014.fasta", "POLG_HCVJF/POLG_HCVJF.a2m",
                           ("POLG_HCVJF", "Virus", "Medium", "OrganismalFitness", 0.01)),
    "RL40A_YEAST_Mavor_2016": ("RL401_YEAST/RL401_YEAST_Mavor_2016.csv", "score",
                               "RL401_YEAST/RL401_YEAST_Mavor_2016.fasta",
                               "RL401_YEAST/RL401_YEAST.a2m",
                               ("RL40A_YEAST", "Eukaryote", "Medium", "OrganismalFitness", 0.2)),
    "RL40A_YEAST_Roscoe_2013": ("RL401_YEAST/RL401_YEAST_Roscoe_2013.csv", "score",
                                "RL401_YEAST/RL401_YEAST_Roscoe_2013.fasta",
                                "RL401_YEAST/RL401_YEAST.a2m",
                                ("RL40A_YEAST", "Eukaryote", "Medium", "OrganismalFitness", 0.2)),
    "RL40A_YEAST_Roscoe_2014": ("RL401_YEAST/RL401_YEAST_Roscoe_2014.csv", "score",
                                "RL401_YEAST/RL401_YEAST_Roscoe_2014.fasta",
                                "RL401_YEAST/RL401_YEAST.a2m",
                                ("RL40A_YEAST", "Eukaryote", "Medium", "Activity", 0.2)),
    "YAP1_HUMAN_Araya_2012": ("YAP1_HUMAN/YAP1_HUMAN_Araya_2012.csv", "score",
                              "YAP1_HUMAN/YAP1_HUMAN_Araya_2012.fasta", "YAP1_HUMAN/YAP1_HUMAN.a2m",
                              ("YAP1_HUMAN", "Human", "Low", "Binding", 0.2)),
}  # fmt: skip


def focus_record(path: Path) -> tuple[str, int, int]:
    """The focus (first) record's residues and its /START-END."""
    lines = path.read_text().split(">", 2)[1].splitlines()
    start, end = map(int, lines[0].split()[0].rsplit("/", 1)[1].split("-"))
    return "".join(lines[1:]).replace("-", "").replace(".", "").upper(), start, end


def build(work: Path, max_sequences: int | None) -> Path:
    """Write the reference file, MSA folder and DMS folder under ``work``.

    The MSAs are links to the shared files, or their first ``max_sequences`` records (the focus
    first): sequence weights cost N² and took minutes per family on a crowded 2-core machine.
    """
    msas, dms = work / "MSA_files", work / "DMS_substitutions"
    msas.mkdir(parents=True, exist_ok=True)
    dms.mkdir(exist_ok=True)
    rows = []
    for dms_id, (table, column, fasta, a2m, meta) in ASSAYS.items():
        focus, start, end = focus_record(SHARED / a2m)
        if fasta is None:  # target_seq = the focus span, numbered from 1
            target, first, msa_start = focus, start, 1
        else:
            target, first, msa_start = read_fasta(SHARED / fasta), 1, start
        msa = msas / Path(a2m).name
        if max_sequences:
            head(SHARED / a2m, msa, max_sequences)
        elif not msa.exists():
            msa.symlink_to(SHARED / a2m)
        cutoff = write_dms(SHARED / table, column, target, first, dms / f"{dms_id}.csv")
        rows.append(
            {
                "DMS_id": dms_id,
                "DMS_filename": f"{dms_id}.csv",
                "target_seq": target,
                "MSA_filename": msa.name,
                "MSA_start": msa_start,
                "MSA_end": msa_start + end - start,
                "DMS_binarization_cutoff": cutoff,
                "includes_multiple_mutants": False,
                **dict(zip(COLUMNS, meta, strict=True)),
            }
        )
    reference = work / "DMS_substitutions.csv"
    pd.DataFrame(rows).to_csv(reference, index=False)
    return reference


def head(source: Path, target: Path, records: int) -> None:
    """The first ``records`` records of an alignment."""
    lines, seen = [], 0
    for line in source.read_text().splitlines():
        seen += line.startswith(">")
        if seen > records:
            break
        lines.append(line)
    target.unlink(missing_ok=True)
    target.write_text("\n".join(lines) + "\n")


def read_fasta(path: Path) -> str:
    return "".join(path.read_text().splitlines()[1:]).strip().upper()


def write_dms(source: Path, column: str, target: str, first: int, out: Path) -> float:
    """ProteinGym's DMS file: renumbered from ``first``, rows without a score dropped."""
    table = pd.read_csv(source, dtype={"mutant": str})[["mutant", column]].dropna()
    rows = []
    for mutant, score in zip(table["mutant"], table[column], strict=True):
        position = int(mutant[1:-1]) - first + 1
        sequence = target[: position - 1] + mutant[-1] + target[position:]
        rows.append((f"{mutant[0]}{position}{mutant[-1]}", sequence, float(score)))
    frame = pd.DataFrame(rows, columns=["mutant", "mutated_sequence", "DMS_score"])
    cutoff = float(frame["DMS_score"].median())
    frame["DMS_score_bin"] = (frame["DMS_score"] >= cutoff).astype(int)
    if frame["DMS_score_bin"].all():  # POLG: over half the scores tie at its minimum, -1
        frame["DMS_score_bin"] = (frame["DMS_score"] > cutoff).astype(int)
    frame.to_csv(out, index=False)
    return cutoff


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--label", required=True, help="name of the run and its results folder")
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "proteingym_dev")
    parser.add_argument("--only", nargs="+")
    parser.add_argument("--fit-args", default="--model independent")
    parser.add_argument("--predict-args", default="")
    parser.add_argument("--seeds", nargs="+", default=["0"])
    parser.add_argument("--ray", action="store_true", help="local Ray (default: --sequential)")
    parser.add_argument(
        "--max-sequences", type=int, help="keep the first N records of each MSA (default: all)"
    )
    args = parser.parse_args(argv)
    work = args.work / (f"head{args.max_sequences}" if args.max_sequences else "full")
    reference = build(work, args.max_sequences)
    out = work / args.label
    command = [
        *("nice", "-n", "10", sys.executable, "-m", "pyro_deepseq", "sweep"),
        *("--proteingym", str(reference), "--msa-dir", str(work / "MSA_files")),
        *("--dms-dir", str(work / "DMS_substitutions"), "--out", str(out)),
        f"--fit-args={args.fit_args} --no-plots",
        f"--predict-args={args.predict_args} --no-plots",
        *("--seeds", *args.seeds, "--leaderboard", str(PUBLISHED)),
        *(["--only", *args.only] if args.only else []),
        *([] if args.ray else ["--sequential"]),
    ]
    print(" ".join(command), flush=True)
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}  # a shared machine: no spinning threads
    code = subprocess.call(command, cwd=ROOT, env=environment)
    results = ROOT / "experiments" / "results" / f"proteingym_dev_{args.label}"
    results.mkdir(parents=True, exist_ok=True)
    for name in (
        "proteingym_metrics.csv",
        "proteingym_summary.csv",
        "proteingym_assays.csv",
        "proteingym_time.json",
        "proteingym_leaderboard_Spearman.csv",
        "proteingym_metrics.png",
        "summary.csv",
    ):
        if (out / name).exists():
            shutil.copy(out / name, results / name)
    written = " ".join(["python", *command[4:]]).replace(f"{ROOT}/", "")
    (results / "command.txt").write_text(f"OMP_NUM_THREADS=1 nice -n 10 {written}\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
