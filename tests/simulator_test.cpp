#include "sim/simulator.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "graph/builder.h"
#include "sim/network.h"
#include "zoo/zoo.h"

using namespace coinfer;

namespace {

// A graph, its blocks, a cluster and a cost model that points into them (so
// the struct stays put behind a unique_ptr).
struct Env {
  graph::Graph g;
  std::vector<graph::Block> blocks;
  std::optional<cost::CostModel> cm;
};

cluster::Device device(const std::string& name, double speed = 1.0) {
  cluster::Device d;
  d.name = name;
  d.speed = speed;
  d.memory_bytes = 1e9;
  d.power = {1.0, 5.0, 2.0};
  return d;
}

cluster::ClusterSpec make_cluster(std::vector<cluster::Device> devs, double bps = 1e6,
                                  double latency_s = 0) {
  cluster::ClusterSpec c;
  c.name = "test";
  c.devices = std::move(devs);
  c.default_bandwidth_bps = bps;
  c.default_latency_s = latency_s;
  return c;
}

// Three 3x3 convs (pad 1) on a 3x8x8 input: three blocks, output 4x8x8.
// At 0.001 GFLOP/s a block takes milliseconds, like the transfers at 1 Mbit/s.
std::unique_ptr<Env> tiny_env(const cluster::ClusterSpec& c) {
  auto env = std::make_unique<Env>();
  graph::Builder b("tiny", Shape{3, 8, 8}, 1);
  int x = b.conv(b.input(), 4, 3, 1, 1);
  x = b.conv(x, 4, 3, 1, 1);
  x = b.conv(x, 4, 3, 1, 1);
  auto g = b.finish(x);
  EXPECT_TRUE(g.ok()) << g.error();
  env->g = std::move(g).value();
  env->blocks = graph::find_blocks(env->g);
  EXPECT_EQ(env->blocks.size(), 3u);
  auto cm = cost::CostModel::create(env->g, env->blocks, c,
                                    cost::analytic_profile(env->g, env->blocks, 0.001, 1.0));
  EXPECT_TRUE(cm.ok()) << cm.error();
  env->cm.emplace(std::move(cm).value());
  return env;
}

plan::Stage stage(int a, int b, std::vector<plan::Assignment> parts) {
  plan::Stage s;
  s.first_block = a;
  s.last_block = b;
  s.parts = std::move(parts);
  return s;
}

plan::Plan make_plan(std::vector<plan::Stage> stages) {
  plan::Plan p;
  p.model = "tiny";
  p.strategy = "test";
  p.stages = std::move(stages);
  return p;
}

// Compute seconds of device d running blocks [a, b) for output rows `rows`.
double band_s(const Env& env, int d, int a, int b, Rows rows) {
  auto geo = graph::band_geometry(env.g, env.blocks, a, b, rows);
  EXPECT_TRUE(geo.ok());
  return env.cm->band_seconds(d, *geo);
}

sim::Result run(const plan::Plan& p, const Env& env, const sim::Options& o) {
  auto r = sim::simulate(p, *env.cm, o);
  EXPECT_TRUE(r.ok()) << r.error();
  return r.ok() ? std::move(r).value() : sim::Result{};
}

sim::Options closed(int frames, int in_flight) {
  sim::Options o;
  o.frames = frames;
  o.arrival = sim::Arrival::ClosedLoop;
  o.in_flight = in_flight;
  return o;
}

constexpr double kIn = 8 * 8 * 3 * 4;   // input bytes
constexpr double kOut = 8 * 8 * 4 * 4;  // output bytes

}  // namespace

