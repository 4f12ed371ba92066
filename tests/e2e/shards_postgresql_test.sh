#!/usr/bin/env bash
# Shards as separate machines, into MLflow on PostgreSQL: 8 wmtp-train --shard i/8 processes at
# once, each with its own ledger directory, into a PostgreSQL-backed server (scripts/mlflow-server
# start --backend postgresql) that is restarted twice while they run; then wmtp-sync of each
# ledger and the audit from MLflow: ALL PASS, every planned run once, 0 points lost or duplicated
# (points_vs_ledgers.py). The same plan trained offline and audited over its 8 ledgers at once
# gives the same verdict (generated_at, source, where the figures were read, the random local run
# ids and the MLflow run ids aside); the online ledgers audited as one give MLflow's verdict (generated_at, source and
# where the figures were read aside).
# Usage: shards_postgresql_test.sh <bin dir> <project dir>; the MLflow venv: WMTP_TEST_PYTHON's.
set -euo pipefail
bin=$1
root=$2
python=${WMTP_TEST_PYTHON:?WMTP_TEST_PYTHON (the MLflow venv python) is not set: run through scripts/test}
export WMTP_MLFLOW_VENV
WMTP_MLFLOW_VENV=$(dirname "$(dirname "$python")")
work=$(mktemp -d /tmp/wmtp-shards.XXXXXX)
export WMTP_MLFLOW_STATE=$work/server
cleanup() {
  local pid
  for pid in $(jobs -p); do kill "$pid" 2>/dev/null || true; done
  bash "$root/scripts/mlflow-server" stop || true
  if [ "${WMTP_KEEP_WORK:-0}" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
say() { echo "[$SECONDS s] $*"; }
fail() { echo "shards_postgresql_test: FAIL: $*" >&2; exit 1; }
cd "$work"
shards=8
experiment=shards-pg
train_args=(--epochs 5 --quiet --experiment "$experiment" --threads 1)

uri=$(bash "$root/scripts/mlflow-server" start --backend postgresql)
grep -q '^postgresql' "$WMTP_MLFLOW_STATE/backend_uri" || fail "the server is not on PostgreSQL"
say "server: $uri on $(cat "$WMTP_MLFLOW_STATE/backend_uri")"

pids=()
for i in $(seq 1 $shards); do
  mkdir -p "online/$i"
  (cd "online/$i" && MLFLOW_TRACKING_URI=$uri exec "$bin/wmtp-train" --shard "$i/$shards" --sync-wait 600 \
    "${train_args[@]}" >train.log 2>&1) &
  pids+=($!)
done
alive() { local n=0 p; for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && n=$((n + 1)); done; echo $n; }
for r in 1 2; do
  sleep 2
  n=$(alive)
  [ "$n" -gt 0 ] || fail "restart $r: no trainer is running any more (make the plan longer)"
  say "restart $r while $n trainer(s) run"
  bash "$root/scripts/mlflow-server" restart >/dev/null
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
[ $status = 0 ] || { tail -5 online/*/train.log >&2; fail "a trainer failed"; }

say "trainers done"
ledgers=()
for i in $(seq 1 $shards); do
  "$bin/wmtp-sync" --ledger "online/$i/wmtp-ledger.sqlite" --tracking-uri "$uri" >/dev/null
  ledgers+=("online/$i/wmtp-ledger.sqlite")
done
say "synced"
"$python" "$root/tests/e2e/points_vs_ledgers.py" "$uri" "$experiment" "${ledgers[@]}" ||
  fail "MLflow and the ledgers disagree"
"$bin/wmtp-audit" --tracking-uri "$uri" --experiment "$experiment" --artifact-cache cache -o mlflow.json 2>audit.log ||
  { cat audit.log >&2; fail "the audit from MLflow did not pass"; }
grep -q "overall: ALL PASS" audit.log || fail "no ALL PASS from MLflow"
"$bin/wmtp-audit" --experiment "$experiment" --ledger online -o online.json 2>/dev/null ||
  fail "the online ledgers audited as one did not pass"

say "audited"
for i in $(seq 1 $shards); do
  mkdir -p "offline/$i"
  (cd "offline/$i" && env -u MLFLOW_TRACKING_URI WMTP_SHARD="$i/$shards" "$bin/wmtp-train" --shard auto \
    "${train_args[@]}" >train.log 2>&1) &
done
wait
offline_ledgers=()
for i in $(seq 1 $shards); do offline_ledgers+=(--ledger "offline/$i/wmtp-ledger.sqlite"); done
"$bin/wmtp-audit" --experiment "$experiment" "${offline_ledgers[@]}" -o offline.json 2>/dev/null ||
  fail "the offline ledgers audited as one did not pass"

say "offline trained and audited"
"$python" - mlflow.json online.json offline.json <<'PY'
import json, sys
def load(path, drop_ids):
    v = json.load(open(path))
    v.pop("generated_at"); v.pop("source")
    # Figures are read from the artifact cache or a ledger's store: <where>/<local id>/figures/<file>.
    keep = 2 if drop_ids else 3
    for run in v["runs"]:
        run["figures"] = ["/".join(f.split("/")[-keep:]) for f in run["figures"]]
    def strip(x):
        if isinstance(x, dict):
            # Only an MLflow audit links to the UI.
            return {k: strip(y) for k, y in x.items()
                    if k != "mlflow_url" and not (drop_ids and k in ("run_id", "mlflow_run_id"))}
        if isinstance(x, list):
            return [strip(y) for y in x]
        return x
    # The plan's parent runs (one per shard), in name order whatever source listed them.
    v["containers"] = sorted(v.get("containers", []), key=lambda c: c["run_name"])
    return strip(v)
mlflow, online, offline = sys.argv[1:]
if load(mlflow, False) != load(online, False):
    sys.exit("shards_postgresql_test: FAIL: MLflow's verdict and the online ledgers' differ")
if load(mlflow, True) != load(offline, True):
    sys.exit("shards_postgresql_test: FAIL: MLflow's verdict and the offline ledgers' differ")
print("verdicts: MLflow = online ledgers = offline ledgers (generated_at, source, figure folders and run ids aside)")
PY
echo "shards_postgresql_test: PASS"
