#!/usr/bin/env bash
# CoEdge (ToN 2021) reproduction in simulation (issue 7): the CoEdge setting
# (examples/clusters/coedge-mixed.json: a Raspberry Pi 3 holding the camera,
# two Pi 4, a Jetson TX2 and a desktop, with power models) for alexnet, vgg16,
# googlenet and mobilenet_v2. For every strategy: one-frame latency and energy
# per frame (the simulator's one-frame run: `one_frame_latency_ms` and
# `energy_j_per_frame` of `coinfer plan --json`). coedge runs at the deadline
# D = 1.1 x the lowest latency of the baselines (the paper compares energy "at
# close latency"); when D is out of its reach (coedge splits layer by layer,
# and cannot match a fused pipeline), at D' = 1.1 x the fastest coedge plan
# (read from its error message); and without a deadline (min energy).
# Saving = energy of the strategy minus coedge's (at D, else D'), over the
# strategy's energy.
# Analytic reference profile and the estimated device speeds and powers of
# docs/DEVICES.md; no measurement.
# Usage: bench/reproduce_coedge.sh [path/to/coinfer]   (about 1 min on 2 cores)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bin="${1:-${COINFER:-$here/build/coinfer}}"
py=/usr/bin/python3
cluster="$here/examples/clusters/coedge-mixed.json"
models="alexnet vgg16 googlenet mobilenet_v2"
baselines="single layerwise modnn ftp efl ofl aofl pico"
slack=1.1
tmp="$(mktemp -d /tmp/reproduce-coedge-XXXX)"
trap 'rm -rf "$tmp"' EXIT
t_start=$(date +%s)

echo "CoEdge reproduction (simulated), cluster coedge-mixed: $cluster"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')   host: $(nproc) CPUs   binary: $bin"
echo "coedge deadline D = $slack x the lowest one-frame latency among: $baselines"
echo

plan() {  # MODEL STRATEGY NAME [args]: NAME.json, or NAME.err
  local m=$1 s=$2 name=$3; shift 3
  "$bin" plan --model "zoo:$m" --cluster "$cluster" --strategy "$s" --frames 1 --json "$@" \
    >"$tmp/$m.$name.json" 2>"$tmp/$m.$name.err" || rm -f "$tmp/$m.$name.json"
}

for m in $models; do
  for s in $baselines; do plan "$m" "$s" "$s"; done
  d=$($py - "$tmp" "$m" "$baselines" "$slack" <<'PY'
import json, os, sys
tmp, m, names, slack = sys.argv[1], sys.argv[2], sys.argv[3].split(), float(sys.argv[4])
lat = [json.load(open(f"{tmp}/{m}.{s}.json"))["one_frame_latency_ms"]
       for s in names if os.path.exists(f"{tmp}/{m}.{s}.json")]
print(f"{min(lat) * slack / 1e3:.6f}")
PY
)
  plan "$m" coedge coedge --deadline "$d"
  d2=0
  if [ ! -f "$tmp/$m.coedge.json" ]; then  # "... the fastest split found takes X s"
    d2=$($py -c 'import re,sys; print(1.1 * float(re.search(r"takes ([0-9.e+-]+) s", sys.stdin.read()).group(1)))' \
         <"$tmp/$m.coedge.err")
    plan "$m" coedge coedge-d2 --deadline "$d2"
  fi
  plan "$m" coedge coedge-nodl
  $py - "$tmp" "$m" "$baselines" "$d" "$d2" <<'PY'
import json, os, sys
tmp, m, names, d, d2 = sys.argv[1], sys.argv[2], sys.argv[3].split(), float(sys.argv[4]), float(sys.argv[5])
def load(name):
    f = f"{tmp}/{m}.{name}.json"
    if not os.path.exists(f):
        return None, open(f"{tmp}/{m}.{name}.err").read().strip().splitlines()[-1]
    j = json.load(open(f))
    used = {p["device"] for s in j["plan"]["stages"] for p in s["parts"]}
    return (j["one_frame_latency_ms"], j["energy_j_per_frame"], len(used)), None
ce, err = load("coedge")
shown = ["coedge"]
print(f"{m}: coedge deadline D = {d * 1e3:.1f} ms")
if ce is None:
    print(f"  D is out of coedge's reach: {err}")
    print(f"  D' = 1.1 x coedge's fastest = {d2 * 1e3:.1f} ms")
    ce, _ = load("coedge-d2")
    shown = ["coedge-d2"]
print(f"  {'strategy':<16}{'latency ms':>11}{'energy J':>10}{'devices':>8}{'coedge saving':>15}")
for name in names + shown + ["coedge-nodl"]:
    r, e = load(name)
    label = {"coedge": "coedge (D)", "coedge-d2": "coedge (D')",
             "coedge-nodl": "coedge (no D)"}.get(name, name)
    if r is None:
        print(f"  {label:<16} error: {e}")
        continue
    save = f"{100 * (r[1] - ce[1]) / r[1]:+.1f}%" if ce and name in names else ""
    print(f"  {label:<16}{r[0]:>11.1f}{r[1]:>10.3f}{r[2]:>8}{save:>15}")
print()
PY
done
echo "total time: $(( $(date +%s) - t_start )) s"
