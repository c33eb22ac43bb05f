// coinfer inspect MODEL: every layer (shape, FLOPs, params) and the blocks.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "graph/blocks.h"
#include "model/load.h"

namespace coinfer::cli {

namespace {

std::string human(double v) {
  if (v >= 1e9) return fmt::format("{:.2f}G", v / 1e9);
  if (v >= 1e6) return fmt::format("{:.2f}M", v / 1e6);
  if (v >= 1e3) return fmt::format("{:.1f}K", v / 1e3);
  return fmt::format("{:.0f}", v);
}

void inspect(const std::string& spec, bool json) {
  graph::Graph g = unwrap(model::load(spec));
  auto blocks = graph::find_blocks(g);
  double total = 0;
  nlohmann::json layers = nlohmann::json::array(), jb = nlohmann::json::array();
  if (!json)
    std::printf("%-4s %-36s %-14s %-20s %10s %10s\n", "id", "name", "op", "output", "FLOPs",
                "params");
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const graph::Node& n = g.nodes[i];
    graph::Cost c = graph::node_cost(g, n, {0, n.out.h});
    total += c.flops;
    std::string op = graph::op_name(n.kind);
    if (n.kind == graph::OpKind::Unary) op = graph::act_name(n.act);
    else if (n.act != graph::Act::None) op += std::string("+") + graph::act_name(n.act);
    size_t params = n.weight.size() + n.bias.size();
    if (json) {
      layers.push_back({{"id", i}, {"name", n.name}, {"op", op}, {"shape", n.out.str()},
                        {"flops", c.flops}, {"params", params}});
    } else {
      std::printf("%-4zu %-36.36s %-14s %-20s %10s %10s\n", i, n.name.c_str(), op.c_str(),
                  n.out.str().c_str(), human(c.flops).c_str(), human(double(params)).c_str());
    }
  }
  if (!json) std::printf("\nblocks (cut at tensors every path crosses):\n");
  for (size_t k = 0; k < blocks.size(); ++k) {
    const graph::Block& b = blocks[k];
    auto geo = graph::band_geometry(g, blocks, int(k), int(k) + 1,
                                    {0, g.nodes[size_t(b.last)].out.h});
    double flops = geo.ok() ? graph::band_cost(g, *geo).flops : 0;
    const std::string& cut = g.nodes[size_t(b.last)].name;
    if (json) {
      jb.push_back({{"index", k}, {"first", b.first}, {"last", b.last}, {"cut", cut},
                    {"output", g.nodes[size_t(b.last)].out.str()}, {"flops", flops},
                    {"partitionable", b.partitionable}});
    } else {
      std::printf("  %3zu  nodes %3d..%-3d  cut after %-32.32s %-20s %10s  %s\n", k, b.first,
                  b.last, cut.c_str(), g.nodes[size_t(b.last)].out.str().c_str(),
                  human(flops).c_str(), b.partitionable ? "rows" : "whole (not partitionable)");
    }
  }
  if (json) {
    nlohmann::json j = {{"model", g.name}, {"input", g.input_shape().str()},
                        {"output", g.output_shape().str()}, {"flops", total},
                        {"params", g.params()}, {"layers", layers}, {"blocks", jb}};
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("\n%s: input %s -> output %s, %s FLOPs, %s params, %zu layers, %zu blocks\n",
                g.name.c_str(), g.input_shape().str().c_str(), g.output_shape().str().c_str(),
                human(total).c_str(), human(double(g.params())).c_str(), g.nodes.size() - 1,
                blocks.size());
  }
}

}  // namespace

void register_inspect(CLI::App& app) {
  auto* cmd = app.add_subcommand("inspect", "List layers (shape, FLOPs, params) and blocks");
  auto model = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("model", *model, "ONNX file or zoo:NAME")->required();
  cmd->add_flag("--json", *json, "print one JSON object");
  cmd->callback([=] { inspect(*model, *json); });
}

}  // namespace coinfer::cli
