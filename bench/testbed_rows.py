#!/usr/bin/python3
"""Rows of bench/testbed.sh: measured `coinfer run --json` figures next to the
simulator's, as predicted from the profile (sim) and for the host's speed at
the time of the round (now: the profile scaled by the free core's time of the
whole model measured around the round, docs/BENCHMARKS.md).

  testbed_rows.py header
  testbed_rows.py round MODEL LINK HOST_FACTOR PLAN:MEAS:SIM:NOW ...   (single first)
  testbed_rows.py summary MODEL LINK PLAN:MEAS:SIM:NOW ...             (every round)
"""
import json
import statistics
import sys

COLS = "{:9s} {:8s} {:16s} {:>6s} {:>7s} {:>7s} {:>7s} {:>7s} {:>7s} {:>8s} {:>8s} {:>7s} {:>8s} {:>7s} {:>7s} {:>6s}"


def load(spec):
    plan, meas, sim, now = spec.split(":")
    return plan, json.load(open(meas)), json.load(open(sim)), json.load(open(now))


def err(pred, meas):
    return f"{100 * (pred - meas) / meas:+.1f}%"


def row(model, link, host, plan, m, s, n, base):
    fps, p50 = m["steady_fps"], m["latency_ms"]["p50"]
    sf, sp, nf, np_ = s["steady_fps"], s["latency_ms"]["p50"], n["steady_fps"], n["latency_ms"]["p50"]
    print(COLS.format(model, link, plan, str(m["completed"]), f"{fps:.2f}", f"{sf:.2f}", err(sf, fps),
                      f"{nf:.2f}", err(nf, fps), f"{p50:.1f}", f"{sp:.1f}", err(sp, p50), f"{np_:.1f}",
                      err(np_, p50), f"{fps / base:.2f}x", f"{host:.3f}"))


def main():
    what, args = sys.argv[1], sys.argv[2:]
    if what == "header":
        print(COLS.format("model", "link", "plan", "frames", "fps", "sim", "err", "now", "err", "p50_ms",
                          "sim", "err", "now", "err", "speedup", "host"))
        return
    if what == "round":
        model, link, host, runs = args[0], args[1], float(args[2]), [load(a) for a in args[3:]]
        base = runs[0][1]["steady_fps"]
        for plan, m, s, n in runs:
            row(model, link, host, plan, m, s, n, base)
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
        nf, np_ = med(lambda r: r[3]["steady_fps"]), med(lambda r: r[3]["latency_ms"]["p50"])
        print(f"{model:9s} {link:8s} {plan}: median of rounds: fps {fps:.2f} (sim {sf:.2f} {err(sf, fps)}, "
              f"now {nf:.2f} {err(nf, fps)}); p50 {p50:.1f} ms (sim {sp:.1f} {err(sp, p50)}, "
              f"now {np_:.1f} {err(np_, p50)})")


main()
