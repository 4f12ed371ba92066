#!/usr/bin/env bash
# ctest consumer_readme_example (unit): the README's "Use the tracking library from C++" block is
# tests/consumer/log_run.cpp byte for byte, so the example users copy is the one CI compiles.
#   tests/consumer/readme_test.sh SOURCE_DIR
set -euo pipefail
root=$1
marker='<!-- tests/consumer/log_run.cpp: kept equal by ctest consumer_readme_example -->'
block=$(awk -v m="$marker" '$0 == m {on = 1; next} on && /^```cpp$/ {inside = 1; next}
  inside && /^```$/ {exit} inside {print}' "$root/README.md")
if [ -z "$block" ]; then
  echo "consumer_readme_example: README.md has no \`\`\`cpp block after the line: $marker" >&2
  exit 1
fi
if ! diff -u "$root/tests/consumer/log_run.cpp" <(printf '%s\n' "$block"); then
  echo "consumer_readme_example: README.md's C++ example differs from tests/consumer/log_run.cpp (above)" >&2
  exit 1
fi
