#!/usr/bin/env bash
# ctest consumer_installed_tree (labels server slow): installs this build tree's wmtp component
# (what the wmtp .deb holds) with cmake --install into <build>/consumer-test/prefix and runs tests/consumer/run.sh against it
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
mkdir -p "$scratch"
cmake --install "$build" --prefix "$scratch/prefix" --component wmtp >"$scratch/install.log" 2>&1 ||
  { cat "$scratch/install.log" >&2; exit 1; }
echo "consumer_installed_tree: installed $(find "$scratch/prefix" -type f | wc -l) files into $scratch/prefix" >&2
for f in bin/wmtp-audit bin/wmtp-report bin/wmtp-sync bin/wmtp-plan lib/cmake/wmtp/wmtpConfig.cmake \
  lib/cmake/wmtp/wmtpConfigVersion.cmake include/wmtp/tracking/tracker.h share/wmtp/schemas/verdict.schema.json \
  share/wmtp/configs/prereg/smoke.json share/wmtp/schemas/golden/golden.json; do
  [ -e "$scratch/prefix/$f" ] || { echo "consumer_installed_tree: cmake --install did not install $f" >&2; exit 1; }
done
# Private headers stay private; wmtp-train (LibTorch) is in the train component only.
for f in include/wmtp/tracking/mlflow_client.h include/wmtp/core/embedded.h include/wmtp/experiment/json_schema.h \
  include/wmtp/report bin/wmtp-train lib/libwmtp_trainer.a lib/libwmtp_report.a; do
  [ ! -e "$scratch/prefix/$f" ] || { echo "consumer_installed_tree: $f was installed (private, or not in the wmtp component)" >&2; exit 1; }
done
exec "$(dirname "$0")/run.sh" "$scratch/prefix" "$scratch/work" "$WMTP_TEST_TRACKING_URI"
