// The simulator's outputs: the `--json` object, the Chrome trace and the
// physical bounds.
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "sim/simulator.h"

namespace coinfer::sim {

std::string to_json(const Result& r) {
  nlohmann::json devices = nlohmann::json::array();
  for (const DeviceStats& d : r.devices)
    devices.push_back({{"name", d.name},
                       {"utilization", d.utilization},
                       {"bytes_sent", d.bytes_sent},
                       {"busy_s", d.busy_s},
                       {"tx_s", d.tx_s},
                       {"energy_j", d.energy_j}});
  nlohmann::json j = {
      {"frames", r.frames},
      {"completed", r.completed},
      {"failed", r.failed},
      {"throughput_fps", r.throughput_fps},
      {"steady_fps", r.steady_fps},
      {"latency_ms",
       {{"mean", r.latency_mean_ms},
        {"p50", r.latency_p50_ms},
        {"p95", r.latency_p95_ms},
        {"p99", r.latency_p99_ms}}},
      {"bytes_moved", r.bytes_moved},
      {"energy_j_per_frame", r.energy_j_per_frame},
      {"devices", devices},
      {"makespan_s", r.makespan_s},
  };
  return j.dump();
}

std::string to_chrome_trace(const Result& r, const cost::CostModel& cm) {
  const auto& devs = cm.cluster().devices;
  const int n = int(devs.size());
  nlohmann::json events = nlohmann::json::array();
  auto meta = [&](int pid, const std::string& name) {
    events.push_back({{"name", "process_name"},
                      {"ph", "M"},
                      {"pid", pid},
                      {"tid", 0},
                      {"args", {{"name", name}}}});
    for (int tid = 0; tid < 2; ++tid)
      events.push_back({{"name", "thread_name"},
                        {"ph", "M"},
                        {"pid", pid},
                        {"tid", tid},
                        {"args", {{"name", tid == 0 ? "compute" : "network"}}}});
  };
  for (int i = 0; i < n; ++i) meta(i, devs[size_t(i)].name);
  meta(n, "source");
  for (const TraceEvent& e : r.trace)
    events.push_back({{"name", e.name},
                      {"cat", e.cat},
                      {"ph", "X"},
                      {"ts", e.start_s * 1e6},
                      {"dur", e.dur_s * 1e6},
                      {"pid", e.device < 0 ? n : e.device},
                      {"tid", e.lane},
                      {"args", {{"frame", e.frame}}}});
  return nlohmann::json{{"traceEvents", events}, {"displayTimeUnit", "ms"}}.dump();
}

Bounds bounds(const cost::CostModel& cm) {
  Bounds b;
  const cluster::ClusterSpec& c = cm.cluster();
  double capacity = 0;
  for (int d = 0; d < int(c.devices.size()); ++d) capacity += cm.flops_per_s(d);
  if (cm.model_flops() > 0) b.compute_fps = capacity / cm.model_flops();
  if (!c.source.empty() && c.find(c.source) >= 0) return b;  // frames start on a device
  const graph::Graph& g = cm.graph();
  double bytes = double(g.input_shape().elements() + g.output_shape().elements()) * 4.0;
  double best = 0;
  for (int d = 0; d < int(c.devices.size()); ++d) best = std::max(best, c.source_bandwidth_bps(d));
  if (c.shared_medium && c.medium_bandwidth_bps > 0) best = std::min(best, c.medium_bandwidth_bps);
  if (best > 0) b.comm_lower_s = bytes * 8.0 / best;
  return b;
}

void fill_latency_stats(Result& r) {
  if (r.latencies_ms.empty()) return;
  std::vector<double> sorted = r.latencies_ms;
  std::sort(sorted.begin(), sorted.end());
  auto pct = [&](double q) {
    size_t k = size_t(std::ceil(q * double(sorted.size())));
    return sorted[std::min(sorted.size() - 1, k > 0 ? k - 1 : 0)];
  };
  double sum = 0;
  for (double v : sorted) sum += v;
  r.latency_mean_ms = sum / double(sorted.size());
  r.latency_p50_ms = pct(0.50);
  r.latency_p95_ms = pct(0.95);
  r.latency_p99_ms = pct(0.99);
}

double steady_fps(int completed, double first_done_s, double last_done_s, double makespan_s) {
  if (completed >= 2 && last_done_s > first_done_s) return (completed - 1) / (last_done_s - first_done_s);
  return makespan_s > 0 ? completed / makespan_s : 0;
}

}  // namespace coinfer::sim
