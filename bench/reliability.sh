#!/usr/bin/env bash
# Fault recovery on the local emulated testbed (issue 8): examples/clusters/
# local-4.json (4 workers at 25% of a core each, 1 Gbps), `coinfer run
# --adaptive` streaming FRAMES frames of MODEL at RATE frames/s with a plan
# over every worker (aofl), one worker killed with SIGKILL at KILL_S seconds
# into the stream and restarted (same namespace, address and CPU cgroup) at
# RESTART_S. Prints every plan switch, every frame accounted for, the
# recovery time (kill -> first frame completed by the plan over the
# survivors) and the throughput before, during and after.
# Needs root (namespaces, tc, cgroups).
# DEAD_AFTER: seconds of silence after which a worker is lost (it must exceed
# the longest task: a worker answers heartbeats between tasks).
# Usage: bench/reliability.sh [FRAMES] [RATE] [MODEL] [KILL_S] [RESTART_S] [DEAD_AFTER]
set -euo pipefail
cd "$(dirname "$0")/.."
FRAMES=${1:-1000}; RATE=${2:-8}; MODEL=${3:-resnet18}; KILL_S=${4:-40}; RESTART_S=${5:-80}
DEAD_AFTER=${6:-0.5}
echo "reliability: $MODEL, $FRAMES frames at $RATE/s, kill w1 at ${KILL_S}s, restart at ${RESTART_S}s, dead after ${DEAD_AFTER}s"
REPID=""
extra_cleanup() { [ -z "$REPID" ] || kill -9 "$REPID" 2>/dev/null; }
source bench/testbed_env.sh reliability
testbed_up examples/clusters/local-4.json
# The worker to kill: its pid, command line, namespace and cgroup.
read -r PID NS CG < <(/usr/bin/python3 - "$TMP/state.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
p = [p for p in s["processes"] if p["role"] == "worker" and p["device"] == "w1"][0]
ns = [n for n in s["netns"] if n.endswith("n1")]
cg = [c for c in s["cgroups"] if c.endswith("c1")]
print(p["pid"], ns[0] if ns else "-", cg[0] if cg else "-")
PY
)
CMDLINE=$(tr '\0' ' ' < /proc/$PID/cmdline)
$BIN run --adaptive --key "$KEY" --model zoo:$MODEL --cluster "$LIVE" --strategy aofl --frames "$FRAMES" \
  --rate "$RATE" --dead-after "$DEAD_AFTER" --heartbeat 0.1 --json --timeout 60 --verbose > "$TMP/run.json" 2> "$TMP/run.err" &
RUN=$!
# Wait for the stream to start (first deployment), then count from there.
for _ in $(seq 1 300); do grep -q "deployed" "$TMP/run.err" 2>/dev/null && break; sleep 0.1; done
T_START=$(date +%s.%N)
sleep "$KILL_S"
kill -9 "$PID"; T_KILL=$(date +%s.%N)
echo "killed w1 (pid $PID)"
sleep "$(/usr/bin/python3 -c "print(max(0, $RESTART_S - $KILL_S))")"
if [ "$NS" != "-" ]; then
  ip netns exec "$NS" $CMDLINE > "$TMP/w1-restarted.log" 2>&1 &
  disown
else
  $CMDLINE > "$TMP/w1-restarted.log" 2>&1 &
  disown
fi
REPID=$!
[ "$CG" != "-" ] && echo "$REPID" > "$CG/tasks" 2>/dev/null || true
T_RESTART=$(date +%s.%N)
echo "restarted w1 (pid $REPID)"
wait "$RUN" || true
/usr/bin/python3 - "$TMP/run.json" "$T_KILL" "$T_RESTART" <<'PY'
import json, sys, statistics
r = json.load(open(sys.argv[1]))
t0 = r["t0_unix_s"]; kill = float(sys.argv[2]) - t0; back = float(sys.argv[3]) - t0
done = r["done_s"]
print(f"frames {r['frames']}: completed {r['completed']}, failed {r['failed']}, "
      f"re-runs {r['reruns']}  (every frame accounted for: {r['completed'] + r['failed'] == r['frames']})")
for s in r["switches"]:
    print(f"  t={s['at_s']:7.2f} s  {s['reason']}\n             -> {s['plan'][:90]} (deployed in {s['deploy_s']:.2f} s)")
lost = [s for s in r["switches"] if "lost" in s["reason"]]
after = sorted(d for d in done if d >= 0 and lost and d >= lost[0]["at_s"])
if lost and after:
    print(f"kill at {kill:.2f} s, loss noticed at {lost[0]['at_s']:.2f} s, new plan deployed in "
          f"{lost[0]['deploy_s']:.2f} s, first frame completed at {after[0]:.2f} s: "
          f"recovery {after[0] - kill:.2f} s (target < 2 s)")
rejoin = [s for s in r["switches"] if "answers again" in s["reason"]]
end = max(d for d in done if d >= 0)
def fps(a, b):
    n = sum(1 for d in done if a <= d < b)
    return n / (b - a) if b > a else 0
join = rejoin[0]["at_s"] if rejoin else end
print(f"throughput: before {fps(2, kill):.2f} fps, during (kill -> rejoin) {fps(kill, join):.2f} fps, "
      f"after rejoin {fps(join, end):.2f} fps  (arrival rate {r['frames'] / (r['makespan_s'] or 1):.2f} "
      f"overall)")
print(f"latency ms: mean {r['latency_ms']['mean']:.1f} p50 {r['latency_ms']['p50']:.1f} "
      f"p95 {r['latency_ms']['p95']:.1f} p99 {r['latency_ms']['p99']:.1f}")
PY
