// `cluster probe`: measures the network of a running cluster with the netperf
// responders (testbed/netperf.h) at each device's control port + 2, and
// writes the figures into a copy of its spec.
//
// Measured: coordinator (this host) <-> each device: median RTT of Heartbeats
// and bulk goodput both ways; optionally device <-> device (--pairs): goodput
// and RTT, the responder of one device measuring towards the other's.
// Written: device.link = min(up, down) goodput; default_latency = median of
// the devices' RTT / 2; with pairs, one explicit link per pair (its goodput,
// RTT / 2). Goodput is payload bits/s, about 0.956 x the rate on the wire.
#pragma once

#include <string>
#include <vector>

#include "cluster/cluster.h"
#include "core/status.h"

namespace coinfer::testbed {

struct ProbeOptions {
  double seconds = 0.5;  // length of each timed transfer
  int rtt_samples = 21;
  bool pairs = false;
  bool download = true;  // also device -> coordinator
  int connect_timeout_ms = 5000;
};

struct DeviceProbe {
  std::string device;
  std::string endpoint;  // the netperf responder's
  double rtt_s = 0;
  double up_bps = 0;    // coordinator -> device
  double down_bps = 0;  // device -> coordinator (0 if not measured)
  double spec_bps = 0;  // what the spec says for the device's access link
};

struct PairProbe {
  std::string a, b;
  double bps = 0;  // a -> b
  double rtt_s = 0;
  double spec_bps = 0;
};

struct ProbeReport {
  std::vector<DeviceProbe> devices;
  std::vector<PairProbe> pairs;
  cluster::ClusterSpec measured;
};

// The netperf endpoint of a device: its address with port + 2.
Result<std::string> netperf_endpoint(const cluster::Device& d);

Result<ProbeReport> probe_cluster(const cluster::ClusterSpec& spec, const ProbeOptions& o);

}  // namespace coinfer::testbed
