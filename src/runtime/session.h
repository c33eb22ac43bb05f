// Internal to the coordinator: the state of one `run` shared by its phases
// (coordinator.cpp: setup and teardown; stream.cpp: frames; run_report.cpp:
// the sim::Result and the trace).
#pragma once

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
struct FrameRecord {
  int64_t issued_ns = 0;  // coordinator clock; 0 = not issued yet
  int64_t done_ns = 0;
  bool done = false, failed = false;
  std::string error;
  std::vector<int64_t> input_sent_ns;   // per stage-0 part
  std::vector<int64_t> result_recv_ns;  // per last-stage part
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
  net::Security security;  // own key; authorized = the plan's workers

  Session(const graph::Graph& g_, const plan::Plan& p, const cluster::ClusterSpec& c,
          const RunOptions& opt)
      : g(g_), plan(p), cluster(c), o(opt) {}
  void log(const std::string& line) const;
};

// stream.cpp: streams the frames; fills frames, outputs and failures.
Status stream_frames(Session& s, RunReport& r);
// run_report.cpp: latency, throughput, devices, bytes and the trace.
void fill_result(const Session& s, RunReport& r);

}  // namespace coinfer::runtime
