#!/usr/bin/env bash
# wmtp-plan (core and experiment, no LibTorch) prints byte for byte the contract that
# `wmtp-train --print-contract` prints: the built-in smoke plan, a CSV plan with an external cell,
# a shard, another pre-registration and experiment. Then its --help, --version and input errors.
# Usage: plan_contract_test.sh <bin dir> <project dir>
set -euo pipefail
bin=$(cd "$1" && pwd)
root=$(cd "$2" && pwd)
work=$(mktemp -d /tmp/wmtp-plan.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "plan_contract_test: FAIL: $*" >&2; exit 1; }
cd "$work"
cp "$root"/examples/python/{plan.json,linear.json,load.csv} .
! ldd "$bin/wmtp-plan" | grep -qi torch || fail "wmtp-plan links LibTorch"

same() {  # plan ("" for the built-in smoke plan), then flags both tools take
  local plan=$1
  shift
  "$bin/wmtp-train" ${plan:+--plan "$plan"} "$@" --print-contract >train.json || fail "wmtp-train $plan $* failed"
  "$bin/wmtp-plan" ${plan:+"$plan"} "$@" --print-contract >plan-tool.json || fail "wmtp-plan $plan $* failed"
  cmp -s train.json plan-tool.json || { diff train.json plan-tool.json | head -20 >&2; fail "contracts differ: $plan $*"; }
  [ -s plan-tool.json ] || fail "empty contract: $plan $*"
  [ ! -e wmtp-ledger.sqlite ] || fail "--print-contract created a ledger"
}
same ""
same "" --shard 2/4
same plan.json
same plan.json --shard 2/2
same plan.json --prereg "$root/configs/prereg/smoke.json" --experiment other
WMTP_SHARD=1/2 same plan.json --shard auto

"$bin/wmtp-plan" plan.json >names.txt || fail "wmtp-plan plan.json failed"
[ "$(cat names.txt)" = "$(printf 'LIN-house-a-s7\nLIN-house-b-s7')" ] || fail "run names: $(cat names.txt)"
"$bin/wmtp-plan" --help | grep -q -- "--print-contract" || fail "--help does not name --print-contract"
"$bin/wmtp-plan" --version | grep -q "^wmtp-plan [0-9]" || fail "--version: $("$bin/wmtp-plan" --version)"

expect_input_error() {  # message, arguments...
  local message=$1 status=0
  shift
  "$bin/wmtp-plan" "$@" >out.txt 2>err.txt || status=$?
  [ "$status" = 2 ] || fail "wmtp-plan $* exited $status, expected 2"
  grep -qF -- "$message" err.txt || fail "wmtp-plan $*: expected '$message' in: $(cat err.txt)"
  [ ! -s out.txt ] || fail "wmtp-plan $* printed to stdout"
}
expect_input_error "--shard '3/2': expected i/n" plan.json --shard 3/2
expect_input_error "missing.json" missing.json
expect_input_error "--shard-count is only read with --shard auto" plan.json --shard-count 2
echo "plan_contract_test: passed"
