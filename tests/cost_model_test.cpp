#include <gtest/gtest.h>

#include "cost/cost_model.h"
#include "graph/builder.h"

using namespace coinfer;

namespace {

graph::Graph small_net() {
  graph::Builder b("small", Shape{3, 32, 32}, 3);
  int x = b.conv(b.input(), 16, 3, 1, 1);
  x = b.maxpool(x, 2, 2);
  x = b.conv(x, 32, 3, 1, 1);
  x = b.global_avgpool(x);
  return b.finish(b.dense(b.flatten(x), 10, graph::Act::None)).value();
}

cluster::ClusterSpec two_devices(double speed2) {
  cluster::ClusterSpec c;
  c.name = "two";
  c.devices.resize(2);
  c.devices[0].name = "a";
  c.devices[1].name = "b";
  c.devices[1].speed = speed2;
  c.default_bandwidth_bps = 8e6;  // 1 MB/s
  c.default_latency_s = 0.001;
  return c;
}

}  // namespace

TEST(CostModel, TableInterpolates) {
  cost::BlockTable t{{1, 4, 8}, {1.0, 2.5, 3.0}};
  EXPECT_DOUBLE_EQ(t.at(0), 0);
  EXPECT_DOUBLE_EQ(t.at(0.5), 0.5);
  EXPECT_DOUBLE_EQ(t.at(1), 1.0);
  EXPECT_DOUBLE_EQ(t.at(2), 1.5);
  EXPECT_DOUBLE_EQ(t.at(6), 2.75);
  EXPECT_DOUBLE_EQ(t.at(8), 3.0);
  EXPECT_DOUBLE_EQ(t.at(10), 3.25);  // last segment extended
}

TEST(CostModel, SpeedFactorAndTransfers) {
  graph::Graph g = small_net();
  auto blocks = graph::find_blocks(g);
  cost::Profile ref = cost::analytic_profile(g, blocks, 10, 5);
  auto c = two_devices(2.0);
  auto cm = cost::CostModel::create(g, blocks, c, ref);
  ASSERT_TRUE(cm.ok()) << cm.error();
  auto geo = graph::band_geometry(g, blocks, 0, 2, {0, 16});
  ASSERT_TRUE(geo.ok());
  double a = cm->band_seconds(0, *geo), b = cm->band_seconds(1, *geo);
  EXPECT_GT(a, 0);
  EXPECT_NEAR(b, a / 2, 1e-12);
  EXPECT_NEAR(cm->flops_per_s(1), 2 * cm->flops_per_s(0), 1e-3 * cm->flops_per_s(0));
  EXPECT_DOUBLE_EQ(cm->transfer_seconds(0, 0, 1e6), 0);
  EXPECT_NEAR(cm->transfer_seconds(0, 1, 1e6), 1.0 + 0.001, 1e-12);
  // Half the rows cost less than all rows, more than nothing.
  auto half = graph::band_geometry(g, blocks, 0, 1, {0, 16});
  auto all = graph::band_geometry(g, blocks, 0, 1, {0, 32});
  EXPECT_LT(cm->band_seconds(0, *half), cm->band_seconds(0, *all));
}

