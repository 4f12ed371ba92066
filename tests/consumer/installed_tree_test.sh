#!/usr/bin/env bash
# ctest consumer_installed_tree (labels server slow): installs this build tree with
# cmake --install into <build>/consumer-test/prefix and runs tests/consumer/run.sh against it
# and the MLflow server of scripts/test (WMTP_TEST_TRACKING_URI).
#   tests/consumer/installed_tree_test.sh BUILD_DIR
set -euo pipefail
build=$1
if [ -z "${WMTP_TEST_TRACKING_URI:-}" ]; then
  echo "consumer_installed_tree: WMTP_TEST_TRACKING_URI is not set (run it through scripts/test)" >&2
  exit 1
fi
scratch="$build/consumer-test"
rm -rf "$scratch"
cmake --install "$build" --prefix "$scratch/prefix" >"$scratch.install.log" 2>&1 ||
  { cat "$scratch.install.log" >&2; exit 1; }
for f in bin/wmtp-audit bin/wmtp-report bin/wmtp-sync lib/cmake/wmtp/wmtpConfig.cmake \
  lib/cmake/wmtp/wmtpConfigVersion.cmake include/wmtp/tracking/tracker.h share/wmtp/schemas/verdict.schema.json \
  share/wmtp/configs/prereg/smoke.json; do
  [ -e "$scratch/prefix/$f" ] || { echo "consumer_installed_tree: cmake --install did not install $f" >&2; exit 1; }
done
# Private headers stay private.
for f in include/wmtp/tracking/mlflow_client.h include/wmtp/core/embedded.h include/wmtp/experiment/json_schema.h; do
  [ ! -e "$scratch/prefix/$f" ] || { echo "consumer_installed_tree: private header $f was installed" >&2; exit 1; }
done
exec "$(dirname "$0")/run.sh" "$scratch/prefix" "$scratch/work" "$WMTP_TEST_TRACKING_URI"
