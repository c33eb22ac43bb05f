// Blocks: the DAG cut at tensors that every path crosses, so ResNet and
// Inception become chains. Block k holds nodes [first, last]; its input is the
// value of node `input` (the previous block's last node, or the graph input)
// and its output the value of node `last`. Consecutive blocks that are not
// row-partitionable (global pooling, FC) are merged into one tail block.
//
// Band geometry: to produce output rows `out` of block b-1 by running blocks
// [a, b), every node needs some rows of its output; regions propagate
// backwards through each block's DAG (union over consumers).
#pragma once

#include <string>
#include <vector>

#include "graph/graph.h"

namespace coinfer::graph {

struct Block {
  int first = 0, last = 0;  // node ids, inclusive
  int input = 0;            // node id feeding the block
  bool partitionable = true;  // output rows can be split across devices

  const std::string& name(const Graph& g) const { return g.nodes[size_t(last)].name; }
};

std::vector<Block> find_blocks(const Graph& g);

struct BandGeometry {
  int a = 0, b = 0;  // block range [a, b)
  Rows out;          // output rows of block b-1 produced
  Rows input;        // rows of block a's input value needed (clipped to [0,H))
  int first_node = 0, last_node = 0;  // node ids computed: [first_node, last_node]
  int input_node = 0;                 // node id whose value is the band's input
  // Per node id (size g.nodes.size()): rows each node computes (clipped), empty
  // if the node is outside [a, b) or not needed.
  std::vector<Rows> compute;
  // Per node id: rows the node's buffer must hold: `compute` plus zero rows
  // beyond the image border that Conv consumers read as padding.
  std::vector<Rows> alloc;
};

// Geometry of running blocks [a, b) to produce rows `out` of block b-1's
// output. Fails if the range or rows are out of bounds.
Result<BandGeometry> band_geometry(const Graph& g, const std::vector<Block>& blocks, int a, int b,
                                   Rows out);

// FLOPs (and bytes) of running blocks [a, b) for `out` rows, including the
// redundant halo rows the band recomputes.
Cost band_cost(const Graph& g, const BandGeometry& geo);

}  // namespace coinfer::graph
