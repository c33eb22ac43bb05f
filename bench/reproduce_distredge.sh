#!/usr/bin/env bash
# DistrEdge (IPDPS 2022) reproduction in simulation (issue 7, item 5): the
# paper's device groups DA (2 TX2 + 2 Nano), DB (2 Xavier + 2 Nano), DC
# (Xavier + TX2 + Nano + Pi3) at bandwidth sets NA (50,50,200,200), NB
# (100,100,200,200), NC (200,200,300,300), ND (50,100,200,300 Mbps)
# (examples/clusters/distredge-D?-N?.json), vgg16 224x224.
# For each of the 12 clusters: train distredge (`coinfer train distredge`,
# EPISODES episodes, seed 1), plan it with the policy, plan aofl and every
# other strategy, and predict each plan with the simulator (`coinfer plan
# --json`: closed loop, 2 x stages frames in flight, FRAMES frames; and one
# frame alone). Prints throughput, one-frame latency, the ratios distredge /
# aofl and distredge / best other strategy, and the training time.
# Every figure comes from the simulator with the analytic reference profile
# and the estimated device speeds of docs/DEVICES.md. No measurement.
# Usage: bench/reproduce_distredge.sh [path/to/coinfer]
#   EPISODES=N (default 1000; the paper: 4000)  FRAMES=N (default 100)
#   (about 1 min per cluster at 1000 episodes on 2 loaded cores)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bin="${1:-$here/build/coinfer}"
py=/usr/bin/python3
episodes="${EPISODES:-1000}"
frames="${FRAMES:-100}"
groups="DA DB DC"
nets="NA NB NC ND"
others="single layerwise modnn ftp efl ofl pico"
tmp="$(mktemp -d /tmp/reproduce-distredge-XXXX)"
trap 'rm -rf "$tmp"' EXIT
t_start=$(date +%s)

echo "DistrEdge reproduction (simulated), vgg16 224x224, groups $groups x bandwidth sets $nets"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')   host: $(nproc) CPUs   load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "binary: $bin   training: $episodes episodes, seed 1   simulation: $frames frames closed loop"
echo

for g in $groups; do
  for n in $nets; do
    c="$here/examples/clusters/distredge-$g-$n.json"
    d="$tmp/$g-$n"
    mkdir -p "$d"
    t0=$(date +%s.%N)
    "$bin" train distredge --model zoo:vgg16 --cluster "$c" --episodes "$episodes" --seed 1 \
      -o "$d/policy.bin" >"$d/train.out" 2>"$d/train.err"
    $py -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" \
      "$t0" "$(date +%s.%N)" >"$d/train.s"
    "$bin" plan --model zoo:vgg16 --cluster "$c" --strategy distredge --policy "$d/policy.bin" \
      --frames "$frames" --json >"$d/distredge.json" 2>/dev/null || echo "{}" >"$d/distredge.json"
    for s in aofl $others; do
      "$bin" plan --model zoo:vgg16 --cluster "$c" --strategy "$s" --frames "$frames" --json \
        >"$d/$s.json" 2>/dev/null || echo "{}" >"$d/$s.json"
    done
  done
done

$py - "$tmp" "$groups" "$nets" "$others" <<'PY'
import json, os, sys
tmp, groups, nets, others = sys.argv[1], sys.argv[2].split(), sys.argv[3].split(), sys.argv[4].split()

def load(d, s):
    try:
        j = json.load(open(os.path.join(d, s + ".json")))
        return j["predicted"]["throughput_fps"], j["one_frame_latency_ms"] / 1e3, j
    except (OSError, ValueError, KeyError):
        return None, None, None

paper = {"DA": "1.2-1.5", "DB": "1.5-3", "DC": "1.5-3"}
hdr = "%-6s %7s %9s %8s %8s %-10s %8s %9s %9s %9s %9s %10s  %s" % (
    "group", "train", "distredge", "aofl", "best", "(other)", "de/aofl", "de/best",
    "lat de", "lat aofl", "de/aofl@1", "from", "paper de/aofl")
print("throughput in frames/s (closed loop), one-frame latency in s; de = distredge;")
print("de/aofl@1 = throughput ratio one frame at a time (aofl latency / distredge latency);")
print("from = which distredge plan was returned (actor greedy or best seen in training)")
print(hdr)
print("-" * len(hdr))
ratios = {g: [] for g in groups}
for g in groups:
    for n in nets:
        d = os.path.join(tmp, f"{g}-{n}")
        train_s = open(os.path.join(d, "train.s")).read().strip()
        de, de_lat, dj = load(d, "distredge")
        ao, ao_lat, _ = load(d, "aofl")
        best, best_s = None, "-"
        for s in ["aofl"] + others:
            f, _, _ = load(d, s)
            if f is not None and (best is None or f > best):
                best, best_s = f, s
        if de is None or ao is None:
            print("%-6s failed: %s" % (f"{g}-{n}", open(os.path.join(d, "train.err")).read()[-200:]))
            continue
        label = dj.get("strategy", "")
        src = "actor" if "actor" in label.split("(")[0] else "best-seen"
        ratios[g].append((de / ao, ao_lat / de_lat))
        print("%-6s %6ss %9.3f %8.3f %8.3f %-10s %8.2f %9.2f %9.3f %9.3f %9.2f %10s  %s" % (
            f"{g}-{n}", train_s, de, ao, best, best_s, de / ao, de / best, de_lat, ao_lat,
            ao_lat / de_lat, src, paper[g]))
print()
for g in groups:
    if ratios[g]:
        cl, one = [r[0] for r in ratios[g]], [r[1] for r in ratios[g]]
        print("%s: distredge / aofl throughput %.2f-%.2f closed loop, %.2f-%.2f one frame at a "
              "time (paper %s)" % (g, min(cl), max(cl), min(one), max(one), paper[g]))
PY
echo "elapsed: $(( $(date +%s) - t_start )) s   load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
