#!/usr/bin/env bash
# Bandwidth change on the local emulated testbed (issue 8): local-4 (4
# workers at 25% of a core, 1 Gbps), `coinfer run --adaptive` (closed loop,
# strategy STRATEGY, this machine's measured profile), then at CHANGE_S
# seconds w1's access link is shaped from 1 Gbps down to 50 Mbps (tc class
# change on both ends of its veth). Prints the plan switches, the measured
# throughput before the change, after it on the old plan, and on the plan
# made for the measured link, next to the simulator's best throughput (over
# the strategies) for the old and the new link.
# Needs root. Usage: bench/bandwidth_change.sh [FRAMES] [MODEL] [CHANGE_S] [STRATEGY]
set -euo pipefail
cd "$(dirname "$0")/.."
FRAMES=${1:-500}; MODEL=${2:-resnet18}; CHANGE_S=${3:-25}; STRATEGY=${4:-pico}
echo "bandwidth change: $MODEL, $FRAMES frames closed loop, adaptive $STRATEGY, w1 1 Gbps -> 50 Mbps at ${CHANGE_S}s"
source bench/testbed_env.sh bwchange
$BIN profile device --model zoo:$MODEL -o "$TMP/profile.json" --points 5 --repeats 3 >/dev/null 2>&1
/usr/bin/python3 - "$TMP" <<'PY'
import json, sys
s = json.load(open("examples/clusters/local-4.json"))
s["name"] = "bw-4"
json.dump(s, open(sys.argv[1] + "/old.json", "w"))
for d in s["devices"]:
    if d["name"] == "w1": d["link"] = "50Mbps"
json.dump(s, open(sys.argv[1] + "/new.json", "w"))
PY
best() {  # SPEC -> "fps strategy" of the best predicted plan
  local out="0 none"
  for s in pico layerwise aofl efl modnn single; do
    f=$($BIN plan --model zoo:$MODEL --profile "$TMP/profile.json" --cluster "$1" --strategy $s --json 2>/dev/null \
        | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['predicted']['throughput_fps'])" || echo 0)
    out=$(/usr/bin/python3 -c "a='$out'.split(); print('$f $s' if float('$f') > float(a[0]) else '$out')")
  done
  echo "$out"
}
read -r OLD_FPS OLD_S < <(best "$TMP/old.json")
read -r NEW_FPS NEW_S < <(best "$TMP/new.json")
testbed_up "$TMP/old.json"
$BIN run --adaptive --key "$KEY" --model zoo:$MODEL --cluster "$LIVE" --profile "$TMP/profile.json" \
  --strategy "$STRATEGY" --frames "$FRAMES" --json --verbose --timeout 120 \
  > "$TMP/run.json" 2> "$TMP/run.err" &
RUN=$!
for _ in $(seq 1 600); do grep -q "deployed" "$TMP/run.err" 2>/dev/null && break; sleep 0.1; done
sleep "$CHANGE_S"
tc class change dev coinfer-v1 parent 1: classid 1:1 htb rate 50mbit quantum 60000
ip netns exec coinfer-n1 tc class change dev coinfer-p1 parent 1: classid 1:1 htb rate 50mbit quantum 60000
T_CHANGE=$(date +%s.%N)
echo "w1's link shaped to 50 Mbit/s"
wait "$RUN" || true
/usr/bin/python3 - "$TMP/run.json" "$T_CHANGE" "$OLD_FPS" "$OLD_S" "$NEW_FPS" "$NEW_S" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
change = float(sys.argv[2]) - r["t0_unix_s"]
old_fps, old_s, new_fps, new_s = float(sys.argv[3]), sys.argv[4], float(sys.argv[5]), sys.argv[6]
done = sorted(d for d in r["done_s"] if d >= 0)
print(f"frames {r['frames']}: completed {r['completed']}, failed {r['failed']}")
for s in r["switches"]:
    print(f"  t={s['at_s']:7.2f} s  {s['reason']}\n             -> {s['plan'][:90]} (deployed in {s['deploy_s']:.2f} s)")
def fps(a, b):
    n = sum(1 for d in done if a <= d < b)
    return n / (b - a) if b > a else 0
sw = [s["at_s"] for s in r["switches"] if s["at_s"] > change]
adapt = sw[0] if sw else None
end = done[-1]
print(f"link changed at {change:.2f} s; " + (f"re-planned at {adapt:.2f} s ({adapt - change:.2f} s later)" if adapt else "no re-plan"))
print(f"throughput: before {fps(3, change):.2f} fps (sim best {old_fps:.2f}, {old_s}); "
      f"after, old plan {fps(change + 1, adapt or end):.2f} fps; "
      + (f"new plan {fps(adapt + 2, end):.2f} fps" if adapt else "")
      + f" (sim best for the new link {new_fps:.2f}, {new_s})")
PY
