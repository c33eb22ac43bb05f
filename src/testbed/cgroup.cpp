#include "testbed/cgroup.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "testbed/names.h"

namespace coinfer::testbed {
namespace {

namespace fs = std::filesystem;

constexpr int kPeriodUs = 20000;
constexpr int kMinQuotaUs = 1000;
constexpr int kMaxPeriodUs = 1000000;

Status write_file(const std::string& path, const std::string& value) {
  std::ofstream f(path);
  if (!f) return errorf("cgroup: cannot open '{}': {}", path, std::strerror(errno));
  f << value << "\n";
  f.flush();
  if (!f) return errorf("cgroup: writing '{}' to '{}' failed", value, path);
  return ok_status();
}

bool has_option(const std::string& opts, const std::string& opt) {
  std::istringstream in(opts);
  std::string o;
  while (std::getline(in, o, ','))
    if (o == opt) return true;
  return false;
}

}  // namespace

CpuQuota quota_for_cores(double cores) {
  CpuQuota q;
  if (!(cores > 0)) cores = 1e-3;
  q.period_us = kPeriodUs;
  if (cores * kPeriodUs < kMinQuotaUs)
    q.period_us = int(std::min<double>(kMaxPeriodUs, std::ceil(kMinQuotaUs / cores)));
  q.quota_us = std::max(kMinQuotaUs, int(std::lround(cores * q.period_us)));
  return q;
}

std::vector<std::string> cpu_mounts() {
  std::vector<std::string> out;
  std::ifstream f("/proc/self/mounts");
  std::string line;
  while (std::getline(f, line)) {
    std::istringstream in(line);
    std::string src, dir, type, opts;
    in >> src >> dir >> type >> opts;
    if (type == "cgroup" && has_option(opts, "cpu")) out.push_back(dir);
  }
  return out;
}

Result<CpuMount> ensure_cpu_mount() {
  std::vector<std::string> mounts = cpu_mounts();
  if (!mounts.empty()) return CpuMount{mounts.front(), false};
  std::error_code ec;
  fs::create_directories(kOwnCgroupMount, ec);
  if (mount("coinfer-cgroup", kOwnCgroupMount, "cgroup", 0, "cpu") != 0) {
    int err = errno;
    fs::remove(kOwnCgroupMount, ec);
    return errorf("cgroup: no v1 cpu controller mounted, and mounting one at {} failed: {}",
                  kOwnCgroupMount, std::strerror(err));
  }
  return CpuMount{kOwnCgroupMount, true};
}

Result<std::string> create_cpu_group(const std::string& mount, const std::string& name,
                                     const CpuQuota& q) {
  const std::string dir = mount + "/" + name;
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    return errorf("cgroup: mkdir '{}': {}", dir, std::strerror(errno));
  // The period first: the kernel checks quota against it.
  RETURN_IF_ERROR(write_file(dir + "/cpu.cfs_period_us", std::to_string(q.period_us)));
  RETURN_IF_ERROR(write_file(dir + "/cpu.cfs_quota_us", std::to_string(q.quota_us)));
  return dir;
}

std::vector<pid_t> cgroup_tasks(const std::string& dir) {
  std::vector<pid_t> out;
  std::ifstream f(dir + "/cgroup.procs");
  long pid = 0;
  while (f >> pid) out.push_back(pid_t(pid));
  return out;
}

Status remove_cpu_group(const std::string& dir) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (;;) {
    std::error_code ec;
    if (!fs::exists(dir, ec)) return ok_status();
    if (rmdir(dir.c_str()) == 0 || errno == ENOENT) return ok_status();
    if (std::chrono::steady_clock::now() > end)
      return errorf("cgroup: rmdir '{}': {}", dir, std::strerror(errno));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::vector<std::string> list_coinfer_cgroups() {
  std::vector<std::string> out;
  for (const std::string& m : cpu_mounts()) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(m, ec))
      if (e.is_directory(ec) && has_prefix(e.path().filename().string()))
        out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Status unmount_own_cpu_mount() {
  std::vector<std::string> mounts = cpu_mounts();
  if (std::find(mounts.begin(), mounts.end(), kOwnCgroupMount) != mounts.end() &&
      umount(kOwnCgroupMount) != 0)
    return errorf("cgroup: umount {}: {}", kOwnCgroupMount, std::strerror(errno));
  std::error_code ec;
  fs::remove(kOwnCgroupMount, ec);  // only if empty (it is, once unmounted)
  return ok_status();
}

}  // namespace coinfer::testbed
