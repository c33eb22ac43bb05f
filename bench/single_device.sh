#!/usr/bin/env bash
# Single-device latency: coinfer vs ONNX Runtime vs PyTorch on the same ONNX
# export of each torchvision model, same thread count, side by side.
# Usage: bench/single_device.sh [RUNS] [MODELS...]   (default 15; vgg16 resnet34 mobilenet_v2)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-15}; shift || true
MODELS=${*:-vgg16 resnet34 mobilenet_v2}
bash scripts/setup.sh --with-bench >/dev/null
BIN=build/coinfer
TMP=$(mktemp -d /tmp/coinfer-bench-XXXX); trap 'rm -rf "$TMP"' EXIT
# Conv peak per core, GFLOP/s: the best single conv layer measured on this
# machine (oneDNN brgconv, vgg16 28x28x512 3x3: 203 GFLOP/s, ONEDNN_VERBOSE).
# NOTES.md's 116 is the AMD Zen 4 kind's figure. Override: PEAK=... bench/...
PEAK=${PEAK:-203}
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)   cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
printf "%-13s %3s %10s %10s %10s %9s %9s %8s %7s\n" model thr coinfer_ms ort_ms torch_ms vs_ort vs_torch GFLOP/s %peak
for m in $MODELS; do
  /usr/bin/python3 bench/torch_bench.py "$m" "$TMP/$m.onnx" 1 1 --export-only
  for t in 1 2; do
    # Interleave engines so they see the same machine load.
    c=$($BIN bench "$TMP/$m.onnx" --threads $t --runs "$RUNS" --json)
    o=$(node bench/node/ort_bench.js "$TMP/$m.onnx" $t "$RUNS" '[1,3,224,224]')
    p=$(/usr/bin/python3 bench/torch_bench.py "$m" "$TMP/$m.onnx" $t "$RUNS")
    /usr/bin/python3 - "$m" "$t" "$c" "$o" "$p" "$PEAK" <<'PY'
import json, sys
m, t, c, o, p, peak = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3]), json.loads(sys.argv[4]), json.loads(sys.argv[5]), float(sys.argv[6])
cm, om, pm = c["latency_ms"]["median"], o["median_ms"], p["median_ms"]
print(f"{m:13s} {t:3d} {cm:10.2f} {om:10.2f} {pm:10.2f} {cm/om:8.2f}x {cm/pm:8.2f}x {c['gflops']:8.1f} {100*c['gflops']/(peak*t):6.0f}%")
PY
  done
done
echo "vs_ort = coinfer latency / ONNX Runtime latency (target <= 1.05 on vgg16 and resnet34, <= 1.5 on mobilenet_v2)"
