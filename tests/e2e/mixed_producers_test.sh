#!/usr/bin/env bash
# Mixed producers: one plan, two producers, one experiment. The plan (2 series x cells B0, B2 x 1
# seed, on a CSV) is cut in two shards: shard 1/2 is every B0 run, shard 2/2 every B2 run. The
# seeds' Python pipeline (python_producer.py: PyTorch models, the official MLflow client, a Python
# parent run with no params) logs shard 1/2 from `wmtp-train --print-contract`, computing the data
# hashes, scaler signature, golden check, figures and seal itself; wmtp-train logs shard 2/2. The
# audit from MLflow must gate all four runs alike (both parents are containers) and say ALL PASS.
# Then the same again into a second experiment with one Python run's train_data_hash left out:
# G6 must fail, naming that run, as it would for a wmtp run.
# Usage: mixed_producers_test.sh <bin dir> <project dir>; needs WMTP_TEST_TRACKING_URI (scripts/test's
# server) and WMTP_TEST_PIPELINE_PYTHON (scripts/pipeline-venv: torch, mlflow-skinny, matplotlib).
set -euo pipefail
bin=$1
root=$2
uri=${WMTP_TEST_TRACKING_URI:?WMTP_TEST_TRACKING_URI (the test MLflow server) is not set: run through scripts/test}
python=${WMTP_TEST_PIPELINE_PYTHON:?WMTP_TEST_PIPELINE_PYTHON (scripts/pipeline-venv) is not set: run through scripts/test}
work=$(mktemp -d /tmp/wmtp-mixed.XXXXXX)
cleanup() { if [ "${WMTP_KEEP_WORK:-0}" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi; }
trap cleanup EXIT
fail() { echo "mixed_producers_test: FAIL: $*" >&2; exit 1; }
say() { echo "[$SECONDS s] $*"; }
cd "$work"

# 120 days of hourly load for two households: a daily shape, a weekly swing and noise (seeded).
"$python" - <<'EOF'
import numpy as np
rng = np.random.default_rng(7)
hours = np.arange(120 * 24)
with open("load.csv", "w") as f:
    f.write("timestamp,series,value\n")
    for name, base in (("house-a", 0.6), ("house-b", 1.1)):
        daily = 0.5 + 0.4 * np.sin(2 * np.pi * (hours % 24 - 7) / 24) ** 2
        weekly = 1.0 + 0.15 * (hours // 24 % 7 >= 5)
        load = base * daily * weekly + rng.gamma(2.0, 0.05, hours.size)
        start = np.datetime64("2024-01-01T00:00")
        for h, v in zip(hours, load):
            f.write("%sZ,%s,%.4f\n" % (start + np.timedelta64(int(h), "h"), name, v))
EOF

run_id=$$-$(date +%s)
write_plan() {  # experiment name
  cat >plan.json <<EOF
{
  "name": "mixed",
  "description": "One plan, two producers: B0 by the Python pipeline, B2 by wmtp-train.",
  "experiment": "$1",
  "data": {"kind": "csv", "path": "load.csv", "unit": "kW"},
  "series": ["house-a", "house-b"],
  "cells": [
    {"name": "B0", "recipe": "B0", "use_vq": false},
    {"name": "B2", "recipe": "B2", "use_vq": false}
  ],
  "seeds": [7]
}
EOF
}
train_args=(--plan plan.json --epochs 6 --quiet --tracking-uri "$uri" --threads 1)

produce() {  # experiment, extra producer flags...
  local experiment=$1
  shift
  write_plan "$experiment"
  "$bin/wmtp-train" "${train_args[@]}" --shard 1/2 --print-contract >contract.json
  [ ! -e wmtp-ledger.sqlite ] || fail "--print-contract created a ledger"
  "$python" - contract.json <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
cells = sorted({r["params"]["cell"] for r in c["runs"]})
assert c["planned"] == 4 and cells == ["B0"] and len(c["runs"]) == 2, (c["planned"], cells)
EOF
  "$python" "$root/tests/e2e/python_producer.py" contract.json --csv load.csv --tracking-uri "$uri" \
    --golden "$root/schemas/golden/golden.json" "$@" >producer.log || fail "the Python producer failed"
  "$bin/wmtp-train" "${train_args[@]}" --shard 2/2 --ledger "ledger-$experiment.sqlite" >train.log 2>&1 ||
    { cat train.log >&2; fail "wmtp-train failed"; }
}

audit() {  # experiment: verdict.json, audit.log and the exit status in $status
  status=0
  "$bin/wmtp-audit" --experiment "$1" --tracking-uri "$uri" --source mlflow -o verdict.json \
    --artifact-cache cache >audit.log 2>&1 || status=$?
}

experiment=mixed-$run_id
say "experiment $experiment: Python B0 runs, wmtp B2 runs"
produce "$experiment"
audit "$experiment"
"$python" - verdict.json "$status" <<'EOF' || { cat audit.log >&2; fail "the mixed experiment is not ALL PASS"; }
import json, sys
v = json.load(open(sys.argv[1]))
status = int(sys.argv[2])
runs = v["runs"]
producers = sorted(r["run_name"] for r in runs)
containers = v["containers"]
print("overall", v["overall"], "exit", status, "runs", producers, "containers", [c["run_name"] for c in containers])
assert status == 0 and v["overall"] == "ALL PASS", (status, v["overall"])
assert producers == ["B0-house-a-s7", "B0-house-b-s7", "B2-house-a-s7", "B2-house-b-s7"], producers
assert len(containers) == 2, containers
for gate in v["gates"]:
    assert gate["status"] in ("PASS", "SKIPPED"), (gate["id"], gate["status"])
EOF

experiment=mixed-omit-$run_id
say "experiment $experiment: B0-house-b-s7 logged by Python without train_data_hash"
produce "$experiment" --omit-param B0-house-b-s7:train_data_hash
audit "$experiment"
"$python" - verdict.json "$status" <<'EOF' || { cat audit.log >&2; fail "the missing hash did not fail G6"; }
import json, sys
v = json.load(open(sys.argv[1]))
status = int(sys.argv[2])
g6 = next(g for g in v["gates"] if g["id"] == "G6")
print("overall", v["overall"], "exit", status, "G6", g6["status"])
assert status == 1 and v["overall"] == "FAIL" and g6["status"] == "FAIL", (status, v["overall"], g6["status"])
failing = {r["run_name"] for r in g6["results"] if r["status"] == "FAIL"}
print("G6 fails", sorted(failing))
assert failing == {"B0-house-b-s7"}, failing
EOF
say "passed"
