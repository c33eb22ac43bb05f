// Authentication (CURVE + ZAP), key files, insecure mode and message limits
// (docs/SECURITY.md). In-process workers (LocalCluster, real ZeroMQ over
// loopback) and the coinfer binary.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "cluster/cluster.h"
#include "graph/builder.h"
#include "kernels/executor.h"
#include "model/load.h"
#include "net/keys.h"
#include "net/transport.h"
#include "runtime/coordinator.h"
#include "runtime/deployment.h"
#include "runtime/local_cluster.h"
#include "runtime/routing.h"

namespace coinfer {
namespace {

namespace rt = coinfer::runtime;
namespace fs = std::filesystem;

struct Model {
  graph::Graph g;
  std::unique_ptr<kernels::Executor> ref;
};

Model& yolo() {
  static Model* m = [] {
    auto* m = new Model();
    auto g = model::load("zoo:yolov2_tiny");
    EXPECT_TRUE(g.ok()) << g.error();
    m->g = std::move(g).value();
    auto ex = kernels::Executor::create(m->g, kernels::ExecOptions{});
    EXPECT_TRUE(ex.ok()) << ex.error();
    m->ref = std::move(ex).value();
    return m;
  }();
  return *m;
}

// yolov2_tiny split in two row bands on w0 and w1 (peer-free) or, with
// `pipeline`, blocks 0-10 on w0 then 10-15 on w1 (a peer-to-peer band).
plan::Plan two_worker_plan(bool pipeline) {
  plan::Plan p;
  p.model = "yolov2_tiny";
  p.strategy = "test";
  if (pipeline) {
    p.stages = {{0, 10, {{"w0", {0, 13}}}}, {10, 15, {{"w1", {0, 13}}}}};
  } else {
    p.stages = {{0, 15, {{"w0", {0, 6}}, {"w1", {6, 13}}}}};
  }
  return p;
}

rt::RunOptions quick_options() {
  rt::RunOptions o;
  o.model_spec = "zoo:yolov2_tiny";
  o.frames = 1;
  o.keep_outputs = true;
  o.hello_timeout_s = 2;
  o.frame_timeout_s = 20;
  return o;
}

std::unique_ptr<rt::LocalCluster> start_cluster(bool insecure, bool quiet = true) {
  rt::LocalClusterOptions lo;
  lo.workers = 2;
  lo.insecure = insecure;
  lo.quiet = quiet;
  auto lc = rt::LocalCluster::start(lo);
  EXPECT_TRUE(lc.ok()) << lc.error();
  return lc.ok() ? std::move(lc).value() : nullptr;
}

void expect_bit_identical(const rt::RunReport& rep) {
  ASSERT_EQ(rep.result.completed, 1) << (rep.failures.empty() ? "" : rep.failures[0]);
  Tensor x = rt::synthetic_frame(yolo().g.input_shape(), 1, 0);
  auto want = yolo().ref->run(x);
  ASSERT_TRUE(want.ok());
  ASSERT_EQ(rep.outputs[0].data.size(), want->data.size());
  EXPECT_EQ(0, std::memcmp(rep.outputs[0].data.data(), want->data.data(), want->data.size() * 4));
}

bool wait_until(const std::function<bool()>& f, double seconds) {
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return f();
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

fs::path temp_dir(const std::string& tag) {
  fs::path d = fs::temp_directory_path() / ("coinfer-sec-" + tag + "-" + std::to_string(getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// Runs the coinfer binary; returns its exit code, stderr in *err.
int coinfer(const std::string& args, const fs::path& dir, std::string* err) {
  const fs::path e = dir / "stderr.txt";
  int rc =
      std::system(fmt::format("{} {} > /dev/null 2> {}", COINFER_BIN, args, e.string()).c_str());
  *err = slurp(e);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// ---- keys and their files

TEST(SecurityKeys, KeygenWritesAPrivateKeyAndItsPublicKey) {
  fs::path dir = temp_dir("keygen");
  std::string err;
  ASSERT_EQ(coinfer("keygen -o " + (dir / "a").string(), dir, &err), 0) << err;
  struct stat st {};
  ASSERT_EQ(stat((dir / "a.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto k = net::read_secret_key((dir / "a.key").string());
  ASSERT_TRUE(k.ok()) << k.error();
  auto pub = net::read_public_key((dir / "a.pub").string());
  ASSERT_TRUE(pub.ok()) << pub.error();
  EXPECT_EQ(k->public_key, *pub);  // the .pub is the key derived from the .key
  // Never overwrites; a second keypair differs.
  EXPECT_EQ(coinfer("keygen -o " + (dir / "a").string(), dir, &err), 1);
  EXPECT_NE(err.find("a.key': cannot create: File exists"), std::string::npos) << err;
  ASSERT_EQ(coinfer("keygen -o " + (dir / "b").string(), dir, &err), 0) << err;
  EXPECT_NE(net::read_public_key((dir / "b.pub").string()).value(), *pub);
  // A secret key others can read is refused.
  fs::permissions(dir / "a.key", fs::perms::group_read | fs::perms::others_read,
                  fs::perm_options::add);
  auto open = net::read_secret_key((dir / "a.key").string());
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.error().find("mode 0644: group and others must have no access"), std::string::npos)
      << open.error();
  // Malformed keys name the file and the rule.
  std::ofstream(dir / "bad.pub") << "not-a-key\n";
  auto bad = net::read_public_key((dir / "bad.pub").string());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("bad.pub': key of 9 characters: a CURVE key is 40 Z85 characters"),
            std::string::npos)
      << bad.error();
  EXPECT_FALSE(net::check_key("k", std::string(40, '~')).ok());  // '~' is not Z85
  EXPECT_TRUE(net::check_key("k", k->secret_key).ok());
  fs::remove_all(dir);
}

TEST(SecurityKeys, ClusterSpecAndDeploySpecCarryCheckedKeys) {
  const std::string key = net::generate_keypair()->public_key;
  auto c = cluster::parse(
      fmt::format(
          R"({{"name":"k","devices":[{{"name":"a","address":"tcp://h:5555","public_key":"{}"}}]}})",
          key),
      "spec");
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->devices[0].public_key, key);
  auto again = cluster::parse(cluster::to_json(*c), "again");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->devices[0].public_key, key);
  auto bad =
      cluster::parse(R"({"name":"k","devices":[{"name":"a","public_key":"short"}]})", "spec");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("public_key"), std::string::npos) << bad.error();
  EXPECT_NE(bad.error().find("40 Z85 characters"), std::string::npos) << bad.error();

  rt::DeploySpec ds;
  ds.plan = two_worker_plan(false);
  ds.endpoints = {{"w0", "tcp://127.0.0.1:5556"}, {"w1", "tcp://127.0.0.1:5558"}};
  ds.results = "tcp://127.0.0.1:6000";
  ds.keys = {{"w0", key}, {"w1", key}};
  ds.results_key = key;
  auto back = rt::parse_deploy_spec(rt::to_json(ds));
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(back->keys, ds.keys);
  EXPECT_EQ(back->results_key, key);
  ds.keys.erase("w1");  // every device needs a key
  auto partial = rt::parse_deploy_spec(rt::to_json(ds));
  ASSERT_FALSE(partial.ok());
  EXPECT_NE(partial.error().find("every device needs one"), std::string::npos) << partial.error();
  ds.keys["w1"] = "x";
  auto garbled = rt::parse_deploy_spec(rt::to_json(ds));
  ASSERT_FALSE(garbled.ok());
  EXPECT_NE(garbled.error().find("keys.w1: key of 1 characters"), std::string::npos)
      << garbled.error();
}

// ---- who may use a worker

TEST(SecurityRun, AuthorisedCoordinatorRunsPeerToPeerBitIdentically) {
  auto lc = start_cluster(false);
  ASSERT_TRUE(lc);
  cluster::ClusterSpec c = lc->spec();
  ASSERT_EQ(c.devices[0].public_key.size(), net::kZ85KeyChars);
  ASSERT_NE(c.devices[0].public_key, c.devices[1].public_key);
  // w0 sends its band to w1 (peer to peer, authenticated by the keys in the
  // DeploySpec), w1 sends the result to the coordinator.
  auto rep = rt::run(yolo().g, two_worker_plan(true), c, quick_options());
  ASSERT_TRUE(rep.ok()) << rep.error();
  EXPECT_FALSE(rep->insecure);
  expect_bit_identical(*rep);
  EXPECT_EQ(lc->worker(0).counters().refused, 0u);
  EXPECT_EQ(lc->worker(1).counters().refused, 0u);
}

TEST(SecurityRun, UnknownCoordinatorIsRefusedLoggedAndTimesOutClearly) {
  auto lc = start_cluster(false, /*quiet=*/false);
  ASSERT_TRUE(lc);
  rt::Worker& w0 = lc->worker(0);
  rt::RunOptions o = quick_options();
  o.key = net::generate_keypair().value();  // not authorised on the workers
  testing::internal::CaptureStderr();
  const auto t0 = std::chrono::steady_clock::now();
  auto rep = rt::run(yolo().g, two_worker_plan(false), lc->spec(), o);
  const double took = seconds_since(t0);
  ASSERT_TRUE(wait_until([&] { return w0.counters().refused > 0; }, 2));
  lc->stop();
  const std::string log = testing::internal::GetCapturedStderr();
  ASSERT_FALSE(rep.ok());
  EXPECT_EQ(rep.error().rfind("worker 'w0' at " + lc->spec().devices[0].address + ": ", 0), 0u)
      << rep.error();
  EXPECT_NE(rep.error().find("not authorised"), std::string::npos) << rep.error();
  EXPECT_LT(took, 3.0);  // a refusal, or at worst the 2 s hello timeout: never a hang
  EXPECT_EQ(w0.counters().deploys, 0u);
  // One line per refusal, with the client's address and key.
  const std::string line = "worker w0: control: refused a client from 127.0.0.1: CURVE key " +
                           o.key->public_key + " is not authorised";
  EXPECT_NE(log.find(line), std::string::npos) << log;
}

TEST(SecurityRun, ClientsWithoutTheRightKeyCannotDeployOrSendBands) {
  auto lc = start_cluster(false);
  ASSERT_TRUE(lc);
  rt::Worker& w = lc->worker(1);
  const std::string worker_key = lc->spec().devices[1].public_key;
  const net::Keypair stranger = net::generate_keypair().value();
  // A CURVE client with its own key (knowing the worker's public key) and a
  // plain client without CURVE: each tries to deploy and to send a band.
  for (bool curve : {true, false}) {
    const rt::WorkerCounters before = w.counters();
    std::optional<net::Curve> as;
    if (curve) as = net::Curve{stranger, worker_key, nullptr};
    auto ctl = net::connect_control(w.control_endpoint(), as);
    ASSERT_TRUE(ctl.ok()) << ctl.error();
    net::SocketOptions po = net::band_options();  // queues before the handshake: no wait
    po.curve = as;
    auto push = net::Socket::open(zmq::socket_type::push, net::Socket::Mode::Connect,
                                  w.band_endpoint(), po);
    ASSERT_TRUE(push.ok()) << push.error();
    rt::DeploySpec ds;
    ds.plan = two_worker_plan(false);
    ds.endpoints = {{"w0", "tcp://127.0.0.1:1"}, {"w1", w.band_endpoint()}};
    ds.results = "tcp://127.0.0.1:2";
    (void)ctl->send(net::Deploy{7, "zoo:yolov2_tiny", "", rt::to_json(ds), "w1"});
    net::Band b;
    b.deployment_id = 7;
    b.tensor = Tensor(Shape{3, 8, 8}, Rows{0, 8});
    ASSERT_TRUE(push->send(std::move(b)).ok());
    auto reply = ctl->recv(500);  // nothing comes back
    ASSERT_TRUE(reply.ok());
    EXPECT_FALSE(reply->has_value());
    ASSERT_TRUE(wait_until([&] { return w.counters().refused >= before.refused + 2; }, 2))
        << (curve ? "curve" : "plain") << ": refused " << w.counters().refused - before.refused;
    const rt::WorkerCounters after = w.counters();
    EXPECT_EQ(after.deploys, before.deploys);
    EXPECT_EQ(after.garbage, before.garbage);    // nothing got as far as decoding
    EXPECT_EQ(after.rejected, before.rejected);  // nor as far as the band checks
    // The client learns why (the plain client may first see the worker
    // close the connection, before the greeting tells it the mechanisms differ).
    std::string reasons;
    ASSERT_TRUE(wait_until(
        [&] {
          for (const net::HandshakeFailure& f : ctl->handshake_failures()) reasons += f.text + "\n";
          return reasons.find(curve ? "not authorised" : "mechanism mismatch") != std::string::npos;
        },
        2))
        << reasons;
  }
  // The worker still serves its coordinator.
  auto rep = rt::run(yolo().g, two_worker_plan(false), lc->spec(), quick_options());
  ASSERT_TRUE(rep.ok()) << rep.error();
  expect_bit_identical(*rep);
}

TEST(SecurityRun, ABandMustComeWithItsSuppliersKey) {
  // w1 runs stage 1 of a pipeline; its input comes from w0. The coordinator's
  // key (which w1's band socket also accepts, for stage-0 inputs) or another
  // device's key cannot stand in for w0's.
  const net::Keypair kc = net::generate_keypair().value(), k0 = net::generate_keypair().value(),
                     k1 = net::generate_keypair().value(), k2 = net::generate_keypair().value();
  rt::DeploySpec ds;
  ds.plan = two_worker_plan(true);
  ds.endpoints = {{"w0", "tcp://127.0.0.1:1"},
                  {"w1", "tcp://127.0.0.1:3"},
                  {"w2", "tcp://127.0.0.1:5"}};  // w2: another device of the cluster
  ds.results = "tcp://127.0.0.1:7";
  ds.keys = {{"w0", k0.public_key}, {"w1", k1.public_key}, {"w2", k2.public_key}};
  ds.results_key = kc.public_key;
  rt::DeploymentOptions o;
  o.security.own = k1;
  auto d = rt::Deployment::create(1, yolo().g, ds, "w1", o);
  ASSERT_TRUE(d.ok()) << d.error();
  auto routes = rt::make_routes(ds.plan, yolo().g, graph::find_blocks(yolo().g));
  ASSERT_TRUE(routes.ok()) << routes.error();
  const rt::PartRoute& r = routes->at(1, 0);
  auto band = [&] {
    net::Band b;
    b.deployment_id = 1;
    b.stage = 1;
    b.part = 0;
    b.tensor = Tensor(r.in_shape, r.inputs[0].rows);
    return b;
  };
  for (const net::Keypair* k : {&kc, &k2}) {
    Status st = (*d)->accept(band(), 0, k->public_key);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("sent with key '" + k->public_key +
                                "': that part's supplier has key '" + k0.public_key + "'"),
              std::string::npos)
        << st.message();
  }
  EXPECT_TRUE((*d)->accept(band(), 0, k0.public_key).ok());
  EXPECT_EQ((*d)->ready(), 1u);
}

TEST(SecurityRun, AnOutputRefusedDuringDeploymentIsRetried) {
  // w0 deploys and connects to w1's band socket before w1 has read its own
  // Deploy (which authorises w0's key): refused. libzmq does not retry that;
  // the deployment does, and the band goes through once w1 accepts w0.
  const net::Keypair kc = net::generate_keypair().value(), k0 = net::generate_keypair().value(),
                     k1 = net::generate_keypair().value();
  auto w1_keys = net::AuthorizedKeys::create({kc.public_key}, nullptr);
  ASSERT_TRUE(w1_keys.ok());
  auto w1 = net::bind_band_input("tcp://127.0.0.1:*", net::Curve{k1, "", *w1_keys});
  ASSERT_TRUE(w1.ok()) << w1.error();
  rt::DeploySpec ds;
  ds.plan = two_worker_plan(true);
  ds.endpoints = {{"w0", "tcp://127.0.0.1:1"}, {"w1", w1->endpoint()}};
  ds.results = "tcp://127.0.0.1:3";
  ds.keys = {{"w0", k0.public_key}, {"w1", k1.public_key}};
  ds.results_key = kc.public_key;
  rt::DeploymentOptions o;
  o.security.own = k0;
  auto d = rt::Deployment::create(1, yolo().g, ds, "w0", o);
  ASSERT_TRUE(d.ok()) << d.error();
  ASSERT_TRUE(wait_until([&] { return (*w1_keys)->refused() > 0; }, 2));
  std::string lines;
  ASSERT_TRUE(wait_until(
      [&] {
        for (const std::string& l : (*d)->retry_refused_outputs(0)) lines += l + "\n";
        return !lines.empty();
      },
      2));
  EXPECT_NE(lines.find("output to 'w1': PUSH on " + w1->endpoint() +
                       ": the peer refused this node's key (ZAP status 400)"),
            std::string::npos)
      << lines;
  ASSERT_TRUE((*w1_keys)->set({kc.public_key, k0.public_key}).ok());  // w1 reads its Deploy
  (*d)->retry_refused_outputs(INT64_MAX);                             // reconnects now
  // One frame through w0's stage: its band reaches w1 with w0's key.
  auto routes = rt::make_routes(ds.plan, yolo().g, graph::find_blocks(yolo().g));
  ASSERT_TRUE(routes.ok());
  net::Band in;
  in.deployment_id = 1;
  in.tensor = rt::synthetic_frame(yolo().g.input_shape(), 1, 0);
  ASSERT_TRUE((*d)->accept(std::move(in), 0, kc.public_key).ok());
  const auto t0 = std::chrono::steady_clock::now();
  auto err = (*d)->run_next();
  EXPECT_FALSE(err.has_value()) << err->message;
  EXPECT_LT(seconds_since(t0), 5.0);  // not the 10 s send timeout
  auto got = w1->recv(5000);
  ASSERT_TRUE(got.ok() && got->has_value()) << (got.ok() ? "timeout" : got.error());
  EXPECT_EQ(std::get<net::Band>(**got).stage, 1u);
  EXPECT_EQ(w1->sender_key(), k0.public_key);
  EXPECT_EQ((*w1_keys)->refused(), 1u);
}

TEST(SecurityRun, WrongWorkerPublicKeyFailsClearly) {
  auto lc = start_cluster(false, /*quiet=*/false);
  ASSERT_TRUE(lc);
  cluster::ClusterSpec c = lc->spec();
  c.devices[1].public_key = net::generate_keypair()->public_key;  // an impostor's key
  testing::internal::CaptureStderr();
  auto rep = rt::run(yolo().g, two_worker_plan(false), c, quick_options());
  ASSERT_TRUE(wait_until([&] { return lc->worker(1).counters().refused > 0; }, 2));
  lc->stop();
  const std::string log = testing::internal::GetCapturedStderr();
  ASSERT_FALSE(rep.ok());
  EXPECT_EQ(rep.error().rfind("worker 'w1' at", 0), 0u) << rep.error();
  EXPECT_NE(rep.error().find("handshake"), std::string::npos) << rep.error();
  EXPECT_NE(log.find("worker w1: refused a client: ROUTER on " + c.devices[1].address +
                     ": CURVE handshake failed: the client does not have this node's public key"),
            std::string::npos)
      << log;
}

TEST(SecurityRun, InsecureOnOneSideOnlyFailsClearly) {
  auto secure = start_cluster(false);
  auto insecure = start_cluster(true);
  ASSERT_TRUE(secure && insecure);
  // An insecure coordinator, secure workers.
  rt::RunOptions o = quick_options();
  o.insecure = true;
  auto rep = rt::run(yolo().g, two_worker_plan(false), secure->spec(), o);
  ASSERT_FALSE(rep.ok());
  // Either side may notice first: the coordinator reads the worker's greeting
  // (a mismatch), or the worker has already closed the connection.
  EXPECT_NE(rep.error().find("cannot connect"), std::string::npos) << rep.error();
  EXPECT_TRUE(rep.error().find("security mechanism mismatch: one side runs --insecure") !=
                  std::string::npos ||
              rep.error().find("connection closed during the handshake") != std::string::npos)
      << rep.error();
  EXPECT_TRUE(wait_until([&] { return secure->worker(0).counters().refused > 0; }, 2));
  // A secure coordinator, insecure workers (it knows keys they do not use).
  cluster::ClusterSpec c = insecure->spec();
  for (auto& d : c.devices) d.public_key = net::generate_keypair()->public_key;
  rep = rt::run(yolo().g, two_worker_plan(false), c, quick_options());
  ASSERT_FALSE(rep.ok());
  EXPECT_NE(rep.error().find("security mechanism mismatch"), std::string::npos) << rep.error();
  // Both insecure: it runs, and the report says so.
  rep = rt::run(yolo().g, two_worker_plan(false), insecure->spec(), o);
  ASSERT_TRUE(rep.ok()) << rep.error();
  expect_bit_identical(*rep);
  EXPECT_TRUE(rep->insecure);
  EXPECT_NE(rt::to_table(*rep).find("WARNING: this run runs --insecure"), std::string::npos);
}

TEST(SecurityCli, WorkerAndRunNeedKeysOrAnExplicitInsecure) {
  fs::path dir = temp_dir("cli");
  std::string err;
  auto port = rt::free_port_pair();
  ASSERT_TRUE(port.ok());
  const std::string listen = fmt::format("--listen tcp://127.0.0.1:{}", *port);
  EXPECT_EQ(coinfer("worker " + listen, dir, &err), 1);
  EXPECT_NE(err.find("give --key FILE and at least one --authorized FILE"), std::string::npos)
      << err;
  ASSERT_EQ(coinfer("keygen -o " + (dir / "w").string(), dir, &err), 0) << err;
  EXPECT_EQ(
      coinfer("worker " + listen + " --insecure --key " + (dir / "w.key").string(), dir, &err), 1);
  EXPECT_NE(err.find("--insecure cannot go with --key"), std::string::npos) << err;
  // A public key where the secret key belongs: refused by its mode or content.
  EXPECT_EQ(coinfer("worker " + listen + " --key " + (dir / "w.pub").string() + " --authorized " +
                        (dir / "w.pub").string(),
                    dir, &err),
            1);
  EXPECT_NE(err.find("w.pub'"), std::string::npos) << err;

  std::ofstream(dir / "c.json") << fmt::format(
      R"({{"name":"c","devices":[{{"name":"w0","address":"tcp://127.0.0.1:{}","public_key":"{}"}}]}})",
      *port, net::read_public_key((dir / "w.pub").string()).value());
  plan::Plan p;
  p.model = "yolov2_tiny";
  p.strategy = "test";
  p.stages = {{0, 15, {{"w0", {0, 13}}}}};
  std::ofstream(dir / "p.json") << plan::to_json(p);
  const std::string run =
      fmt::format("run --model zoo:yolov2_tiny --cluster {} --plan {} --frames 1",
                  (dir / "c.json").string(), (dir / "p.json").string());
  EXPECT_EQ(coinfer(run, dir, &err), 1);
  EXPECT_NE(err.find("give --key FILE (this coordinator's secret key"), std::string::npos) << err;
  // Insecure is loud on stderr from the start (here the worker is not running).
  EXPECT_EQ(coinfer(run + " --insecure --hello-timeout 0.5", dir, &err), 1);
  EXPECT_EQ(err.rfind("WARNING: coordinator (run) runs --insecure: no authentication", 0), 0u)
      << err;
  fs::remove_all(dir);
}

// ---- hostile models

TEST(SecurityModel, AValueOfMoreThan2To31ElementsIsRefusedBeforeItRuns) {
  // A Pad within every per-op limit (pads <= 65536) whose output would need
  // 43 GB: refused by shape inference, not by the allocator when it runs.
  graph::Builder b("hostile", Shape{3, 4, 4}, 1);
  int y = b.pad(b.input(), 30000, 30000, 30000, 30000);
  auto g = b.finish(y);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.error().find("output [1,3,60004,60004] has 10801440048 elements: more than 2^31"),
            std::string::npos)
      << g.error();
  graph::Builder fine("fine", Shape{3, 4, 4}, 1);
  EXPECT_TRUE(fine.finish(fine.pad(fine.input(), 300, 300, 300, 300)).ok());
}

// ---- message size limits

TEST(SecurityTransport, MessageSizeLimitsAreEnforcedPerFrame) {
  auto limit = [](Result<net::Socket>& s) { return s->raw().get(zmq::sockopt::maxmsgsize); };
  auto control = net::bind_worker_control("tcp://127.0.0.1:*", std::nullopt);
  auto bands = net::bind_band_input("tcp://127.0.0.1:*", std::nullopt);
  ASSERT_TRUE(control.ok() && bands.ok());
  EXPECT_EQ(limit(control), int64_t(net::kMaxWeightsBytes));  // Weights travel on control
  EXPECT_EQ(limit(bands), int64_t(std::max(net::kMaxTensorBytes, net::kMaxHeaderFrameBytes)));
  // A frame over the limit closes the sender's connection; the message is
  // never delivered, and the next connection's messages are.
  net::SocketOptions small = net::band_options();
  small.max_msg_bytes = 4096;
  auto pull = net::Socket::open(zmq::socket_type::pull, net::Socket::Mode::Bind,
                                "tcp://127.0.0.1:*", small);
  ASSERT_TRUE(pull.ok()) << pull.error();
  auto push = net::connect_band_output(pull->endpoint(), std::nullopt);
  ASSERT_TRUE(push.ok());
  net::Band big;
  big.tensor = Tensor(Shape{4, 32, 32}, Rows{0, 32});  // 16 KiB payload
  ASSERT_TRUE(push->send(std::move(big)).ok());
  auto got = pull->recv(300);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value()) << "an oversized frame was delivered";
  net::Band ok;
  ok.frame_id = 9;
  ok.tensor = Tensor(Shape{1, 8, 8}, Rows{0, 8});
  ASSERT_TRUE(push->send(std::move(ok)).ok());
  got = pull->recv(3000);  // after ZeroMQ reconnects
  ASSERT_TRUE(got.ok() && got->has_value()) << (got.ok() ? "timeout" : got.error());
  EXPECT_EQ(std::get<net::Band>(**got).frame_id, 9u);
}

}  // namespace
}  // namespace coinfer
