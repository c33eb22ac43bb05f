# Sourced by the adaptive-run benches (reliability, bandwidth_change,
# load_change): BIN, a temporary directory TMP removed on exit together with
# the testbed brought up by testbed_up, and the header line of every report.
# The including script may define extra_cleanup (run first on exit).
BIN=$PWD/build/coinfer
TMP=$(mktemp -d "/tmp/coinfer-$1-XXXX")
cleanup() {
  if declare -F extra_cleanup >/dev/null; then extra_cleanup || true; fi
  $BIN cluster down --state "$TMP/state.json" >/dev/null 2>&1 || $BIN cluster down --all >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')  load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
# testbed_up SPEC: the emulated testbed; LIVE = its effective spec, KEY = the
# coordinator's key.
testbed_up() {
  $BIN cluster up --spec "$1" --state "$TMP/state.json" --no-netperf >/dev/null 2>&1
  LIVE="$TMP/state.json.d/spec.json"
  KEY="$TMP/state.json.d/coordinator.key"
}
