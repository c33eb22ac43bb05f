// A zoo model on a cluster with the analytic reference profile (100 GFLOP/s,
// 20 GB/s), for the planner tests. Zoo graphs are built once per process
// (vgg16 / yolov2 weights take ~0.5 s each).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "cost/cost_model.h"
#include "zoo/zoo.h"

namespace coinfer::test {

inline const graph::Graph& zoo_graph(const std::string& name) {
  static std::map<std::string, std::unique_ptr<graph::Graph>> cache;
  auto& g = cache[name];
  if (!g) {
    auto r = zoo::build(name, 1);
    EXPECT_TRUE(r.ok()) << r.error();
    g = std::make_unique<graph::Graph>(std::move(r).value());
  }
  return *g;
}

struct PlannerEnv {
  const graph::Graph* g = nullptr;
  std::vector<graph::Block> blocks;
  cluster::ClusterSpec c;
  std::optional<cost::CostModel> cm;
};

// `cuts`: the profile also charges what a measured one does: every cut 10%
// of the cheaper block beside it, and 1 ms of CPU per MB of band moved.
inline std::unique_ptr<PlannerEnv> make_env(const std::string& model, const cluster::ClusterSpec& c,
                                            bool cuts = false) {
  auto e = std::make_unique<PlannerEnv>();
  e->g = &zoo_graph(model);
  e->blocks = graph::find_blocks(*e->g);
  e->c = c;
  cost::Profile p = cost::analytic_profile(*e->g, e->blocks, 100, 20);
  if (cuts) {
    p.version = 2;
    p.cut_seconds.assign(p.blocks.size(), 0.0);
    for (size_t k = 1; k < p.blocks.size(); ++k)
      p.cut_seconds[k] = 0.1 * std::min(p.blocks[k - 1].seconds.back(), p.blocks[k].seconds.back());
    p.io_seconds_per_byte = 1e-9;
  }
  auto cm = cost::CostModel::create(*e->g, e->blocks, c, p);
  EXPECT_TRUE(cm.ok()) << cm.error();
  e->cm.emplace(std::move(cm).value());
  return e;
}

}  // namespace coinfer::test
