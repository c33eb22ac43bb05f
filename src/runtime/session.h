// Internal to the coordinator: the state of one `run` shared by its phases
// (coordinator.cpp: setup and teardown; stream.cpp: frames; run_report.cpp:
// the sim::Result and the trace).
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "net/transport.h"
#include "runtime/coordinator.h"
#include "runtime/routing.h"

namespace coinfer::runtime {

struct Peer {
  std::string device;
  std::string address;       // control endpoint (cluster spec)
  std::string band_ep;       // its band input
  std::string results_ep;    // where it sends Result bands (as it reaches us)
  std::string public_key;    // CURVE key from the cluster spec (empty when insecure)
  std::optional<net::Socket> ctl;   // DEALER
  std::optional<net::Socket> band;  // PUSH, non-blocking, for stage-0 parts only
  net::HelloReply hello;
  int64_t clock_offset_ns = 0;  // worker clock - coordinator clock
  WorkerStats stats;
  bool has_stats = false;
};

// Per frame, kept until the run ends.
// (An adaptive run keeps one record per frame across its deployments; the
// per-part vectors are those of the deployment that last ran the frame.)
struct FrameRecord {
  int64_t issued_ns = 0;  // coordinator clock; 0 = not issued yet
  int64_t done_ns = 0;
  bool done = false, failed = false;
  std::string error;
  std::vector<int64_t> input_sent_ns;   // per stage-0 part
  std::vector<int64_t> result_recv_ns;  // per last-stage part
};

// What an adaptive run (adaptive.cpp) asks of one deployment's stream. The
// frames, their outputs and failures live across deployments; this
// deployment issues frames from `queue` until it is empty or `stop` says so,
// then drains the ones in flight.
struct StreamControl {
  std::vector<FrameRecord> frames;   // every frame of the run
  std::deque<uint64_t> queue;        // to issue, in order (re-runs first)
  int64_t t0_ns = 0;                 // the run's first issue (rate schedule origin)
  std::vector<double> arrival_s;     // per frame, after t0 (empty: o.rate or closed loop)
  // Called every turn of the loop (<= 20 ms apart): true = issue no more
  // frames on this deployment, drain.
  std::function<bool()> stop;
  // Control messages other than Error / Heartbeat (e.g. stats answers).
  std::function<void(int peer, net::Message&)> on_control;
  double heartbeat_s = 0.2;          // liveness probes to every worker
  double dead_after_s = 1.0;         // silent this long = lost
  int max_attempts = 3;              // runs of one frame before it fails
  std::map<uint64_t, int> attempts;
  // Out: workers found silent. The stream then ends at once and the frames
  // in flight go back to the front of the queue (or fail after max_attempts).
  std::vector<std::string> lost;
  int64_t lost_ns = 0;               // when the first was noticed
  uint64_t requeued = 0;             // frame re-runs handed back
};

struct Session {
  const graph::Graph& g;
  std::vector<graph::Block> blocks;
  const plan::Plan& plan;
  const cluster::ClusterSpec& cluster;
  RunOptions o;
  Routes routes;
  uint64_t deployment_id = 0;
  std::vector<Peer> peers;              // one per device the plan uses, in plan order
  std::map<std::string, int> peer_of;   // device -> index in peers
  std::vector<std::optional<net::Socket>> results;  // PULLs (one per transport in use)
  std::string model_hash;               // sha256 of the model file ("" for zoo)
  std::vector<uint8_t> model_bytes;     // read on the first WeightsRequest
  std::vector<FrameRecord> frames;
  int64_t t0_ns = 0;                    // first issue
  uint64_t input_bytes = 0;             // stage-0 band payload bytes sent
  uint64_t results_rejected = 0;
  StreamControl* ctl = nullptr;         // adaptive runs; null = stream o.frames once
  net::Security security;  // own key; authorized = the plan's workers

  Session(const graph::Graph& g_, const plan::Plan& p, const cluster::ClusterSpec& c,
          const RunOptions& opt)
      : g(g_), plan(p), cluster(c), o(opt) {}
  void log(const std::string& line) const;
};

// coordinator.cpp: one deployment's setup (peers of the plan, Hello, memory
// check, results sockets, Deploy, clocks) and teardown (stats, release).
Status open_session(Session& s);
void close_session(Session& s);
// stream.cpp: streams the frames; fills frames, outputs and failures
// (s.ctl: those of the control block, else s.frames with o.frames frames).
Status stream_frames(Session& s, RunReport& r);
// run_report.cpp: latency, throughput, devices, bytes and the trace.
void fill_result(const Session& s, RunReport& r);
// Frames, completed / failed, latencies (issue -> done), makespan from t0 and
// throughput of `frames` into r.
void summarize_frames(const std::vector<FrameRecord>& frames, int64_t t0_ns, sim::Result& r);

}  // namespace coinfer::runtime
