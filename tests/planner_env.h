// A zoo model on a cluster with the analytic reference profile (100 GFLOP/s,
// 20 GB/s), for the planner tests. Zoo graphs are built once per process
// (vgg16 / yolov2 weights take ~0.5 s each).
#pragma once

#include <gtest/gtest.h>

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

inline std::unique_ptr<PlannerEnv> make_env(const std::string& model,
                                            const cluster::ClusterSpec& c) {
  auto e = std::make_unique<PlannerEnv>();
  e->g = &zoo_graph(model);
  e->blocks = graph::find_blocks(*e->g);
  e->c = c;
  auto cm = cost::CostModel::create(*e->g, e->blocks, c,
                                    cost::analytic_profile(*e->g, e->blocks, 100, 20));
  EXPECT_TRUE(cm.ok()) << cm.error();
  e->cm.emplace(std::move(cm).value());
  return e;
}

}  // namespace coinfer::test