TEST(SimNetwork, FairShareIsExact) {
  sim::FlowNetwork net;
  int ch = net.add_resource(100);  // bytes/s
  std::vector<int> done;
  // A alone for 0.5 s (50 B), then A and B at 50 B/s each: A ends at 1.5,
  // B then has 50 B left alone: ends at 2.0.
  net.start(0.0, 100, {ch}, 1);
  EXPECT_DOUBLE_EQ(net.next_completion(), 1.0);
  net.start(0.5, 100, {ch}, 2);
  EXPECT_DOUBLE_EQ(net.next_completion(), 1.5);
  net.finish_due(1.5, done);
  ASSERT_EQ(done, std::vector<int>{1});
  EXPECT_DOUBLE_EQ(net.next_completion(), 2.0);
  net.finish_due(2.0, done);
  EXPECT_EQ(done, (std::vector<int>{1, 2}));
  EXPECT_EQ(net.active(ch), 0);
  // Two equal transfers starting together both take twice as long.
  done.clear();
  net.start(10.0, 100, {ch}, 3);
  net.start(10.0, 100, {ch}, 4);
  EXPECT_DOUBLE_EQ(net.next_completion(), 12.0);
  net.finish_due(12.0, done);
  EXPECT_EQ(done.size(), 2u);
  EXPECT_TRUE(std::isinf(net.next_completion()));
}

TEST(SimNetwork, FlowsMoveAtTheirTightestShare) {
  // Uplinks u1, u2 of 100 B/s and one downlink d of 100 B/s: two senders
  // into d get 50 B/s each (fan-in); a third flow on u1 only halves u1, so
  // the flow u1 -> d stays at min(100/2, 100/2) = 50.
  sim::FlowNetwork net;
  int u1 = net.add_resource(100), u2 = net.add_resource(100), d = net.add_resource(100);
  std::vector<int> done;
  net.start(0.0, 100, {u1, d}, 0);
  EXPECT_DOUBLE_EQ(net.rate(0), 100);
  net.start(0.0, 100, {u2, d}, 1);
  EXPECT_DOUBLE_EQ(net.rate(0), 50);
  EXPECT_DOUBLE_EQ(net.rate(1), 50);
  EXPECT_DOUBLE_EQ(net.next_completion(), 2.0);
  net.start(1.0, 25, {u1}, 2);  // u1 shared by 2: 50 each
  EXPECT_DOUBLE_EQ(net.rate(2), 50);
  EXPECT_DOUBLE_EQ(net.rate(0), 50);
  EXPECT_DOUBLE_EQ(net.next_completion(), 1.5);  // 25 B at 50 B/s
  net.finish_due(1.5, done);
  EXPECT_EQ(done, std::vector<int>{2});
  // 0 and 1 each had 50 B left at 1.0 and moved 25 B since: 25 B at 50 B/s.
  EXPECT_DOUBLE_EQ(net.next_completion(), 2.0);
  net.finish_due(2.0, done);
  EXPECT_EQ(done, (std::vector<int>{2, 0, 1}));
  EXPECT_EQ(net.active(d), 0);
  EXPECT_EQ(net.active(u1), 0);
}

TEST(SimNetwork, FanInSharesTheReceiversDownlink) {
  // Two stage-0 devices each send their half to c: c's 1 Mbit/s downlink is
  // shared, so the two bands arrive together after twice one band's time.
  auto env = tiny_env(make_cluster({device("a"), device("b"), device("c")}, 1e6));
  auto p = make_plan({stage(0, 1, {{"a", {0, 4}}, {"b", {4, 8}}}), stage(1, 3, {{"c", {0, 8}}})});
  sim::Options o = closed(1, 1);
  o.trace = true;
  sim::Result r = run(p, *env, o);
  std::vector<double> to_c;
  for (const sim::TraceEvent& e : r.trace)
    if (e.cat == "transfer" && e.name.find("s0p") == 0) to_c.push_back(e.dur_s);
  ASSERT_EQ(to_c.size(), 2u);
  const double band = 4 * 8 * 4 * 4 * 8 / 1e6;  // 4 rows of 8x4 floats, alone
  EXPECT_NEAR(to_c[0], 2 * band, 1e-12);
  EXPECT_NEAR(to_c[1], 2 * band, 1e-12);
}

