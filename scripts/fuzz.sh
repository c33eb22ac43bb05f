#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang++ with ASan + UBSan, in
# build-fuzz/) and runs each for SECONDS (default 60) from its seed corpus.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]   (targets: wire plan_json
#        cluster_json deploy_spec onnx; default all)
# Exit code 1 if any target crashed, leaked or timed out; the reproducer is
# in build-fuzz/artifacts/<target>/ (re-run: build-fuzz/fuzz/fuzz_<target> FILE).
# The corpus grows in build-fuzz/corpus/<target>/ (not committed; fuzz/seeds/
# are the committed seeds). docs/SECURITY.md has the details.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH=${1:-60}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(wire plan_json cluster_json deploy_spec onnx)
JOBS=${FUZZ_BUILD_JOBS:-2}

mkdir -p build-fuzz
t0=$(date +%s)
cmake -S . -B build-fuzz -DCOINFER_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo > build-fuzz/build.log 2>&1 || { cat build-fuzz/build.log; exit 1; }
cmake --build build-fuzz -j"$JOBS" >> build-fuzz/build.log 2>&1 || { tail -30 build-fuzz/build.log; exit 1; }
echo "fuzz build: $(( $(date +%s) - t0 )) s (log: build-fuzz/build.log)"

failed=()
printf '%-14s %8s %10s %8s %8s  %s\n' target seconds execs exec/s corpus result
for t in "${TARGETS[@]}"; do
  bin=build-fuzz/fuzz/fuzz_$t
  [ -x "$bin" ] || { echo "unknown target '$t'"; exit 2; }
  corpus=build-fuzz/corpus/$t
  art=build-fuzz/artifacts/$t
  mkdir -p "$corpus" "$art"
  seeds=fuzz/seeds/$t
  if [ "$t" = onnx ]; then  # tiny models made at fuzz time
    seeds=build-fuzz/seeds/onnx
    /usr/bin/python3 fuzz/make_onnx_seeds.py "$seeds"
  fi
  log=build-fuzz/$t.log
  dict=()
  [ -f "fuzz/$t.dict" ] && dict=(-dict="fuzz/$t.dict")
  rc=0
  # -rss_limit_mb / -malloc_limit_mb: an input that makes the parser allocate
  # more than 1 GiB counts as a bug (bounds come before allocations).
  "$bin" "$corpus" "$seeds" -max_total_time="$SECONDS_EACH" -timeout=10 \
    -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$art/" "${dict[@]}" > "$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  n=$(find "$corpus" -type f | wc -l)
  result=ok
  if [ $rc -ne 0 ]; then
    result="FAILED: $(grep -m1 -E '^==[0-9]+==ERROR|^SUMMARY|deadly signal|Timeout|out-of-memory' "$log" || echo "exit $rc") (see $log, $art)"
    failed+=("$t")
  fi
  printf '%-14s %8s %10s %8s %8s  %s\n' "$t" "$SECONDS_EACH" "${execs:-?}" "${rate:-?}" "$n" "$result"
done
[ ${#failed[@]} -eq 0 ] || { echo "crashes in: ${failed[*]}"; exit 1; }
