#!/usr/bin/env bash
# Sets up everything (Debian packages, build) and runs all tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
ctest --test-dir build --output-on-failure -j2 --timeout 1200