TEST(SimSingleDevice, ClosedLoopLatencyIsInputComputeOutput) {
  auto env = tiny_env(make_cluster({device("a")}, 1e6, 1e-3));
  auto p = make_plan({stage(0, 3, {{"a", {0, 8}}})});
  sim::Result r = run(p, *env, closed(10, 1));
  double lat = env->cm->transfer_seconds(-1, 0, kIn) + band_s(*env, 0, 0, 3, {0, 8}) +
               env->cm->transfer_seconds(0, -1, kOut);
  // By hand: 768 B and 1024 B at 1 Mbit/s plus 1 ms each way.
  EXPECT_NEAR(env->cm->transfer_seconds(-1, 0, kIn), 768 * 8 / 1e6 + 1e-3, 1e-12);
  EXPECT_EQ(r.completed, 10);
  EXPECT_EQ(r.failed, 0);
  EXPECT_NEAR(r.latency_mean_ms, lat * 1e3, 1e-6);
  EXPECT_NEAR(r.latency_p99_ms, lat * 1e3, 1e-6);
  EXPECT_NEAR(r.throughput_fps, 1 / lat, 1e-6 / lat);
  EXPECT_NEAR(r.makespan_s, 10 * lat, 1e-9);
  EXPECT_DOUBLE_EQ(r.bytes_moved, 10 * (kIn + kOut));
  EXPECT_DOUBLE_EQ(r.devices[0].bytes_sent, 10 * kOut);
}

TEST(SimSingleDevice, SourceOnTheDeviceMovesNothing) {
  auto c = make_cluster({device("a"), device("b")});
  c.source = "a";
  auto env = tiny_env(c);
  sim::Result r = run(make_plan({stage(0, 3, {{"a", {0, 8}}})}), *env, closed(3, 1));
  EXPECT_DOUBLE_EQ(r.bytes_moved, 0);
  EXPECT_NEAR(r.latency_mean_ms, band_s(*env, 0, 0, 3, {0, 8}) * 1e3, 1e-9);
  sim::Result r2 = run(make_plan({stage(0, 3, {{"b", {0, 8}}})}), *env, closed(3, 1));
  EXPECT_DOUBLE_EQ(r2.bytes_moved, 3 * (kIn + kOut));
  EXPECT_DOUBLE_EQ(r2.devices[0].bytes_sent, 3 * kIn);
  EXPECT_DOUBLE_EQ(r2.devices[1].bytes_sent, 3 * kOut);
}

TEST(SimPipeline, TwoStagesThroughputIsTheBottleneck) {
  // b is half as fast and runs two of the three blocks: stage 1 is 4x stage 0.
  auto env = tiny_env(make_cluster({device("a"), device("b", 0.5)}, 1e12));
  auto p = make_plan({stage(0, 1, {{"a", {0, 8}}}), stage(1, 3, {{"b", {0, 8}}})});
  double s0 = band_s(*env, 0, 0, 1, {0, 8}), s1 = band_s(*env, 1, 1, 3, {0, 8});
  ASSERT_GT(s1, 3 * s0);
  sim::Result r = run(p, *env, closed(1000, 2));
  EXPECT_NEAR(r.throughput_fps, 1 / std::max(s0, s1), 0.01 / std::max(s0, s1));
  EXPECT_NEAR(r.devices[1].utilization, 1.0, 0.01);
  // One frame in flight: no overlap, the period is the whole latency.
  sim::Result r1 = run(p, *env, closed(100, 1));
  EXPECT_NEAR(r1.throughput_fps, 1 / (s0 + s1), 0.01 / (s0 + s1));
  EXPECT_GT(r.throughput_fps, 1.15 * r1.throughput_fps);
}

