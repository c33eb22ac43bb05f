// coinfer simulate --model M --cluster C.json --plan P.json [--frames N]
//   [--rate R [--poisson]] [--in-flight K] [--profile P] [--json] [--trace T]
// Also prints the physical bounds of (model, cluster).
#include <cstdio>
#include <fstream>

#include "cli/cli.h"
#include "cli/workload.h"
#include "plan/plan.h"
#include "sim/simulator.h"

namespace coinfer::cli {

namespace {

struct SimArgs {
  std::string model, cluster, plan, profile, trace;
  int frames = 100, in_flight = 1;
  double rate = 0;
  bool poisson = false, json = false;
  uint64_t seed = 1;
};

void simulate(const SimArgs& a) {
  auto w = load_workload(a.model, a.cluster, a.profile);
  plan::Plan p = unwrap(plan::load(a.plan));
  auto errors = plan::validate(p, w->graph, w->blocks, w->cluster);
  if (!errors.empty()) {
    for (size_t i = 1; i < errors.size(); ++i) std::fprintf(stderr, "  %s\n", errors[i].c_str());
    check(errorf("plan '{}': {} ({} violation(s))", a.plan, errors[0], errors.size()));
  }
  sim::Options o;
  o.frames = a.frames;
  o.in_flight = a.in_flight;
  o.rate = a.rate;
  o.seed = a.seed;
  o.trace = !a.trace.empty();
  o.arrival = a.rate > 0 ? (a.poisson ? sim::Arrival::Poisson : sim::Arrival::Fixed)
                         : sim::Arrival::ClosedLoop;
  sim::Result r = unwrap(sim::simulate(p, *w->cost, o));
  sim::Bounds b = sim::bounds(*w->cost);
  if (o.trace) {
    std::ofstream f(a.trace);
    f << sim::to_chrome_trace(r, *w->cost);
    if (!f) check(errorf("--trace '{}': cannot write", a.trace));
  }
  if (a.json) {
    std::printf("%s\n", sim::to_json(r).c_str());
    return;
  }
  std::printf("%s on %s, plan '%s' (%s, %zu stage(s)), %d frames\n", w->graph.name.c_str(),
              w->cluster.name.c_str(), a.plan.c_str(), p.strategy.c_str(), p.stages.size(),
              r.frames);
  std::printf("  throughput %.3f fps (steady %.3f)   latency mean %.1f ms  p50 %.1f  p95 %.1f  p99 %.1f\n",
              r.throughput_fps, r.steady_fps, r.latency_mean_ms, r.latency_p50_ms, r.latency_p95_ms,
              r.latency_p99_ms);
  std::printf("  bytes moved %.2f MB/frame   energy %.3f J/frame\n",
              r.bytes_moved / std::max(1, r.completed) / 1e6, r.energy_j_per_frame);
  std::printf("  bounds: compute upper bound %.3f fps (plan reaches %.0f%%), comm lower bound "
              "%.1f ms/frame\n",
              b.compute_fps, 100 * r.throughput_fps / b.compute_fps, b.comm_lower_s * 1e3);
  std::printf("  %-16s %6s %12s %10s\n", "device", "util", "sent (MB)", "energy (J)");
  for (const sim::DeviceStats& d : r.devices)
    std::printf("  %-16s %5.0f%% %12.2f %10.2f\n", d.name.c_str(), 100 * d.utilization,
                d.bytes_sent / 1e6, d.energy_j);
}

}  // namespace

void register_simulate(CLI::App& app) {
  auto* cmd = app.add_subcommand("simulate", "Predict a plan's latency, throughput and energy");
  auto a = std::make_shared<SimArgs>();
  cmd->add_option("--model", a->model, "ONNX file or zoo:NAME")->required();
  cmd->add_option("--cluster", a->cluster, "cluster spec JSON")->required();
  cmd->add_option("--plan", a->plan, "plan JSON")->required();
  cmd->add_option("--profile", a->profile, "reference device profile (coinfer profile device)");
  cmd->add_option("--frames", a->frames, "frames to simulate")->check(CLI::Range(1, 100000000));
  cmd->add_option("--rate", a->rate, "arrival rate (frames/s); 0 = closed loop")
      ->check(CLI::Range(0.0, 1e9));
  cmd->add_flag("--poisson", a->poisson, "Poisson arrivals at --rate (default: fixed interval)");
  cmd->add_option("--in-flight", a->in_flight, "closed loop: frames in the system")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--seed", a->seed, "seed for Poisson arrivals");
  cmd->add_option("--trace", a->trace, "write a Chrome trace-event JSON");
  cmd->add_flag("--json", a->json, "print one JSON object");
  cmd->callback([a] { simulate(*a); });
}

}  // namespace coinfer::cli
