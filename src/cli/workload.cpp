#include "cli/workload.h"

#include <cstdio>

#include "cli/cli.h"
#include "model/load.h"
#include "net/io_cost.h"

namespace coinfer::cli {

// One core of the reference machine (AMD EPYC Zen 4, XNNPACK, 1 thread):
// ~100 GFLOP/s on conv layers, ~20 GB/s for memory-bound ops (NOTES.md).
constexpr double kReferenceGflops = 100, kReferenceGBps = 20;

std::unique_ptr<Workload> load_workload(const std::string& model, const std::string& cluster_path,
                                        const std::string& profile_path) {
  auto w = std::make_unique<Workload>();
  w->graph = unwrap(model::load(model));
  w->blocks = graph::find_blocks(w->graph);
  w->cluster = unwrap(cluster::load(cluster_path));
  if (profile_path.empty()) {
    std::fprintf(stderr,
                 "note: no --profile: using an analytic reference profile (%.0f GFLOP/s, %.0f "
                 "GB/s); measure one with `coinfer profile device`\n",
                 kReferenceGflops, kReferenceGBps);
    w->reference = cost::analytic_profile(w->graph, w->blocks, kReferenceGflops, kReferenceGBps);
  } else {
    w->reference = unwrap(cost::load_profile(profile_path));
  }
  w->cost = std::make_unique<cost::CostModel>(
      unwrap(cost::CostModel::create(w->graph, w->blocks, w->cluster, w->reference)));
  return w;
}

cost::Profile profile_this_machine(const graph::Graph& g, int threads, int points, int repeats) {
  cost::Profile p = unwrap(cost::measure_profile(g, threads, points, repeats));
  // 1 MiB bands: the size of an early stage's output (resnet34 layer1 0.8 MB).
  p.io_seconds_per_byte = unwrap(net::measure_io_seconds_per_byte(int64_t(1) << 20, 32));
  return p;
}

}  // namespace coinfer::cli
