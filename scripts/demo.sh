#!/usr/bin/env bash
# Sets up everything (Debian packages, build) and runs the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build/coinfer demo "$@"
