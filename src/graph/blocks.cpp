#include "graph/blocks.h"

#include <algorithm>

namespace coinfer::graph {

std::vector<Block> find_blocks(const Graph& g) {
  int n = int(g.nodes.size());
  // max_reach[u]: the furthest node that reads u's value.
  std::vector<int> max_reach(size_t(n), -1);
  for (int i = 0; i < n; ++i)
    for (int in : g.nodes[size_t(i)].inputs) max_reach[size_t(in)] = std::max(max_reach[size_t(in)], i);
  std::vector<Block> raw;
  int reach = max_reach[0];  // furthest read of any value produced before i
  int first = 1;
  for (int i = 1; i < n; ++i) {
    // i is a cut if no value produced before i is read after i.
    if (reach <= i || i == n - 1) {
      Block b;
      b.first = first;
      b.last = i;
      b.input = first - 1 == 0 ? 0 : raw.back().last;
      for (int k = first; k <= i; ++k) b.partitionable = b.partitionable && row_local(g.nodes[size_t(k)]);
      raw.push_back(b);
      first = i + 1;
    }
    reach = std::max(reach, max_reach[size_t(i)]);
  }
  // Merge runs of non-partitionable blocks (the fully connected tail).
  std::vector<Block> out;
  for (const Block& b : raw) {
    if (!out.empty() && !out.back().partitionable && !b.partitionable) {
      out.back().last = b.last;
    } else {
      out.push_back(b);
    }
  }
  return out;
}

Result<BandGeometry> band_geometry(const Graph& g, const std::vector<Block>& blocks, int a, int b,
                                   Rows out) {
  if (a < 0 || b > int(blocks.size()) || a >= b)
    return errorf("block range [{}, {}): must be non-empty within [0, {})", a, b, blocks.size());
  const Node& last = g.nodes[size_t(blocks[size_t(b - 1)].last)];
  if (out.lo < 0 || out.hi > last.out.h || out.empty())
    return errorf("output rows [{}, {}) of block '{}': must be non-empty within [0, {})", out.lo,
                  out.hi, last.name, last.out.h);
  BandGeometry geo;
  geo.a = a;
  geo.b = b;
  geo.out = out;
  size_t n = g.nodes.size();
  geo.compute.assign(n, Rows{0, 0});
  geo.alloc.assign(n, Rows{0, 0});
  int first = blocks[size_t(a)].first, lastid = blocks[size_t(b - 1)].last;
  int in_id = blocks[size_t(a)].input;
  geo.compute[size_t(lastid)] = out;
  geo.alloc[size_t(lastid)] = out;
  for (int i = lastid; i >= first; --i) {
    const Node& node = g.nodes[size_t(i)];
    Rows mine = geo.compute[size_t(i)];
    if (mine.empty()) continue;
    for (size_t k = 0; k < node.inputs.size(); ++k) {
      int src = node.inputs[k];
      Rows need = input_rows(g, node, int(k), mine);
      int h = g.nodes[size_t(src)].out.h;
      geo.compute[size_t(src)] = geo.compute[size_t(src)].unite(need.clip(h));
      // Conv reads padding rows from the buffer; other ops handle borders.
      Rows held = node.kind == OpKind::Conv ? need : need.clip(h);
      geo.alloc[size_t(src)] = geo.alloc[size_t(src)].unite(held);
    }
    if (i == first) break;
  }
  for (size_t i = 0; i < n; ++i) {
    bool in_range = (int(i) >= first && int(i) <= lastid) || int(i) == in_id;
    if (!in_range) {
      geo.compute[i] = geo.alloc[i] = Rows{0, 0};
    } else {
      geo.alloc[i] = geo.alloc[i].unite(geo.compute[i]);
    }
  }
  geo.input = geo.compute[size_t(in_id)];
  geo.first_node = first;
  geo.last_node = lastid;
  geo.input_node = in_id;
  return geo;
}

Cost band_cost(const Graph& g, const BandGeometry& geo) {
  Cost total;
  for (int i = geo.first_node; i <= geo.last_node; ++i) {
    if (geo.compute[size_t(i)].empty()) continue;
    Cost c = node_cost(g, g.nodes[size_t(i)], geo.compute[size_t(i)]);
    total.flops += c.flops;
    total.bytes += c.bytes;
    total.weight_bytes += c.weight_bytes;
  }
  return total;
}

}  // namespace coinfer::graph
