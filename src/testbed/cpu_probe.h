// The compute probe of `cluster up`: how fast each emulated device really
// computes, as a speed relative to one unthrottled core of this machine (the
// unit of a spec's `speed` on the testbed and of the reference profile).
//
// A cgroup CPU quota delivers less than its share of a core to CNN kernels:
// each slice starts with caches that other work (or the hypervisor) has
// cooled, and the kernel's bandwidth accounting is coarse. On this machine a
// 25% quota ran resnet34 4.05-4.38x slower than a free core, not 4x
// (docs/TESTBED.md). The probe measures it in rounds: `BIN bench MODEL` on a
// free core, then in every device's cgroup at once (the condition a
// cooperative plan runs in), then on the free core again; a device's
// delivered speed is the free core's time over the device's, its median over
// the rounds (one round's factor ranged 0.86-1.05 over a day). One device's figure moves by 10-30%
// when the host hiccups during its run (four concurrent runs measured 157-247
// ms for the same 25% quota), so `cluster up` keeps the median over devices
// of delivered / specified speed, the quota's delivery factor, and writes
// every device's specified speed times it into the effective spec: the
// planners and the simulator then price the testbed as it is.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace coinfer::testbed {

struct CpuProbeOptions {
  std::string bin;                     // the coinfer binary
  std::string model = "zoo:resnet18";  // the workload: a CNN like the ones planned
  int runs = 6;                        // timed runs (mean: quota phases average out)
  int rounds = 3;                      // free core, devices, free core; median per device
  int timeout_ms = 180000;             // all of it
};

struct CpuProbeDevice {
  std::string cgroup_tasks;  // the device's cgroup tasks file
  int threads = 1;
  std::string log_path;  // the probe's output
};

// Delivered speed: seconds per run on a free core over seconds per run on
// the device (> 0 both; otherwise an error naming the figure).
Result<double> delivered_speed(double free_core_s, double device_s);

// Mean seconds per timed run from `coinfer bench --json` output (its last
// JSON line); an error naming `what` if there is none.
Result<double> bench_seconds(const std::string& output, const std::string& what);

// The median of v (0 if empty).
double median(std::vector<double> v);

// The median over devices of delivered[i] / specified[i] (same length, > 0),
// at most 1: a quota cannot deliver more than its share (CFS enforces it), so
// more is the noise of the free core's reference (1.05 once, on a host whose
// runs then went 6-14% slower than predicted with it).
double delivery_factor(const std::vector<double>& delivered, const std::vector<double>& specified);

// Runs the probe; one delivered speed per device (median over the rounds).
Result<std::vector<double>> probe_cpu(const std::vector<CpuProbeDevice>& devices,
                                      const std::string& free_log_path,
                                      const CpuProbeOptions& o);

}  // namespace coinfer::testbed