TEST(SimPipeline, SteadyThroughputLeavesOutTheFill) {
  // Four frames through two stages: the makespan rate is charged stage 0 of
  // the first frame; the steady rate is the bottleneck's exactly.
  auto env = tiny_env(make_cluster({device("a"), device("b", 0.5)}, 1e12));
  auto p = make_plan({stage(0, 1, {{"a", {0, 8}}}), stage(1, 3, {{"b", {0, 8}}})});
  double s0 = band_s(*env, 0, 0, 1, {0, 8}), s1 = band_s(*env, 1, 1, 3, {0, 8});
  sim::Result r = run(p, *env, closed(4, 2));
  EXPECT_NEAR(r.steady_fps, 1 / s1, 0.01 / s1);
  EXPECT_NEAR(r.throughput_fps / r.steady_fps, 4 * s1 / (s0 + 4 * s1), 0.005);
  EXPECT_NEAR(r.makespan_s, s0 + 4 * s1, 0.01 * s1);
  // The pure rule: one completion falls back to completed / makespan.
  EXPECT_DOUBLE_EQ(sim::steady_fps(1, 2.0, 2.0, 2.0), 0.5);
  EXPECT_DOUBLE_EQ(sim::steady_fps(5, 1.0, 3.0, 3.0), 2.0);
  EXPECT_DOUBLE_EQ(sim::steady_fps(0, 0, 0, 0), 0);
}

TEST(SimPipeline, InterleavedPipelinesAlternateAndAverageTheLoad) {
  // Two equal devices, three blocks: a boundary after block 1 or after block
  // 2 leaves one device with two blocks. Frames alternating between the two
  // pipelines give each device 1.5 blocks per frame on average.
  auto env = tiny_env(make_cluster({device("a"), device("b")}, 1e12));
  auto p1 = make_plan({stage(0, 1, {{"a", {0, 8}}}), stage(1, 3, {{"b", {0, 8}}})});
  auto p2 = make_plan({stage(0, 2, {{"a", {0, 8}}}), stage(2, 3, {{"b", {0, 8}}})});
  plan::Plan both = p1;
  for (plan::Stage st : p2.stages) {
    st.pipeline = 1;
    both.stages.push_back(st);
  }
  ASSERT_TRUE(plan::validate(both, env->g, env->blocks, env->cm->cluster()).empty());
  const double a1 = band_s(*env, 0, 0, 1, {0, 8}), b1 = band_s(*env, 1, 1, 3, {0, 8});
  const double a2 = band_s(*env, 0, 0, 2, {0, 8}), b2 = band_s(*env, 1, 2, 3, {0, 8});
  // Each device's busy time is exactly its share of each pipeline's frames.
  const int n = 200;
  sim::Result r = run(both, *env, closed(n, 4));
  ASSERT_EQ(r.completed, n);
  EXPECT_NEAR(r.devices[0].busy_s, n / 2 * (a1 + a2), 1e-9 * n);
  EXPECT_NEAR(r.devices[1].busy_s, n / 2 * (b1 + b2), 1e-9 * n);
  // The steady period is the busier device's mean per frame, below either
  // pipeline's own bottleneck.
  const double mean = std::max(a1 + a2, b1 + b2) / 2;
  EXPECT_NEAR(1 / r.steady_fps, mean, 0.02 * mean);
  const double alone =
      std::min(run(p1, *env, closed(n, 4)).steady_fps, run(p2, *env, closed(n, 4)).steady_fps);
  EXPECT_GT(r.steady_fps, 1.2 * alone);
  // Frame f runs pipeline f % 2: the trace names each frame's first stage.
  sim::Options o = closed(4, 1);
  o.trace = true;
  sim::Result t = run(both, *env, o);
  int computes = 0;
  for (const sim::TraceEvent& e : t.trace) {
    if (e.cat != "compute") continue;
    ++computes;
    const int stage = e.name[1] - '0';  // "s<stage> blocks ..."
    EXPECT_EQ(e.frame % 2, stage / 2) << e.name;
  }
  EXPECT_EQ(computes, 8);
}

