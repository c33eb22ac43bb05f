#include "runtime/segment.h"

#include <algorithm>

namespace coinfer::runtime {

Result<Segment> extract_segment(const graph::Graph& g, const std::vector<graph::Block>& blocks,
                                int a, int b) {
  if (a < 0 || b > int(blocks.size()) || a >= b)
    return errorf("segment [{}, {}): must be non-empty within [0, {})", a, b, blocks.size());
  const int first = blocks[size_t(a)].first, last = blocks[size_t(b - 1)].last;
  const int in_id = blocks[size_t(a)].input;
  Segment s;
  graph::Graph& sg = s.graph;
  sg.name = g.name;
  sg.input_name = g.input_name;
  sg.output_name = g.output_name;
  graph::Node input = g.nodes[0];
  input.name = in_id == 0 ? g.nodes[0].name : g.nodes[size_t(in_id)].name;
  input.kind = graph::OpKind::Input;
  input.inputs.clear();
  input.weight.clear();
  input.bias.clear();
  input.act = graph::Act::None;
  input.out = g.nodes[size_t(in_id)].out;
  sg.nodes.push_back(std::move(input));
  // old id -> new id
  auto remap = [&](int old) -> int {
    if (old == in_id) return 0;
    if (old >= first && old <= last) return old - first + 1;
    return -1;
  };
  for (int i = first; i <= last; ++i) {
    graph::Node n = g.nodes[size_t(i)];
    for (int& in : n.inputs) {
      int m = remap(in);
      if (m < 0)
        return errorf("segment [{}, {}): node '{}' reads '{}' from outside the segment", a, b,
                      n.name, g.nodes[size_t(in)].name);
      in = m;
    }
    sg.nodes.push_back(std::move(n));
  }
  sg.output = int(sg.nodes.size()) - 1;
  s.blocks = graph::find_blocks(sg);
  bool same = int(s.blocks.size()) == b - a;
  for (int k = 0; same && k < b - a; ++k) {
    const graph::Block& x = s.blocks[size_t(k)];
    const graph::Block& y = blocks[size_t(a + k)];
    same = x.first == y.first - first + 1 && x.last == y.last - first + 1 &&
           x.partitionable == y.partitionable && remap(y.input) == x.input;
  }
  if (!same)
    return errorf("segment [{}, {}): its blocks differ from the whole graph's", a, b);
  return s;
}

std::vector<Rows> merge_ranges(std::vector<Rows> ranges) {
  std::erase_if(ranges, [](Rows r) { return r.empty(); });
  std::sort(ranges.begin(), ranges.end(), [](Rows a, Rows b) { return a.lo < b.lo; });
  std::vector<Rows> out;
  for (Rows r : ranges) {
    if (!out.empty() && r.lo <= out.back().hi)
      out.back().hi = std::max(out.back().hi, r.hi);
    else
      out.push_back(r);
  }
  return out;
}

}  // namespace coinfer::runtime
