// The state file of a running testbed: everything `cluster up` created, so
// `cluster down` can remove it, and the effective cluster spec (device
// addresses = the workers' real control endpoints) for `coinfer run --cluster`.
//
// Files: the state at /tmp/coinfer-cluster-<name>.json (or --state FILE); next
// to it a directory FILE.d/ with the effective spec (spec.json) and one log per
// process (<device>.worker.log, <device>.netperf.log).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "core/status.h"

namespace coinfer::testbed {

inline constexpr int kStateVersion = 1;

struct ProcessRecord {
  std::string role;    // "worker" or "netperf"
  std::string device;  // device name
  pid_t pid = 0;
  std::string exe;       // argv[0] it was started with (checked before killing)
  std::string endpoint;  // what it listens on
  std::string log;       // its stdout + stderr
};

struct State {
  std::string cluster;  // spec name
  std::string path;     // this state file
  std::string dir;      // path + ".d": effective spec and logs
  std::string effective_spec_path;
  bool emulated = false;
  std::string compute;  // "cgroup" (cpu quota), "slowdown" (worker duty cycle) or "none"
  std::vector<ProcessRecord> processes;
  std::vector<std::string> netns;    // namespaces created
  std::vector<std::string> links;    // root-namespace links created (bridge, veths, ifb)
  std::vector<std::string> qdiscs;   // "coinfer-v0 root htb", "coinfer-n0/coinfer-p0 root htb"
  std::vector<std::string> cgroups;  // cgroup directories created
  std::string own_cgroup_mount;      // set if we mounted the cpu controller
  std::vector<std::string> notes;    // what is not emulated, fallbacks taken
  std::string effective_spec;        // cluster spec JSON text
};

// "/tmp/coinfer-cluster-<name>.json" with the name reduced to [A-Za-z0-9._-].
std::string default_state_path(const std::string& cluster_name);

std::string state_to_json(const State& s);
Result<State> parse_state(const std::string& text, const std::string& what);
// Writes atomically (temp file + rename).
Status save_state(const State& s);
Result<State> load_state(const std::string& path);
// State files in /tmp (coinfer-cluster-*.json that parse as testbed states).
std::vector<std::string> find_state_files();

}  // namespace coinfer::testbed
