#!/usr/bin/env bash
# PICO (ICDCS 2021) reproduction in simulation (issue 6, item 5): the paper's
# setting (examples/clusters/pico-8rpi.json: 8 Raspberry Pi 4B cores at
# 2x1.2, 2x0.8, 4x0.6 GHz, one shared 50 Mbps medium) for vgg16 (224),
# yolov2 (our zoo: 416x416; the paper used 448x448), resnet34 and googlenet
# (the paper used InceptionV3, not in our zoo), with every strategy.
# Prints
#  (a) maximum throughput: closed loop, stages+1 frames in flight, steady
#      state = (N2 - N1) / (makespan(N2) - makespan(N1)), plus one frame at a
#      time (1 / one-frame latency), and pico's ratios against layerwise,
#      modnn (the paper's LW), efl and ofl;
#  (b) mean latency under Poisson load at 40/70/100/130/150% of efl's maximum
#      throughput; "sat" = no steady state (rate >= the strategy's maximum
#      throughput, or the mean latency over P2 frames exceeds 1.2 x the mean
#      over the first P1 frames: it keeps growing with the frames);
#  (c) utilisation (steady state at maximum throughput, and one frame at a
#      time; mean over all 8 devices) and redundancy (extra halo FLOPs / model
#      FLOPs, the `redundancy` key of `coinfer plan --json`) next to the
#      paper's Table I.
# Every figure comes from the simulator with the analytic reference profile
# and the estimated device speeds of docs/DEVICES.md. No measurement.
# Usage: bench/reproduce_pico.sh [path/to/coinfer]   (about 2-3 min on 2 cores)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bin="${1:-$here/build/coinfer}"
py=/usr/bin/python3
cluster="$here/examples/clusters/pico-8rpi.json"
models="vgg16 yolov2 resnet34 googlenet"
strategies="single layerwise modnn ftp efl ofl aofl pico pico-paper"  # + apico (needs a rate)
loads="40 70 100 130 150"
CL1=100; CL2=300   # closed-loop frames (steady state from the difference)
P1=200; P2=400     # Poisson frames (saturation: the mean grows from P1 to P2)
tmp="$(mktemp -d /tmp/reproduce-pico-XXXX)"
trap 'rm -rf "$tmp"' EXIT
t_start=$(date +%s)

echo "PICO reproduction (simulated), cluster pico-8rpi: $cluster"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')   host: $(nproc) CPUs   load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "binary: $bin"
echo "models: vgg16 224x224; yolov2 416x416 (our zoo; PICO used 448x448); resnet34 224x224;"
echo "        googlenet 224x224 (PICO used InceptionV3, not in our zoo)"
echo

# plan MODEL STRATEGY NAME [extra args]: writes NAME.plan.json and NAME.out.json
plan() {
  local m=$1 s=$2 name=$3; shift 3
  if ! "$bin" plan --model "zoo:$m" --cluster "$cluster" --strategy "$s" --frames 1 --json \
      -o "$tmp/$m/$name.plan.json" "$@" >"$tmp/$m/$name.out.json" 2>"$tmp/$m/$name.err"; then
    rm -f "$tmp/$m/$name.plan.json"
  fi
}
# closed MODEL NAME: closed-loop runs (stages+1 in flight) and one frame alone
closed() {
  local m=$1 name=$2 k
  [ -f "$tmp/$m/$name.plan.json" ] || return 0
  k=$($py -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["stages"]) + 1)' \
      "$tmp/$m/$name.plan.json")
  for n in $CL1 $CL2; do
    "$bin" simulate --model "zoo:$m" --cluster "$cluster" --plan "$tmp/$m/$name.plan.json" \
      --frames $n --in-flight "$k" --json >"$tmp/$m/$name.cl$n.json" 2>/dev/null || true
  done
  "$bin" simulate --model "zoo:$m" --cluster "$cluster" --plan "$tmp/$m/$name.plan.json" \
    --frames 1 --json >"$tmp/$m/$name.one.json" 2>/dev/null || true
}
# poisson MODEL NAME LOAD RATE
poisson() {
  local m=$1 name=$2 load=$3 rate=$4
  [ -f "$tmp/$m/$name.plan.json" ] || return 0
  for n in $P1 $P2; do
    "$bin" simulate --model "zoo:$m" --cluster "$cluster" --plan "$tmp/$m/$name.plan.json" \
      --frames $n --rate "$rate" --poisson --seed 1 --json \
      >"$tmp/$m/$name.p$load.$n.json" 2>/dev/null || true
  done
}
steady_fps() {  # MODEL NAME
  $py -c 'import json,sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
print("%.9f" % ((b["completed"] - a["completed"]) / (b["makespan_s"] - a["makespan_s"])))' \
    "$tmp/$1/$2.cl$CL1.json" "$tmp/$1/$2.cl$CL2.json"
}

