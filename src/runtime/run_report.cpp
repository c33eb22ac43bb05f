// The measured run as a sim::Result: the same JSON keys (sim::to_json) and
// the same trace events (sim::to_chrome_trace) as the simulator's prediction.
//
// Measured: latency (issue -> last output row, coordinator clock), makespan
// (first issue -> last completion), bytes (payload bytes of every band that
// crossed the network: inputs, peer bands, results; a band a device sends to
// itself stays in memory and counts nothing), busy time (worker task times,
// slowdown sleep included). Estimated: tx_s = bytes a device sent and
// received / its access link rate from the cluster spec, and energy from the
// spec's power model with the simulator's formula.
#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include "runtime/session.h"

namespace coinfer::runtime {

namespace {

double access_bps(const cluster::ClusterSpec& c, int d) {
  double bps = c.devices[size_t(d)].link_bps;
  return bps > 0 ? bps : c.default_bandwidth_bps;
}

}  // namespace

void summarize_frames(const std::vector<FrameRecord>& frames, int64_t t0_ns, sim::Result& r) {
  r.frames = int(frames.size());
  int64_t last_done = t0_ns, first_done = INT64_MAX;
  for (const FrameRecord& f : frames) {
    if (f.done) {
      ++r.completed;
      r.latencies_ms.push_back(double(f.done_ns - f.issued_ns) * 1e-6);
      last_done = std::max(last_done, f.done_ns);
      first_done = std::min(first_done, f.done_ns);
    } else {
      ++r.failed;
    }
  }
  r.makespan_s = double(last_done - t0_ns) * 1e-9;
  r.throughput_fps = r.makespan_s > 0 ? r.completed / r.makespan_s : 0;
  r.steady_fps = sim::steady_fps(r.completed, double(first_done - t0_ns) * 1e-9, r.makespan_s,
                                 r.makespan_s);
  sim::fill_latency_stats(r);
}

void fill_result(const Session& s, RunReport& rep) {
  sim::Result& r = rep.result;
  summarize_frames(s.frames, s.t0_ns, r);
  // Devices: every device of the cluster, as the simulator lists them.
  const cluster::ClusterSpec& c = s.cluster;
  std::vector<double> received(c.devices.size(), 0);
  for (const Peer& p : s.peers)
    for (const ArrivalRecord& a : p.stats.arrivals) received[size_t(c.find(p.device))] += double(a.bytes);
  r.bytes_moved = double(s.input_bytes);
  double energy = 0;
  for (size_t d = 0; d < c.devices.size(); ++d) {
    sim::DeviceStats ds;
    ds.name = c.devices[d].name;
    auto it = s.peer_of.find(ds.name);
    if (it != s.peer_of.end()) {
      const WorkerStats& w = s.peers[size_t(it->second)].stats;
      ds.busy_s = w.busy_s;
      ds.bytes_sent = double(w.bytes_sent);
      r.bytes_moved += ds.bytes_sent;
    }
    ds.utilization = r.makespan_s > 0 ? std::min(1.0, ds.busy_s / r.makespan_s) : 0;
    ds.tx_s = (ds.bytes_sent + received[d]) * 8.0 / access_bps(c, int(d));
    const cluster::PowerModel& pw = c.devices[d].power;
    double idle = std::max(0.0, r.makespan_s - ds.busy_s - ds.tx_s);
    ds.energy_j = ds.busy_s * pw.busy_w + ds.tx_s * pw.tx_w + idle * pw.idle_w;
    energy += ds.energy_j;
    r.devices.push_back(std::move(ds));
  }
  r.energy_j_per_frame = r.completed > 0 ? energy / r.completed : 0;
  if (!s.o.trace) return;

  // Trace: compute from worker task records, transfers from send -> arrival.
  auto rel = [&](int64_t coord_ns) { return double(coord_ns - s.t0_ns) * 1e-9; };
  std::map<std::tuple<uint64_t, int, int>, int64_t> task_end;  // (frame, stage, part) -> coord ns
  for (const Peer& p : s.peers) {
    const int dev = c.find(p.device);
    for (const TaskRecord& t : p.stats.tasks) {
      if (t.stage < 0 || t.stage >= int(s.routes.stages.size()) || t.part < 0 ||
          t.part >= int(s.routes.stages[size_t(t.stage)].size()))
        continue;
      const int64_t start = t.start_ns - p.clock_offset_ns, end = t.end_ns - p.clock_offset_ns;
      task_end[{t.frame, t.stage, t.part}] = end;
      r.trace.push_back({fmt::format("{} f{}", s.routes.at(t.stage, t.part).name, t.frame),
                         "compute", dev, 0, rel(start), double(end - start) * 1e-9, int(t.frame)});
    }
  }
  for (const Peer& p : s.peers) {
    const int dst_part_dev = c.find(p.device);
    for (const ArrivalRecord& a : p.stats.arrivals) {
      const int at = a.stage;
      const int part = s.routes.find(at, p.device);
      if (part < 0) continue;
      const int64_t arrive = a.at_ns - p.clock_offset_ns;
      int64_t start = 0;
      int from_dev = -1;
      std::string name;
      if (s.routes.is_first(at)) {
        if (a.frame >= s.frames.size() ||
            size_t(part) >= s.frames[size_t(a.frame)].input_sent_ns.size())
          continue;
        start = s.frames[size_t(a.frame)].input_sent_ns[size_t(part)];
        name = fmt::format("input -> s{}p{} f{}", at, part, a.frame);
      } else {
        auto it = task_end.find({a.frame, at - 1, a.from_part});
        if (it == task_end.end()) continue;
        start = it->second;
        const PartRoute& src = s.routes.at(at - 1, a.from_part);
        from_dev = c.find(src.device);
        name = fmt::format("s{}p{} -> s{}p{} f{}", at - 1, a.from_part, at, part, a.frame);
      }
      if (start <= 0 || from_dev == dst_part_dev) continue;
      r.trace.push_back({name, "transfer", from_dev, 1, rel(start),
                         double(std::max<int64_t>(0, arrive - start)) * 1e-9, int(a.frame)});
    }
  }
  for (size_t f = 0; f < s.frames.size(); ++f) {
    const int last = s.routes.pipeline_of_frame(f).hi - 1;
    for (size_t j = 0; j < s.frames[f].result_recv_ns.size(); ++j) {
      const int64_t recv = s.frames[f].result_recv_ns[j];
      auto it = task_end.find({uint64_t(f), last, int(j)});
      if (recv == 0 || it == task_end.end()) continue;
      r.trace.push_back({fmt::format("s{}p{} -> output f{}", last, j, f), "transfer",
                         c.find(s.routes.at(last, int(j)).device), 1, rel(it->second),
                         double(std::max<int64_t>(0, recv - it->second)) * 1e-9, int(f)});
    }
  }
  std::sort(r.trace.begin(), r.trace.end(),
            [](const sim::TraceEvent& a, const sim::TraceEvent& b) { return a.start_s < b.start_s; });
}

std::string to_table(const RunReport& rep) {
  const sim::Result& r = rep.result;
  std::string out = fmt::format(
      "frames {}  completed {}  failed {}  throughput {:.2f} fps (steady {:.2f})  makespan {:.3f} s\n"
      "latency ms: mean {:.1f}  p50 {:.1f}  p95 {:.1f}  p99 {:.1f}\n"
      "bytes moved {:.1f} MB ({:.2f} MB/frame)  deploy {:.2f} s\n",
      r.frames, r.completed, r.failed, r.throughput_fps, r.steady_fps, r.makespan_s, r.latency_mean_ms,
      r.latency_p50_ms, r.latency_p95_ms, r.latency_p99_ms, r.bytes_moved / 1e6,
      r.completed > 0 ? r.bytes_moved / 1e6 / r.completed : 0.0, rep.deploy_s);
  out += fmt::format("{:<16} {:>11} {:>9} {:>13} {:>7} {:>9} {:>8}\n", "device", "utilization",
                     "busy s", "sent MB", "tasks", "rejected", "garbage");
  for (const sim::DeviceStats& d : r.devices) {
    const WorkerStats* w = nullptr;
    for (const WorkerReport& x : rep.workers)
      if (x.device == d.name && x.has_stats) w = &x.stats;
    out += fmt::format("{:<16} {:>10.1f}% {:>9.3f} {:>13.2f}", d.name, d.utilization * 100,
                       d.busy_s, d.bytes_sent / 1e6);
    if (w)
      out += fmt::format(" {:>7} {:>9} {:>8}", w->tasks_run, w->bands_rejected, w->garbage);
    out += "\n";
  }
  for (size_t i = 0; i < rep.failures.size() && i < 10; ++i) out += rep.failures[i] + "\n";
  if (rep.insecure) out += net::insecure_warning("this run") + "\n";
  if (rep.failures.size() > 10) out += fmt::format("... and {} more failures\n", rep.failures.size() - 10);
  return out;
}

}  // namespace coinfer::runtime