TEST(SimPipeline, HaloAndColumnBytesBetweenStages) {
  auto env = tiny_env(make_cluster({device("a"), device("b"), device("c")}, 1e9));
  // Stage 0 (block 0) split in rows: each half needs 5 input rows (one halo
  // row); stage 1 (blocks 1-2) on c needs all 8 rows, 4 from each half.
  auto rows =
      make_plan({stage(0, 1, {{"a", {0, 4}}, {"b", {4, 8}}}), stage(1, 3, {{"c", {0, 8}}})});
  sim::Result r = run(rows, *env, closed(2, 1));
  const double per_frame = 2 * (5 * 8 * 3 * 4) + 2 * (4 * 8 * 4 * 4) + kOut;
  EXPECT_DOUBLE_EQ(r.bytes_moved, 2 * per_frame);
  EXPECT_DOUBLE_EQ(r.devices[0].bytes_sent, 2 * (4 * 8 * 4 * 4));
  // The same split by columns moves the same bytes; each half computes half.
  auto cols = make_plan(
      {stage(0, 1, {{"a", {0, 8}, {0, 4}}, {"b", {0, 8}, {4, 8}}}), stage(1, 3, {{"c", {0, 8}}})});
  sim::Options o = closed(2, 1);
  o.trace = true;
  sim::Result rc = run(cols, *env, o);
  EXPECT_DOUBLE_EQ(rc.bytes_moved, 2 * per_frame);
  double half = band_s(*env, 0, 0, 1, {0, 8}) / 2;
  for (const sim::TraceEvent& e : rc.trace) {
    if (e.cat == "compute" && e.device == 0) {
      EXPECT_NEAR(e.dur_s, half, 1e-12);
    }
  }
}

TEST(SimSharedMedium, TwoEqualConcurrentSendsTakeTwiceAsLong) {
  auto c = make_cluster({device("a"), device("b")}, 1e6);
  auto env = tiny_env(c);
  // Both halves of the whole model need 7 input rows and return 4 rows.
  auto p = make_plan({stage(0, 3, {{"a", {0, 4}}, {"b", {4, 8}}})});
  const double in = 7 * 8 * 3 * 4, out = 4 * 8 * 4 * 4;
  const double comp = band_s(*env, 0, 0, 3, {0, 4});
  ASSERT_NEAR(comp, band_s(*env, 1, 0, 3, {4, 8}), 1e-15);
  sim::Result sep = run(p, *env, closed(1, 1));
  EXPECT_NEAR(sep.latency_mean_ms, (in * 8 / 1e6 + comp + out * 8 / 1e6) * 1e3, 1e-9);

  c.shared_medium = true;
  c.medium_bandwidth_bps = 1e6;
  auto env2 = tiny_env(c);
  sim::Options o = closed(1, 1);
  o.trace = true;
  sim::Result sh = run(p, *env2, o);
  EXPECT_NEAR(sh.latency_mean_ms, (2 * in * 8 / 1e6 + comp + 2 * out * 8 / 1e6) * 1e3, 1e-9);
  int inputs = 0;
  for (const sim::TraceEvent& e : sh.trace) {
    if (e.cat != "transfer" || e.device != -1) continue;
    ++inputs;
    EXPECT_NEAR(e.dur_s, 2 * in * 8 / 1e6, 1e-12);
  }
  EXPECT_EQ(inputs, 2);
}

TEST(SimQueueing, FixedRateAboveCapacityLatencyGrows) {
  auto env = tiny_env(make_cluster({device("a")}, 1e12));
  auto p = make_plan({stage(0, 3, {{"a", {0, 8}}})});
  const double s = band_s(*env, 0, 0, 3, {0, 8});
  sim::Options o;
  o.arrival = sim::Arrival::Fixed;
  o.rate = 2 / s;  // twice the capacity
  o.frames = 200;
  sim::Result r200 = run(p, *env, o);
  o.frames = 400;
  sim::Result r400 = run(p, *env, o);
  EXPECT_GT(r200.latencies_ms.back(), 50 * r200.latencies_ms.front());
  // Frame k waits k * (s - 1/rate) = k s / 2: the mean grows linearly.
  double l0 = r200.latencies_ms.front();
  EXPECT_NEAR((r400.latency_mean_ms - l0) / (r200.latency_mean_ms - l0), 399.0 / 199.0, 0.01);
  EXPECT_NEAR(r400.latencies_ms.back(), (s + 399 * s / 2) * 1e3, 1e-3);  // + ~0 transfers
  EXPECT_NEAR(r400.throughput_fps, 1 / s, 0.01 / s);
}

