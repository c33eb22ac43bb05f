#include <gtest/gtest.h>

#include "graph/blocks.h"
#include "graph/builder.h"

using namespace coinfer;
using namespace coinfer::graph;

TEST(Shape, ConvOutputAndRegions) {
  Builder b("t", Shape{3, 224, 224}, 1);
  int x = b.conv(b.input(), 64, 7, 2, 3);
  Result<Graph> g = b.finish(x);
  ASSERT_TRUE(g.ok()) << g.error();
  EXPECT_EQ(g->nodes[1].out, (Shape{64, 112, 112, 4}));
  Rows r = input_rows(*g, g->nodes[1], 0, Rows{0, 1});
  EXPECT_EQ(r, (Rows{-3, 4}));
  r = input_rows(*g, g->nodes[1], 0, Rows{111, 112});
  EXPECT_EQ(r, (Rows{219, 226}));
}
