#!/usr/bin/python3
"""Rows of bench/testbed.sh: measured `coinfer run --json` figures next to the
simulator's for the same plan and cluster, from the profile taken right
before the round (whole = that profile's whole-model time, ms: the host's
speed drifts by 10-30% within minutes, docs/BENCHMARKS.md).

  testbed_rows.py header
  testbed_rows.py round MODEL LINK WHOLE_MS PLAN:MEAS:SIM ...   (single first)
  testbed_rows.py summary MODEL LINK PLAN:MEAS:SIM ...          (every round)
"""
import json
import statistics
import sys

COLS = "{:9s} {:8s} {:16s} {:>6s} {:>7s} {:>7s} {:>7s} {:>8s} {:>8s} {:>7s} {:>7s} {:>7s}"


def load(spec):
    plan, meas, sim = spec.split(":")
    return plan, json.load(open(meas)), json.load(open(sim))


def err(pred, meas):
    return f"{100 * (pred - meas) / meas:+.1f}%"


def row(model, link, whole, plan, m, s, base):
    fps, p50 = m["steady_fps"], m["latency_ms"]["p50"]
    sf, sp = s["steady_fps"], s["latency_ms"]["p50"]
    print(COLS.format(model, link, plan, str(m["completed"]), f"{fps:.2f}", f"{sf:.2f}", err(sf, fps),
                      f"{p50:.1f}", f"{sp:.1f}", err(sp, p50), f"{fps / base:.2f}x", f"{whole:.1f}"))


def main():
    what, args = sys.argv[1], sys.argv[2:]
    if what == "header":
        print(COLS.format("model", "link", "plan", "frames", "fps", "sim", "err", "p50_ms", "sim", "err",
                          "speedup", "whole"))
        return
    if what == "round":
        model, link, whole, runs = args[0], args[1], float(args[2]), [load(a) for a in args[3:]]
        base = runs[0][1]["steady_fps"]
        for plan, m, s in runs:
            row(model, link, whole, plan, m, s, base)
        return
    model, link, runs = args[0], args[1], [load(a) for a in args[2:]]
    plans = list(dict.fromkeys(r[0] for r in runs))
    single, best = plans[0], plans[-1]
    sfps = [r[1]["steady_fps"] for r in runs if r[0] == single]
    bfps = [r[1]["steady_fps"] for r in runs if r[0] == best]
    ratios = [b / s for s, b in zip(sfps, bfps)]
    print(f"{model:9s} {link:8s} {best}: median speedup {statistics.median(ratios):.2f}x over "
          f"{len(ratios)} rounds ({', '.join(f'{x:.2f}' for x in ratios)})")
    for plan in plans:
        mine = [r for r in runs if r[0] == plan]
        med = lambda f: statistics.median(f(r) for r in mine)
        fps, p50 = med(lambda r: r[1]["steady_fps"]), med(lambda r: r[1]["latency_ms"]["p50"])
        sf, sp = med(lambda r: r[2]["steady_fps"]), med(lambda r: r[2]["latency_ms"]["p50"])
        print(f"{model:9s} {link:8s} {plan}: median of rounds: fps {fps:.2f} (sim {sf:.2f}, err {err(sf, fps)}); "
              f"p50 {p50:.1f} ms (sim {sp:.1f}, err {err(sp, p50)})")


main()
