// coinfer demo: the main job on an embedded local cluster. Brings up a local
// emulated heterogeneous cluster (network namespaces + tc + CPU quotas when
// root, else plain loopback processes with duty-cycle slowdown; with quotas,
// the speed they deliver measured), measures a profile of this machine, plans
// on the cluster's effective spec with every strategy and keeps the best
// predicted one, streams frames through it and through the fastest device
// alone, checks the outputs are bit-identical to a local run, prints the
// comparison and tears everything down.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>

#include "cli/cli.h"
#include "cli/workload.h"
#include "cluster/cluster.h"
#include "cost/cost_model.h"
#include "kernels/executor.h"
#include "model/load.h"
#include "planners/planner.h"
#include "runtime/coordinator.h"
#include "sim/simulator.h"
#include "testbed/testbed.h"

namespace coinfer::cli {

namespace {

// Four devices sharing ~1.1 cores of this machine (the coordinator keeps the
// rest): a heterogeneous mix at 40/30/25/15% of a core, with access links of
// 1 Gbps, 1 Gbps, 500 Mbps and 200 Mbps.
constexpr const char* kDemoCluster = R"({
  "name": "demo-4",
  "description": "coinfer demo: 4 heterogeneous emulated devices on this machine",
  "source": "external",
  "default_bandwidth": "1Gbps",
  "devices": [
    {"name": "fast",   "threads": 1, "memory": "2GiB", "speed": 0.40, "link": "1Gbps"},
    {"name": "medium", "threads": 1, "memory": "2GiB", "speed": 0.30, "link": "1Gbps"},
    {"name": "slow",   "threads": 1, "memory": "2GiB", "speed": 0.25, "link": "500Mbps"},
    {"name": "tiny",   "threads": 1, "memory": "2GiB", "speed": 0.15, "link": "200Mbps"}
  ]
})";

struct DemoArgs {
  std::string model = "zoo:resnet34";
  int frames = 40;
  bool no_emulation = false;
};

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Row {
  std::string mode, strategy;
  size_t devices = 0;
  double predicted_fps = 0;
  runtime::RunReport report;
};

void print_row(const Row& r, double base_fps) {
  const sim::Result& m = r.report.result;
  std::printf("  %-12s %-16s %7zu %10.1f %10.1f %10.2f %10.2f %8.2fx\n", r.mode.c_str(),
              r.strategy.c_str(), r.devices, m.latency_p50_ms, m.latency_p95_ms, m.steady_fps,
              r.predicted_fps, base_fps > 0 ? m.steady_fps / base_fps : 1.0);
}

