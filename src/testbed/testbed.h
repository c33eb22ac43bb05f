// The local emulated testbed: one worker process per device of a ClusterSpec.
//
// Emulated (root): each worker in its own network namespace coinfer-n<i> at
// 10.77.0.<i+2>, joined to the coordinator's bridge coinfer-br0 (10.77.0.1) by
// a veth pair shaped with tc HTB (testbed/shaping.h); compute slowed to the
// device's speed by a cgroup v1 CPU quota (testbed/cgroup.h), or, without the
// cpu controller, by the worker's duty cycle (--slowdown). Latency is not
// emulated (no netem in this kernel).
// Not emulated (--no-emulation, no root): workers on 127.0.0.1, distinct
// ports, duty-cycle slowdown only.
// Next to each worker a netperf responder (testbed/netperf.h) listens at the
// worker's control port + 2, for `cluster probe`.
//
//   UpOptions o;  o.emulate = geteuid() == 0;
//   ASSIGN_OR_RETURN(State s, up(spec, o));   // s.effective_spec_path: for `run --cluster`
//   ...
//   RETURN_IF_ERROR(down(s));
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "cluster/cluster.h"
#include "core/status.h"
#include "testbed/state.h"

namespace coinfer::testbed {

// Keys of a testbed (docs/SECURITY.md): `up` writes a fresh keypair per
// device (<dir>/device-<i>.key/.pub) and one for the coordinator
// (coordinator_key_path(state)); every worker accepts only the coordinator's
// key, and the effective spec carries each device's public_key. So
// `coinfer run --cluster <dir>/spec.json --key <dir>/coordinator.key` works.
struct WorkerKeys {
  std::string key;         // the worker's secret key file
  std::string authorized;  // the coordinator's public key file
};
std::string coordinator_key_path(const State& s);

// The command line that starts device `d`'s worker listening on `listen`
// (tcp://IP:PORT; it also binds PORT+1). slowdown: the duty-cycle factor K
// (>= 1), or 0 for none.
using WorkerCommand = std::function<std::vector<std::string>(
    const std::string& bin, const cluster::Device& d, const std::string& listen, double slowdown,
    const WorkerKeys& keys)>;

// `BIN worker --listen L --threads T --name NAME --key K --authorized C [--slowdown K]`.
std::vector<std::string> coinfer_worker_command(const std::string& bin, const cluster::Device& d,
                                                const std::string& listen, double slowdown,
                                                const WorkerKeys& keys);
// A stand-in that only listens: `BIN cluster netperf --listen L --name NAME`
// (for testing the plumbing without a worker).
std::vector<std::string> stand_in_worker_command(const std::string& bin, const cluster::Device& d,
                                                 const std::string& listen, double slowdown,
                                                 const WorkerKeys& keys);

inline constexpr int kNetperfPortOffset = 2;  // responder port = worker control port + 2

struct UpOptions {
  bool emulate = true;
  std::string state_path;  // empty: default_state_path(spec.name)
  std::string bin;         // the coinfer binary; empty: this executable
  // Control port of every worker (emulated: same port, own address); 0:
  // 5555 emulated, the first free ports from 25555 on loopback.
  int port = 0;
  WorkerCommand worker_command = coinfer_worker_command;
  // Emulated: slow compute with cgroup CPU quotas (false: the workers' duty
  // cycle, which is steadier for tasks shorter than the 20 ms quota period).
  bool cpu_quota = true;
  bool netperf = true;                          // start the netperf responders
  // With cgroup quotas: measure the speed each quota delivers and write it
  // into the effective spec (testbed/cpu_probe.h; a few seconds).
  bool cpu_probe = false;
  int ready_timeout_ms = 30000;                 // per process, until its port accepts connections
  std::function<void(const std::string&)> log;  // progress and notes, one line each
  // Polled between steps: true makes up() tear down and fail ("interrupted").
  std::function<bool()> cancelled;
};

// Duty-cycle factor K for a device (the worker's --slowdown: its tasks take K
// times their wall time): min(threads, cores of this machine) / speed, at
// least 1 (a device faster than that cannot be emulated by slowing down).
// With threads = 1, K = 1 / speed.
double slowdown_for(const cluster::Device& d);

// Brings the testbed up and returns its state (also saved at state.path).
// On any failure, removes what it created and returns one line naming the step.
Result<State> up(const cluster::ClusterSpec& spec, const UpOptions& o);

// Stops the processes (checking each pid still runs what was started) and
// removes every namespace, link, qdisc and cgroup of `s`, then the state file
// and its directory. Idempotent; continues past failures and reports them.
Status down(const State& s);

// Recovery: downs every emulated testbed's state file in /tmp, then removes
// every coinfer-* namespace (killing the processes in it), link and cpu cgroup
// left on this machine, and our cgroup mount. Loopback (--no-emulation)
// testbeds are left alone (pass their state to down()). `removed` lists what
// was found.
Status down_all(std::vector<std::string>* removed);

}  // namespace coinfer::testbed
