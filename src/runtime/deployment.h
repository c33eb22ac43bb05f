// One deployed plan on one worker: the parts this device runs (possibly in
// several stages), one Executor per part over its blocks only (kernels and
// packed weights created once, at deploy time), the assembly of incoming
// bands into per-frame input bands, the ready queue, and the PUSH sockets to
// the next stage's workers and to the coordinator.
//
// Life of a frame on a part: bands arrive (accept) -> when every supplier's
// rows are in, the frame is ready -> run_next() runs blocks [first, last) on
// it, sleeps the duty cycle (an emulated slow device), then sends each
// next-stage part exactly the rows it needs (or the coordinator a Result).
// Ready frames run one at a time, oldest readiness first.
//
// Bounds: at most max_pending incomplete frames per part (a band for a new
// frame beyond that is dropped and counted); the worker stops reading its
// band input while max_ready frames are ready, so ZeroMQ's high-water marks
// push back on the senders.
//
// Not thread-safe: the worker's one thread drives it.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "kernels/executor.h"
#include "net/transport.h"
#include "runtime/routing.h"
#include "runtime/slowdown.h"
#include "runtime/stats.h"

namespace coinfer::runtime {

struct DeploymentOptions {
  int threads = 1;           // executor threads
  kernels::Backend backend = kernels::kDefaultBackend;
  double slowdown = 1;       // duty-cycle factor K >= 1
  size_t max_pending = 64;   // incomplete frames per part
  size_t max_ready = 8;      // ready frames before the band input is paused
  // While a send waits for room (backpressure, or a peer that has gone), this
  // is asked every kSendSliceMs; true abandons the send (the band is dropped
  // and the frame reported failed) so the worker can serve a control request
  // (e.g. a new Deploy that routes around a dead peer). Null: wait.
  std::function<bool()> interrupted;
  double send_timeout_s = 10;  // then the band is dropped
  // The worker's security: its output sockets are CURVE clients of the next
  // stage's workers and of the coordinator (keys from the DeploySpec).
  net::Security security;
};

class Deployment {
 public:
  // `g` is the whole model; the deployment copies the blocks it needs.
  static Result<std::unique_ptr<Deployment>> create(uint64_t id, const graph::Graph& g,
                                                     const DeploySpec& spec,
                                                     const std::string& device,
                                                     const DeploymentOptions& opt);

  uint64_t id() const { return id_; }
  // Checks a band against the routes (deployment, stage, sender, exact rows,
  // shape, duplicates) and stores it. `sender_key`: the CURVE key the band
  // came with (net::Socket::sender_key); unless the deployment is insecure it
  // must be the key of the device that supplies that part (the coordinator's,
  // results_key, for stage 0). An error says why it was refused; the caller
  // counts and logs it.
  // `waited`: see ArrivalRecord.
  Status accept(net::Band band, int64_t now_ns, const std::string& sender_key,
                bool waited = false);
  size_t ready() const { return ready_.size(); }
  bool input_paused() const { return ready_.size() >= opt_.max_ready; }

  struct TaskError {
    uint64_t frame = 0;
    std::string message;
  };
  // Runs the oldest ready frame and sends its outputs. Returns a failure to
  // report to the coordinator (the frame is lost; later frames still run).
  std::optional<TaskError> run_next();

  // Output sockets whose peer refused this worker's key are connected again,
  // 100 ms after the refusal: libzmq does not retry a refused handshake, and
  // during a deployment a peer may refuse until it has read its own Deploy
  // (which authorises this worker's key). Returns log lines (per output: the
  // first 3 refusals, then every 100th).
  std::vector<std::string> retry_refused_outputs(int64_t now_ns);

  WorkerStats& stats() { return stats_; }
  // "w1: s0 rows 0-56, s2 rows 0-1" for the log.
  std::string describe() const;

 private:
  struct Pending {
    Tensor input;
    std::vector<bool> got;  // per supplier in route.inputs
    int missing = 0;
  };
  struct Part {
    PartRoute route;
    std::shared_ptr<kernels::Executor> ex;  // shared by parts whose block ranges overlap or touch
    int block_base = 0;  // route.first_block in the executor's block numbering
    std::map<uint64_t, Pending> pending;
    std::set<uint64_t> done;  // recent frames already complete (duplicates are refused)
  };
  struct Ready {
    int part = 0;  // index in parts_
    uint64_t frame = 0;
    Tensor input;
  };

  Deployment(uint64_t id, const DeploymentOptions& opt)
      : id_(id), opt_(opt), duty_(opt.slowdown, opt.threads > 1) {}
  void mark_done(Part& p, uint64_t frame);
  Status send_outputs(const Part& p, uint64_t frame, Tensor out);
  // Waits until `s` can take a message without blocking (see interrupted).
  Status wait_writable(net::Socket& s, const std::string& to);

  uint64_t id_;
  DeploymentOptions opt_;
  DutyCycle duty_;
  std::vector<Part> parts_;
  std::map<int, int> by_stage_;  // stage -> index in parts_
  std::deque<Ready> ready_;
  std::map<std::string, net::Socket> out_;  // device -> PUSH; "" = the coordinator
  std::map<std::string, int64_t> retry_at_;  // device -> when to reconnect (refused)
  std::map<std::string, uint64_t> refusals_;  // device -> refusals so far
  Routes routes_;
  std::map<std::string, std::string> keys_;  // device -> public key (DeploySpec; empty: insecure)
  std::string coordinator_key_, own_key_;
  WorkerStats stats_;
};

}  // namespace coinfer::runtime