for m in $models; do
  mkdir -p "$tmp/$m"
  for s in $strategies; do plan "$m" "$s" "$s"; closed "$m" "$s"; done
  if [ ! -f "$tmp/$m/efl.plan.json" ]; then echo "$m: efl failed, no load levels" >&2; continue; fi
  cap=$(steady_fps "$m" efl)
  echo "$cap" >"$tmp/$m/efl.cap"
  # apico for the throughput table: planned at the highest load (150% of efl's capacity)
  plan "$m" apico apico --rate "$($py -c "print('%.6f' % (1.5 * $cap))")"
  closed "$m" apico
  for load in $loads; do
    rate=$($py -c "print('%.6f' % ($load / 100 * $cap))")
    for s in $strategies; do poisson "$m" "$s" "$load" "$rate"; done
    plan "$m" apico "apico@$load" --rate "$rate"   # apico decides per arrival rate
    poisson "$m" "apico@$load" "$load" "$rate"
  done
done

$py - "$tmp" "$models" "$strategies apico" "$loads" $CL1 $CL2 $P1 $P2 <<'PY'
import json, os, sys
tmp, models, strategies, loads = sys.argv[1], sys.argv[2].split(), sys.argv[3].split(), sys.argv[4].split()
CL1, CL2, P1, P2 = (int(x) for x in sys.argv[5:9])

def load(m, name):
    p = os.path.join(tmp, m, name)
    try:
        with open(p) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None

def err(m, name):
    try:
        with open(os.path.join(tmp, m, name + ".err")) as f:
            lines = [l.strip() for l in f if l.strip() and "no --profile" not in l]
        return lines[-1] if lines else "failed"
    except OSError:
        return "failed"

R = {}  # (m, s) -> dict
for m in models:
    for s in strategies:
        out, a, b, one = (load(m, f"{s}.{k}.json") for k in ("out", f"cl{CL1}", f"cl{CL2}", "one"))
        if not (out and a and b and one):
            R[m, s] = {"error": err(m, s)}
            continue
        dt = b["makespan_s"] - a["makespan_s"]
        fps = (b["completed"] - a["completed"]) / dt
        nd = len(b["devices"])
        util = sum((d2["busy_s"] - d1["busy_s"]) / dt for d1, d2 in zip(a["devices"], b["devices"])) / nd
        lat1 = one["latency_ms"]["mean"] / 1e3
        util1 = sum(d["busy_s"] for d in one["devices"]) / (nd * one["makespan_s"])
        R[m, s] = dict(fps=fps, fps1=1 / lat1, lat1=lat1, util=util, util1=util1,
                       red=out.get("redundancy"), stages=len(out["plan"]["stages"]),
                       label=out.get("strategy", s))

def apico_choice(label):  # "apico: pipeline (pico) at rate ..." or "apico: one-stage (aofl) ..."
    head = label.split(" at rate")[0]
    return "pico" if "pipeline" in head else "aofl" if "one-stage" in head else "?"

def f(x, fmt):
    return "-" if x is None else fmt % x

print("(a) Maximum throughput, closed loop (stages+1 frames in flight, steady state from "
      f"frames {CL1}..{CL2}); fps@1 = one frame at a time (1 / one-frame latency)")
print("    pico/x = pico's fps / x's fps; pico/x@1 = pico's fps / x's fps@1 (x not overlapping frames)")
hdr = "%-10s %-11s %6s %9s %9s %10s %7s %9s" % ("model", "strategy", "stages", "fps", "fps@1",
                                                "latency1", "pico/x", "pico/x@1")
print(hdr)
print("-" * len(hdr))
for m in models:
    pico = R[m, "pico"].get("fps")
    for s in strategies:
        r = R[m, s]
        if "error" in r:
            print("%-10s %-11s  failed: %s" % (m, s, r["error"]))
            continue
        print("%-10s %-11s %6d %9.4f %9.4f %9.2fs %7s %9s" % (
            m, s, r["stages"], r["fps"], r["fps1"], r["lat1"],
            f(pico / r["fps"] if pico else None, "%.2f"), f(pico / r["fps1"] if pico else None, "%.2f")))
    print()
