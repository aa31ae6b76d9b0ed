#!/usr/bin/env bash
# The whole test suite: set-up (packages + build), then every test via CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cd "${BUILD_DIR:-build}"
# Tests that build clusters lock one resource, so -j only overlaps unit tests.
ctest --output-on-failure --timeout 900 -j2 "$@"
