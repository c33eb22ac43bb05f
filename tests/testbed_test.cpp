// The local emulated testbed: tc plans, quotas and state files (anywhere), a
// loopback testbed (anywhere), and, as root with `ip netns`, a real emulated
// 2-device cluster: namespaces, bridge, qdiscs, cgroups, measured bandwidth,
// teardown, and recovery with `down --all` after a crash.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cluster/cluster.h"
#include "testbed/cgroup.h"
#include "testbed/cpu_probe.h"
#include "testbed/exec.h"
#include "testbed/names.h"
#include "testbed/network.h"
#include "testbed/shaping.h"
#include "testbed/state.h"

namespace coinfer::testbed {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr double kGoodput = 0.956;  // TCP payload / wire rate at MTU 1500 (NOTES.md)

struct CmdRun {
  int code = -1;
  std::string out;  // stdout
};

// Runs the coinfer binary; stderr goes to the test log.
CmdRun coinfer(const std::string& args) {
  CmdRun r;
  std::string cmd = std::string(COINFER_BIN) + " " + args;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int st = pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

cluster::Device device(const std::string& name, double link_bps = 0) {
  cluster::Device d;
  d.name = name;
  d.link_bps = link_bps;
  return d;
}

// A spec of n devices at 100 Mbit/s, each a quarter of a core.
std::string two_device_spec(const std::string& name, int n) {
  json j;
  j["name"] = name;
  j["default_bandwidth"] = "100Mbps";
  j["devices"] = json::array();
  for (int i = 0; i < n; ++i)
    j["devices"].push_back({{"name", "dev" + std::to_string(i)}, {"threads", 1}, {"speed", 0.25}});
  return j.dump(2);
}

// The worker if this build has it, else a listener that stands in for it.
std::string worker_flag() {
  static const bool has_worker = coinfer("worker --help > /dev/null 2>&1").code == 0;
  return has_worker ? "" : " --stand-in";
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/coinfer-tbtest-XXXXXX";
    path_ = mkdtemp(tmpl) ? tmpl : "/tmp";
  }
  ~TempDir() {
    std::error_code ec;
    if (path_ != "/tmp") fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(TestbedShaping, AccessLinksOnBothVethEnds) {
  cluster::ClusterSpec c;
  c.default_bandwidth_bps = 100e6;
  c.devices = {device("a"), device("b", 20e6)};
  std::vector<TcStep> steps = plan_shaping(c);
  std::vector<std::string> qdiscs;
  std::string all;
  for (const TcStep& s : steps) {
    if (!s.qdisc.empty()) qdiscs.push_back(s.netns.empty() ? s.qdisc : s.netns + "/" + s.qdisc);
    for (const std::string& a : s.args) all += a + " ";
    all += "\n";
  }
  EXPECT_EQ(qdiscs,
            (std::vector<std::string>{"coinfer-v0 root htb", "coinfer-n0/coinfer-p0 root htb",
                                      "coinfer-v1 root htb", "coinfer-n1/coinfer-p1 root htb"}));
  EXPECT_NE(all.find("dev coinfer-v0 parent 1: classid 1:1 htb rate 100000000bit"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("dev coinfer-p1 parent 1: classid 1:1 htb rate 20000000bit"),
            std::string::npos)
      << all;
}

TEST(TestbedShaping, ExplicitLinksAndSharedMedium) {
  cluster::ClusterSpec c;
  c.devices = {device("a"), device("b"), device("c")};
  c.links = {{"a", "c", 300e6, 0.001}};
  c.shared_medium = true;
  c.medium_bandwidth_bps = 50e6;
  std::string all;
  for (const TcStep& s : plan_shaping(c)) {
    all += s.netns + ": ";
    for (const std::string& a : s.args) all += a + " ";
    all += "\n";
  }
  // a -> c: a's namespace end by destination, c's bridge end by source.
  EXPECT_NE(
      all.find("coinfer-n0: filter add dev coinfer-p0 parent 1: protocol ip prio 1 u32 match ip "
               "dst 10.77.0.4/32 flowid 1:102"),
      std::string::npos)
      << all;
  EXPECT_NE(all.find(": filter add dev coinfer-v2 parent 1: protocol ip prio 1 u32 match ip src "
                     "10.77.0.2/32 flowid 1:100"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("class add dev coinfer-m0 parent 1: classid 1:1 htb rate 50000000bit"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("filter add dev coinfer-br0 egress"), std::string::npos) << all;
  EXPECT_NE(latency_note(c).find("not emulated"), std::string::npos);
}

TEST(TestbedCgroup, QuotaRespectsKernelMinimum) {
  CpuQuota q = quota_for_cores(0.25);
  EXPECT_EQ(q.period_us, 20000);
  EXPECT_EQ(q.quota_us, 5000);
  q = quota_for_cores(0.01);  // 200 us per 20 ms is below the 1000 us minimum
  EXPECT_EQ(q.quota_us, 1000);
  EXPECT_EQ(q.period_us, 100000);
  q = quota_for_cores(1.5);
  EXPECT_EQ(q.quota_us, 30000);
}

TEST(TestbedCpuProbe, ParsesBenchOutputAndTakesTheMedianFactor) {
  // `coinfer bench --json`: the mean of the timed runs, in seconds, from its
  // last JSON line; anything else is an error naming the run.
  const std::string out =
      "loading\n{\"latency_ms\": {\"mean\": 40.0, \"median\": 39.0}, \"runs\": 8}\n"
      "{\"latency_ms\": {\"mean\": 160.5, \"median\": 150}, \"runs\": 8}\n";
  Result<double> s = bench_seconds(out, "w0");
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_DOUBLE_EQ(*s, 0.1605);
  for (const char* bad : {"", "garbage\n", "{\"latency_ms\": {\"mean\": \"x\"}}",
                          "{\"latency_ms\": {\"mean\": 0}}", "{\"latency_ms\": 3}"}) {
    Result<double> e = bench_seconds(bad, "the run in w1");
    ASSERT_FALSE(e.ok()) << bad;
    EXPECT_NE(e.error().find("the run in w1: no timing"), std::string::npos) << e.error();
  }
  Result<double> v = delivered_speed(0.04, 0.16);
  ASSERT_TRUE(v.ok()) << v.error();
  EXPECT_DOUBLE_EQ(*v, 0.25);
  EXPECT_FALSE(delivered_speed(0, 0.16).ok());
  EXPECT_FALSE(delivered_speed(0.04, -1).ok());
  // Median of delivered / specified: one hiccup (w1) does not move it.
  EXPECT_DOUBLE_EQ(delivery_factor({0.24, 0.15, 0.23, 0.24}, {0.25, 0.25, 0.25, 0.25}),
                   (0.23 + 0.24) / 2 / 0.25);
  EXPECT_DOUBLE_EQ(delivery_factor({0.36, 0.1, 0.2}, {0.4, 0.25, 0.25}), 0.8);
  EXPECT_DOUBLE_EQ(delivery_factor({}, {}), 1.0);
  // More than the quota's share is the free core's noise: at most 1.
  EXPECT_DOUBLE_EQ(delivery_factor({0.266, 0.259, 0.252}, {0.25, 0.25, 0.25}), 1.0);
  EXPECT_DOUBLE_EQ(median({3, 1, 2}), 2);
  EXPECT_DOUBLE_EQ(median({4, 1, 3, 2}), 2.5);
  EXPECT_DOUBLE_EQ(median({}), 0);
}

TEST(TestbedCpuProbe, AFailingWorkloadIsOneLineNamingIt) {
  TempDir dir;
  std::vector<CpuProbeDevice> devs{{"", 1, dir.path() + "/d0.log"}};
  CpuProbeOptions o;
  o.bin = "/bin/false";  // exits 1
  Result<std::vector<double>> r = probe_cpu(devs, dir.path() + "/free.log", o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("`/bin/false bench` on a free core: exit 1"), std::string::npos)
      << r.error();
  o.bin = "/bin/echo";  // exits 0, prints no timing
  r = probe_cpu(devs, dir.path() + "/free.log", o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("the free-core run: no timing in its output: bench zoo:resnet18"),
            std::string::npos)
      << r.error();
  EXPECT_EQ(r.error().find('\n'), std::string::npos);
}

TEST(TestbedState, RoundTrip) {
  State s;
  s.cluster = "x";
  s.path = "/tmp/coinfer-cluster-x.json";
  s.dir = s.path + ".d";
  s.emulated = true;
  s.compute = "cgroup";
  s.processes = {{"worker", "dev0", 1234, "/bin/coinfer", "tcp://10.77.0.2:5555", "/tmp/l"}};
  s.netns = {"coinfer-n0"};
  s.links = {"coinfer-br0", "coinfer-v0"};
  s.qdiscs = {"coinfer-v0 root htb"};
  s.cgroups = {"/sys/fs/cgroup/cpu/coinfer-c0"};
  s.effective_spec = "{\n  \"name\": \"x\"\n}\n";
  auto back = parse_state(state_to_json(s), s.path);
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(back->processes[0].pid, 1234);
  EXPECT_EQ(back->links, s.links);
  EXPECT_EQ(back->cgroups, s.cgroups);
  EXPECT_EQ(json::parse(back->effective_spec), json::parse(s.effective_spec));
  EXPECT_FALSE(parse_state("{\"coinfer_testbed\": 1, \"processes\": [{\"pid\": -5}]}", "bad").ok());
  EXPECT_FALSE(parse_state("[]", "bad").ok());
  EXPECT_EQ(default_state_path("a b/c"), "/tmp/coinfer-cluster-a_b_c.json");
}

// Loopback, no root: up, probe, down.
TEST(TestbedLoopback, UpProbeDown) {
  TempDir dir;
  const std::string spec = dir.path() + "/spec.json", state = dir.path() + "/state.json";
  std::ofstream(spec) << two_device_spec("tbtest-loop", 2);
  CmdRun up = coinfer("cluster up --no-emulation --json --spec " + spec + " --state " + state +
                      worker_flag());
  ASSERT_EQ(up.code, 0) << up.out;
  json j = json::parse(up.out);
  EXPECT_EQ(j["compute"], "slowdown");
  ASSERT_EQ(j["workers"].size(), 2u);
  std::vector<pid_t> pids;
  for (const auto& w : j["workers"]) pids.push_back(w["pid"].get<int>());
  for (pid_t p : pids) EXPECT_TRUE(process_alive(p));
  CmdRun probe = coinfer("cluster probe --json --seconds 0.1 --cluster " +
                         j["spec"].get<std::string>() + " -o " + dir.path() + "/measured.json");
  EXPECT_EQ(probe.code, 0) << probe.out;
  if (probe.code == 0) {
    json pj = json::parse(probe.out);
    for (const auto& d : pj["devices"]) EXPECT_GT(d["up_mbps"].get<double>(), 100.0) << d;
    EXPECT_TRUE(cluster::load(dir.path() + "/measured.json").ok());
  }
  CmdRun down = coinfer("cluster down --state " + state);
  EXPECT_EQ(down.code, 0);
  for (pid_t p : pids) EXPECT_FALSE(process_alive(p));
  EXPECT_FALSE(fs::exists(state));
  EXPECT_EQ(coinfer("cluster down --state " + state).code, 0);  // idempotent
}

// Root with `ip netns`: a real emulated cluster. TearDown removes whatever is
// left, even when a test failed half-way.
class TestbedEmulated : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    if (run_command({"ip", "netns", "list"}).exit_code != 0 || !have_command("tc"))
      GTEST_SKIP() << "needs `ip netns` and `tc`";
    // One emulated testbed per machine: serialise with other test processes
    // (ctest -j) before looking.
    lock_fd_ = open("/tmp/coinfer-testbed-test.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd_ >= 0) flock(lock_fd_, LOCK_EX);
    if (link_exists(kBridge)) GTEST_SKIP() << "another testbed is up (" << kBridge << " exists)";
    spec_ = dir_.path() + "/spec.json";
    state_ = dir_.path() + "/state.json";
    std::ofstream(spec_) << two_device_spec("tbtest-emu", 2);
    armed_ = true;
  }
  void TearDown() override {
    if (armed_) {
      coinfer("cluster down --state " + state_);
      if (!leftovers().empty()) coinfer("cluster down --all");
      EXPECT_EQ(leftovers(), "") << "left behind after the test";
    }
    if (lock_fd_ >= 0) close(lock_fd_);  // releases the lock
  }

  // coinfer-* objects of the testbed still present ("" if none).
  static std::string leftovers() {
    std::string left;
    for (const std::string& n : list_coinfer_netns()) left += n + " ";
    for (const std::string& l : list_coinfer_links()) left += l + " ";
    for (const std::string& c : list_coinfer_cgroups()) left += c + " ";
    return left;
  }

  json up() {
    CmdRun r = coinfer("cluster up --json --spec " + spec_ + " --state " + state_ + worker_flag());
    EXPECT_EQ(r.code, 0) << r.out;
    return r.code == 0 ? json::parse(r.out) : json();
  }

  TempDir dir_;
  std::string spec_, state_;
  bool armed_ = false;
  int lock_fd_ = -1;
};

TEST_F(TestbedEmulated, UpProbeDown) {
  json j = up();
  ASSERT_TRUE(j.is_object());
  Result<State> st = load_state(state_);
  ASSERT_TRUE(st.ok()) << st.error();
  // Network: namespaces, bridge, veths, HTB on both ends.
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(netns_exists(netns_name(i)));
    EXPECT_TRUE(link_exists(veth_host(i)));
    EXPECT_NE(run_command({"tc", "qdisc", "show", "dev", veth_host(i)}).output.find("htb 1: root"),
              std::string::npos);
    EXPECT_NE(run_command({"tc", "-n", netns_name(i), "qdisc", "show", "dev", veth_ns(i)})
                  .output.find("htb 1: root"),
              std::string::npos);
    EXPECT_NE(run_command({"tc", "class", "show", "dev", veth_host(i)}).output.find("rate 100Mbit"),
              std::string::npos);
  }
  EXPECT_TRUE(link_exists(kBridge));
  for (const std::string& n : st->netns) EXPECT_TRUE(has_prefix(n)) << n;
  for (const std::string& l : st->links) EXPECT_TRUE(has_prefix(l)) << l;
  // Compute: a cgroup per device, a quarter of a core, holding its worker.
  if (st->compute == "cgroup") {
    ASSERT_EQ(st->cgroups.size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
      const std::string& cg = st->cgroups[i];
      EXPECT_TRUE(has_prefix(fs::path(cg).filename().string())) << cg;
      EXPECT_EQ(std::stoi(read_file(cg + "/cpu.cfs_period_us")), 20000);
      EXPECT_EQ(std::stoi(read_file(cg + "/cpu.cfs_quota_us")), 5000);
      pid_t worker = j["workers"][i]["pid"].get<int>();
      std::vector<pid_t> tasks = cgroup_tasks(cg);
      EXPECT_NE(std::find(tasks.begin(), tasks.end(), worker), tasks.end()) << cg;
    }
    // The compute probe: the effective speed is what the quota delivers, a
    // bit under the specified 0.25 (one factor for both devices), and the
    // effective spec carries it.
    auto eff = cluster::load(j["spec"].get<std::string>());
    ASSERT_TRUE(eff.ok()) << eff.error();
    const double v = j["workers"][0]["speed"].get<double>();
    std::printf("  effective speed %.4f (spec 0.25)\n", v);
    EXPECT_GT(v, 0.15);
    EXPECT_LT(v, 0.30);
    for (size_t i = 0; i < 2; ++i) {
      EXPECT_DOUBLE_EQ(j["workers"][i]["speed"].get<double>(), v);
      EXPECT_DOUBLE_EQ(eff->devices[i].speed, v);
    }
    EXPECT_NE(eff->description.find("speeds measured by its compute probe"), std::string::npos);
  } else {
    ADD_FAILURE() << "no cgroup cpu quota on this machine: " << st->compute;
  }
  // Workers listen on their own addresses in their namespaces.
  for (int i = 0; i < 2; ++i) {
    pid_t worker = j["workers"][size_t(i)]["pid"].get<int>();
    std::vector<pid_t> in_ns = netns_pids(netns_name(i));
    EXPECT_NE(std::find(in_ns.begin(), in_ns.end(), worker), in_ns.end());
    EXPECT_EQ(j["workers"][size_t(i)]["endpoint"], "tcp://" + device_ip(i) + ":5555");
  }
  // Bandwidth as measured: 100 Mbit/s x goodput, within 10%.
  const std::string measured = dir_.path() + "/measured.json";
  CmdRun probe =
      coinfer("cluster probe --json --cluster " + j["spec"].get<std::string>() + " -o " + measured);
  ASSERT_EQ(probe.code, 0) << probe.out;
  json pj = json::parse(probe.out);
  const double want = 100 * kGoodput;
  for (const auto& d : pj["devices"]) {
    EXPECT_NEAR(d["up_mbps"].get<double>(), want, 0.1 * want) << d;
    EXPECT_NEAR(d["down_mbps"].get<double>(), want, 0.1 * want) << d;
    std::printf("  %s: up %.1f down %.1f Mbit/s (want %.1f), rtt %.3f ms\n",
                d["name"].get<std::string>().c_str(), d["up_mbps"].get<double>(),
                d["down_mbps"].get<double>(), want, d["rtt_ms"].get<double>());
  }
  auto m = cluster::load(measured);
  ASSERT_TRUE(m.ok()) << m.error();
  for (const auto& d : m->devices) EXPECT_NEAR(d.link_bps, want * 1e6, 0.1 * want * 1e6);
  // Down: everything gone.
  std::vector<pid_t> pids;
  for (const ProcessRecord& p : st->processes) pids.push_back(p.pid);
  CmdRun down = coinfer("cluster down --state " + state_);
  EXPECT_EQ(down.code, 0);
  for (pid_t p : pids) EXPECT_FALSE(process_alive(p)) << p;
  EXPECT_EQ(leftovers(), "");
  EXPECT_FALSE(fs::exists(state_));
  EXPECT_EQ(coinfer("cluster down --state " + state_).code, 0);  // idempotent
}

TEST_F(TestbedEmulated, DownAllAfterCrash) {
  json j = up();
  ASSERT_TRUE(j.is_object());
  Result<State> st = load_state(state_);
  ASSERT_TRUE(st.ok()) << st.error();
  // The crash: every process killed, the state file lost, namespaces left.
  for (const ProcessRecord& p : st->processes) kill(p.pid, SIGKILL);
  fs::remove(state_);
  EXPECT_TRUE(netns_exists(netns_name(0)));
  EXPECT_TRUE(link_exists(kBridge));
  CmdRun down = coinfer("cluster down --all");
  EXPECT_EQ(down.code, 0);
  EXPECT_EQ(leftovers(), "");
  EXPECT_FALSE(link_exists(kBridge));
  EXPECT_EQ(coinfer("cluster down --all").code, 0);  // idempotent
}

TEST_F(TestbedEmulated, FailedUpRemovesWhatItCreated) {
  // A "worker" that exits at once: up must fail with one line and leave nothing.
  CmdRun r = coinfer("cluster up --spec " + spec_ + " --state " + state_ + " --bin /bin/false");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(leftovers(), "");
  EXPECT_FALSE(fs::exists(state_));
}

}  // namespace
}  // namespace coinfer::testbed