print("pico's throughput ratio (closed loop both / baseline one frame at a time); the paper: 1.8-6.2x")
print("%-10s %15s %15s %15s %15s" % ("model", "vs layerwise", "vs modnn (LW)", "vs efl", "vs ofl"))
for m in models:
    cells = []
    for s in ("layerwise", "modnn", "efl", "ofl"):
        p, r = R[m, "pico"], R[m, s]
        cells.append("-" if "error" in p or "error" in r else
                     "%.2f / %.2f" % (p["fps"] / r["fps"], p["fps"] / r["fps1"]))
    print("%-10s %15s %15s %15s %15s" % (m, *cells))
print("apico row: planned at 150%% of efl's capacity; it chose: %s" % ", ".join(
    "%s %s" % (m, apico_choice(R[m, "apico"].get("label", ""))) for m in models))
print()

print("(b) Mean latency (s) under Poisson arrivals at L% of efl's maximum throughput "
      f"({P2} frames, seed 1); sat = no steady state")
print("    (rate >= the strategy's maximum throughput, or the mean over %d frames > 1.2 x the mean "
      "over the first %d)" % (P2, P1))
for m in models:
    cap = float(open(os.path.join(tmp, m, "efl.cap")).read())
    print("%s: efl capacity %.4f fps; rates %s fps" % (
        m, cap, ", ".join("%.4f" % (int(l) / 100 * cap) for l in loads)))
    print("  %-11s" % "strategy" + "".join("%9s" % (l + "%") for l in loads))
    for s in strategies:
        row = []
        for l in loads:
            name = f"apico@{l}" if s == "apico" else s
            a, b = load(m, f"{name}.p{l}.{P1}.json"), load(m, f"{name}.p{l}.{P2}.json")
            if not (a and b):
                row.append("fail")
                continue
            rate = int(l) / 100 * cap
            ma, mb = a["latency_ms"]["mean"] / 1e3, b["latency_ms"]["mean"] / 1e3
            maxfps = R[m, s].get("fps") if s != "apico" else None
            if s == "apico":  # its plan is the one chosen at this rate: pico's or aofl's
                label = (load(m, f"{name}.out.json") or {}).get("strategy", "")
                maxfps = R[m, apico_choice(label)].get("fps") if apico_choice(label) != "?" else None
            sat = mb > 1.2 * ma or (maxfps is not None and rate >= maxfps)
            row.append("sat" if sat else "%.1f" % mb)
        print("  %-11s" % s + "".join("%9s" % c for c in row))
    choice = []
    for l in loads:
        label = (load(m, f"apico@{l}.out.json") or {}).get("strategy", "")
        choice.append("%s%%: %s" % (l, apico_choice(label)))
    print("  apico chose: " + ", ".join(choice))
    print()

paper = {("vgg16", "modnn"): "37% / 2% (LW)", ("vgg16", "efl"): "68% / 19%",
         ("vgg16", "ofl"): "70% / 11%", ("vgg16", "pico"): "77% / 5.5%",
         ("yolov2", "pico"): "95% / 7.6%"}
print("(c) Utilisation (mean over the 8 devices: steady state at maximum throughput, and one frame")
print("    at a time) and redundancy (halo FLOPs recomputed / model FLOPs), vs the paper's Table I")
print("    (utilisation / redundancy; the paper's LW is MoDNN-style layer-wise = our modnn)")
hdr = "%-10s %-11s %9s %9s %11s  %s" % ("model", "strategy", "util", "util@1", "redundancy", "paper")
print(hdr)
print("-" * len(hdr))
for m in models:
    for s in strategies:
        r = R[m, s]
        if "error" in r:
            print("%-10s %-11s  failed" % (m, s))
            continue
        print("%-10s %-11s %8.1f%% %8.1f%% %11s  %s" % (
            m, s, 100 * r["util"], 100 * r["util1"],
            "n/a" if r["red"] is None else "%.1f%%" % (100 * r["red"]), paper.get((m, s), "")))
    print()
PY
echo "elapsed: $(( $(date +%s) - t_start )) s   load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
