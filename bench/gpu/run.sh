#!/usr/bin/env bash
# Issue 7 in one device call: build the trainer against the LibTorch of the machine's pip torch,
# check cuda numerics against cpu, time wmtp and Python eager on the GPU, print the table and
# write it (with the raw JSON lines and the build log) to $OUT.
#   run tool: command "bash bench/gpu/run.sh", timeout_s 600
# Env: OUT (default /tmp/wmtp-gpu-out), PYTHON (python3, must import torch), BUILD (build dir),
# SAMPLES (per repetition, default 400000), STEPS (numerics steps, default 300).
# Exit status: the numerics check's (1 when a curve is off its tolerance).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/wmtp-gpu-out}
PYTHON=${PYTHON:-python3}
BUILD=${BUILD:-/tmp/wmtp-gpu-build}
SAMPLES=${SAMPLES:-400000}
STEPS=${STEPS:-300}
mkdir -p "$OUT" "$BUILD/dumps"
export PYTHONUNBUFFERED=1

nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv,noheader || true
TORCH_PREFIX=$("$PYTHON" -c 'import torch; print(torch.utils.cmake_prefix_path)')
echo "== build (log: $OUT/build.log)"
start=$(date +%s)
cmake -S . -B "$BUILD" -G Ninja -DWMTP_TRAINER_ONLY=ON -DWMTP_BUILD_TESTS=OFF -DWMTP_BUILD_BENCH=ON -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" >"$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; exit 1; }
cmake --build "$BUILD" -j16 --target wmtp_gpu_bench wmtp_trainer_bench >>"$OUT/build.log" 2>&1 ||
  { grep -B2 -A8 -E "error|Error" "$OUT/build.log" | head -80; exit 1; }
echo "built in $(( $(date +%s) - start )) s; compiler warnings in our sources: $(grep -c 'warning:' "$OUT/build.log" || true)"
grep -A4 'warning:' "$OUT/build.log" | head -40 || true

echo "== numerics: cuda against cpu, $STEPS steps"
numerics_rc=0
"$BUILD/bench/wmtp_gpu_bench" --check --recipes B0,A3 --batches 256,4096 --steps "$STEPS" >"$OUT/numerics.jsonl" ||
  numerics_rc=$?
cat "$OUT/numerics.jsonl"

echo "== wmtp on cuda"
# fused: what wmtp-train runs; fused-nograph: B0 without its CUDA graph (A3's step has none).
: >"$OUT/wmtp.jsonl"
for run in "B0 fused-nograph" "B0,A3 fused"; do
  set -- $run
  "$BUILD/bench/wmtp_gpu_bench" --time --device cuda --recipes "$1" --batches 256,4096 --engines "$2" \
    --samples "$SAMPLES" --reps 5 | tee -a "$OUT/wmtp.jsonl" || echo "wmtp_gpu_bench --engines $2 failed"
done

echo "== Python eager on cuda"
"$BUILD/bench/wmtp_trainer_bench" --device cpu --dump "$BUILD/dumps" --dump-steps 1 --recipes B0,A3 --batches 256,4096 >/dev/null
"$PYTHON" bench/gpu/eager_bench.py --device-info --samples "$SAMPLES" --reps 5 \
  "$BUILD"/dumps/B0-256.json "$BUILD"/dumps/B0-4096.json "$BUILD"/dumps/A3-256.json "$BUILD"/dumps/A3-4096.json |
  tee "$OUT/python.jsonl"

echo "== table"
"$PYTHON" bench/gpu/report.py "$OUT/python.jsonl" "$OUT/wmtp.jsonl" "$OUT/numerics.jsonl" | tee "$OUT/table.md"
exit "$numerics_rc"
