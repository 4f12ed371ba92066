#!/usr/bin/env bash
# Interop with OpenSSF's model signing, both ways, on P-256, P-384 and P-521 (and an encrypted
# key, wmtp signing): a directory signed by wmtp (tests/experiment/model_signing_tool) verifies with the real
# `model_signing verify key`; one signed by `model_signing sign key` verifies with wmtp's verifier;
# a changed file, or another key, fails both. model_signing comes from $WMTP_TEST_MODEL_SIGNING
# (scripts/test sets it from scripts/model-signing-venv); without it the test fails.
# Usage: model_signing_interop_test.sh TOOL
set -euo pipefail
tool=$1
ms=${WMTP_TEST_MODEL_SIGNING:-}
if [ -z "$ms" ] || [ ! -x "$ms" ]; then
  echo "FAIL: WMTP_TEST_MODEL_SIGNING must name the model_signing CLI (run through scripts/test, or" \
    "export WMTP_TEST_MODEL_SIGNING=\$(scripts/model-signing-venv)/bin/model_signing)" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
expect_ok() { local what=$1; shift; "$@" >"$work/out" 2>&1 || { fail "$what"; cat "$work/out" >&2; }; }
expect_refused() { local what=$1; shift; if "$@" >"$work/out" 2>&1; then fail "$what (accepted)"; fi; }

# A run's artifacts: nested files, a hidden one, names whose order differs between string and
# path-component sorting (sub/g, sub.txt), a binary file, an empty directory, git paths.
model="$work/model"
mkdir -p "$model/figures" "$model/checkpoints" "$model/sub" "$model/empty" "$model/wmtp" "$model/.git"
for i in 1 2 3 4; do echo "figure $i" >"$model/figures/fig_$i.png"; done
head -c 100000 /dev/urandom >"$model/checkpoints/last.pt"
printf '{"status":"FINISHED"}' >"$model/wmtp/seal.json"
echo g >"$model/sub/g"; echo s >"$model/sub.txt"; echo h >"$model/.hidden"; echo a >"$model/a-c"
echo "plan" >"$model/plan.json"; echo "ref: main" >"$model/.git/HEAD"

fresh() { rm -rf "$work/m"; cp -r "$model" "$work/m"; }

for curve in P-256 P-384 P-521; do
  key="$work/$curve.pem" pub="$work/$curve.pub" other="$work/$curve-other.pub"
  openssl genpkey -algorithm EC -pkeyopt "ec_paramgen_curve:$curve" -out "$key" 2>/dev/null
  chmod 600 "$key"
  openssl pkey -in "$key" -pubout -out "$pub"
  openssl genpkey -algorithm EC -pkeyopt "ec_paramgen_curve:$curve" 2>/dev/null | openssl pkey -pubout -out "$other"

  # (a) wmtp signs, model_signing verifies.
  fresh
  expect_ok "$curve: wmtp signs" "$tool" sign "$work/m" "$key" "$work/m/wmtp/run.sig"
  expect_ok "$curve: model_signing verifies wmtp's signature" \
    "$ms" verify key --signature "$work/m/wmtp/run.sig" --public_key "$pub" "$work/m"
  expect_refused "$curve: model_signing accepts wmtp's signature with another key" \
    "$ms" verify key --signature "$work/m/wmtp/run.sig" --public_key "$other" "$work/m"
  # (c) a changed file fails both verifiers.
  echo tampered >>"$work/m/sub/g"
  expect_refused "$curve: model_signing accepts a changed file" \
    "$ms" verify key --signature "$work/m/wmtp/run.sig" --public_key "$pub" "$work/m"
  expect_refused "$curve: wmtp accepts a changed file" "$tool" verify "$work/m" "$pub" "$work/m/wmtp/run.sig"

  # (b) model_signing signs, wmtp verifies.
  fresh
  expect_ok "$curve: model_signing signs" \
    "$ms" sign key --signature "$work/m/model.sig" --private_key "$key" "$work/m"
  expect_ok "$curve: wmtp verifies model_signing's signature" "$tool" verify "$work/m" "$pub" "$work/m/model.sig"
  expect_refused "$curve: wmtp accepts model_signing's signature with another key" \
    "$tool" verify "$work/m" "$other" "$work/m/model.sig"
  grep -q "not among the 1 trusted key" "$work/out" || fail "$curve: wmtp does not name the unknown key: $(cat "$work/out")"
  # (c) a changed file and a removed one fail both verifiers.
  rm "$work/m/figures/fig_2.png"
  expect_refused "$curve: wmtp accepts a missing file" "$tool" verify "$work/m" "$pub" "$work/m/model.sig"
  grep -q "missing: figures/fig_2.png" "$work/out" || fail "$curve: wmtp does not name the missing file: $(cat "$work/out")"
  expect_refused "$curve: model_signing accepts a missing file" \
    "$ms" verify key --signature "$work/m/model.sig" --public_key "$pub" "$work/m"
done

# Same directory, same files: both name the model by the same subject digest (sha256 over the
# file digests in pathlib's order, which sorts sub/g before sub.txt).
subject() {
  /usr/bin/python3 -c 'import base64, json, sys
b = json.load(open(sys.argv[1]))
print(json.loads(base64.b64decode(b["dsseEnvelope"]["payload"]))["subject"][0]["digest"]["sha256"])' "$1"
}
fresh
"$tool" sign "$work/m" "$work/P-256.pem" "$work/ours.sig" >/dev/null
"$ms" sign key --signature "$work/theirs.sig" --private_key "$work/P-256.pem" "$work/m" >/dev/null
[ "$(subject "$work/ours.sig")" = "$(subject "$work/theirs.sig")" ] ||
  fail "subject digests differ: wmtp $(subject "$work/ours.sig"), model_signing $(subject "$work/theirs.sig")"

# An encrypted key, wmtp to model_signing. The other way is not possible with 1.1.1: its
# `sign key --password` hands cryptography a str and fails ("Cannot convert ... to a buffer").
key="$work/enc.pem" pub="$work/enc.pub"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -aes-256-cbc -pass pass:interop-pw -out "$key" 2>/dev/null
chmod 600 "$key"
openssl pkey -in "$key" -passin pass:interop-pw -pubout -out "$pub"
fresh
expect_ok "encrypted key: wmtp signs" env WMTP_SIGNING_KEY_PASSWORD=interop-pw "$tool" sign "$work/m" "$key" "$work/m/run.sig"
expect_ok "encrypted key: model_signing verifies" \
  "$ms" verify key --signature "$work/m/run.sig" --public_key "$pub" "$work/m"

if [ "$failures" -gt 0 ]; then
  echo "model_signing interop: $failures failure(s)" >&2
  exit 1
fi
echo "model_signing interop: both ways on P-256, P-384, P-521; an encrypted key signing"