TEST(SimQueueing, PoissonAtLowLoadIsCloseToNoQueueLatency) {
  auto env = tiny_env(make_cluster({device("a")}, 1e6));
  auto p = make_plan({stage(0, 3, {{"a", {0, 8}}})});
  double lat = env->cm->transfer_seconds(-1, 0, kIn) + band_s(*env, 0, 0, 3, {0, 8}) +
               env->cm->transfer_seconds(0, -1, kOut);
  sim::Options o;
  o.arrival = sim::Arrival::Poisson;
  o.rate = 0.05 / lat;
  o.frames = 3000;
  o.seed = 7;
  sim::Result r = run(p, *env, o);
  EXPECT_NEAR(r.latency_mean_ms, lat * 1e3, 0.03 * lat * 1e3);
  EXPECT_GE(r.latency_mean_ms, lat * 1e3 * (1 - 1e-9));
  EXPECT_NEAR(r.latency_p50_ms, lat * 1e3, 1e-6);  // most frames find it idle
  EXPECT_GT(r.latency_p99_ms, lat * 1e3 * 1.001);  // a few queue
  EXPECT_NEAR(r.throughput_fps, o.rate, 0.1 * o.rate);
  // Same seed, same run.
  EXPECT_EQ(run(p, *env, o).latencies_ms, r.latencies_ms);
}

TEST(SimEnergy, OneDeviceByHand) {
  const double bps = 1e6, lat = 1e-3;
  auto env = tiny_env(make_cluster({device("a")}, bps, lat));
  auto p = make_plan({stage(0, 3, {{"a", {0, 8}}})});
  sim::Result r = run(p, *env, closed(20, 1));
  const double c = band_s(*env, 0, 0, 3, {0, 8});
  const double tx = kIn * 8 / bps + kOut * 8 / bps;  // bytes on the wire
  // Per frame: busy c at 5 W, sending/receiving tx at 2 W, the two link
  // latencies idle at 1 W.
  EXPECT_NEAR(r.devices[0].busy_s, 20 * c, 1e-9);
  EXPECT_NEAR(r.devices[0].tx_s, 20 * tx, 1e-9);
  EXPECT_NEAR(r.makespan_s, 20 * (c + tx + 2 * lat), 1e-9);
  EXPECT_NEAR(r.energy_j_per_frame, 5 * c + 2 * tx + 1 * 2 * lat, 1e-9);
  EXPECT_NEAR(r.devices[0].utilization, c / (c + tx + 2 * lat), 1e-9);
}

TEST(SimTrace, ParsesWithOneComputeEventPerTask) {
  auto env = tiny_env(make_cluster({device("a"), device("b"), device("c")}));
  auto p = make_plan({stage(0, 1, {{"a", {0, 4}}, {"b", {4, 8}}}), stage(1, 3, {{"c", {0, 8}}})});
  sim::Options o = closed(5, 2);
  o.trace = true;
  sim::Result r = run(p, *env, o);
  auto j = nlohmann::json::parse(sim::to_chrome_trace(r, *env->cm));
  int compute = 0, transfer = 0, names = 0;
  std::vector<int> per_frame(5, 0);
  for (const auto& e : j.at("traceEvents")) {
    if (e.at("ph") == "M") {
      if (e.at("name") == "process_name") ++names;
      continue;
    }
    EXPECT_EQ(e.at("ph"), "X");
    EXPECT_GE(e.at("dur").get<double>(), 0);
    if (e.at("cat") == "compute") {
      ++compute;
      ++per_frame[size_t(e.at("args").at("frame").get<int>())];
      EXPECT_EQ(e.at("tid"), 0);
    } else {
      ++transfer;
      EXPECT_EQ(e.at("tid"), 1);
    }
  }
  EXPECT_EQ(names, 4);  // three devices and the source
  EXPECT_EQ(compute, 5 * 3);
  for (int n : per_frame) EXPECT_EQ(n, 3);
  EXPECT_EQ(transfer, 5 * (2 + 2 + 1));  // input x2, stage 0 -> 1 x2, output
  EXPECT_NE(r.trace[0].name.find(" f"), std::string::npos);
}

