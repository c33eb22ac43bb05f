// `cluster down` and `cluster down --all`: idempotent teardown.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include "testbed/cgroup.h"
#include "testbed/exec.h"
#include "testbed/names.h"
#include "testbed/network.h"
#include "testbed/testbed.h"

namespace coinfer::testbed {
namespace {

namespace fs = std::filesystem;

constexpr int kGraceMs = 3000;

// SIGTERM to all, SIGKILL to those still alive after grace_ms; waits until
// they are gone (at most 2 s more).
void stop_all(std::vector<pid_t> pids, int grace_ms) {
  std::sort(pids.begin(), pids.end());
  pids.erase(std::unique(pids.begin(), pids.end()), pids.end());
  pids.erase(std::remove_if(pids.begin(), pids.end(),
                            [](pid_t p) { return p <= 1 || p == getpid() || !process_alive(p); }),
             pids.end());
  auto wait_all = [&](int ms) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    for (;;) {
      bool any = false;
      for (pid_t p : pids) any = any || process_alive(p);
      if (!any || std::chrono::steady_clock::now() > end) return !any;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  };
  for (pid_t p : pids) kill(p, SIGTERM);
  if (wait_all(grace_ms)) return;
  for (pid_t p : pids)
    if (process_alive(p)) kill(p, SIGKILL);
  wait_all(2000);
}

class Errors {
 public:
  void add(const Status& st) {
    if (!st.ok()) list_.push_back(st.message());
  }
  Status status(const std::string& what) const {
    if (list_.empty()) return ok_status();
    return errorf("{}: {}{}", what, list_.front(),
                  list_.size() > 1 ? fmt::format(" (and {} more)", list_.size() - 1) : "");
  }

 private:
  std::vector<std::string> list_;
};

// Links in deletion order: veths and the ifb before the bridge.
std::vector<std::string> links_in_order(std::vector<std::string> links) {
  std::stable_partition(links.begin(), links.end(),
                        [](const std::string& l) { return l != kBridge; });
  return links;
}

}  // namespace

Status down(const State& s) {
  Errors errors;
  std::vector<pid_t> pids;
  for (const ProcessRecord& p : s.processes)
    if (process_alive(p.pid) && process_exe_arg(p.pid) == p.exe) pids.push_back(p.pid);
  for (const std::string& ns : s.netns)
    for (pid_t p : netns_pids(ns)) pids.push_back(p);
  for (const std::string& cg : s.cgroups)
    for (pid_t p : cgroup_tasks(cg)) pids.push_back(p);
  stop_all(pids, kGraceMs);
  for (const ProcessRecord& p : s.processes)
    if (process_alive(p.pid) && process_exe_arg(p.pid) == p.exe)
      errors.add(errorf("{} of '{}' (pid {}) does not stop", p.role, p.device, p.pid));

  for (const std::string& ns : s.netns) errors.add(delete_netns(ns));
  for (const std::string& l : links_in_order(s.links)) errors.add(delete_link(l));
  for (const std::string& cg : s.cgroups) errors.add(remove_cpu_group(cg));
  if (!s.own_cgroup_mount.empty()) errors.add(unmount_own_cpu_mount());

  std::error_code ec;
  if (!s.dir.empty()) fs::remove_all(s.dir, ec);
  if (!s.path.empty()) fs::remove(s.path, ec);
  return errors.status(fmt::format("cluster down '{}'", s.path));
}

Status down_all(std::vector<std::string>* removed) {
  Errors errors;
  auto note = [&](const std::string& what) {
    if (removed) removed->push_back(what);
  };
  for (const std::string& path : find_state_files()) {
    Result<State> s = load_state(path);
    if (!s.ok() || !s->emulated) continue;
    errors.add(down(*s));
    note("state " + path);
  }
  // Whatever is left, with or without a state file.
  std::vector<pid_t> pids;
  for (const std::string& ns : list_coinfer_netns())
    for (pid_t p : netns_pids(ns)) pids.push_back(p);
  for (const std::string& cg : list_coinfer_cgroups())
    for (pid_t p : cgroup_tasks(cg)) pids.push_back(p);
  if (!pids.empty()) note(fmt::format("{} process(es)", pids.size()));
  stop_all(pids, kGraceMs);
  for (const std::string& ns : list_coinfer_netns()) {
    errors.add(delete_netns(ns));
    note("netns " + ns);
  }
  for (const std::string& l : links_in_order(list_coinfer_links())) {
    errors.add(delete_link(l));
    note("link " + l);
  }
  for (const std::string& cg : list_coinfer_cgroups()) {
    errors.add(remove_cpu_group(cg));
    note("cgroup " + cg);
  }
  std::error_code ec;
  if (fs::exists(kOwnCgroupMount, ec)) {
    errors.add(unmount_own_cpu_mount());
    note(std::string("mount ") + kOwnCgroupMount);
  }
  return errors.status("cluster down --all");
}

}  // namespace coinfer::testbed
