// coinfer plan --model M --cluster C.json --strategy S [--profile P.json]
//   [--latency-bound S] [--rate R] [--deadline S] [--policy P.bin] [-o plan.json] [--svg F] [--json]:
// runs a planner, then predicts the plan with the simulator (closed loop:
// throughput; one frame alone: latency and energy per frame) and explains it.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cluster/cluster.h"
#include "cost/cost_model.h"
#include "graph/blocks.h"
#include "model/load.h"
#include "planners/planner.h"
#include "sim/simulator.h"

namespace coinfer::cli {

namespace {

struct PlanArgs {
  std::string model, cluster, strategy = "pico", profile, output, svg, grid, policy;
  double latency_bound = 0, rate = 0, deadline = 0;
  int fused_blocks = 0, frames = 60;
  uint64_t seed = 1;
  bool json = false;
};

void write_file(const std::string& path, const std::string& text, const char* what) {
  std::ofstream f(path);
  if (!f) check(errorf("plan: cannot write {} '{}'", what, path));
  f << text;
  if (!f) check(errorf("plan: cannot write {} '{}'", what, path));
}

planners::Options options(const PlanArgs& a) {
  planners::Options o;
  if (a.latency_bound > 0) o.latency_bound_s = a.latency_bound;
  if (a.deadline > 0) o.deadline_s = a.deadline;
  o.rate = a.rate;
  o.seed = a.seed;
  o.fused_blocks = a.fused_blocks;
  o.policy_path = a.policy;
  if (!a.grid.empty()) {
    int n = 0, m = 0;
    char x = 0, extra = 0;
    if (std::sscanf(a.grid.c_str(), "%d%c%d%c", &n, &x, &m, &extra) != 3 ||
        (x != 'x' && x != 'X') || n < 1 || m < 1)
      check(errorf("plan: --grid '{}': must be NxM with N, M >= 1 (e.g. 2x2)", a.grid));
    o.grid_rows = n;
    o.grid_cols = m;
  }
  return o;
}

// Redundant work of a plan: FLOPs computed beyond the model's, as a fraction
// of the model's FLOPs. Per stage: the sum over parts of graph::band_cost of
// the part's band (halo rows recomputed) minus the cost of the stage's blocks
// for the whole output (no halo). A column-restricted part (grid tile) is
// charged, per node, its computed rows times the columns its tile needs (the
// column band from band_geometry on the columns, exact for square values, as
// in every zoo model); for non-square values, its column fraction (column
// halo ignored, as in the simulator).
double redundancy(const graph::Graph& g, const std::vector<graph::Block>& blocks,
                  const plan::Plan& p) {
  const int nb = int(blocks.size());
  auto full = [&](int a, int b) {
    const Shape& out = g.nodes[size_t(blocks[size_t(b - 1)].last)].out;
    return graph::band_cost(g, unwrap(graph::band_geometry(g, blocks, a, b, {0, out.h}))).flops;
  };
  double model = full(0, nb), extra = 0;
  for (const plan::Stage& st : p.stages) {
    double parts = 0;
    for (const plan::Assignment& as : st.parts) {
      graph::BandGeometry rows =
          unwrap(graph::band_geometry(g, blocks, st.first_block, st.last_block, as.rows));
      if (as.all_cols()) {
        parts += graph::band_cost(g, rows).flops;
        continue;
      }
      bool square = true;
      for (int i = rows.input_node; i <= rows.last_node && square; ++i)
        if (i == rows.input_node || (i >= rows.first_node && !rows.compute[size_t(i)].empty()))
          square = g.nodes[size_t(i)].out.h == g.nodes[size_t(i)].out.w;
      const Shape& out = g.nodes[size_t(blocks[size_t(st.last_block - 1)].last)].out;
      if (!square) {
        parts += graph::band_cost(g, rows).flops * as.cols.size() / std::max(1, out.w);
        continue;
      }
      graph::BandGeometry cols =
          unwrap(graph::band_geometry(g, blocks, st.first_block, st.last_block, as.cols));
      for (int i = rows.first_node; i <= rows.last_node; ++i) {
        const graph::Node& n = g.nodes[size_t(i)];
        if (rows.compute[size_t(i)].empty()) continue;
        parts += graph::node_cost(g, n, rows.compute[size_t(i)]).flops *
                 cols.compute[size_t(i)].size() / std::max(1, n.out.w);
      }
    }
    extra += parts - full(st.first_block, st.last_block);
  }
  return model > 0 ? extra / model : 0;
}

void run_plan(const PlanArgs& a) {
  graph::Graph g = unwrap(model::load(a.model));
  auto blocks = graph::find_blocks(g);
  cluster::ClusterSpec c = unwrap(cluster::load(a.cluster));
  cost::Profile prof;
  if (!a.profile.empty()) {
    prof = unwrap(cost::load_profile(a.profile));
  } else {
    prof = cost::analytic_profile(g, blocks, 100, 20);
    std::fprintf(stderr,
                 "plan: no --profile: reference profile is analytic (100 GFLOP/s, 20 GB/s)\n");
  }
  cost::CostModel cm = unwrap(cost::CostModel::create(g, blocks, c, prof));
  planners::Options o = options(a);
  auto t0 = std::chrono::steady_clock::now();
  plan::Plan p = unwrap(planners::make_plan(a.strategy, cm, o));
  double planning_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (!a.output.empty()) write_file(a.output, plan::to_json(p) + "\n", "plan");
  if (!a.svg.empty()) write_file(a.svg, planners::plan_svg(p, cm), "svg");

  sim::Options one;
  one.frames = 1;
  sim::Result single = unwrap(sim::simulate(p, cm, one));
  sim::Options loop;
  loop.frames = a.frames;
  loop.arrival = sim::Arrival::ClosedLoop;
  loop.in_flight = plan::default_in_flight(p);
  sim::Result r = unwrap(sim::simulate(p, cm, loop));
  sim::Bounds bd = sim::bounds(cm);
  double fraction = bd.compute_fps > 0 ? r.throughput_fps / bd.compute_fps : 0;
  planners::Estimate est = planners::estimate(cm, p);

  if (a.json) {
    nlohmann::json j = {
        {"strategy", p.strategy},
        {"plan", nlohmann::json::parse(plan::to_json(p))},
        {"predicted", nlohmann::json::parse(sim::to_json(r))},
        {"bound_fraction", fraction},
        {"one_frame_latency_ms", single.latency_mean_ms},
        {"energy_j_per_frame", single.energy_j_per_frame},
        {"estimate", {{"period_s", est.period_s}, {"latency_s", est.latency_s}}},
        {"in_flight", loop.in_flight},
        {"planning_ms", planning_ms},
        {"redundancy", redundancy(g, blocks, p)},
    };
    std::printf("%s\n", j.dump().c_str());
    return;
  }
  std::printf("%s on %s (%zu devices): %s, %zu stage%s, planned in %.1f ms\n", g.name.c_str(),
              c.name.c_str(), c.devices.size(), p.strategy.c_str(), p.stages.size(),
              p.stages.size() == 1 ? "" : "s", planning_ms);
  for (size_t s = 0; s < p.stages.size(); ++s) {
    const plan::Stage& st = p.stages[s];
    const graph::Node& first = g.nodes[size_t(blocks[size_t(st.first_block)].first)];
    const graph::Node& last = g.nodes[size_t(blocks[size_t(st.last_block - 1)].last)];
    std::printf("stage %zu: blocks [%d,%d) %s .. %s -> %s, estimated %.2f ms\n", s, st.first_block,
                st.last_block, first.name.c_str(), last.name.c_str(), last.out.str().c_str(),
                s < est.stage_s.size() ? est.stage_s[s] * 1e3 : 0.0);
    for (const plan::Assignment& as : st.parts) {
      std::printf("  %-16s rows [%d,%d)", as.device.c_str(), as.rows.lo, as.rows.hi);
      if (!as.all_cols()) std::printf(" cols [%d,%d)", as.cols.lo, as.cols.hi);
      std::printf("\n");
    }
  }
  double period_ms = r.throughput_fps > 0 ? 1e3 / r.throughput_fps : 0;
  std::printf(
      "predicted (simulator, closed loop, %d frames, %d in flight): throughput %.3f fps "
      "(period %.1f ms), mean latency %.1f ms\n",
      r.frames, loop.in_flight, r.throughput_fps, period_ms, r.latency_mean_ms);
  std::printf(
      "one frame alone: latency %.1f ms, energy %.3f J; planner estimate: period %.1f ms, "
      "latency %.1f ms\n",
      single.latency_mean_ms, single.energy_j_per_frame, est.period_s * 1e3, est.latency_s * 1e3);
  std::printf("compute upper bound %.3f fps: this plan reaches %.1f%%\n", bd.compute_fps,
              100 * fraction);
  for (const sim::DeviceStats& d : r.devices)
    std::printf("  %-16s utilisation %5.1f%%  sent %.2f MB\n", d.name.c_str(), 100 * d.utilization,
                d.bytes_sent / 1e6);
  if (!a.output.empty()) std::printf("wrote %s\n", a.output.c_str());
  if (!a.svg.empty()) std::printf("wrote %s\n", a.svg.c_str());
}

}  // namespace

void register_plan(CLI::App& app) {
  std::string names;
  for (const planners::Strategy& s : planners::strategies())
    names += "\n  " + s.name + ": " + s.description;
  auto* cmd = app.add_subcommand("plan", "Plan a model on a cluster and predict the plan");
  auto a = std::make_shared<PlanArgs>();
  cmd->add_option("--model", a->model, "ONNX file or zoo:NAME")->required();
  cmd->add_option("--cluster", a->cluster, "cluster spec JSON")->required();
  cmd->add_option("--strategy", a->strategy, "planner (default pico):" + names);
  cmd->add_option("--profile", a->profile,
                  "reference device profile (coinfer profile device); default: analytic");
  cmd->add_option("--latency-bound", a->latency_bound, "pico: max one-frame latency, seconds")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--rate", a->rate, "apico: Poisson arrival rate, frames/s")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--deadline", a->deadline,
                  "coedge: max one-frame latency, seconds (default: none, min energy)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--grid", a->grid, "ftp: tile grid NxM (rows x columns)");
  cmd->add_option("--fused-blocks", a->fused_blocks, "ftp/efl: fused prefix length in blocks")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--policy", a->policy,
                  "distredge: trained policy (coinfer train distredge); default: capacity split");
  cmd->add_option("--seed", a->seed, "seed for randomised planners");
  cmd->add_option("--frames", a->frames, "frames to simulate (closed loop)")
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("-o,--output", a->output, "write the plan JSON here");
  cmd->add_option("--svg", a->svg, "write a picture of the plan (SVG)");
  cmd->add_flag("--json", a->json, "print one JSON object");
  cmd->callback([a] { run_plan(*a); });
}

}  // namespace coinfer::cli