TEST(CostModel, MeasuredProfileRoundTrips) {
  graph::Graph g = small_net();
  auto p = cost::measure_profile(g, 1, 4, 3);
  ASSERT_TRUE(p.ok()) << p.error();
  auto blocks = graph::find_blocks(g);
  ASSERT_EQ(p->blocks.size(), blocks.size());
  for (size_t k = 0; k < blocks.size(); ++k) {
    const auto& t = p->blocks[k];
    EXPECT_EQ(t.rows.size(), t.seconds.size());
    for (double s : t.seconds) EXPECT_GT(s, 0);
    // Every block is measured at its whole height last; a block that cannot
    // be split by rows only there.
    EXPECT_EQ(t.rows.back(), g.nodes[size_t(blocks[k].last)].out.h) << k;
    if (!blocks[k].partitionable) EXPECT_EQ(t.rows.size(), 1u) << k;
    else EXPECT_EQ(t.rows.size(), 4u) << k;
  }
  EXPECT_GT(p->whole_seconds, 0);
  // A cut saves at most the cheaper of its two blocks; none before block 0.
  EXPECT_EQ(p->version, 2);
  ASSERT_EQ(p->cut_seconds.size(), blocks.size());
  EXPECT_EQ(p->cut_seconds[0], 0);
  for (size_t k = 1; k < blocks.size(); ++k) {
    EXPECT_GE(p->cut_seconds[k], 0) << k;
    EXPECT_LE(p->cut_seconds[k],
              std::min(p->blocks[k - 1].seconds.back(), p->blocks[k].seconds.back()))
        << k;
  }
  p->io_seconds_per_byte = 1.5e-9;
  auto q = cost::parse_profile(cost::to_json(*p), "mem");
  ASSERT_TRUE(q.ok()) << q.error();
  EXPECT_EQ(q->blocks[0].rows, p->blocks[0].rows);
  EXPECT_EQ(q->blocks[0].seconds, p->blocks[0].seconds);
  EXPECT_EQ(q->cut_seconds, p->cut_seconds);
  EXPECT_EQ(q->io_seconds_per_byte, 1.5e-9);
}

// Blocks at full rows less cuts against the whole pass: what measure_profile
// checks to measure again after a host hiccup.
TEST(CostModel, ProfileInconsistencyComparesBlocksLessCutsWithTheWholePass) {
  cost::Profile p;
  p.blocks = {{{1, 8}, {0.001, 0.030}}, {{4}, {0.050}}};
  p.cut_seconds = {0, 0.005};
  p.whole_seconds = 0.075;
  EXPECT_NEAR(cost::profile_inconsistency(p), 0.0, 1e-12);
  // The hiccup of 2026-12-02: blocks 106.6 ms, cuts 65.1, whole 71.6.
  p.blocks = {{{1}, {0.1066}}};
  p.cut_seconds = {0.0651};
  p.whole_seconds = 0.0716;
  EXPECT_NEAR(cost::profile_inconsistency(p), (0.1066 - 0.0651 - 0.0716) / 0.0716, 1e-12);
  EXPECT_GT(std::abs(cost::profile_inconsistency(p)), cost::kProfileTolerance);
  p.whole_seconds = 0;  // not measured: nothing to compare
  EXPECT_EQ(cost::profile_inconsistency(p), 0);
}

// A task pays its blocks, less the cuts inside it (scaled by the rows of the
// value at the cut), plus its input and output bands through the transport.
TEST(CostModel, TaskPaysItsBlocksLessItsCutsPlusItsBands) {
  graph::Graph g = small_net();
  auto blocks = graph::find_blocks(g);
  ASSERT_EQ(blocks.size(), 4u);  // conv 32 rows, maxpool 16, conv 16, pool + dense 1
  cost::Profile p = cost::analytic_profile(g, blocks, 10, 5);
  p.version = 2;
  const double c1 = 0.1 * p.blocks[1].seconds.back(), c2 = 0.2 * p.blocks[2].seconds.back(),
               c3 = 0.3 * p.blocks[3].seconds.back();
  p.cut_seconds = {0, c1, c2, c3};
  p.io_seconds_per_byte = 1e-9;
  auto cm = cost::CostModel::create(g, blocks, two_devices(2.0), p);
  ASSERT_TRUE(cm.ok()) << cm.error();
  auto whole = graph::band_geometry(g, blocks, 0, 4, {0, 1});
  ASSERT_TRUE(whole.ok());
  double blocks_s = 0;
  for (const auto& t : p.blocks) blocks_s += t.seconds.back();
  double want = blocks_s - c1 - c2 - c3 + (3 * 32 * 32 + 10) * 4.0 * 1e-9;  // the frame, the vector
  EXPECT_NEAR(cm->band_seconds(0, *whole), want, 1e-12);
  EXPECT_NEAR(cm->band_seconds(1, *whole), want / 2, 1e-12);
  // Rows 0-8 of the pool: 16 of the conv's 32 rows cross the cut (half of
  // it), from input rows 0-17 (the 3x3 conv's halo row).
  auto half = graph::band_geometry(g, blocks, 0, 2, {0, 8});
  ASSERT_TRUE(half.ok());
  ASSERT_EQ(half->compute[size_t(blocks[0].last)].size(), 16);
  ASSERT_EQ(half->input.size(), 17);
  want = p.blocks[0].at(16) + p.blocks[1].at(8) - c1 * 16 / 32 +
         (17 * 32 * 3 + 8 * 16 * 16) * 4.0 * 1e-9;
  EXPECT_NEAR(cm->band_seconds(0, *half), want, 1e-12);
  // One block alone: no cut, its own bands.
  auto one = graph::band_geometry(g, blocks, 2, 3, {0, 16});
  ASSERT_TRUE(one.ok());
  EXPECT_NEAR(cm->band_seconds(0, *one),
              p.blocks[2].seconds.back() + (16 * 16 * 16 + 16 * 16 * 32) * 4.0 * 1e-9, 1e-12);
}