TEST(SimJson, HasTheContractKeys) {
  auto env = tiny_env(make_cluster({device("a")}));
  sim::Result r = run(make_plan({stage(0, 3, {{"a", {0, 8}}})}), *env, closed(4, 1));
  auto j = nlohmann::json::parse(sim::to_json(r));
  for (const char* k : {"frames", "completed", "failed", "throughput_fps", "steady_fps", "latency_ms",
                        "bytes_moved", "energy_j_per_frame", "devices", "makespan_s"})
    EXPECT_TRUE(j.contains(k)) << k;
  for (const char* k : {"mean", "p50", "p95", "p99"}) EXPECT_TRUE(j["latency_ms"].contains(k)) << k;
  ASSERT_EQ(j["devices"].size(), 1u);
  for (const char* k : {"name", "utilization", "bytes_sent", "busy_s", "energy_j"})
    EXPECT_TRUE(j["devices"][0].contains(k)) << k;
  EXPECT_EQ(j["frames"], 4);
  EXPECT_EQ(j["devices"][0]["name"], "a");
}

TEST(SimBounds, ComputeAndCommunication) {
  auto env = tiny_env(make_cluster({device("a"), device("b", 3)}, 1e6));
  sim::Bounds b = sim::bounds(*env->cm);
  double whole = band_s(*env, 0, 0, 3, {0, 8});
  EXPECT_NEAR(b.compute_fps, 1 / whole + 3 / whole, 1e-6 / whole);
  EXPECT_NEAR(b.comm_lower_s, (kIn + kOut) * 8 / 1e6, 1e-12);
}

TEST(SimErrors, UnknownDeviceAndBadOptions) {
  auto env = tiny_env(make_cluster({device("a")}));
  auto good = make_plan({stage(0, 3, {{"a", {0, 8}}})});
  auto bad = make_plan({stage(0, 3, {{"zzz", {0, 8}}})});
  auto r = sim::simulate(bad, *env->cm, closed(1, 1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), "plan device 'zzz' is not in cluster 'test'");
  EXPECT_FALSE(sim::simulate(make_plan({}), *env->cm, closed(1, 1)).ok());
  EXPECT_FALSE(
      sim::simulate(make_plan({stage(0, 2, {{"a", {0, 8}}})}), *env->cm, closed(1, 1)).ok());
  EXPECT_FALSE(sim::simulate(good, *env->cm, closed(0, 1)).ok());
  EXPECT_FALSE(sim::simulate(good, *env->cm, closed(1, 0)).ok());
  sim::Options o;
  o.arrival = sim::Arrival::Fixed;
  o.rate = 0;
  EXPECT_FALSE(sim::simulate(good, *env->cm, o).ok());
  o.arrival = sim::Arrival::Poisson;
  o.rate = -1;
  auto e = sim::simulate(good, *env->cm, o);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().find("rate=-1"), std::string::npos) << e.error();
  o.rate = 10;
  EXPECT_TRUE(sim::simulate(good, *env->cm, o).ok());
}

