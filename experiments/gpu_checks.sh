#!/usr/bin/env bash
# The GPU half of the performance work, as one command for a lent GPU machine (an H200 here).
#
# On the development machine, from the repo root:
#     bash experiments/gpu_checks.sh prepare
# puts Pyro's wheels and a copy of ../shared/data in .gpu_carry/ (git-ignored; the GPU machine has
# PyTorch but not Pyro, and gets the repo without ../shared). Then run, with the device tool,
#     bash experiments/gpu_checks.sh run        carrying .gpu_carry, timeout 600 s
# It writes to $OUT (the device tool's folder; runs/gpu_checks elsewhere): the CUDA tests' log,
# bench_performance.py's JSON, and a time-to-ρ run of the fast preset on BLAT scored with 2,000
# samples. Each step is capped so that the whole fits in about 9 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
CARRY=.gpu_carry

if [ "${1:-}" = prepare ]; then
    mkdir -p "$CARRY/wheels"
    python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$CARRY/wheels" \
        pyro-ppl==1.9.2 pyro-api==0.1.2
    rm -rf "$CARRY/data" && cp -r ../shared/data "$CARRY/data"
    du -sh "$CARRY"
    exit 0
fi
if [ "${1:-}" != run ]; then
    echo "usage: bash experiments/gpu_checks.sh prepare|run" >&2
    exit 2
fi

OUT=${OUT:-runs/gpu_checks}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
SCRATCH=$(mktemp -d)  # Pyro's installation and the time-to-ρ run's checkpoints
python3 -m pip install --quiet --no-index --no-deps --no-compile --target "$SCRATCH/site" \
    "$CARRY"/wheels/*.whl
export PYTHONPATH="$SCRATCH/site:$PWD"
[ -e ../shared/data ] || { mkdir -p ../shared && ln -s "$PWD/$CARRY/data" ../shared/data; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"

step() {  # step NAME SECONDS COMMAND...: its log in $OUT/NAME.log; a failure does not stop the rest
    local name=$1 seconds=$2
    shift 2
    echo "== $name" >"$OUT/$name.log"
    timeout "$seconds" "$@" >>"$OUT/$name.log" 2>&1 || echo "== $name ended with status $?" >>"$OUT/$name.log"
    tail -n 25 "$OUT/$name.log"
}
step test_cuda 120 python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py
step performance 240 python3 experiments/bench_performance.py --device cuda \
    --batches 100 400 1000 4000 --fast-batches 100 400 1000 --score-samples 2000 \
    --out "$OUT/performance_gpu.json"
step time_to_rho 180 python3 experiments/bayesian_reproduction.py --device cuda --preset fast \
    --evaluate-at 1000 2000 3000 4000 5000 6000 --samples 100 --final-samples 2000 \
    --out "$OUT/blat_fast_gpu.json" --work "$SCRATCH/runs"
