#!/usr/bin/env bash
# The full CLI on a GPU machine (issue 16 item 5, issue 15's GPU grid), in one device call:
#   build  all four tools against the LibTorch of the machine's pip torch (CUDA), the other
#          libraries from the distribution: the -dev packages the machine lacks come as .debs in
#          $DEBS (bench/gpu/fetch-debs.sh fetches them), unpacked with dpkg -x into a prefix;
#   smoke  wmtp-train --device cuda on the smoke plan (ledger + figures), wmtp-audit (ALL PASS
#          required), wmtp-report; --device cuda:N with a GPU that does not exist exits 2;
#   grid   a GRID_HOUSEHOLDS x GRID_SEEDS dlinear plan (B0, synthetic households, GRID_EPOCHS
#          epochs): one wmtp-train process on cuda:0 (sequential), then GRID_PROCS processes with
#          --shard i/GRID_PROCS sharing cuda:0 (one CUDA context and stream each), then one process
#          with --jobs GRID_PROCS (threads, one CUDA stream each); every run's
#          metrics compared with the sequential run's; the Python eager loop (train_reference.py's
#          modules) timed on PY_RUNS whole runs and scaled to the plan's size, then in N processes
#          sharing the GPU for each N of PY_PROCS, and both sides' best compared;
#   shards one wmtp-train process per GPU with --shard i/n on the same plan, against one GPU.
#   vq     dlinear-vq (A3) at batch 256: wmtp's step against the Python eager loop (issue 15 item 5).
# Env: OUT (default /tmp/wmtp-gpu-out), PHASES (default "build smoke vq grid shards"), DEBS (default
# .gpu-debs), PREFIX (unpacked .debs), BUILD, PYTHON (python3 with torch), GRID_HOUSEHOLDS (20),
# GRID_SEEDS (50), GRID_EPOCHS (5), GRID_PROCS (16), PY_RUNS (10), PY_PROCS ("1 2 4 8 16"),
# VQ_SAMPLES (150000).
# Writes logs, verdict, report and the timing table (table.md) to $OUT; exit 1 when a phase fails.
#   run tool: command "bash bench/gpu/cli.sh 2>&1", timeout_s 600, kind nvidia-h100-x2
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=${OUT:-/tmp/wmtp-gpu-out}
PHASES=${PHASES:-build smoke vq grid shards}
DEBS=${DEBS:-$ROOT/.gpu-debs}
PREFIX=${PREFIX:-/tmp/wmtp-deps}
BUILD=${BUILD:-/tmp/wmtp-cli-build}
PYTHON=${PYTHON:-python3}
py() { env -u LD_LIBRARY_PATH "$PYTHON" "$@"; }  # the .debs' libraries are for the tools only
GRID_HOUSEHOLDS=${GRID_HOUSEHOLDS:-20}
GRID_SEEDS=${GRID_SEEDS:-50}
GRID_EPOCHS=${GRID_EPOCHS:-5}
GRID_PROCS=${GRID_PROCS:-16}
PY_RUNS=${PY_RUNS:-10}
PY_PROCS=${PY_PROCS:-1 2 4 8 16}  # the Python loop's process counts (the sweep for its best)
VQ_SAMPLES=${VQ_SAMPLES:-150000}
CUDA=${CUDA:-cuda}  # CUDA=cpu: a dry run of the script on a machine without a GPU (cpu for every cuda:N)
WORK=/tmp/wmtp-gpu-work
BIN=$BUILD/src/cli
mkdir -p "$OUT" "$WORK"
export PYTHONUNBUFFERED=1 NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
failed=0
fail() { echo "FAILED: $*"; failed=1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
row() { echo "$*" | tee -a "$OUT/table.md"; }
has() { [[ " $PHASES " == *" $1 "* ]]; }

gpu() { if [ "$CUDA" = cuda ]; then echo "cuda:$1"; else echo "$CUDA"; fi; }
nvidia-smi --query-gpu=index,name,driver_version --format=csv,noheader | tee "$OUT/gpus.txt" ||
  echo "0, no GPU (dry run), -" >"$OUT/gpus.txt"
GPUS=$(wc -l <"$OUT/gpus.txt")
GPU_NAME=$(head -1 "$OUT/gpus.txt" | cut -d, -f2 | sed 's/^ //')

# The .debs' libraries: headers and pkg-config files point into the prefix; the runtime
# libraries (cairo and what it needs) are found through LD_LIBRARY_PATH.
ARCH_LIB=$PREFIX/usr/lib/x86_64-linux-gnu
if compgen -G "$DEBS/*.deb" >/dev/null && [ ! -f "$ARCH_LIB/libcairo.so.2" ]; then
  for f in "$DEBS"/*.deb; do dpkg -x "$f" "$PREFIX"; done
  for pc in "$ARCH_LIB"/pkgconfig/*.pc; do sed -i "s|^prefix=/usr\$|prefix=$PREFIX/usr|; /^Requires.private/d" "$pc"; done
  # libsqlite3-dev's libsqlite3.so points at the runtime library the machine already has.
  ln -sf /usr/lib/x86_64-linux-gnu/libsqlite3.so.0 "$ARCH_LIB/libsqlite3.so"
fi
if [ -d "$ARCH_LIB" ]; then
  export PKG_CONFIG_PATH=$ARCH_LIB/pkgconfig:$PREFIX/usr/share/pkgconfig
  export LD_LIBRARY_PATH=$ARCH_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
# Fontconfig's configuration and the DejaVu fonts from the .debs, where the machine has none.
if [ ! -f /etc/fonts/fonts.conf ] && [ -f "$PREFIX/etc/fonts/fonts.conf" ]; then
  grep -q "$PREFIX/usr/share/fonts" "$PREFIX/etc/fonts/fonts.conf" ||
    sed -i "s|<dir>/usr/share/fonts</dir>|<dir>$PREFIX/usr/share/fonts</dir>|" "$PREFIX/etc/fonts/fonts.conf"
  export FONTCONFIG_FILE=$PREFIX/etc/fonts/fonts.conf
fi
PKG_CONFIG=$(command -v pkg-config || echo "$PREFIX/usr/bin/pkgconf")

if has build; then
  echo "== build (log: $OUT/build.log)"
  start=$(now)
  TORCH_PREFIX=$(py -c 'import torch; print(torch.utils.cmake_prefix_path)')
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DWMTP_BUILD_TESTS=OFF -DWMTP_BUILD_BENCH=ON \
    -DCMAKE_PREFIX_PATH="$PREFIX/usr;$TORCH_PREFIX" -DPKG_CONFIG_EXECUTABLE="$PKG_CONFIG" >"$OUT/build.log" 2>&1 &&
    cmake --build "$BUILD" -j"$(nproc)" --target wmtp-train wmtp-audit wmtp-report wmtp-sync wmtp_trainer_bench wmtp_gpu_bench \
      >>"$OUT/build.log" 2>&1 || { grep -B2 -A8 -E "error|Error" "$OUT/build.log" | head -60; fail build; exit 1; }
  echo "built in $(elapsed "$start") s; warnings: $(grep -c 'warning:' "$OUT/build.log")"
  "$BIN/wmtp-train" --version | head -3
fi

if has smoke; then
  echo "== smoke plan on cuda: train, audit, report"
  rm -rf "$WORK/smoke" && mkdir -p "$WORK/smoke" && cd "$WORK/smoke"
  start=$(now)
  "$BIN/wmtp-train" --device "$CUDA" --quiet >"$OUT/smoke-train.log" 2>&1 || fail "wmtp-train --device cuda"
  train_s=$(elapsed "$start")
  "$BIN/wmtp-audit" --experiment wmtp-smoke --junit junit.xml >"$OUT/smoke-audit.log" 2>&1 || fail "wmtp-audit"
  "$BIN/wmtp-report" >smoke_report.md 2>>"$OUT/smoke-audit.log" || fail "wmtp-report"
  cp wmtp-verdict.json smoke_report.md "$OUT/" 2>/dev/null
  cp "$(find . -name loss_curves.png | head -1)" "$WORK/smoke-loss_curves.png" 2>/dev/null
  verdict=$(py -c 'import json; print(json.load(open("wmtp-verdict.json"))["overall"])' 2>/dev/null)
  echo "smoke: trained in $train_s s; verdict: $verdict; figures: $(find . -name '*.png' | wc -l)"
  [ "$verdict" = "ALL PASS" ] || fail "verdict $verdict"
  for bad in "cuda:$GPUS" "cuda:x"; do  # a GPU this machine does not have, a bad spelling
    "$BIN/wmtp-train" --device "$bad" --ledger bad.sqlite >bad.out 2>&1
    rc=$?
    echo "--device $bad: exit $rc: $(head -1 bad.out)"
    [ "$rc" = 2 ] || fail "--device $bad exit $rc"
  done
  cd "$ROOT"
fi

if has vq; then
  echo "== dlinear-vq (A3) at batch 256: wmtp against Python eager, $VQ_SAMPLES samples x 5"
  mkdir -p "$WORK/dumps" && "$BUILD/bench/wmtp_trainer_bench" --device cpu --dump "$WORK/dumps" --dump-steps 1 \
    --recipes A3 --batches 256 >/dev/null || fail "A3 dump"
  "$BUILD/bench/wmtp_gpu_bench" --time --device "$CUDA" --recipes A3 --batches 256 --engines fused \
    --samples "$VQ_SAMPLES" --reps 5 | tee "$OUT/vq.jsonl" || fail "wmtp_gpu_bench A3"
  py bench/gpu/eager_bench.py --device "$(gpu 0)" --samples "$VQ_SAMPLES" --reps 5 "$WORK/dumps/A3-256.json" |
    tee -a "$OUT/vq.jsonl" || fail "eager_bench A3"
  py - "$OUT/vq.jsonl" "$GPU_NAME" <<'PY' | tee -a "$OUT/table.md"
import json, sys
rows = {json.loads(l)["kind"]: json.loads(l) for l in open(sys.argv[1]) if l.strip()}
w, p = rows["wmtp"], rows["python"]
print(f"| {sys.argv[2]} | A3 (dlinear-vq) step, batch 256 | wmtp {w['us_per_step']:.0f} us/step, Python eager "
      f"{p['us_per_step']:.0f} us/step | | **{p['us_per_step'] / w['us_per_step']:.1f}x** | |")
PY
fi

# Trains the grid plan with N processes (--shard i/N), process i on the GPU that $2 names for it;
# ledgers in $WORK/$1. Prints the wall seconds.
train_sharded() {
  local name=$1 devices=$2 n i dev start
  read -ra devs <<<"$devices"
  n=${#devs[@]}
  rm -rf "${WORK:?}/$name" && mkdir -p "$WORK/$name"
  start=$(now)
  for ((i = 1; i <= n; i++)); do
    dev=${devs[$((i - 1))]}
    (cd "$WORK/$name" && "$BIN/wmtp-train" --plan "$WORK/grid.json" --epochs "$GRID_EPOCHS" --device "$dev" \
      --shard "$i/$n" --ledger "shard-$i.sqlite" --quiet >"shard-$i.log" 2>&1 || echo "shard $i/$n failed: rc $?" >&2) &
  done
  wait
  elapsed "$start"
}

grid_plan() {
  py - "$GRID_HOUSEHOLDS" "$GRID_SEEDS" >"$WORK/grid.json" <<'PY'
import json, sys
h, s = int(sys.argv[1]), int(sys.argv[2])
print(json.dumps({"name": f"grid-{h * s}", "description": f"B0 over {h} synthetic households x {s} seeds",
                  "experiment": f"wmtp-grid-{h * s}",
                  "data": {"kind": "synthetic", "households": h, "days": 365, "seed": 20230101},
                  "series": [f"household-{i:02d}" for i in range(1, h + 1)],
                  "cells": [{"name": "B0", "recipe": "B0", "use_vq": False}], "seeds": list(range(1, s + 1))}))
PY
}

RUNS=$((GRID_HOUSEHOLDS * GRID_SEEDS))
if has grid || has shards; then
  grid_plan
  SEQ=seq-$RUNS-$GRID_EPOCHS  # kept for a later call on the same machine (PHASES=shards)
  if [ ! -f "$WORK/$SEQ/seconds" ]; then
    echo "== grid: $RUNS runs, one process on cuda:0 (sequential)"
    train_sharded "$SEQ" "$(gpu 0)" >"$WORK/$SEQ.seconds" && mv "$WORK/$SEQ.seconds" "$WORK/$SEQ/seconds"
  fi
  seq_s=$(cat "$WORK/$SEQ/seconds")
  echo "sequential: $seq_s s"
  row "| $GPU_NAME | $RUNS-run B0 grid, $GRID_EPOCHS epochs | wmtp-train, 1 process, cuda:0 | $seq_s s | 1.00x | |"
fi

compare() {  # compare NAME: every run of $WORK/NAME against the sequential run; prints "ok" or the problem
  py bench/gpu/compare_ledgers.py --reference "$WORK/$SEQ/shard-1.sqlite" --rtol 1e-4 "$WORK/$1"/shard-*.sqlite \
    | tee -a "$OUT/compare.jsonl" | py -c 'import json,sys; d=json.load(sys.stdin); print("identical" if d["identical_points"]==d["points"] else ("max rel %.1e" % d["max_rel_diff"])) if d["ok"] else print("DIFFERENT: %d problem(s), e.g. %s; max rel %.1e" % (len(d["problems"]), d["problems"][:1], d["max_rel_diff"]))'
}

if has grid; then
  devices=$(for ((i = 0; i < GRID_PROCS; i++)); do printf '%s ' "$(gpu 0)"; done)
  echo "== grid: $GRID_PROCS processes sharing cuda:0"
  par_s=$(train_sharded par "$devices")
  same=$(compare par)
  row "| $GPU_NAME | $RUNS-run B0 grid | wmtp-train, $GRID_PROCS processes (--shard i/$GRID_PROCS), cuda:0 | $par_s s | $(awk -v a="$seq_s" -v b="$par_s" 'BEGIN{printf "%.2f", a/b}')x | metrics vs sequential: $same |"
  echo "== grid: one process, --jobs $GRID_PROCS on cuda:0 (threads, a CUDA stream each)"
  rm -rf "$WORK/jobs" && mkdir -p "$WORK/jobs" && start=$(now)
  (cd "$WORK/jobs" && "$BIN/wmtp-train" --plan "$WORK/grid.json" --epochs "$GRID_EPOCHS" --device "$(gpu 0)" \
    --jobs "$GRID_PROCS" --ledger shard-1.sqlite --quiet >shard-1.log 2>&1) ||
    { fail "--jobs $GRID_PROCS"; grep -v '^frame #' "$WORK/jobs/shard-1.log" | head -20; }
  jobs_s=$(elapsed "$start")
  same=$(compare jobs)
  row "| $GPU_NAME | $RUNS-run B0 grid | wmtp-train --jobs $GRID_PROCS, 1 process, cuda:0 | $jobs_s s | $(awk -v a="$seq_s" -v b="$jobs_s" 'BEGIN{printf "%.2f", a/b}')x | metrics vs sequential: $same |"
  echo "== Python eager loop: $PY_RUNS whole runs on cuda:0, scaled to $RUNS"
  mkdir -p "$WORK/dumps" && "$BUILD/bench/wmtp_trainer_bench" --device cpu --dump "$WORK/dumps" --dump-steps 1 --recipes B0 --batches 32 >/dev/null &&
    py bench/gpu/eager_bench.py --device "$(gpu 0)" --grid-runs "$PY_RUNS" --grid-epochs "$GRID_EPOCHS" \
      "$WORK/dumps/B0-32.json" | tee "$OUT/python-grid.jsonl" || fail "python eager grid"
  py_run_s=$(py -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["mean_s_per_run"])' "$OUT/python-grid.jsonl")
  py_s=$(awk -v a="$py_run_s" -v n="$RUNS" 'BEGIN{printf "%.1f", a*n}')
  row "| $GPU_NAME | $RUNS-run B0 grid | Python eager loop ($PY_RUNS runs timed after an untimed one, x $RUNS / $PY_RUNS) | $py_s s | | $(awk -v a="$py_run_s" 'BEGIN{printf "%.3f", a}') s/run |"
  row "| $GPU_NAME | ratio | Python eager / wmtp sequential: $(awk -v a="$py_s" -v b="$seq_s" 'BEGIN{printf "%.1f", a/b}')x; / wmtp $GRID_PROCS processes: **$(awk -v a="$py_s" -v b="$par_s" 'BEGIN{printf "%.1f", a/b}')x**; / wmtp --jobs $GRID_PROCS: **$(awk -v a="$py_s" -v b="$jobs_s" 'BEGIN{printf "%.1f", a/b}')x** | | | |"
  # Each side at its best (issue 27 item 3): the Python loop also in N processes sharing cuda:0,
  # each training PY_RUNS + 1 whole runs (its first pays CUDA's start-up, as each wmtp process
  # does); the plan's time is the wall time of all of them, scaled to $RUNS runs.
  best_py=""
  for n in $PY_PROCS; do
    start=$(now)
    for ((i = 0; i < n; i++)); do
      py bench/gpu/eager_bench.py --device "$(gpu 0)" --grid-runs "$PY_RUNS" --grid-epochs "$GRID_EPOCHS" \
        "$WORK/dumps/B0-32.json" >"$WORK/py-procs-$n-$i.jsonl" 2>&1 &
    done
    wait
    wall=$(elapsed "$start")
    done_runs=$(cat "$WORK"/py-procs-"$n"-*.jsonl | grep -c '"python-grid"')
    [ "$done_runs" = "$n" ] || fail "python eager in $n processes: $done_runs of $n finished"
    scaled=$(awk -v w="$wall" -v n="$n" -v r="$PY_RUNS" -v t="$RUNS" 'BEGIN{printf "%.1f", w * t / (n * (r + 1))}')
    row "| $GPU_NAME | $RUNS-run B0 grid | Python eager loop in $n processes on cuda:0 ($((n * (PY_RUNS + 1))) runs in $wall s, x $RUNS) | $scaled s | | |"
    if [ -z "$best_py" ] || awk -v a="$scaled" -v b="$best_py" 'BEGIN{exit !(a < b)}'; then best_py=$scaled; best_n=$n; fi
  done
  best_w=$(printf '%s\n' "$seq_s" "$par_s" "$jobs_s" | sort -g | head -1)
  row "| $GPU_NAME | ratio at each side's best | Python eager, $best_n processes ($best_py s) / wmtp's best ($best_w s): **$(awk -v a="$best_py" -v b="$best_w" 'BEGIN{printf "%.1f", a/b}')x** | | | |"
fi

if has shards && [ "$GPUS" -ge 2 ]; then
  devices=$(for ((i = 0; i < GPUS; i++)); do printf '%s ' "$(gpu "$i")"; done)
  echo "== shards: one process per GPU ($devices)"
  multi_s=$(train_sharded multi "$devices")
  same=$(compare multi)
  row "| $GPU_NAME x$GPUS | $RUNS-run B0 grid | wmtp-train, one process per GPU (--shard i/$GPUS, $devices) | $multi_s s | $(awk -v a="$seq_s" -v b="$multi_s" 'BEGIN{printf "%.2f", a/b}')x | metrics vs one GPU: $same |"
  devices=$(for ((i = 0; i < GRID_PROCS; i++)); do printf '%s ' "$(gpu $((i % GPUS)))"; done)
  echo "== shards: $GRID_PROCS processes over $GPUS GPUs"
  multi_s=$(train_sharded multi-procs "$devices")
  same=$(compare multi-procs)
  row "| $GPU_NAME x$GPUS | $RUNS-run B0 grid | wmtp-train, $GRID_PROCS processes over $GPUS GPUs (--shard i/$GRID_PROCS) | $multi_s s | $(awk -v a="$seq_s" -v b="$multi_s" 'BEGIN{printf "%.2f", a/b}')x | metrics vs one GPU: $same |"
fi

echo "== table"
cat "$OUT/table.md" 2>/dev/null
# The device tool brings back at most 8 files: the table, verdict and report as they are, the
# rest (logs, JSON lines, one figure) in one archive.
(cd "$OUT" && cp "$WORK/smoke-loss_curves.png" . 2>/dev/null
  find . -maxdepth 1 -type f ! -name table.md ! -name wmtp-verdict.json ! -name smoke_report.md ! -name '*.tar.gz' \
    ! -name 'cli*.log' -printf '%f\n' | tar -czf wmtp-gpu.tar.gz --remove-files -T -)
exit "$failed"
