#!/usr/bin/env bash
# Planning time of `coinfer plan --strategy pico` (and pico-paper) for every
# zoo model on 8 devices (examples/clusters/pico-8rpi.json) and on two
# synthetic 32-device clusters: hetero-32 (4 speed classes x 8, one shared
# 100 Mbps medium) and distinct-32 (32 different speeds and access links, so
# no two devices are interchangeable: the local search's worst case). Targets:
# < 1 s on 8 devices, < 10 s on 32. Prints one line per (cluster, model,
# strategy) with the predicted closed-loop throughput.
# Usage: bench/planning_time.sh [path/to/coinfer]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bin="${1:-$here/build/coinfer}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

python3 - "$tmp/hetero-32.json" <<'PY'
import json, sys
speeds = [0.125, 0.25, 0.5, 1.0]
devs = [{"name": f"d{i}", "threads": 1, "memory": "2GiB", "speed": speeds[i % 4]}
        for i in range(32)]
spec = {"name": "hetero-32", "description": "32 synthetic devices, speeds 1:2:4:8 x 8",
        "source": "external", "default_bandwidth": "100Mbps", "default_latency": "1ms",
        "shared_medium": True, "medium_bandwidth": "100Mbps", "devices": devs}
json.dump(spec, open(sys.argv[1], "w"), indent=1)
PY
python3 - "$tmp/distinct-32.json" <<'PY'
import json, sys
devs = [{"name": f"d{i}", "threads": 1, "memory": "2GiB", "speed": round(0.1 + 0.03 * i, 3),
         "link": f"{50 + 10 * i}Mbps"} for i in range(32)]
spec = {"name": "distinct-32", "description": "32 devices, all speeds and links different",
        "source": "external", "default_bandwidth": "100Mbps", "default_latency": "1ms",
        "devices": devs}
json.dump(spec, open(sys.argv[1], "w"), indent=1)
PY

models=$("$bin" zoo list 2>/dev/null | awk '{print $1}' | grep -v '^$' || true)
if [ -z "$models" ]; then
  models="vgg16 resnet18 resnet34 resnet50 mobilenet_v2 alexnet googlenet squeezenet1_0 yolov2 yolov2_tiny"
fi
printf "%-13s %-16s %-11s %12s %10s %10s\n" cluster model strategy planning_ms stages fps
for cluster in "$here/examples/clusters/pico-8rpi.json" "$tmp/hetero-32.json" "$tmp/distinct-32.json"; do
  cname=$(basename "$cluster" .json)
  for m in $models; do
    for s in pico pico-paper; do
      out=$("$bin" plan --model "zoo:$m" --cluster "$cluster" --strategy "$s" --frames 100 --json 2>/dev/null) || {
        printf "%-13s %-16s %-11s %12s\n" "$cname" "$m" "$s" failed; continue; }
      python3 -c '
import json, sys
j = json.loads(sys.argv[1])
print("%-13s %-16s %-11s %12.1f %10d %10.3f" % (sys.argv[2], sys.argv[3], sys.argv[4],
      j["planning_ms"], len(j["plan"]["stages"]), j["predicted"]["throughput_fps"]))' \
        "$out" "$cname" "$m" "$s"
    done
  done
done
