#include "testbed/cpu_probe.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "testbed/exec.h"

namespace coinfer::testbed {

Result<double> delivered_speed(double free_core_s, double device_s) {
  if (!(free_core_s > 0)) return errorf("compute probe: free-core time {} s: must be > 0", free_core_s);
  if (!(device_s > 0)) return errorf("compute probe: device time {} s: must be > 0", device_s);
  return free_core_s / device_s;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double delivery_factor(const std::vector<double>& delivered, const std::vector<double>& specified) {
  std::vector<double> r;
  for (size_t i = 0; i < delivered.size() && i < specified.size(); ++i)
    r.push_back(delivered[i] / specified[i]);
  return r.empty() ? 1 : std::min(1.0, median(r));
}

Result<double> bench_seconds(const std::string& output, const std::string& what) {
  std::istringstream in(output);
  std::string line;
  double s = -1;
  while (std::getline(in, line)) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.contains("latency_ms") && j["latency_ms"].is_object() &&
        j["latency_ms"].value("mean", nlohmann::json()).is_number())
      s = j["latency_ms"]["mean"].get<double>() / 1e3;
  }
  if (!(s > 0)) {
    std::string last;
    for (std::istringstream again(output); std::getline(again, line);)
      if (!line.empty()) last = line;
    return errorf("compute probe: {}: no timing in its output{}", what,
                  last.empty() ? "" : ": " + last);
  }
  return s;
}

namespace {

std::vector<std::string> bench_argv(const CpuProbeOptions& o, int threads) {
  return {o.bin,     "bench",  o.model, "--threads", std::to_string(threads), "--runs",
          std::to_string(o.runs), "--warmup", "1", "--json"};
}

Result<double> free_core_seconds(const CpuProbeOptions& o, const std::string& log_path) {
  CommandOutput out = run_command(bench_argv(o, 1));
  std::ofstream(log_path, std::ios::app) << out.output;
  if (out.exit_code != 0)
    return errorf("compute probe: `{} bench` on a free core: exit {}", o.bin, out.exit_code);
  return bench_seconds(out.output, "the free-core run");
}

std::string read_all(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

namespace {

// One round: the free core, every device at once, the free core again.
Result<std::vector<double>> probe_round(const std::vector<CpuProbeDevice>& devices,
                                        const std::string& free_log_path,
                                        const CpuProbeOptions& o) {
  ASSIGN_OR_RETURN(double before, free_core_seconds(o, free_log_path));
  std::vector<pid_t> pids;
  auto stop_all = [&] {
    for (pid_t p : pids) stop_process(p, 500);
  };
  for (const CpuProbeDevice& d : devices) {
    std::ofstream(d.log_path, std::ios::trunc).flush();
    SpawnSpec sp{bench_argv(o, d.threads), "", d.cgroup_tasks, d.log_path};
    Result<pid_t> pid = spawn_detached(sp);
    if (!pid.ok()) {
      stop_all();
      return errorf("compute probe: {}", pid.error());
    }
    pids.push_back(*pid);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(o.timeout_ms);
  for (pid_t p : pids)
    while (process_alive(p)) {
      if (std::chrono::steady_clock::now() > deadline) {
        stop_all();
        return errorf("compute probe: not done after {} s", o.timeout_ms / 1000);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  ASSIGN_OR_RETURN(double after, free_core_seconds(o, free_log_path));
  std::vector<double> speeds;
  for (const CpuProbeDevice& d : devices) {
    ASSIGN_OR_RETURN(double s, bench_seconds(read_all(d.log_path), "the run in " + d.cgroup_tasks));
    ASSIGN_OR_RETURN(double v, delivered_speed((before + after) / 2, s));
    speeds.push_back(v);
  }
  return speeds;
}

}  // namespace

Result<std::vector<double>> probe_cpu(const std::vector<CpuProbeDevice>& devices,
                                      const std::string& free_log_path,
                                      const CpuProbeOptions& o) {
  std::vector<std::vector<double>> per_device(devices.size());
  for (int r = 0; r < std::max(1, o.rounds); ++r) {
    ASSIGN_OR_RETURN(std::vector<double> v, probe_round(devices, free_log_path, o));
    for (size_t i = 0; i < v.size(); ++i) per_device[i].push_back(v[i]);
  }
  std::vector<double> speeds;
  for (std::vector<double>& v : per_device) speeds.push_back(median(v));
  return speeds;
}

}  // namespace coinfer::testbed
