// Bandwidth shaping of the testbed's links with tc HTB (this kernel has no
// netem: latency is not emulated; see docs/TESTBED.md).
//
// Device i's access link (its `link`, else the cluster's default bandwidth)
// is an HTB class on both ends of its veth pair: coinfer-v<i> egress (towards
// the device) and coinfer-p<i> egress (from the device, inside its namespace).
// So coordinator <-> device i runs at rate_i both ways, and device i -> j at
// min(rate_i, rate_j), as ClusterSpec::bandwidth_bps says.
// An explicit link a-b gets its own HTB class at its bandwidth on both ends of
// both devices' pairs (u32 filters on the peer's address), so pair traffic
// bypasses the access classes: "an explicit link wins".
// A shared medium: every frame that enters the bridge from a device
// (ingress of coinfer-v<i>) or leaves the coordinator (egress of coinfer-br0)
// is redirected through one ifb, coinfer-m0, shaped at medium_bandwidth_bps,
// so all transfers (and their ACKs) share that one channel.
//
// Rates are the spec's bit rates on the wire; TCP goodput is about 0.956 x
// rate at MTU 1500 (docs/TESTBED.md).
#pragma once

#include <string>
#include <vector>

#include "cluster/cluster.h"
#include "core/status.h"

namespace coinfer::testbed {

// One tc invocation.
struct TcStep {
  std::string netns;              // run inside this namespace; empty: root namespace
  std::vector<std::string> args;  // after "tc" (and "-n NETNS")
  std::string qdisc;              // non-empty if it creates a qdisc: "coinfer-v0 root htb"
};

// The tc steps for a spec, device i on coinfer-v<i>/coinfer-p<i>. Pure; the
// links (and coinfer-m0 for a shared medium) must exist before they run.
std::vector<TcStep> plan_shaping(const cluster::ClusterSpec& spec);

// Runs the steps in order; stops at the first failure. `created` collects the
// qdisc names of the steps that ran.
Status apply_shaping(const std::vector<TcStep>& steps, std::vector<std::string>& created);

// Access rate of device i (bits/s).
double access_rate_bps(const cluster::ClusterSpec& spec, int i);

// A one-line note if the spec asks for latency (not emulated here), else "".
std::string latency_note(const cluster::ClusterSpec& spec);

}  // namespace coinfer::testbed
