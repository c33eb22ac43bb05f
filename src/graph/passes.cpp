#include <algorithm>

#include "graph/graph.h"

namespace coinfer::graph {

std::vector<std::vector<int>> consumers(const Graph& g) {
  std::vector<std::vector<int>> c(g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (int in : g.nodes[i].inputs) c[size_t(in)].push_back(int(i));
  return c;
}

namespace {

// Removes node `id`, rewiring its consumers to `replacement`.
void bypass(Graph& g, int id, int replacement) {
  for (Node& n : g.nodes)
    for (int& in : n.inputs)
      if (in == id) in = replacement;
  if (g.output == id) g.output = replacement;
}

// Keeps the nodes with keep[i] set, in order, and renumbers references.
void compact(Graph& g, const std::vector<char>& keep) {
  std::vector<int> remap(g.nodes.size(), -1);
  std::vector<Node> kept;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (!keep[i]) continue;
    remap[i] = int(kept.size());
    kept.push_back(std::move(g.nodes[i]));
  }
  for (Node& n : kept)
    for (int& in : n.inputs) in = remap[size_t(in)];
  g.output = remap[size_t(g.output)];
  g.nodes = std::move(kept);
}

}  // namespace

void prune_dead(Graph& g) {
  std::vector<char> live(g.nodes.size(), 0);
  live[size_t(g.output)] = 1;
  live[0] = 1;
  for (int i = int(g.nodes.size()) - 1; i >= 0; --i)
    if (live[size_t(i)])
      for (int in : g.nodes[size_t(i)].inputs) live[size_t(in)] = 1;
  compact(g, live);
}

void fuse_activations(Graph& g) {
  auto cons = consumers(g);
  for (size_t i = 1; i < g.nodes.size(); ++i) {
    Node& n = g.nodes[i];
    if (n.kind != OpKind::Unary || n.inputs.size() != 1) continue;
    int p = n.inputs[0];
    Node& prod = g.nodes[size_t(p)];
    bool fusable_kind =
        prod.kind == OpKind::Conv || prod.kind == OpKind::Dense || prod.kind == OpKind::Add;
    if (!fusable_kind || prod.act != Act::None || cons[size_t(p)].size() != 1 || p == g.output)
      continue;
    prod.act = n.act;
    prod.act_min = n.act_min;
    prod.act_max = n.act_max;
    prod.alpha = n.alpha;
    bypass(g, int(i), p);
    cons[size_t(p)] = cons[i];
    n.inputs.clear();
    n.kind = OpKind::Count;  // marked dead; pruned below
  }
  std::vector<char> keep(g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i) keep[i] = g.nodes[i].kind != OpKind::Count;
  compact(g, keep);
}

}  // namespace coinfer::graph