// Property: random pipelines (random cuts, random row splits, random devices,
// per-pair or shared network, random in-flight count) never deadlock, and the
// devices' busy time is exactly frames x the plan's compute.
TEST(SimProperty, RandomPlansCompleteAndConserveWork) {
  const uint32_t seed = 12345;
  std::mt19937 rng{seed};
  for (int trial = 0; trial < 40; ++trial) {
    SCOPED_TRACE(testing::Message() << "seed " << seed << " trial " << trial);
    auto c = make_cluster({device("a"), device("b", 2), device("c", 0.5), device("d")}, 1e6, 1e-4);
    c.shared_medium = trial % 2 == 1;
    if (trial % 3 == 0) c.source = "d";
    auto env = tiny_env(c);
    std::vector<plan::Stage> stages;
    double work = 0;
    for (int a = 0; a < 3;) {
      int b = a + 1 + int(rng() % uint32_t(3 - a));
      int parts = 1 + int(rng() % 4);
      std::vector<int> cut = {0, 8};
      for (int i = 1; i < parts; ++i) cut.push_back(int(rng() % 9));
      std::sort(cut.begin(), cut.end());
      std::vector<plan::Assignment> as;
      for (size_t i = 0; i + 1 < cut.size(); ++i) {
        int d = int(rng() % 4);
        as.push_back({std::string(1, char('a' + d)), {cut[i], cut[i + 1]}});
        if (cut[i + 1] > cut[i]) work += band_s(*env, d, a, b, {cut[i], cut[i + 1]});
      }
      stages.push_back(stage(a, b, as));
      a = b;
    }
    const int frames = 30;
    sim::Result r = run(make_plan(stages), *env, closed(frames, 1 + int(rng() % 4)));
    EXPECT_EQ(r.completed, frames);
    double busy = 0;
    for (const auto& d : r.devices) {
      busy += d.busy_s;
      EXPECT_LE(d.utilization, 1 + 1e-9);
      EXPECT_LE(d.tx_s, r.makespan_s + 1e-9);
    }
    EXPECT_NEAR(busy, frames * work, 1e-9 * frames * work);
    for (double l : r.latencies_ms) EXPECT_GT(l, 0);
  }
}

// Not a correctness test: 10,000 frames of resnet50 on 64 devices, timed.
TEST(SimSpeed, Resnet50On64Devices) {
  auto env = std::make_unique<Env>();
  auto g = zoo::build("resnet50", 1);
  ASSERT_TRUE(g.ok()) << g.error();
  env->g = std::move(g).value();
  env->blocks = graph::find_blocks(env->g);
  const int nb = int(env->blocks.size());
  ASSERT_GE(nb, 6);
  std::vector<cluster::Device> devs;
  for (int i = 0; i < 64; ++i) devs.push_back(device(fmt::format("d{}", i), 0.5 + 0.5 * (i % 4)));
  auto c = make_cluster(devs, 100e6, 1e-4);
  auto cm = cost::CostModel::create(env->g, env->blocks, c,
                                    cost::analytic_profile(env->g, env->blocks, 20, 10));
  ASSERT_TRUE(cm.ok()) << cm.error();
  env->cm.emplace(std::move(cm).value());
  // Five stages cut at roughly even block counts, rows split evenly over up to
  // 20 devices each (never more than the output height), the tail on one.
  std::vector<int> cuts = {0, nb / 8, nb / 3, 2 * nb / 3, nb - 1, nb};
  std::vector<int> want = {20, 20, 14, 9, 1};
  plan::Plan p;
  int next = 0;
  for (size_t s = 0; s + 1 < cuts.size(); ++s) {
    plan::Stage st;
    st.first_block = cuts[s];
    st.last_block = cuts[s + 1];
    int h = env->g.nodes[size_t(env->blocks[size_t(st.last_block - 1)].last)].out.h;
    int n = std::min(want[s], h);
    for (int i = 0; i < n; ++i)
      st.parts.push_back({fmt::format("d{}", next++ % 64), {i * h / n, (i + 1) * h / n}});
    p.stages.push_back(st);
  }
  for (bool shared : {false, true}) {
    c.shared_medium = shared;
    c.medium_bandwidth_bps = 1e9;
    auto cm2 = cost::CostModel::create(env->g, env->blocks, c,
                                       cost::analytic_profile(env->g, env->blocks, 20, 10));
    ASSERT_TRUE(cm2.ok());
    auto t0 = std::chrono::steady_clock::now();
    auto r = sim::simulate(p, *cm2, closed(10000, 8));
    double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->completed, 10000);
    std::printf(
        "[ SimSpeed ] resnet50, 64 devices, %zu stages, %s: 10000 frames in %.3f s "
        "(%.1f fps simulated, latency %.2f ms)\n",
        p.stages.size(), shared ? "shared medium" : "per-pair links", dt, r->throughput_fps,
        r->latency_mean_ms);
  }
}
