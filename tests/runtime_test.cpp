// Distributed runtime: workers, coordinator, routing, weights cache.
// End-to-end runs on in-process workers (runtime::LocalCluster, real ZeroMQ
// over loopback) and on real `coinfer worker` processes; every output is
// compared bit for bit (memcmp) with the single-device Executor::run.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "kernels/executor.h"
#include "process_util.h"
#include "model/load.h"
#include "net/transport.h"
#include "onnx/importer.h"
#include "planners/planner.h"
#include "runtime/coordinator.h"
#include "runtime/slowdown.h"
#include "runtime/local_cluster.h"
#include "runtime/model_source.h"
#include "runtime/routing.h"
#include "runtime/segment.h"
#include "runtime/sha256.h"
#include "runtime/stats.h"

using namespace coinfer;
namespace rt = coinfer::runtime;
namespace fs = std::filesystem;
using coinfer::test::Process;
using coinfer::test::slurp;
using coinfer::test::spawn;
using coinfer::test::wait_exit;

namespace {

// ---- shared fixtures: models with their reference executors, one cluster

struct Model {
  graph::Graph g;
  std::vector<graph::Block> blocks;
  std::unique_ptr<kernels::Executor> ref;  // single device, 1 thread, default backend
};

Model& model(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Model>> cache;
  auto& m = cache[name];
  if (!m) {
    m = std::make_unique<Model>();
    auto g = model::load("zoo:" + name);
    EXPECT_TRUE(g.ok()) << g.error();
    m->g = std::move(g).value();
    m->blocks = graph::find_blocks(m->g);
    auto ex = kernels::Executor::create(m->g, kernels::ExecOptions{});
    EXPECT_TRUE(ex.ok()) << ex.error();
    m->ref = std::move(ex).value();
  }
  return *m;
}

std::unique_ptr<rt::LocalCluster>& cluster_slot() {
  static std::unique_ptr<rt::LocalCluster> lc;
  return lc;
}

// Four in-process workers w0..w3 shared by the end-to-end tests (so each
// zoo model is built once by the workers' shared model cache).
rt::LocalCluster& shared_cluster() {
  auto& lc = cluster_slot();
  if (!lc) {
    rt::LocalClusterOptions o;
    o.workers = 4;
    auto r = rt::LocalCluster::start(o);
    EXPECT_TRUE(r.ok()) << r.error();
    lc = std::move(r).value();
  }
  return *lc;
}

class RuntimeEnvironment : public ::testing::Environment {
 public:
  void TearDown() override { cluster_slot().reset(); }
};
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new RuntimeEnvironment);

using Parts = std::vector<std::pair<std::string, Rows>>;

plan::Stage stage(int first, int last, const Parts& parts) {
  plan::Stage s;
  s.first_block = first;
  s.last_block = last;
  for (const auto& [dev, rows] : parts) s.parts.push_back({dev, rows});
  return s;
}

plan::Plan make_plan(const std::string& name, std::vector<plan::Stage> stages) {
  plan::Plan p;
  p.model = name;
  p.strategy = "test";
  p.stages = std::move(stages);
  return p;
}

// Runs `p` on the shared cluster and compares every frame's output with the
// single-device run, bit for bit.
void expect_identical(const std::string& name, const plan::Plan& p, int frames, int in_flight = 0,
                      double rate = 0) {
  Model& m = model(name);
  rt::LocalCluster& lc = shared_cluster();
  rt::RunOptions o;
  o.model_spec = "zoo:" + name;
  o.frames = frames;
  o.in_flight = in_flight;
  o.rate = rate;
  o.keep_outputs = true;
  o.frame_timeout_s = 120;
  o.seed = 17;
  auto rep = rt::run(m.g, p, lc.spec(), o);
  ASSERT_TRUE(rep.ok()) << rep.error();
  ASSERT_EQ(rep->result.completed, frames)
      << (rep->failures.empty() ? std::string("?") : rep->failures.front());
  EXPECT_EQ(rep->results_rejected, 0u);
  ASSERT_EQ(int(rep->outputs.size()), frames);
  for (int f = 0; f < frames; ++f) {
    Tensor x = rt::synthetic_frame(m.g.input_shape(), o.seed, uint64_t(f));
    auto y = m.ref->run(x);
    ASSERT_TRUE(y.ok()) << y.error();
    const Tensor& got = rep->outputs[size_t(f)];
    ASSERT_EQ(got.shape, y->shape);
    ASSERT_EQ(got.data.size(), y->data.size());
    EXPECT_EQ(0, std::memcmp(got.data.data(), y->data.data(), y->data.size() * 4))
        << name << ": frame " << f << " differs from the single-device run";
  }
  // Measurements are there and sane.
  EXPECT_GT(rep->result.throughput_fps, 0);
  EXPECT_GT(rep->result.latency_p50_ms, 0);
  EXPECT_GT(rep->result.bytes_moved, 0);
  for (const auto& w : rep->workers) {
    EXPECT_TRUE(w.has_stats) << w.device;
    EXPECT_GT(w.stats.tasks_run, 0u) << w.device;
    EXPECT_EQ(w.stats.bands_rejected, 0u) << w.device;
  }
}

