// coinfer cluster up|down|probe|netperf: the local emulated testbed
// (src/testbed/, docs/TESTBED.md).
#include <signal.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cluster/cluster.h"
#include "testbed/netperf.h"
#include "testbed/probe.h"
#include "testbed/testbed.h"

namespace coinfer::cli {

namespace {

volatile std::sig_atomic_t g_interrupted = 0;
void on_interrupt(int) {
  g_interrupted = 1;
}

struct UpArgs {
  std::string spec, state, bin;
  bool no_emulation = false, stand_in = false, no_netperf = false, no_cpu_probe = false;
  bool json = false;
  int port = 0;
  int timeout_s = 30;
  std::string compute = "quota";
};

void cluster_up(const UpArgs& a) {
  cluster::ClusterSpec spec = unwrap(cluster::load(a.spec));
  testbed::UpOptions o;
  o.emulate = !a.no_emulation;
  o.state_path = a.state;
  o.bin = a.bin;
  o.port = a.port;
  o.netperf = !a.no_netperf;
  o.cpu_quota = a.compute == "quota";
  o.cpu_probe = !a.no_cpu_probe;
  o.ready_timeout_ms = a.timeout_s * 1000;
  if (a.stand_in) o.worker_command = testbed::stand_in_worker_command;
  o.log = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
  if (o.emulate && geteuid() != 0)
    throw Failure{
        "cluster up: emulation needs root (namespaces, tc, cgroups); run as root or pass "
        "--no-emulation"};
  // Ctrl-C or SIGTERM during up: tear down what was created, then exit 1.
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  o.cancelled = [] { return g_interrupted != 0; };
  testbed::State s = unwrap(testbed::up(spec, o));
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  int workers = 0;
  for (const auto& p : s.processes) workers += p.role == "worker";
  if (a.json) {
    nlohmann::ordered_json j;
    j["cluster"] = s.cluster;
    j["state"] = s.path;
    j["spec"] = s.effective_spec_path;
    j["coordinator_key"] = testbed::coordinator_key_path(s);
    j["emulated"] = s.emulated;
    j["compute"] = s.compute;
    j["workers"] = nlohmann::ordered_json::array();
    cluster::ClusterSpec eff = unwrap(cluster::parse(s.effective_spec, s.effective_spec_path));
    for (const auto& p : s.processes)
      if (p.role == "worker")
        j["workers"].push_back({{"name", p.device},
                                {"endpoint", p.endpoint},
                                {"pid", p.pid},
                                {"speed", eff.devices[size_t(eff.find(p.device))].speed}});
    j["notes"] = s.notes;
    std::printf("%s\n", j.dump().c_str());
    return;
  }
  std::printf("testbed '%s' up: %d worker(s), %s, compute by %s\n", s.cluster.c_str(), workers,
              s.emulated ? "emulated network" : "loopback (no emulation)", s.compute.c_str());
  std::printf("state: %s\nspec:  %s\nkey:   %s (coinfer run --key)\n", s.path.c_str(),
              s.effective_spec_path.c_str(), testbed::coordinator_key_path(s).c_str());
}

struct DownArgs {
  std::string state;
  bool all = false;
};

void cluster_down(const DownArgs& a) {
  std::vector<std::string> states;
  if (!a.state.empty()) {
    if (access(a.state.c_str(), F_OK) == 0) states.push_back(a.state);
  } else if (!a.all) {
    states = testbed::find_state_files();
    if (states.size() > 1) {
      std::string list;
      for (const auto& s : states) list += " " + s;
      throw Failure{"cluster down: several testbeds are up; pass --state FILE (or --all):" + list};
    }
  }
  Status first;
  for (const std::string& path : states) {
    testbed::State s = unwrap(testbed::load_state(path));
    Status st = testbed::down(s);
    if (st.ok())
      std::fprintf(stderr, "testbed '%s' down (%s)\n", s.cluster.c_str(), path.c_str());
    else if (first.ok())
      first = st;
  }
  if (a.all) {
    std::vector<std::string> removed;
    Status st = testbed::down_all(&removed);
    for (const std::string& r : removed) std::fprintf(stderr, "removed %s\n", r.c_str());
    if (!st.ok() && first.ok()) first = st;
  } else if (states.empty()) {
    std::fprintf(stderr, "cluster down: no testbed state found: nothing to do\n");
  }
  check(first);
}

struct ProbeArgs {
  std::string cluster, output;
  double seconds = 0.5;
  bool pairs = false, no_download = false, json = false;
};

void cluster_probe(const ProbeArgs& a) {
  cluster::ClusterSpec spec = unwrap(cluster::load(a.cluster));
  testbed::ProbeOptions o;
  o.seconds = a.seconds;
  o.pairs = a.pairs;
  o.download = !a.no_download;
  testbed::ProbeReport r = unwrap(testbed::probe_cluster(spec, o));
  if (!a.output.empty()) {
    std::ofstream f(a.output);
    f << cluster::to_json(r.measured);
    if (!f.flush()) throw Failure{"cluster probe: cannot write '" + a.output + "'"};
  }
  if (a.json) {
    nlohmann::ordered_json j;
    j["devices"] = nlohmann::ordered_json::array();
    for (const auto& d : r.devices)
      j["devices"].push_back({{"name", d.device},
                              {"endpoint", d.endpoint},
                              {"rtt_ms", d.rtt_s * 1e3},
                              {"up_mbps", d.up_bps / 1e6},
                              {"down_mbps", d.down_bps / 1e6},
                              {"spec_mbps", d.spec_bps / 1e6}});
    j["pairs"] = nlohmann::ordered_json::array();
    for (const auto& p : r.pairs)
      j["pairs"].push_back({{"from", p.a},
                            {"to", p.b},
                            {"mbps", p.bps / 1e6},
                            {"rtt_ms", p.rtt_s * 1e3},
                            {"spec_mbps", p.spec_bps / 1e6}});
    j["output"] = a.output;
    std::printf("%s\n", j.dump().c_str());
    return;
  }
  std::printf("%-16s %-26s %9s %10s %10s %10s\n", "device", "netperf", "rtt ms", "up Mb/s",
              "down Mb/s", "spec Mb/s");
  for (const auto& d : r.devices)
    std::printf("%-16.16s %-26.26s %9.3f %10.1f %10.1f %10.1f\n", d.device.c_str(),
                d.endpoint.c_str(), d.rtt_s * 1e3, d.up_bps / 1e6, d.down_bps / 1e6,
                d.spec_bps / 1e6);
  for (const auto& p : r.pairs)
    std::printf("%-16.16s -> %-22.22s %9.3f %10.1f %10s %10.1f\n", p.a.c_str(), p.b.c_str(),
                p.rtt_s * 1e3, p.bps / 1e6, "", p.spec_bps / 1e6);
  if (!a.output.empty()) std::printf("wrote %s\n", a.output.c_str());
}

}  // namespace

void register_cluster(CLI::App& app) {
  auto* cmd = app.add_subcommand("cluster", "Local emulated testbed: up, down, probe");
  cmd->require_subcommand(1);

  auto up = std::make_shared<UpArgs>();
  auto* u = cmd->add_subcommand("up", "Start one worker per device of a cluster spec");
  u->add_option("--spec", up->spec, "cluster spec JSON")->required();
  u->add_option("--state", up->state, "state file (default /tmp/coinfer-cluster-NAME.json)");
  u->add_flag("--no-emulation", up->no_emulation,
              "workers on 127.0.0.1, duty-cycle slowdown only (no root needed)");
  u->add_option("--bin", up->bin, "coinfer binary the workers run (default: this one)");
  u->add_option("--port", up->port, "worker control port (it also uses PORT+1, PORT+2)")
      ->check(CLI::Range(1, 65533));
  u->add_option("--timeout", up->timeout_s, "seconds to wait for each worker to listen")
      ->check(CLI::Range(1, 3600));
  u->add_option("--compute", up->compute,
                "emulated compute: quota (cgroup cpu quota, else slowdown) or slowdown (the "
                "workers' duty cycle)")
      ->check(CLI::IsMember({"quota", "slowdown"}));
  u->add_flag("--stand-in", up->stand_in, "testing: a listener instead of `coinfer worker`");
  u->add_flag("--no-netperf", up->no_netperf, "no netperf responders (no `cluster probe`)");
  u->add_flag("--no-cpu-probe", up->no_cpu_probe,
              "keep the spec's speeds (default with cgroup quotas: measure what each quota "
              "delivers and write it into the effective spec)");
  u->add_flag("--json", up->json, "print one JSON object");
  u->callback([up] { cluster_up(*up); });

  auto down = std::make_shared<DownArgs>();
  auto* d = cmd->add_subcommand("down", "Stop the workers and remove what `up` created");
  d->add_option("--state", down->state, "state file (default: the only one in /tmp)");
  d->add_flag("--all", down->all,
              "also remove every coinfer-* namespace, link and cgroup (after a crash)");
  d->callback([down] { cluster_down(*down); });

  auto probe = std::make_shared<ProbeArgs>();
  auto* p = cmd->add_subcommand("probe", "Measure bandwidth and latency to each worker");
  p->add_option("--cluster", probe->cluster, "cluster spec with worker addresses")->required();
  p->add_option("-o,--output", probe->output, "write the spec with measured figures here");
  p->add_option("--seconds", probe->seconds, "length of each timed transfer")
      ->check(CLI::Range(0.05, 60.0));
  p->add_flag("--pairs", probe->pairs, "also measure between every pair of devices");
  p->add_flag("--no-download", probe->no_download, "only coordinator -> device");
  p->add_flag("--json", probe->json, "print one JSON object");
  p->callback([probe] { cluster_probe(*probe); });

  auto listen = std::make_shared<std::pair<std::string, std::string>>();
  auto* n = cmd->add_subcommand("netperf", "Serve netperf (bandwidth / RTT) requests");
  n->add_option("--listen", listen->first, "endpoint, e.g. tcp://*:5557")->required();
  n->add_option("--name", listen->second, "name to answer Hello with");
  n->callback([listen] { check(testbed::serve_netperf(listen->first, listen->second, nullptr)); });
}

}  // namespace coinfer::cli
