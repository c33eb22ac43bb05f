// Discrete-event simulator: predicts what a plan does on a cluster for a
// stream of frames. Models halo-expanded compute from the cost model's
// profile tables, peer-to-peer transfers (bandwidth + latency per link, or one
// shared medium split fairly among concurrent transfers), pipelining across
// stages and a FIFO queue per device.
//
// Conventions: the first frame arrives at t = 0 (Fixed: frame f at f / rate;
// Poisson: exponential gaps after it; ClosedLoop: in_flight frames at 0, a new
// one whenever one completes). makespan = last completion; throughput =
// completed / makespan. A device is "transmitting" (tx_s) while at least one
// of its transfers has bytes on the wire (link latency excluded). A shared
// medium without medium_bandwidth_bps uses default_bandwidth_bps. Modelling
// choices and simplifications are listed at the top of simulator.cpp.
//
//   sim::Options o;  o.frames = 1000;  o.arrival = sim::Arrival::Poisson;  o.rate = 5;
//   sim::Result r = sim::simulate(plan, cost_model, o).value();
#pragma once

#include <string>
#include <vector>

#include "cost/cost_model.h"
#include "plan/plan.h"

namespace coinfer::sim {

enum class Arrival : uint8_t { Fixed, Poisson, ClosedLoop, Count };

struct Options {
  int frames = 100;
  Arrival arrival = Arrival::ClosedLoop;
  double rate = 0;     // frames/s for Fixed and Poisson
  int in_flight = 1;   // ClosedLoop: frames in the system at once
  uint64_t seed = 1;   // Poisson arrivals
  bool trace = false;  // record events for a Chrome trace
};

struct DeviceStats {
  std::string name;
  double utilization = 0;  // busy compute time / makespan
  double busy_s = 0, tx_s = 0;
  double bytes_sent = 0;
  double energy_j = 0;
};

struct TraceEvent {
  std::string name, cat;  // e.g. "blocks 0-5 rows 0-28", "compute" | "transfer"
  int device = 0;         // pid in the trace (-1 = source)
  int lane = 0;           // tid: 0 compute, 1 network
  double start_s = 0, dur_s = 0;
  int frame = 0;
};

struct Result {
  int frames = 0, completed = 0, failed = 0;
  double throughput_fps = 0;  // completed / makespan: pipeline fill included
  double steady_fps = 0;      // completion rate after the first completion
  double latency_mean_ms = 0, latency_p50_ms = 0, latency_p95_ms = 0, latency_p99_ms = 0;
  double makespan_s = 0;
  double bytes_moved = 0;
  double energy_j_per_frame = 0;
  std::vector<DeviceStats> devices;
  std::vector<double> latencies_ms;  // per frame, in frame order
  std::vector<TraceEvent> trace;
};

coinfer::Result<Result> simulate(const plan::Plan& p, const cost::CostModel& cm, const Options& o);

// The `--json` object shared with `coinfer run` (keys in DESIGN.md).
std::string to_json(const Result& r);
// Mean and nearest-rank percentiles of r.latencies_ms (zeros if empty); used
// by the simulator and the runtime so both report the same statistics.
void fill_latency_stats(Result& r);
// Steady-state throughput: (completed - 1) completions between the first and
// the last one, so a short run is not charged the pipeline fill (the first
// frame's latency). Falls back to completed / makespan below two completions.
// Shared by the simulator and the runtime.
double steady_fps(int completed, double first_done_s, double last_done_s, double makespan_s);
// Chrome trace-event JSON (Perfetto / chrome://tracing).
std::string to_chrome_trace(const Result& r, const cost::CostModel& cm);

// Physical limits: throughput if every device computed halo-free at its full
// capacity with no communication, and the time to move one frame in and its
// result out over the best link.
struct Bounds {
  double compute_fps = 0;
  double comm_lower_s = 0;
};
Bounds bounds(const cost::CostModel& cm);

}  // namespace coinfer::sim