template <typename F>
bool wait_until(F cond, double seconds) {
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return cond();
}

fs::path temp_dir(const std::string& tag) {
  fs::path d = fs::temp_directory_path() / fmt::format("coinfer-rt-{}-{}", tag, ::getpid());
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// ---- units

TEST(RuntimeUnit, Sha256KnownVectors) {
  EXPECT_EQ(rt::sha256_hex("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(rt::sha256_hex("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  std::string m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  EXPECT_EQ(rt::sha256_hex(m.data(), m.size()),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  std::string a(1000, 'a');
  rt::Sha256 h;  // split updates agree with one update
  for (size_t i = 0; i < a.size(); i += 77) h.update(a.data() + i, std::min<size_t>(77, a.size() - i));
  EXPECT_EQ(h.hex(), rt::sha256_hex(a.data(), a.size()));
}

TEST(RuntimeUnit, BandEndpointIsPortPlusOne) {
  EXPECT_EQ(rt::band_endpoint_for("tcp://10.0.0.2:5555").value(), "tcp://10.0.0.2:5556");
  EXPECT_EQ(rt::band_endpoint_for("ipc:///tmp/w0").value(), "ipc:///tmp/w0.bands");
  EXPECT_FALSE(rt::band_endpoint_for("tcp://h:65535").ok());
  EXPECT_FALSE(rt::band_endpoint_for("tcp://h:*").ok());
  EXPECT_FALSE(rt::band_endpoint_for("udp://h:1").ok());
}

TEST(RuntimeUnit, RoutesSendExactlyTheOverlap) {
  Model& m = model("yolov2_tiny");
  // Stage 0 splits blocks [0,9) (conv8, 26 rows) in three; stage 1 splits the
  // rest in two: each stage-1 part needs a halo from its neighbours.
  plan::Plan p = make_plan("yolov2_tiny",
                           {stage(0, 9, {{"a", {0, 9}}, {"b", {9, 18}}, {"c", {18, 26}}}),
                            stage(9, 15, {{"d", {0, 6}}, {"e", {6, 13}}})});
  auto r = rt::make_routes(p, m.g, m.blocks);
  ASSERT_TRUE(r.ok()) << r.error();
  for (const auto& pr : r->stages[1]) {
    int covered = 0;
    for (const auto& s : pr.inputs) {
      EXPECT_EQ(rt::intersect(s.rows, r->at(0, s.part).out), s.rows);
      covered += s.rows.size();
    }
    EXPECT_EQ(covered, pr.in.size()) << pr.name;  // the suppliers tile the needed rows
  }
  // What a stage-0 part sends is what the stage-1 part expects from it.
  for (const auto& src : r->stages[0])
    for (const auto& o : src.outputs) {
      const auto& dst = r->at(1, o.part);
      bool found = false;
      for (const auto& in : dst.inputs) found |= in.part == src.part && in.rows == o.rows;
      EXPECT_TRUE(found) << src.name << " -> " << dst.name;
    }
  // Column tiling is refused (the executor splits rows only).
  plan::Plan cols = make_plan("yolov2_tiny", {stage(0, 15, {{"a", {0, 13}}})});
  cols.stages[0].parts[0].cols = {0, 5};
  EXPECT_FALSE(rt::make_routes(cols, m.g, m.blocks).ok());
}

TEST(RuntimeUnit, ModelCacheKeepsTheLastModelsAndDropsTheOldestBeforeLoading) {
  Model& m = model("yolov2_tiny");
  int loads = 0;
  std::weak_ptr<const graph::Graph> first;
  auto loader = [&](bool expect_first_gone) {
    return [&, expect_first_gone]() -> Result<std::shared_ptr<const graph::Graph>> {
      ++loads;
      // The model it replaces is gone before this one loads (peak: one model).
      if (expect_first_gone) {
        EXPECT_TRUE(first.expired());
      }
      return std::make_shared<const graph::Graph>(m.g);
    };
  };
  rt::ModelCache cache(1);
  EXPECT_EQ(cache.bytes(), 0u);
  {
    auto a = cache.get_or_load("a", loader(false));
    ASSERT_TRUE(a.ok());
    first = *a;
    auto again = cache.get_or_load("a", loader(false));
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->get(), a->get());
    EXPECT_EQ(loads, 1);
    EXPECT_EQ(cache.bytes(), uint64_t(m.g.params()) * 4);
  }
  auto b = cache.get_or_load("b", loader(true));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(loads, 2);
  EXPECT_EQ(cache.bytes(), uint64_t(m.g.params()) * 4);
  // Capacity 0 keeps nothing: every deployment loads.
  rt::ModelCache none(0);
  ASSERT_TRUE(none.get_or_load("a", loader(false)).ok());
  ASSERT_TRUE(none.get_or_load("a", loader(false)).ok());
  EXPECT_EQ(loads, 4);
  EXPECT_EQ(none.bytes(), 0u);
}

TEST(RuntimeUnit, DeploySpecRoundTripAndStrictness) {
  rt::DeploySpec d;
  d.plan = make_plan("yolov2_tiny", {stage(0, 15, {{"w0", {0, 13}}})});
  d.endpoints["w0"] = "tcp://127.0.0.1:7001";
  d.results = "tcp://127.0.0.1:7100";
  auto back = rt::parse_deploy_spec(rt::to_json(d));
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(back->plan, d.plan);
  EXPECT_EQ(back->endpoints, d.endpoints);
  EXPECT_EQ(back->results, d.results);
  for (const char* bad : {"", "[]", "{\"plan\":{}}", "{garbage",
                          R"({"plan":{"version":1,"stages":[]},"endpoints":{},"results":"tcp://x:1","extra":1})",
                          R"({"plan":{"version":1,"stages":[]},"endpoints":{"a":"nope"},"results":"tcp://x:1"})"})
    EXPECT_FALSE(rt::parse_deploy_spec(bad).ok()) << bad;
  EXPECT_FALSE(rt::parse_stats("{\"name\":1}").ok());
  EXPECT_FALSE(rt::parse_stats("not json").ok());
  // Arrival records carry the `waited` flag; a record without it is refused.
  rt::WorkerStats ws;
  ws.arrivals.push_back({7, 1, 2, 123, 4096, true});
  auto back_stats = rt::parse_stats(rt::to_json(ws));
  ASSERT_TRUE(back_stats.ok()) << back_stats.error();
  ASSERT_EQ(back_stats->arrivals.size(), 1u);
  EXPECT_TRUE(back_stats->arrivals[0].waited);
  EXPECT_EQ(back_stats->arrivals[0].bytes, 4096u);
  std::string five = rt::to_json(ws);
  five.replace(five.find(",true]"), 6, "]");
  auto bad_stats = rt::parse_stats(five);
  ASSERT_FALSE(bad_stats.ok());
  EXPECT_NE(bad_stats.error().find("arrivals: bad record"), std::string::npos) << bad_stats.error();
}

// ---- end to end, in-process workers

TEST(RuntimeE2E, Yolov2TinySingleDevice) {
  expect_identical("yolov2_tiny", make_plan("yolov2_tiny", {stage(0, 15, {{"w0", {0, 13}}})}), 1);
}

TEST(RuntimeE2E, Yolov2TinySplit2) {
  expect_identical("yolov2_tiny",
                   make_plan("yolov2_tiny", {stage(0, 15, {{"w0", {0, 7}}, {"w1", {7, 13}}})}), 2);
}

TEST(RuntimeE2E, Yolov2TinySplit4ManyFramesInFlight) {
  expect_identical("yolov2_tiny",
                   make_plan("yolov2_tiny", {stage(0, 15, {{"w0", {0, 3}},
                                                           {"w1", {3, 7}},
                                                           {"w2", {7, 10}},
                                                           {"w3", {10, 13}}})}),
                   6, /*in_flight=*/4);
}

TEST(RuntimeE2E, Yolov2TinyOpenLoopAtARate) {
  expect_identical("yolov2_tiny",
                   make_plan("yolov2_tiny", {stage(0, 15, {{"w2", {0, 5}}, {"w3", {5, 13}}})}), 5,
                   0, /*rate=*/20);
}

TEST(RuntimeE2E, Yolov2TinyPipeline3) {
  expect_identical("yolov2_tiny",
                   make_plan("yolov2_tiny", {stage(0, 5, {{"w0", {0, 104}}}),
                                             stage(5, 10, {{"w1", {0, 13}}}),
                                             stage(10, 15, {{"w2", {0, 13}}})}),
                   4, /*in_flight=*/3);
}

TEST(RuntimeE2E, Yolov2TinySplitThenSplitWithDeviceReuse) {
  // w0 runs a part of both stages: its band to itself stays in memory.
  expect_identical("yolov2_tiny",
                   make_plan("yolov2_tiny",
                             {stage(0, 9, {{"w0", {0, 9}}, {"w1", {9, 18}}, {"w2", {18, 26}}}),
                              stage(9, 15, {{"w3", {0, 6}}, {"w0", {6, 13}}})}),
                   3, 2);
}

TEST(RuntimeE2E, Resnet34Pipeline2) {
  expect_identical("resnet34", make_plan("resnet34", {stage(0, 9, {{"w0", {0, 28}}}),
                                                      stage(9, 19, {{"w1", {0, 1}}})}),
                   2);
}

TEST(RuntimeE2E, Resnet34SplitThenFcTail) {
  expect_identical("resnet34",
                   make_plan("resnet34", {stage(0, 15, {{"w0", {0, 4}},
                                                        {"w1", {4, 7}},
                                                        {"w2", {7, 11}},
                                                        {"w3", {11, 14}}}),
                                          stage(15, 19, {{"w2", {0, 1}}})}),
                   3, 2);
}

TEST(RuntimeE2E, Vgg16Split4ThenFcTail) {
  expect_identical("vgg16", make_plan("vgg16", {stage(0, 13, {{"w0", {0, 7}},
                                                              {"w1", {7, 14}},
                                                              {"w2", {14, 21}},
                                                              {"w3", {21, 28}}}),
                                                stage(13, 19, {{"w3", {0, 1}}})}),
                   2);
}

TEST(RuntimeE2E, Vgg16Pipeline3) {
  expect_identical("vgg16", make_plan("vgg16", {stage(0, 7, {{"w0", {0, 56}}}),
                                                stage(7, 13, {{"w1", {0, 28}}}),
                                                stage(13, 19, {{"w2", {0, 1}}})}),
                   2, 2);
}

plan::Stage in_pipeline(int k, plan::Stage s) {
  s.pipeline = k;
  return s;
}

TEST(RuntimeE2E, Resnet34InterleavedPipelines) {
  // Frames take three pipelines in turn; w1 runs blocks [6,11) in two of
  // them (one executor) and [6,10) in the third.
  expect_identical("resnet34",
                   make_plan("resnet34", {in_pipeline(0, stage(0, 6, {{"w0", {0, 28}}})),
                                          in_pipeline(0, stage(6, 11, {{"w1", {0, 14}}})),
                                          in_pipeline(0, stage(11, 19, {{"w2", {0, 1}}})),
                                          in_pipeline(1, stage(0, 6, {{"w0", {0, 28}}})),
                                          in_pipeline(1, stage(6, 10, {{"w1", {0, 14}}})),
                                          in_pipeline(1, stage(10, 19, {{"w2", {0, 1}}})),
                                          in_pipeline(2, stage(0, 5, {{"w0", {0, 56}}})),
                                          in_pipeline(2, stage(5, 11, {{"w1", {0, 14}}})),
                                          in_pipeline(2, stage(11, 19, {{"w2", {0, 1}}}))}),
                   7, 4);
}

TEST(RuntimeE2E, Yolov2TinyInterleavedSplitAndPipeline) {
  // Pipeline 0 splits the whole model by rows; pipeline 1 is a two-stage
  // pipeline over other devices and w0.
  expect_identical(
      "yolov2_tiny",
      make_plan("yolov2_tiny", {in_pipeline(0, stage(0, 15, {{"w0", {0, 6}}, {"w1", {6, 13}}})),
                                in_pipeline(1, stage(0, 9, {{"w2", {0, 13}}, {"w3", {13, 26}}})),
                                in_pipeline(1, stage(9, 15, {{"w0", {0, 13}}}))}),
      5, 3);
}

// Every planner's plan runs on real workers with outputs bit-identical to the
// single-device run. The shared cluster's spec is made heterogeneous (speeds
// 1:2:3:4, 100 Mbps) so that planners split unevenly and drop devices.
TEST(RuntimeE2E, EveryStrategysPlanIsBitIdentical) {
  rt::LocalCluster& lc = shared_cluster();
  cluster::ClusterSpec spec = lc.spec();
  for (size_t i = 0; i < spec.devices.size(); ++i) spec.devices[i].speed = 0.25 * double(i + 1);
  spec.default_bandwidth_bps = 100e6;
  for (const char* name : {"yolov2_tiny", "resnet34"}) {
    Model& m = model(name);
    auto cm = cost::CostModel::create(m.g, m.blocks, spec,
                                      cost::analytic_profile(m.g, m.blocks, 100, 20));
    ASSERT_TRUE(cm.ok()) << cm.error();
    for (const planners::Strategy& s : planners::strategies()) {
      planners::Options o;
      o.rate = 1;  // apico
      if (s.name == "ftp") o.grid_rows = 4, o.grid_cols = 1;  // the runtime splits rows only
      auto p = planners::make_plan(s.name, *cm, o);
      ASSERT_TRUE(p.ok()) << s.name << ": " << p.error();
      SCOPED_TRACE(s.name + " on " + name);
      expect_identical(name, *p, 2);
    }
  }
}

TEST(RuntimeE2E, OneInputTensorAndTrace) {
  Model& m = model("yolov2_tiny");
  rt::LocalCluster& lc = shared_cluster();
  plan::Plan p = make_plan("yolov2_tiny", {stage(0, 6, {{"w1", {0, 26}}, {"w2", {26, 52}}}),
                                           stage(6, 15, {{"w3", {0, 13}}})});
  rt::RunOptions o;
  o.model_spec = "zoo:yolov2_tiny";
  o.input = rt::synthetic_frame(m.g.input_shape(), 99, 0);
  o.trace = true;
  auto rep = rt::run(m.g, p, lc.spec(), o);
  ASSERT_TRUE(rep.ok()) << rep.error();
  ASSERT_EQ(rep->result.completed, 1);
  auto y = m.ref->run(*o.input);
  ASSERT_TRUE(y.ok());
  EXPECT_EQ(0, std::memcmp(rep->outputs[0].data.data(), y->data.data(), y->data.size() * 4));
  int compute = 0, transfer = 0;
  for (const auto& e : rep->result.trace) {
    (e.cat == "compute" ? compute : transfer) += 1;
    EXPECT_GE(e.dur_s, 0);
  }
  EXPECT_EQ(compute, 3);
  EXPECT_EQ(transfer, 2 + 2 + 1);  // inputs, peer bands, result
  ASSERT_EQ(rep->result.devices.size(), 4u);
  EXPECT_EQ(rep->result.devices[0].bytes_sent, 0);  // w0 is not in the plan
  EXPECT_GT(rep->result.devices[3].utilization, 0);
}

// ---- bad input

TEST(RuntimeBadInput, GarbageToBandsAndControlIsCountedAndSurvived) {
  rt::LocalCluster& lc = shared_cluster();
  rt::Worker& w = lc.worker(1);
  const rt::WorkerCounters before = w.counters();
  // An authenticated peer that sends garbage: the process's coordinator key,
  // which the local workers accept.
  auto curve_client = [&](zmq::socket_t& s) {
    s.set(zmq::sockopt::curve_serverkey, lc.spec().devices[1].public_key);
    s.set(zmq::sockopt::curve_publickey, net::process_keypair().public_key);
    s.set(zmq::sockopt::curve_secretkey, net::process_keypair().secret_key);
  };
  zmq::socket_t push(net::context(), zmq::socket_type::push);
  push.set(zmq::sockopt::linger, 0);
  curve_client(push);
  push.connect(w.band_endpoint());
  std::mt19937 rng(5);
  auto send_parts = [](zmq::socket_t& s, std::vector<std::string> parts) {
    for (size_t i = 0; i < parts.size(); ++i)
      s.send(zmq::buffer(parts[i]), i + 1 < parts.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
  };
  std::string noise(64, '\0');
  for (char& c : noise) c = char(rng());
  send_parts(push, {noise});                                     // garbage
  send_parts(push, {std::string("CNFR\x01\x00\x05\x00", 8)});    // a Band header, no fields
  send_parts(push, {std::string("CNFR\x01\x00\xff\x00", 8)});    // unknown type
  send_parts(push, {"a", "b", "c", "d"});                        // too many frames
  // A well-formed Band whose payload is cut in half: a decode error.
  net::Band b;
  b.deployment_id = 1;
  b.tensor = Tensor(Shape{3, 8, 8}, Rows{0, 4});
  auto frames = net::encode(net::Message(b));
  ASSERT_TRUE(frames.ok());
  std::string head((*frames)[0].data<char>(), (*frames)[0].size());
  std::string payload((*frames)[1].data<char>(), (*frames)[1].size() / 2);
  ASSERT_TRUE(net::decode(*frames).ok());
  {
    net::Frames cut;
    cut.emplace_back(head.data(), head.size());
    cut.emplace_back(payload.data(), payload.size());
    auto d = net::decode(cut);
    ASSERT_FALSE(d.ok());
    EXPECT_NE(d.error().find("payload"), std::string::npos) << d.error();
  }
  send_parts(push, {head, payload});
  // Decodes, but belongs to no deployment: rejected, not garbage.
  send_parts(push, {head, std::string((*frames)[1].data<char>(), (*frames)[1].size())});
  // Control: garbage, and a message that has no business there (answered).
  zmq::socket_t dealer(net::context(), zmq::socket_type::dealer);
  dealer.set(zmq::sockopt::linger, 0);
  curve_client(dealer);
  dealer.connect(w.control_endpoint());
  send_parts(dealer, {noise});
  send_parts(dealer, {head, std::string((*frames)[1].data<char>(), (*frames)[1].size())});
  ASSERT_TRUE(wait_until([&] { return w.counters().garbage >= before.garbage + 6; }, 10))
      << "garbage counted: " << w.counters().garbage - before.garbage;
  ASSERT_TRUE(wait_until([&] { return w.counters().rejected >= before.rejected + 2; }, 10));
  zmq::message_t reply;
  dealer.set(zmq::sockopt::rcvtimeo, 5000);
  ASSERT_TRUE(dealer.recv(reply));  // the Error reply's header frame
  std::vector<zmq::message_t> parts;
  parts.push_back(std::move(reply));
  auto m = net::decode(parts);
  ASSERT_TRUE(m.ok()) << m.error();
  ASSERT_TRUE(std::holds_alternative<net::Error>(*m));
  EXPECT_NE(std::get<net::Error>(*m).message.find("unexpected Band"), std::string::npos);
  // The worker still works.
  expect_identical("yolov2_tiny",
                   make_plan("yolov2_tiny", {stage(0, 15, {{"w1", {0, 7}}, {"w2", {7, 13}}})}), 1);
}

TEST(RuntimeUnit, MergeRangesJoinsOverlappingAndTouchingBlockRanges) {
  // A device's parts in interleaved pipelines share one executor per union.
  using V = std::vector<Rows>;
  EXPECT_EQ(rt::merge_ranges(V{{3, 6}, {0, 4}, {8, 9}}), (V{{0, 6}, {8, 9}}));
  EXPECT_EQ(rt::merge_ranges(V{{4, 9}, {5, 10}, {4, 9}}), (V{{4, 10}}));
  EXPECT_EQ(rt::merge_ranges(V{{0, 3}, {3, 5}}), (V{{0, 5}}));  // touching
  EXPECT_EQ(rt::merge_ranges(V{{0, 3}, {4, 5}}), (V{{0, 3}, {4, 5}}));
  EXPECT_EQ(rt::merge_ranges(V{{2, 2}, {1, 2}}), (V{{1, 2}}));  // empty dropped
  EXPECT_EQ(rt::merge_ranges(V{}), V{});
}

TEST(RuntimeUnit, PollTimeoutRoundsUp) {
  // A wait of under 1 ms is a 1 ms poll: as a 0 ms one the coordinator's loop
  // spun a core for every refused send while a dead worker's frames timed out.
  EXPECT_EQ(rt::poll_timeout_ms(1, 0), 1);
  EXPECT_EQ(rt::poll_timeout_ms(999'999, 0), 1);
  EXPECT_EQ(rt::poll_timeout_ms(1'000'000, 0), 1);
  EXPECT_EQ(rt::poll_timeout_ms(1'000'001, 0), 2);
  EXPECT_EQ(rt::poll_timeout_ms(20'000'000, 0), 20);
  EXPECT_EQ(rt::poll_timeout_ms(5, 5), 0);
  EXPECT_EQ(rt::poll_timeout_ms(0, 7), 0);
  EXPECT_EQ(rt::poll_timeout_ms(INT64_MAX, 0), INT32_MAX);
}

TEST(RuntimeBadInput, UnreachableWorkerFailsWithinTheTimeout) {
  Model& m = model("yolov2_tiny");
  auto port = rt::free_port_pair();
  ASSERT_TRUE(port.ok());
  cluster::ClusterSpec c = shared_cluster().spec();
  cluster::Device ghost;
  ghost.name = "ghost";
  ghost.address = fmt::format("tcp://127.0.0.1:{}", *port);
  ghost.memory_bytes = 8e9;
  ghost.public_key = net::generate_keypair()->public_key;
  c.devices.push_back(ghost);
  rt::RunOptions o;
  o.model_spec = "zoo:yolov2_tiny";
  o.hello_timeout_s = 1;
  auto t0 = std::chrono::steady_clock::now();
  auto rep = rt::run(m.g, make_plan("yolov2_tiny", {stage(0, 15, {{"w0", {0, 6}}, {"ghost", {6, 13}}})}),
                     c, o);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_FALSE(rep.ok());
  EXPECT_EQ(rep.error(), fmt::format("worker 'ghost' at {}: no answer within 1 s (is it running, "
                                     "with this coordinator's public key authorised?)",
                                     ghost.address));
  EXPECT_LT(s, 4.0);
}

TEST(RuntimeBadInput, InvalidPlanListsEveryViolation) {
  Model& m = model("yolov2_tiny");
  cluster::ClusterSpec c = shared_cluster().spec();
  plan::Plan p = make_plan("yolov2_tiny", {stage(0, 15, {{"w0", {0, 5}}, {"nobody", {7, 13}}})});
  auto errs = rt::check_plan(p, m.g, c);
  ASSERT_GE(errs.size(), 2u);
  rt::RunOptions o;
  o.model_spec = "zoo:yolov2_tiny";
  auto rep = rt::run(m.g, p, c, o);
  ASSERT_FALSE(rep.ok());
  EXPECT_NE(rep.error().find("plan is invalid"), std::string::npos) << rep.error();
  EXPECT_NE(rep.error().find("unknown device"), std::string::npos) << rep.error();
  EXPECT_NE(rep.error().find("gap"), std::string::npos) << rep.error();
}

TEST(RuntimeBadInput, MemoryShortfallNamesWorkerAndAmount) {
  Model& m = model("resnet34");
  rt::LocalClusterOptions lo;
  lo.workers = 1;
  lo.memory_limit = 20'000'000;
  auto lc = rt::LocalCluster::start(lo);
  ASSERT_TRUE(lc.ok()) << lc.error();
  rt::RunOptions o;
  o.model_spec = "zoo:resnet34";
  auto rep = rt::run(m.g, plan::single_device_plan(m.g, m.blocks, "w0"), (*lc)->spec(), o);
  ASSERT_FALSE(rep.ok());
  EXPECT_NE(rep.error().find("worker 'w0' at tcp://127.0.0.1:"), std::string::npos) << rep.error();
  EXPECT_NE(rep.error().find("20.0 MB available: short by"), std::string::npos) << rep.error();
  EXPECT_EQ((*lc)->worker(0).counters().deploys, 0u);
}

TEST(RuntimeBadInput, SlowFrameTimesOutWithAReason) {
  Model& m = model("yolov2_tiny");
  rt::LocalClusterOptions lo;
  lo.workers = 1;
  lo.slowdown = {20};
  auto lc = rt::LocalCluster::start(lo);
  ASSERT_TRUE(lc.ok()) << lc.error();
  rt::RunOptions o;
  o.model_spec = "zoo:yolov2_tiny";
  o.frame_timeout_s = 0.2;
  auto rep = rt::run(m.g, plan::single_device_plan(m.g, m.blocks, "w0"), (*lc)->spec(), o);
  ASSERT_TRUE(rep.ok()) << rep.error();
  EXPECT_EQ(rep->result.failed, 1);
  ASSERT_EQ(rep->failures.size(), 1u);
  EXPECT_NE(rep->failures[0].find("frame 0: timed out after 0.2 s waiting for the results of s0p0 ('w0')"),
            std::string::npos)
      << rep->failures[0];
}

// ---- weights: fetched once from the coordinator, then from the cache

TEST(RuntimeWeights, FetchedOnceThenServedFromTheCache) {
  Model& m = model("yolov2_tiny");
  fs::path dir = temp_dir("weights");
  fs::path file = dir / "yolov2_tiny.onnx";
  ASSERT_TRUE(onnx_io::save_onnx(m.g, file.string()).ok());
  auto hash = rt::sha256_file(file.string());
  ASSERT_TRUE(hash.ok());
  std::ifstream in(file, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto imported = onnx_io::load_onnx(file.string());
  ASSERT_TRUE(imported.ok()) << imported.error();
  auto ref = kernels::Executor::create(*imported, kernels::ExecOptions{});
  ASSERT_TRUE(ref.ok());
  // Hand-driven without keys: this test is about weights (security_test.cpp
  // covers the keys).
  auto results = net::bind_results("tcp://127.0.0.1:*", std::nullopt);
  ASSERT_TRUE(results.ok());
  // The worker is told a path it does not have: it must ask for the bytes.
  const std::string spec = (dir / "elsewhere" / "yolov2_tiny.onnx").string();
  for (int start = 0; start < 2; ++start) {
    rt::WorkerOptions wo;
    auto port = rt::free_port_pair();
    ASSERT_TRUE(port.ok());
    wo.listen = fmt::format("tcp://127.0.0.1:{}", *port);
    wo.name = "w0";
    wo.cache_dir = (dir / "cache").string();
    wo.quiet = true;
    wo.security.insecure = true;
    auto w = rt::Worker::create(wo);
    ASSERT_TRUE(w.ok()) << w.error();
    std::thread t([&] { (void)(*w)->run(); });
    auto ctl = net::connect_control((*w)->control_endpoint(), std::nullopt);
    ASSERT_TRUE(ctl.ok());
    rt::DeploySpec ds;
    ds.plan = make_plan("yolov2_tiny", {stage(0, 15, {{"w0", {0, 13}}})});
    ds.endpoints["w0"] = (*w)->band_endpoint();
    ds.results = results->endpoint();
    const uint64_t id = 100 + uint64_t(start);
    ASSERT_TRUE(ctl->send(net::Deploy{id, spec, *hash, rt::to_json(ds), "w0"}).ok());
    bool asked = false, deployed = false;
    for (int i = 0; i < 200 && !deployed; ++i) {
      auto msg = ctl->recv(100);
      ASSERT_TRUE(msg.ok()) << msg.error();
      if (!*msg) continue;
      if (auto* q = std::get_if<net::WeightsRequest>(&**msg)) {
        EXPECT_EQ(q->hash, *hash);
        asked = true;
        std::vector<uint8_t> wrong = bytes;
        wrong[wrong.size() / 2] ^= 1;  // a corrupted copy first: refused by hash
        ASSERT_TRUE(ctl->send(net::Weights{*hash, wrong}).ok());
        ASSERT_TRUE(ctl->send(net::Weights{*hash, bytes}).ok());
      } else if (auto* r = std::get_if<net::DeployReply>(&**msg)) {
        ASSERT_TRUE(r->ok) << r->error;
        deployed = true;
      }
    }
    // The corrupted copy fails the hash check and is dropped; the good one is
    // stored, so the second start finds it in the cache.
    if (start == 0) {
      EXPECT_TRUE(asked);
    } else {
      EXPECT_FALSE(asked) << "weights were streamed again although they are in the cache";
      EXPECT_EQ((*w)->counters().fetches, 0u);
    }
    ASSERT_TRUE(deployed);
    EXPECT_TRUE(fs::exists(rt::cache_path(wo.cache_dir, *hash)));
    // One frame by hand: stage-0 band in, Result out, bit-identical.
    Tensor x = rt::synthetic_frame(m.g.input_shape(), 3, 0);
    auto push = net::connect_band_output((*w)->band_endpoint(), std::nullopt);
    ASSERT_TRUE(push.ok());
    net::Band b;
    b.deployment_id = id;
    b.frame_id = 0;
    b.tensor = x;
    ASSERT_TRUE(push->send(std::move(b)).ok());
    auto res = results->recv(20000);
    ASSERT_TRUE(res.ok() && *res) << (res.ok() ? "timeout" : res.error());
    auto* rb = std::get_if<net::ResultBand>(&**res);
    ASSERT_NE(rb, nullptr);
    auto y = (*ref)->run(x);
    ASSERT_TRUE(y.ok());
    EXPECT_EQ(0, std::memcmp(rb->tensor.data.data(), y->data.data(), y->data.size() * 4));
    (*w)->stop();
    t.join();
  }
  fs::remove_all(dir);
}

// ---- real worker processes (tests/process_util.h)

TEST(RuntimeProcess, CoinferWorkerProcessesAndCoinferRun) {
  Model& m = model("resnet34");
  fs::path dir = temp_dir("proc");
  fs::path onnx = dir / "resnet34.onnx";
  ASSERT_TRUE(onnx_io::save_onnx(m.g, onnx.string()).ok());
  auto imported = onnx_io::load_onnx(onnx.string());
  ASSERT_TRUE(imported.ok());
  std::vector<Process> workers(2);
  nlohmann::json devices = nlohmann::json::array();
  // Keys as a user makes them: `coinfer keygen`, the coordinator's .pub
  // authorised on each worker, each worker's public key in the cluster spec.
  auto keygen = [&](const std::string& name) {
    std::string cmd =
        fmt::format("{} keygen -o {} > /dev/null", COINFER_BIN, (dir / name).string());
    EXPECT_EQ(std::system(cmd.c_str()), 0);
    auto pub = net::read_public_key((dir / (name + ".pub")).string());
    EXPECT_TRUE(pub.ok()) << pub.error();
    return pub.ok() ? *pub : "";
  };
  keygen("coord");
  for (int i = 0; i < 2; ++i) {
    auto port = rt::free_port_pair();
    ASSERT_TRUE(port.ok());
    std::string ep = fmt::format("tcp://127.0.0.1:{}", *port);
    const std::string name = "p" + std::to_string(i), pub = keygen(name);
    workers[size_t(i)].pid = spawn(
        {COINFER_BIN, "worker", "--listen", ep, "--name", name, "--cache", (dir / "cache").string(),
         "--key", (dir / (name + ".key")).string(), "--authorized", (dir / "coord.pub").string()},
        (dir / fmt::format("w{}.log", i)).string());
    ASSERT_GT(workers[size_t(i)].pid, 0);
    devices.push_back({{"name", name}, {"address", ep}, {"memory", "4GiB"}, {"public_key", pub}});
  }
  std::ofstream(dir / "c.json") << nlohmann::json{{"name", "procs"}, {"devices", devices}}.dump();
  plan::Plan p = make_plan("resnet34", {stage(0, 15, {{"p0", {0, 6}}, {"p1", {6, 14}}}),
                                        stage(15, 19, {{"p1", {0, 1}}})});
  std::ofstream(dir / "p.json") << plan::to_json(p);
  Tensor x = rt::synthetic_frame(m.g.input_shape(), 11, 0);
  ASSERT_TRUE(write_npy((dir / "x.npy").string(), x).ok());
  std::string cmd = fmt::format(
      "{} run --model {} --cluster {} --plan {} --input {} --output {} --json --trace {} "
      "--hello-timeout 10 --key {} > {} 2> {}",
      COINFER_BIN, onnx.string(), (dir / "c.json").string(), (dir / "p.json").string(),
      (dir / "x.npy").string(), (dir / "y.npy").string(), (dir / "t.json").string(),
      (dir / "coord.key").string(), (dir / "run.json").string(), (dir / "run.err").string());
  ASSERT_EQ(std::system(cmd.c_str()), 0) << slurp(dir / "run.err");
  auto y = read_npy((dir / "y.npy").string());
  ASSERT_TRUE(y.ok()) << y.error();
  auto ref = kernels::Executor::create(*imported, kernels::ExecOptions{});
  ASSERT_TRUE(ref.ok());
  auto want = (*ref)->run(x);
  ASSERT_TRUE(want.ok());
  ASSERT_EQ(y->data.size(), want->data.size());
  EXPECT_EQ(0, std::memcmp(y->data.data(), want->data.data(), want->data.size() * 4));
  auto j = nlohmann::json::parse(slurp(dir / "run.json"));
  for (const char* k : {"frames", "completed", "failed", "throughput_fps", "latency_ms",
                        "bytes_moved", "energy_j_per_frame", "devices"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_EQ(j["completed"], 1);
  auto trace = nlohmann::json::parse(slurp(dir / "t.json"));
  EXPECT_TRUE(trace.contains("traceEvents"));
  // The file existed locally with the right hash: nothing was streamed.
  EXPECT_NE(slurp(dir / "w0.log.err").find("from local file"), std::string::npos)
      << slurp(dir / "w0.log.err");
  // An invalid plan: every violation printed, exit code 1.
  plan::Plan bad = make_plan("resnet34", {stage(0, 19, {{"p0", {0, 1}}, {"nobody", {0, 1}}})});
  std::ofstream(dir / "bad.json") << plan::to_json(bad);
  cmd = fmt::format("{} run --model zoo:resnet34 --cluster {} --plan {} --frames 1 2> {}",
                    COINFER_BIN, (dir / "c.json").string(), (dir / "bad.json").string(),
                    (dir / "bad.err").string());
  int rc = std::system(cmd.c_str());
  EXPECT_EQ(WEXITSTATUS(rc), 1);
  std::string err = slurp(dir / "bad.err");
  EXPECT_NE(err.find("unknown device"), std::string::npos) << err;
  EXPECT_NE(err.find("not row-partitionable"), std::string::npos) << err;
  // SIGTERM: a clean exit.
  for (Process& w : workers) {
    kill(w.pid, SIGTERM);
    EXPECT_EQ(wait_exit(w.pid, 5), 0);
    w.pid = -1;
  }
  fs::remove_all(dir);
}

}  // namespace
