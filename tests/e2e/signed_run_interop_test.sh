#!/usr/bin/env bash
# A run signed by `wmtp-train --signing-key` verifies with OpenSSF's own `model_signing verify key`
# on its artifacts as stored (the ledger's artifact folder, the layout MLflow's artifact download
# gives), and a changed checkpoint fails it; no line of the private key is in the ledger, its
# artifacts or the output; a group-readable key is exit 2 before anything trains.
# model_signing comes from $WMTP_TEST_MODEL_SIGNING (scripts/test sets it); without it the test fails.
# Usage: signed_run_interop_test.sh WMTP_TRAIN
set -euo pipefail
train=$1
ms=${WMTP_TEST_MODEL_SIGNING:-}
if [ -z "$ms" ] || [ ! -x "$ms" ]; then
  echo "FAIL: WMTP_TEST_MODEL_SIGNING must name the model_signing CLI (run through scripts/test)" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out key.pem 2>/dev/null
chmod 600 key.pem
openssl pkey -in key.pem -pubout -out key.pub

# One run of the smoke plan (shard 1 of 18), 5 epochs.
env -u MLFLOW_TRACKING_URI "$train" --quiet --signing-key key.pem --ledger l.sqlite --shard 1/18 --epochs 5 >train.out
sig=$(find l.artifacts -path '*/wmtp/run.sig' | head -1)
[ -n "$sig" ] || { echo "FAIL: no wmtp/run.sig in the ledger's artifacts" >&2; exit 1; }
run=${sig%/wmtp/run.sig}
"$ms" verify key --signature "$sig" --public_key key.pub "$run" >verify.out 2>&1 ||
  { echo "FAIL: model_signing does not verify wmtp's signed run:" >&2; cat verify.out >&2; exit 1; }

# The private key never leaves its file: no base64 line of it in the ledger, its artifacts or the output.
grep -v -- '-----' key.pem >key.lines
if grep -r -F -f key.lines l.sqlite* l.artifacts train.out >/dev/null; then
  echo "FAIL: a line of the private key appears in the ledger, its artifacts or wmtp-train's output" >&2
  exit 1
fi

checkpoint=$(find "$run/checkpoints" -type f | head -1)
printf 'x' >>"$checkpoint"
if "$ms" verify key --signature "$sig" --public_key key.pub "$run" >verify.out 2>&1; then
  echo "FAIL: model_signing verified a run whose checkpoint changed" >&2
  exit 1
fi

chmod 644 key.pem
if env -u MLFLOW_TRACKING_URI "$train" --quiet --signing-key key.pem --ledger other.sqlite >refused.out 2>&1; then
  echo "FAIL: a group-readable key was accepted" >&2
  exit 1
else
  code=$?
fi
[ "$code" = 2 ] || { echo "FAIL: a group-readable key exited $code, not 2" >&2; exit 1; }
grep -q "chmod 600" refused.out || { echo "FAIL: the refusal does not say chmod 600:" >&2; cat refused.out >&2; exit 1; }
[ ! -e other.sqlite ] || { echo "FAIL: the ledger was created before the key was refused" >&2; exit 1; }
echo "signed run verified by model_signing; a changed checkpoint and a group-readable key refused"
