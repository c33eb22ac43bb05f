#!/usr/bin/env bash
# EdgeCI (ACM TOIT 2024) reproduction in simulation (issue 7, item 4): vgg16
# and resnet34 on heterogeneous clusters, edgeci (AWAS + DPFL) against modnn,
# ftp, efl, ofl, aofl, and each knob alone (awas: fixed fused segments; dpfl:
# proportional splits). EdgeCI reports single-inference latency, so the figure
# is the simulated latency of one frame alone (sim, `one_frame_latency_ms` of
# `coinfer plan --json`); speed-up = latency(other) / latency(edgeci) - 1,
# the paper's 34.72%-43.52% over its baselines.
# Clusters: hetero-8 (speeds 1:1:2:2:4:4:8:8) at 100 Mbps and 1 Gbps, and
# distredge-DC-ND (Xavier + TX2 + Nano + Pi 3 at 50/100/200/300 Mbps).
# Reference profile: analytic (coinfer plan's default); device speeds from
# docs/DEVICES.md. No measurement on devices.
# Usage: bench/reproduce_edgeci.sh [path/to/coinfer]   (under a minute)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bin="${1:-$here/build/coinfer}"
tmp="$(mktemp -d /tmp/reproduce-edgeci-XXXX)"
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 - "$bin" "$here" "$tmp" <<'PY'
import json, subprocess, sys, statistics
bin, here, tmp = sys.argv[1:4]
base = json.load(open(f"{here}/examples/clusters/hetero-8.json"))
clusters = []
for bw in ["100Mbps", "1Gbps"]:
    c = dict(base, name=f"hetero-8-{bw}", default_bandwidth=bw)
    path = f"{tmp}/hetero-8-{bw}.json"
    json.dump(c, open(path, "w"))
    clusters.append((c["name"], path))
clusters.append(("distredge-DC-ND", f"{here}/examples/clusters/distredge-DC-ND.json"))
others = ["modnn", "ftp", "efl", "ofl", "aofl"]
knobs = ["awas", "dpfl"]
print("EdgeCI reproduction (simulated, one frame alone; latency ms, speed-up of edgeci in %)")
speedups = []
for cname, cpath in clusters:
    for m in ["vgg16", "resnet34"]:
        lat, st = {}, {}
        for s in ["edgeci"] + knobs + others:
            r = subprocess.run([bin, "plan", "--model", f"zoo:{m}", "--cluster", cpath,
                                "--strategy", s, "--frames", "1", "--json"],
                               capture_output=True, text=True)
            if r.returncode != 0:
                print(f"{s} on {cname} / {m} failed: {r.stderr.strip().splitlines()[-1]}")
                lat[s] = None
                continue
            j = json.loads(r.stdout)
            lat[s] = j["one_frame_latency_ms"]
            st[s] = len(j["plan"]["stages"])
        e = lat["edgeci"]
        print(f"\n{cname} / {m}: edgeci {e:.1f} ms ({st['edgeci']} segments)")
        print(f"  {'strategy':10s} {'latency ms':>10s} {'segments':>8s} {'edgeci speed-up':>16s}")
        for s in knobs + others:
            if lat[s] is None:
                print(f"  {s:10s} {'failed':>10s}")
                continue
            sp = 100 * (lat[s] / e - 1)
            if s in others:
                speedups.append(sp)
            print(f"  {s:10s} {lat[s]:10.1f} {st[s]:8d} {sp:15.1f}%")
        best = min(lat[s] for s in others if lat[s] is not None)
        print(f"  vs the best baseline: {100 * (best / e - 1):.1f}%")
print(f"\nspeed-up over the baselines: median {statistics.median(speedups):.1f}%, "
      f"range {min(speedups):.1f}% .. {max(speedups):.1f}%  (paper: 34.72%-43.52%)")
PY
