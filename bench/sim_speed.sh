#!/usr/bin/env bash
# Simulator speed: 10,000 frames of resnet50 on a 64-device cluster (target
# < 5 s), for a pipelined plan (pico) and a split-everything plan (modnn).
# Usage: bench/sim_speed.sh [FRAMES]
set -euo pipefail
cd "$(dirname "$0")/.."
FRAMES=${1:-10000}
BIN=build/coinfer
TMP=$(mktemp -d /tmp/coinfer-bench-XXXX); trap 'rm -rf "$TMP"' EXIT
/usr/bin/python3 - "$TMP/c64.json" <<'PY'
import json, sys
speeds = [0.02, 0.04, 0.08, 0.16]
devs = [{"name": f"d{i}", "threads": 1, "memory": "4GiB", "speed": speeds[i % 4],
         "link": ["100Mbps", "200Mbps"][i % 2]} for i in range(64)]
json.dump({"name": "hetero-64", "devices": devs, "default_bandwidth": "200Mbps"}, open(sys.argv[1], "w"))
PY
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
for s in pico modnn; do
  t0=$(date +%s.%N)
  $BIN plan --model zoo:resnet50 --cluster "$TMP/c64.json" --strategy $s -o "$TMP/$s.json" >/dev/null 2>&1
  t1=$(date +%s.%N)
  $BIN simulate --model zoo:resnet50 --cluster "$TMP/c64.json" --plan "$TMP/$s.json" \
      --frames "$FRAMES" --in-flight 16 --json > "$TMP/$s.out" 2>/dev/null
  t2=$(date +%s.%N)
  /usr/bin/python3 - "$s" "$t0" "$t1" "$t2" "$TMP/$s.out" "$TMP/$s.json" "$FRAMES" <<'PY'
import json, sys
s, t0, t1, t2, out, plan, frames = sys.argv[1:]
r = json.load(open(out)); p = json.load(open(plan))
parts = sum(len(st["parts"]) for st in p["stages"])
print(f"{s:6s} {len(p['stages']):3d} stages {parts:4d} parts: plan {float(t1)-float(t0):6.2f} s, "
      f"simulate {frames} frames {float(t2)-float(t1):6.2f} s (incl. model build), "
      f"{r['throughput_fps']:.2f} fps predicted")
PY
done