void demo(const DemoArgs& a) {
  double t0 = now_s();
  cluster::ClusterSpec spec = unwrap(cluster::parse(kDemoCluster, "embedded demo cluster"));
  graph::Graph g = unwrap(model::load(a.model));
  auto blocks = graph::find_blocks(g);
  std::printf("coinfer demo: %s (%.1f GFLOP/frame) on %zu emulated devices\n", g.name.c_str(),
              [&] {
                double f = 0;
                for (const auto& n : g.nodes) f += graph::node_cost(g, n, {0, n.out.h}).flops;
                return f / 1e9;
              }(),
              spec.devices.size());

  // 1. The cluster; with CPU quotas its compute probe measures the speed
  //    each quota delivers, and the effective spec carries it.
  testbed::UpOptions uo;
  uo.emulate = !a.no_emulation && geteuid() == 0;
  uo.netperf = false;
  uo.cpu_probe = true;
  uo.log = [](const std::string& line) { std::printf("    %s\n", line.c_str()); };
  if (!uo.emulate && !a.no_emulation)
    std::printf("- not root: running without network emulation (loopback, duty-cycle slowdown)\n");
  std::printf("- bringing up the cluster (%s)...\n", uo.emulate ? "namespaces, tc, cgroups" : "loopback");
  std::fflush(stdout);
  testbed::State st = unwrap(testbed::up(spec, uo));
  struct Down {
    testbed::State& s;
    ~Down() {
      Status d = testbed::down(s);
      std::printf("- cluster down%s\n", d.ok() ? "" : (": " + d.message()).c_str());
    }
  } down{st};
  cluster::ClusterSpec live = unwrap(cluster::parse(st.effective_spec, st.effective_spec_path));

  // 2. A measured profile of one core of this machine: the devices' speeds
  //    are relative to it.
  std::printf("- profiling this machine (per block, latency vs rows)...\n");
  std::fflush(stdout);
  cost::Profile ref = profile_this_machine(g, 1, 4, 3);
  cost::CostModel cm = unwrap(cost::CostModel::create(g, blocks, live, ref));

  // 3. Plan with every strategy on the effective spec, keep the best
  //    predicted throughput.
  std::printf("- planning (%zu strategies, simulator predictions):\n",
              planners::strategies().size());
  sim::Options so;
  so.frames = a.frames;  // as the runs below: fps is their steady rate
  so.arrival = sim::Arrival::ClosedLoop;
  plan::Plan best, single;
  double best_fps = 0, single_fps = 0;
  for (const planners::Strategy& s : planners::strategies()) {
    Result<plan::Plan> p = planners::make_plan(s.name, cm, {});
    if (!p.ok()) {
      std::printf("    %-16s skipped: %s\n", s.name.c_str(), p.error().c_str());
      continue;
    }
    so.in_flight = plan::default_in_flight(*p);
    Result<sim::Result> r = sim::simulate(*p, cm, so);
    if (!r.ok()) continue;
    const int k = p->stages.back().pipeline + 1;  // interleaved pipelines
    std::printf("    %-16s %2d stage(s)%s: predicted %6.2f fps, latency %7.1f ms\n", s.name.c_str(),
                plan::depth(*p), k > 1 ? fmt::format(" x {} pipelines", k).c_str() : "",
                r->steady_fps, r->latency_mean_ms);
    if (s.name == "single") {
      single = *p;
      single_fps = r->steady_fps;
    } else if (r->steady_fps > best_fps) {
      best = *p;
      best_fps = r->steady_fps;
    }
  }
  if (best.stages.empty() || single.stages.empty()) check(errorf("demo: no plan could be made"));

  // 4. Stream frames: the fastest device alone, then the best plan.
  runtime::RunOptions ro;
  ro.model_spec = a.model;
  ro.key = unwrap(net::read_secret_key(testbed::coordinator_key_path(st)));
  ro.frames = a.frames;
  ro.keep_outputs = true;
  std::vector<Row> rows;
  for (auto [mode, p, fps] : {std::tuple{"single", &single, single_fps},
                              std::tuple{"cooperative", &best, best_fps}}) {
    std::printf("- running %d frames, %s (%s)...\n", a.frames, mode, p->strategy.c_str());
    std::fflush(stdout);
    ro.in_flight = plan::default_in_flight(*p);
    Row r{mode, p->strategy, 0, fps, unwrap(runtime::run(g, *p, live, ro))};
    std::vector<std::string> devs;
    for (const auto& s : p->stages)
      for (const auto& part : s.parts)
        if (std::find(devs.begin(), devs.end(), part.device) == devs.end()) devs.push_back(part.device);
    r.devices = devs.size();
    if (!r.report.failures.empty())
      check(errorf("demo: {} frame(s) failed: {}", r.report.failures.size(), r.report.failures[0]));
    rows.push_back(std::move(r));
  }

  // 5. Exactness: every cooperative output equals the single-device run here.
  auto ex = unwrap(kernels::Executor::create(g));  // the workers' default backend
  int identical = 0;
  const auto& outs = rows[1].report.outputs;
  for (size_t f = 0; f < outs.size(); ++f) {
    Tensor ref_out = unwrap(ex->run(runtime::synthetic_frame(g.input_shape(), ro.seed, f)));
    identical += outs[f].data.size() == ref_out.data.size() &&
                 std::memcmp(outs[f].data.data(), ref_out.data.data(), ref_out.data.size() * 4) == 0;
  }

  std::printf("\n  %-12s %-16s %7s %10s %10s %10s %10s %9s\n", "mode", "strategy", "devices",
              "p50 (ms)", "p95 (ms)", "fps", "predicted", "speed-up");
  for (const Row& r : rows) print_row(r, rows[0].report.result.steady_fps);
  std::printf("  fps: steady rate (completions after the first one, per second), measured and "
              "predicted for %d frames\n",
              a.frames);
  std::printf("\n  cooperative outputs bit-identical to a single-device run: %d/%zu frames\n",
              identical, outs.size());
  const int pipelines = best.stages.empty() ? 0 : best.stages.back().pipeline + 1;
  if (pipelines > 1)
    std::printf(
        "  stages of the cooperative plan (%d interleaved pipelines: frame f runs "
        "pipeline f mod %d):\n",
        pipelines, pipelines);
  else
    std::printf("  stages of the cooperative plan:\n");
  for (const auto& s : best.stages) {
    if (pipelines > 1) std::printf("    pipeline %d", s.pipeline);
    std::printf("    blocks [%d,%d):", s.first_block, s.last_block);
    for (const auto& part : s.parts)
      std::printf("  %s rows [%d,%d)", part.device.c_str(), part.rows.lo, part.rows.hi);
    std::printf("\n");
  }
  std::printf("  total demo time %.0f s\n", now_s() - t0);
  if (identical != int(outs.size()))
    check(errorf("demo: cooperative outputs differ from the single-device run"));
}

}  // namespace

void register_demo(CLI::App& app) {
  auto* cmd = app.add_subcommand("demo", "The main job: cooperative inference on an embedded local cluster");
  auto a = std::make_shared<DemoArgs>();
  cmd->add_option("--model", a->model, "model (default zoo:resnet34)");
  cmd->add_option("--frames", a->frames, "frames per run")->check(CLI::Range(1, 100000));
  cmd->add_flag("--no-emulation", a->no_emulation, "loopback workers, no namespaces/tc/cgroups");
  cmd->callback([a] { demo(*a); });
}

}  // namespace coinfer::cli
