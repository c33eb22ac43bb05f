// A worker holds only the blocks it runs: the sub-graph of blocks [a, b) with
// a new Input node standing for block a's input value. Its blocks are the
// original blocks a..b-1 (block k of the segment is block a + k), so band
// geometry, kernels and results are the same as in the whole graph.
#pragma once

#include "graph/blocks.h"

namespace coinfer::runtime {

struct Segment {
  graph::Graph graph;  // node 0: Input with the shape of block a's input value
  std::vector<graph::Block> blocks;  // find_blocks(graph): b - a blocks
};

// Copies the nodes of blocks [a, b) (weights included). Fails if the copy's
// blocks do not match blocks [a, b) of the whole graph one to one (the
// caller then runs the whole graph instead).
Result<Segment> extract_segment(const graph::Graph& g, const std::vector<graph::Block>& blocks,
                                int a, int b);

// Block ranges [lo, hi) merged where they overlap or touch: the unions,
// ascending ({[0,4), [3,6), [8,9)} -> {[0,6), [8,9)}). Empty ranges dropped.
std::vector<Rows> merge_ranges(std::vector<Rows> ranges);

}  // namespace coinfer::runtime
