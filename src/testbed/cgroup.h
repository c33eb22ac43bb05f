// CPU quotas for emulated devices with the cgroup v1 cpu controller (cgroup v2
// cpu.max is not available on this kernel). A group coinfer-c<i> holds device
// i's worker; cpu.cfs_quota_us / cpu.cfs_period_us = the device's speed in
// cores of this machine. Root only.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "core/status.h"

namespace coinfer::testbed {

struct CpuQuota {
  int period_us = 20000;
  int quota_us = 20000;
};
// Quota for `cores` cores of this machine (speed relative to one core): a 20 ms
// period, longer when the quota would fall below the kernel's 1000 us minimum
// (at most 1 s).
CpuQuota quota_for_cores(double cores);

struct CpuMount {
  std::string path;   // where the v1 cpu controller is mounted
  bool ours = false;  // mounted by us at kOwnCgroupMount: unmount on teardown
};
// The v1 cpu controller's mount point from /proc/self/mounts; when there is
// none, mounts it at kOwnCgroupMount. An error when neither works.
Result<CpuMount> ensure_cpu_mount();
// Every mount of the v1 cpu controller (possibly none).
std::vector<std::string> cpu_mounts();

// Creates <mount>/<name> with the quota; returns its directory.
Result<std::string> create_cpu_group(const std::string& mount, const std::string& name,
                                     const CpuQuota& q);
// Pids in a group's tasks file.
std::vector<pid_t> cgroup_tasks(const std::string& dir);
// rmdir, retried for up to ~2 s while tasks leave; ok if already gone.
Status remove_cpu_group(const std::string& dir);
// Directories named coinfer-* directly under every v1 cpu mount.
std::vector<std::string> list_coinfer_cgroups();
// Unmounts kOwnCgroupMount if mounted, and removes the directory.
Status unmount_own_cpu_mount();

}  // namespace coinfer::testbed
