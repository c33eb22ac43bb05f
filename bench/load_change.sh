#!/usr/bin/env bash
# Load change on the local emulated testbed (issue 8): local-4 (4 workers at
# 25% of a core, 1 Gbps), arrivals in three phases LOW -> HIGH -> LOW
# (PHASES, FRAMES@RATE), MODEL with this machine's measured profile. Runs the
# same stream three times: adaptive apico (switches between PICO's pipeline
# and the one-stage aofl plan by measured load), and each mode fixed (the
# adaptive runner with strategy pico / aofl and drift checks off). Prints the
# mean response time (arrival -> result) of each phase for the three, and the
# adaptive run's ratio to the better fixed plan (target: within 10%).
# Needs root. Usage: bench/load_change.sh [MODEL] [PHASES]
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-resnet18}; PHASES=${2:-40@2,240@12,40@2}
echo "load change: $MODEL, phases $PHASES (frames@rate), local-4 testbed"
source bench/testbed_env.sh loadchange
$BIN profile device --model zoo:$MODEL -o "$TMP/profile.json" --points 5 --repeats 3 >/dev/null 2>&1
testbed_up examples/clusters/local-4.json
for s in apico pico aofl; do
  extra=""; [ $s != apico ] && extra="--drift 100 --link-drop 1e6"
  $BIN run --adaptive --key "$KEY" --model zoo:$MODEL --cluster "$LIVE" --profile "$TMP/profile.json" \
    --strategy $s --phases "$PHASES" --json --timeout 120 $extra > "$TMP/$s.json" 2> "$TMP/$s.err" || true
done
/usr/bin/python3 - "$TMP" "$PHASES" <<'PY'
import json, sys
tmp, phases = sys.argv[1], [(int(a), float(b)) for a, b in (p.split("@") for p in sys.argv[2].split(","))]
arr, bounds, t = [], [], 0.0
for n, r in phases:
    bounds.append((len(arr), len(arr) + n))
    for _ in range(n):
        arr.append(t); t += 1 / r
def phase_means(name):
    r = json.load(open(f"{tmp}/{name}.json"))
    out = []
    for lo, hi in bounds:
        lat = [r["done_s"][f] - arr[f] for f in range(lo, hi) if r["done_s"][f] >= 0]
        out.append(1e3 * sum(lat) / len(lat) if lat else float("nan"))
    return r, out
runs = {s: phase_means(s) for s in ["apico", "pico", "aofl"]}
print("switches of the adaptive run:")
for s in runs["apico"][0]["switches"]:
    print(f"  t={s['at_s']:7.2f} s  {s['reason']}\n             -> {s['plan'][:80]} (deployed in {s['deploy_s']:.2f} s)")
print(f"{'phase':>16s} {'adaptive ms':>12s} {'pico ms':>10s} {'aofl ms':>10s} {'adaptive/best':>14s}")
for i, (n, r) in enumerate(phases):
    a, p, o = (runs[s][1][i] for s in ["apico", "pico", "aofl"])
    print(f"{f'{n} @ {r:g}/s':>16s} {a:12.1f} {p:10.1f} {o:10.1f} {a / min(p, o):13.2f}x")
for s in ["apico", "pico", "aofl"]:
    r = runs[s][0]
    print(f"{s}: completed {r['completed']}/{r['frames']}, failed {r['failed']}")
PY
