#!/usr/bin/env bash
# The consumer check: builds this project against an installed wmtp, logs a run through
# wmtp::tracking (log_run, the README example) into a ledger and, when a tracking URI is given,
# into that MLflow server too, audits it with the installed wmtp-audit and reads the run and the
# verdict back through wmtp::tracking and wmtp::gates (read_back). A hand-made run fails gates
# (no plan, hashes or figures): the audit must exit 1 with a verdict that lists the run.
#   tests/consumer/run.sh PREFIX WORKDIR [TRACKING_URI]
# PREFIX: where wmtp is installed (bin/wmtp-audit, lib/cmake/wmtp). Exit 0 when every check holds,
# 1 with a "consumer: FAIL ..." line naming the first that does not, 2 on usage.
set -euo pipefail
if [ $# -lt 2 ] || [ $# -gt 3 ]; then
  echo "usage: tests/consumer/run.sh PREFIX WORKDIR [TRACKING_URI]" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
prefix=$(cd "$1" && pwd)
work=$2
uri=${3:-}
fail() { echo "consumer: FAIL $*" >&2; exit 1; }
rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$here" -B "$work/build" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" "${launcher[@]}" >"$work/configure.log" ||
  { cat "$work/configure.log" >&2; fail "cmake could not configure tests/consumer against $prefix"; }
cmake --build "$work/build" -j "$(nproc)" >"$work/build.log" ||
  { tail -40 "$work/build.log" >&2; fail "tests/consumer did not build against $prefix"; }
grep -q "wmtp .* from $prefix/" "$work/configure.log" || fail "find_package(wmtp) did not pick $prefix"

version=$("$prefix/bin/wmtp-audit" --version | head -1 | cut -d' ' -f2)
[ -n "$version" ] || fail "wmtp-audit --version printed no version"

# check STORE RUN_ID VERDICT: the run was read back with its param and metrics, and the verdict
# of the installed wmtp-audit (its version) lists it.
check() {
  local facts
  facts=$("$work/build/read_back" "$1" my-experiment "$2" "$3" "$work/cache") || fail "read_back $1"
  echo "consumer: $1: $facts" >&2
  for want in "status=FINISHED" "model=my-model" "val_loss_points=3" "test_pape=12.5" "found=1" "in_verdict=1" \
    "verdict_tool=wmtp-audit/$version" "library=$version"; do
    [[ " $facts " == *" $want "* ]] || fail "$1: expected $want in: $facts"
  done
}

# audit ARGS...: the installed wmtp-audit; a hand-made run must FAIL (1), not be unreadable (2, 3).
audit() {
  local rc=0
  (cd "$work" && env -u GITHUB_STEP_SUMMARY -u CI "$prefix/bin/wmtp-audit" --experiment my-experiment --quiet "$@") ||
    rc=$?
  [ "$rc" = 1 ] || fail "wmtp-audit $* exited $rc (expected 1: the hand-made run fails gates)"
}

out=$("$work/build/log_run" "$work/ledger.sqlite" "")
[[ "$out" == *" ledger" ]] || fail "log_run (ledger only) printed: $out"
audit --ledger "$work/ledger.sqlite" --out "$work/verdict-ledger.json"
check "$work/ledger.sqlite" "${out% *}" "$work/verdict-ledger.json"

if [ -n "$uri" ]; then
  out=$("$work/build/log_run" "$work/ledger-mlflow.sqlite" "$uri")
  [[ "$out" == *" ledger+mlflow" ]] || fail "log_run did not reach MLflow at $uri: $out"
  audit --tracking-uri "$uri" --artifact-cache "$work/cache" --out "$work/verdict-mlflow.json"
  check "$uri" "${out% *}" "$work/verdict-mlflow.json"
fi
echo "consumer: OK (wmtp $version from $prefix${uri:+, MLflow $uri})" >&2