TEST(CostModel, BadProfilesRejected) {
  EXPECT_NE(cost::parse_profile("{", "p.json").error().find("p.json"), std::string::npos);
  auto r = cost::parse_profile(
      R"({"version":1,"model":"m","blocks":[{"rows":[4,2],"seconds":[1,2]}]})", "p.json");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("ascending"), std::string::npos) << r.error();
  r = cost::parse_profile(R"({"version":9,"model":"m","blocks":[]})", "p.json");
  EXPECT_NE(r.error().find("version 9"), std::string::npos) << r.error();
  // Version 2: cuts (one per block, 0 first, in [0, 1e6]) and the transport.
  const std::string v2 = R"({"version":2,"model":"m","blocks":[{"rows":[1],"seconds":[1]},)"
                         R"({"rows":[1],"seconds":[1]}],)";
  EXPECT_TRUE(
      cost::parse_profile(v2 + R"("cut_seconds":[0,0.5],"io_seconds_per_byte":1e-9})", "p.json")
          .ok());
  for (auto [tail, want] : std::vector<std::pair<std::string, std::string>>{
           {R"("io_seconds_per_byte":1e-9})", "cut_seconds: must be an array of numbers"},
           {R"("cut_seconds":[0,"x"],"io_seconds_per_byte":1e-9})",
            "cut_seconds: must be an array"},
           {R"("cut_seconds":[0],"io_seconds_per_byte":1e-9})", "has 1 entries, blocks has 2"},
           {R"("cut_seconds":[0,-1],"io_seconds_per_byte":1e-9})", "cut_seconds[1]=-1"},
           {R"("cut_seconds":[0.5,0],"io_seconds_per_byte":1e-9})", "cut_seconds[0]=0.5"},
           {R"("cut_seconds":[0,0.5]})", "io_seconds_per_byte: must be a number"},
           {R"("cut_seconds":[0,0.5],"io_seconds_per_byte":-1})", "io_seconds_per_byte=-1"},
           {R"("cut_seconds":[0,0.5],"io_seconds_per_byte":0.5})", "must be in [0, 1e-3]"}}) {
    r = cost::parse_profile(v2 + tail, "p.json");
    ASSERT_FALSE(r.ok()) << tail;
    EXPECT_NE(r.error().find("profile 'p.json'"), std::string::npos) << r.error();
    EXPECT_NE(r.error().find(want), std::string::npos) << r.error();
  }
  graph::Graph g = small_net();
  auto blocks = graph::find_blocks(g);
  cost::Profile wrong;
  wrong.blocks.resize(1);
  auto cm = cost::CostModel::create(g, blocks, two_devices(1), wrong);
  ASSERT_FALSE(cm.ok());
  EXPECT_NE(cm.error().find("blocks"), std::string::npos) << cm.error();
}
