// The (model, cluster, cost model) triple most subcommands start from.
#pragma once

#include <memory>
#include <string>

#include "cluster/cluster.h"
#include "cost/cost_model.h"
#include "graph/blocks.h"

namespace coinfer::cli {

struct Workload {
  graph::Graph graph;
  std::vector<graph::Block> blocks;
  cluster::ClusterSpec cluster;
  cost::Profile reference;
  std::unique_ptr<cost::CostModel> cost;  // points into graph and blocks: do not move them
};

// Loads the model and cluster; the reference profile is `profile_path` (a
// `coinfer profile device` output) or, if empty, an analytic estimate of one
// core of this machine kind (announced on stderr). Throws Failure on error.
std::unique_ptr<Workload> load_workload(const std::string& model, const std::string& cluster,
                                        const std::string& profile_path);

// This machine's profile of `g`: cost::measure_profile, and the transport's
// CPU per byte (net::measure_io_seconds_per_byte). Throws Failure on error.
cost::Profile profile_this_machine(const graph::Graph& g, int threads, int points, int repeats);

}  // namespace coinfer::cli
