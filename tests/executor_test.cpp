// Executor: the fast backends vs the reference backend, and exact band execution.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "graph/builder.h"
#include "kernels/executor.h"
#include "test_util.h"

using namespace coinfer;
using namespace coinfer::graph;
using kernels::Backend;
using kernels::Executor;

namespace {

// A small net that touches every op and awkward geometry: stride-2 7x7 with
// pad 3, dilation, groups, asymmetric pool padding, ceil_mode, concat,
// residual add, resize, space-to-depth, explicit pad, and an FC tail.
Graph every_op_net(uint64_t seed) {
  Builder b("every_op", Shape{3, 45, 38}, seed);
  int x = b.conv(b.input(), 16, 7, 2, 3);                   // 23x19
  int y = b.conv(x, 16, 3, 1, 2, Act::Clip, 4, 2);           // dilated, grouped, ReLU6
  int z = b.conv(x, 16, 1, 1, 0, Act::None);
  x = b.add(y, z, Act::Relu);
  Window w;
  w.kh = w.kw = 3;
  w.sh = w.sw = 2;
  w.pt = 1;
  w.pb = 0;
  w.pl = 0;
  w.pr = 1;
  w.ceil_mode = true;
  int p = b.maxpool_w(x, w);
  int q = b.avgpool(x, 3, 2, 1, true, false);
  x = b.concat({p, q});
  x = b.conv(x, 32, 3, 1, 1, Act::None, 32);                // depthwise
  x = b.activation(x, Act::LeakyRelu, 0.1f);
  int up = b.resize(x, 2);
  up = b.pad(up, 1, 0, 1, 2);
  up = b.conv(up, 8, 3, 2, 0, Act::Relu);
  int s2d = b.space_to_depth(b.conv(x, 4, 1, 1, 0), 2);
  x = b.concat({b.maxpool(x, 2, 2), s2d, b.maxpool(up, 2, 2)});
  x = b.conv(x, 12, 3, 1, 1, Act::Sigmoid);
  x = b.global_avgpool(x);
  x = b.dense(b.flatten(x), 10, Act::None);
  Result<Graph> g = b.finish(b.softmax(x));
  EXPECT_TRUE(g.ok()) << g.error();
  return std::move(g).value();
}

}  // namespace

// Each fast backend against the reference, block by block.
void check_matches_reference(Backend backend) {
  for (uint64_t seed : {1u, 2u, 3u}) {
    Graph g = every_op_net(seed);
    Tensor x = test::random_tensor(g.input_shape(), seed);
    auto fast = Executor::create(g, {backend, 1});
    auto ref = Executor::create(g, {Backend::Reference, 1});
    ASSERT_TRUE(fast.ok()) << fast.error();
    ASSERT_TRUE(ref.ok()) << ref.error();
    // Compare every block's output, not only the softmax at the end.
    for (int k = 1; k <= int((*fast)->blocks().size()); ++k) {
      Rows all{0, g.nodes[size_t((*fast)->blocks()[size_t(k - 1)].last)].out.h};
      auto a = (*fast)->run_band(0, k, all, x);
      auto r = (*ref)->run_band(0, k, all, x);
      ASSERT_TRUE(a.ok()) << a.error();
      ASSERT_TRUE(r.ok()) << r.error();
      EXPECT_LE(test::max_rel_error(*a, *r), 1e-4)
          << kernels::backend_name(backend) << " seed " << seed << " block " << k;
    }
  }
}

TEST(Executor, XnnpackMatchesReference) { check_matches_reference(Backend::Xnnpack); }
TEST(Executor, OneDnnMatchesReference) { check_matches_reference(Backend::OneDnn); }

class ExecutorBands : public ::testing::TestWithParam<Backend> {};

TEST_P(ExecutorBands, BandsAreBitIdenticalOnEveryOpNet) {
  Graph g = every_op_net(7);
  for (int threads : {1, 2}) {
    auto ex = Executor::create(g, {GetParam(), threads});
    ASSERT_TRUE(ex.ok()) << ex.error();
    EXPECT_GE((*ex)->blocks().size(), 6u);
    test::check_random_bands(**ex, 7, 60);
  }
}

// Devices with different thread counts must agree bit for bit.
TEST_P(ExecutorBands, ThreadCountDoesNotChangeBits) {
  Graph g = every_op_net(5);
  Tensor x = test::random_tensor(g.input_shape(), 5);
  auto one = Executor::create(g, {GetParam(), 1});
  auto two = Executor::create(g, {GetParam(), 2});
  ASSERT_TRUE(one.ok() && two.ok());
  for (int k = 1; k <= int((*one)->blocks().size()); ++k) {
    Rows all{0, g.nodes[size_t((*one)->blocks()[size_t(k - 1)].last)].out.h};
    auto a = (*one)->run_band(0, k, all, x);
    auto b = (*two)->run_band(0, k, all, x);
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_EQ(0, std::memcmp(a->data.data(), b->data.data(), a->data.size() * 4)) << "block " << k;
  }
}

INSTANTIATE_TEST_SUITE_P(Exec, ExecutorBands,
                         ::testing::Values(Backend::Xnnpack, Backend::OneDnn),
                         [](const auto& info) { return std::string(kernels::backend_name(info.param)); });

TEST(Executor, WrongInputShapeIsAClearError) {
  Graph g = every_op_net(1);
  auto ex = Executor::create(g);
  ASSERT_TRUE(ex.ok());
  Tensor x(Shape{3, 44, 38, 4});
  auto r = (*ex)->run(x);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("does not match"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("[1,3,45,38]"), std::string::npos) << r.error();
}

TEST(Executor, BandMissingRowsIsAClearError) {
  Graph g = every_op_net(1);
  auto ex = Executor::create(g);
  ASSERT_TRUE(ex.ok());
  Tensor x = test::random_tensor(g.input_shape(), 1).slice({0, 10});
  auto r = (*ex)->run_band(0, 1, {0, 10}, x);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("need"), std::string::npos) << r.error();
}

TEST(Executor, BadThreadCountRejected) {
  auto ex = Executor::create(every_op_net(1), {Backend::Xnnpack, 0});
  ASSERT_FALSE(ex.ok());
  EXPECT_NE(ex.error().find("threads=0"), std::string::npos);
}
