// The coordinator (`coinfer run`): deploys a plan on running workers, streams
// frames through it and measures what happens. Protocol: docs/RUNTIME.md.
//
//   1. validate the plan (plan::validate, every violation) and route it;
//   2. connect a DEALER to every worker the plan uses (device.address is the
//      worker's control endpoint) and say Hello; a worker that does not
//      answer within hello_timeout_s is named in the error;
//   3. refuse, naming the worker and the shortfall, if a worker's free memory
//      is below plan::memory_bytes of its parts;
//   4. Deploy (plan + routing); serve WeightsRequest with the model file's
//      bytes to workers that lack them; wait for every DeployReply;
//   5. measure each worker's clock offset (Heartbeat round trips);
//   6. stream frames: each stage-0 part gets exactly its input rows; last-stage
//      parts send Result bands to the coordinator's PULL; a frame completes
//      when all its output rows are in, fails on a worker Error or when
//      frame_timeout_s passes (never hangs);
//   7. fetch every worker's stats (busy time, bytes, task times), release the
//      deployment, and fill a sim::Result with the same keys and trace
//      format as the simulator.
//
// Frames: `input` (one tensor), or `frames` synthetic ones (synthetic_frame).
// rate > 0: frame f is issued at f / rate seconds (open loop); rate == 0:
// closed loop with in_flight frames in the system. Latency runs from a
// frame's issue to its last output row; throughput = completed / makespan
// (first issue to last completion).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cluster/cluster.h"
#include "net/keys.h"
#include "plan/plan.h"
#include "runtime/stats.h"
#include "sim/simulator.h"

namespace coinfer::runtime {

struct RunOptions {
  std::string model_spec;       // as given: "zoo:NAME" (built by workers) or an ONNX path
  std::optional<Tensor> input;  // one frame; else `frames` synthetic frames
  int frames = 1;
  double rate = 0;              // frames/s; 0 = closed loop
  int in_flight = 0;            // closed loop; 0 = plan::default_in_flight
  uint64_t seed = 1;            // synthetic frames
  double hello_timeout_s = 5;
  double deploy_timeout_s = 600;
  double frame_timeout_s = 30;
  bool trace = false;           // fill sim::Result::trace
  bool keep_outputs = false;    // RunReport::outputs for every frame (else only with `input`)
  // Host the workers use to reach this process's results socket; empty =
  // the local address the kernel routes towards each worker.
  std::string advertise_host;
  bool verbose = false;         // progress lines on stderr
  // Security (docs/SECURITY.md). CURVE by default: the coordinator
  // authenticates each worker by its device's public_key in the cluster spec
  // (required) and connects with `key` (empty: process_keypair(), the key the
  // in-process workers of a LocalCluster accept). insecure: no
  // authentication, no encryption, a warning on stderr and in the report.
  bool insecure = false;
  std::optional<net::Keypair> key;
};

struct WorkerReport {
  std::string device, address;
  WorkerStats stats;  // as the worker reported it (stats.name is its --name)
  bool has_stats = false;
};

struct RunReport {
  sim::Result result;                 // frames, latency, throughput, devices, trace
  std::vector<std::string> failures;  // "frame 7: timed out after 30 s waiting for ..."
  std::vector<Tensor> outputs;        // per frame (empty tensor if it failed)
  std::vector<WorkerReport> workers;  // one per device the plan uses, in plan order
  double deploy_s = 0;                // Hello to the last DeployReply
  uint64_t results_rejected = 0;      // Result bands that failed a check
  bool insecure = false;              // ran without authentication (RunOptions::insecure)
};

// The plan's violations against the model and cluster (plan::validate), plus
// what the runtime cannot run (column tiling) and devices without an address.
std::vector<std::string> check_plan(const plan::Plan& p, const graph::Graph& g,
                                    const cluster::ClusterSpec& c);

// Runs the whole sequence above. `g` must be the model `o.model_spec` names.
// Errors are one line naming the worker and the cause.
Result<RunReport> run(const graph::Graph& g, const plan::Plan& p, const cluster::ClusterSpec& c,
                      const RunOptions& o);

// Deterministic synthetic input of frame `frame`: uniform [-1, 1).
Tensor synthetic_frame(const Shape& s, uint64_t seed, uint64_t frame);

// Human-readable summary (several lines).
std::string to_table(const RunReport& r);

}  // namespace coinfer::runtime
