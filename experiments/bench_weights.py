"""Benchmark sequence-weight computation; writes experiments/results/weights_benchmark.json.

Cases (each in a fresh subprocess, so peak memory is its own):
- ``blat``: the BLAT alignment (8,355 × 253) with the blockwise int8 kernel;
- ``blat-dense``: the same with one full float32 N × N product, the straightforward way, for scale;
- ``generated``: a generated 100,000 × 500 family (clusters of mutated ancestors, with gaps);
- ``parse``: reading a generated 100,000 × 1,000 a2m file (``prepare_seconds``; no weights).

Usage: python experiments/bench_weights.py [--device auto] [--out FILE] [--cases blat generated]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
BLAT = (
    ROOT.parent
    / "shared"
    / "data"
    / "BLAT_ECOLX_hmmerbit_plmc_n5_m30_f50_t0.2_r24-286_id100_b105.a2m"
)


def run_case(case: str, device: str) -> dict:
    from pyro_deepseq.data.alignment import Alignment
    from pyro_deepseq.data.weights import sequence_weights
    from pyro_deepseq.utils.devices import resolve_device

    baseline = _peak_mib()
    started = time.perf_counter()
    if case == "generated":
        codes, letters = _generated(), 20
        prepared = time.perf_counter()
    elif case == "parse":
        with tempfile.TemporaryDirectory() as folder:
            path = _write_a2m(Path(folder) / "family.a2m", _generated(length=1000))
            baseline, started = _peak_mib(), time.perf_counter()
            aln = Alignment.from_file(path)
            prepared = time.perf_counter()
        return _row(case, aln.codes, None, started, prepared, prepared, baseline, device)
    else:
        aln = Alignment.from_file(BLAT)
        codes, letters = aln.codes, len(aln.alphabet)
        prepared = time.perf_counter()
    if case == "blat-dense":
        one_hot = torch.nn.functional.one_hot(torch.as_tensor(codes).long(), letters + 1)
        flat = one_hot[..., :letters].reshape(len(codes), -1).float()
        identity = flat @ flat.T
        residues = identity.diagonal()
        neighbours = (identity / residues[:, None] > 0.8).sum(1)
        weights = (1.0 / neighbours).numpy()
    else:
        weights = sequence_weights(codes, letters, 0.2, resolve_device(device))
    return _row(case, codes, weights, started, prepared, time.perf_counter(), baseline, device)


def _row(case, codes, weights, started, prepared, finished, baseline, device) -> dict:
    from pyro_deepseq.utils.devices import resolve_device

    return {
        "case": case,
        "sequences": int(codes.shape[0]),
        "positions": int(codes.shape[1]),
        "neff": None if weights is None else float(weights.sum()),
        "prepare_seconds": round(prepared - started, 3),
        "weights_seconds": round(finished - prepared, 3),
        "peak_memory_mib": round(_peak_mib() - baseline, 1),
        "device": str(resolve_device(device)),
    }


def _write_a2m(path: Path, codes: np.ndarray) -> Path:
    """Write codes as an a2m file, focus first, one line per sequence."""
    letters = np.frombuffer(b"ACDEFGHIKLMNPQRSTVWY-", dtype=np.uint8)
    with path.open("wb") as handle:
        handle.write(b">FOCUS/1-%d\n" % codes.shape[1])
        handle.write(letters[np.minimum(codes[0], 19)].tobytes() + b"\n")
        for i, row in enumerate(codes[1:]):
            handle.write(b">seq%d\n%s\n" % (i, letters[row].tobytes()))
    return path


def _generated(size: int = 100_000, length: int = 500) -> np.ndarray:
    """Mutated copies of 200 ancestors (2–20 % of sites changed, 5 % gaps), like a real family."""
    rng = np.random.default_rng(0)
    letters = 20
    ancestors = rng.integers(0, letters, size=(200, length), dtype=np.uint8)
    codes = ancestors[rng.integers(0, 200, size)]
    for start in range(0, size, 10_000):
        block = codes[start : start + 10_000]
        changed = rng.random(block.shape) < rng.uniform(0.02, 0.2, (len(block), 1))
        block[changed] = rng.integers(0, letters, int(changed.sum()), dtype=np.uint8)
        block[rng.random(block.shape) < 0.05] = letters
    return codes


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu": cpu,
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "python": platform.python_version(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "experiments/results/weights_benchmark.json"
    )
    parser.add_argument("--cases", nargs="+", default=["blat", "blat-dense", "generated", "parse"])
    parser.add_argument("--case", help=argparse.SUPPRESS)  # internal: run one case, print JSON
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, args.device)))
        return 0
    results = []
    for case in args.cases:
        command = [sys.executable, __file__, "--case", case, "--device", args.device]
        finished = subprocess.run(command, capture_output=True, text=True)
        if finished.returncode != 0:
            sys.exit(f"case {case} failed:\n{finished.stderr}")
        results.append(json.loads(finished.stdout.strip().splitlines()[-1]))
        print(json.dumps(results[-1]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine(), "results": results}, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
