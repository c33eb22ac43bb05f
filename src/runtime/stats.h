// What a worker measured during one deployment, reported to the coordinator
// at the end of a run for utilisation, bytes and the Chrome trace.
//
// Transport: the wire protocol's keyed blob fetch. The coordinator sends
// WeightsRequest{hash = stats_key(deployment_id)} on the control channel and
// the worker answers Weights{hash = the same key, bytes = to_json(stats)}
// (model weights use the same pair of messages keyed by their sha256).
// Times are the worker's steady clock in nanoseconds; the coordinator maps
// them onto its own clock with the offset it measured by Heartbeats.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace coinfer::runtime {

// One task: a (frame, stage, part) run, from the moment it started (input
// complete and the worker free) to the end of its outputs' sends (handed to
// ZeroMQ), slowdown sleep included.
struct TaskRecord {
  uint64_t frame = 0;
  int stage = 0, part = 0;
  int64_t start_ns = 0, end_ns = 0;
};

// One band received and accepted (input of `stage` from part `from_part` of
// the previous stage, or from the coordinator for stage 0).
// `waited`: the worker was idle, blocked in its poll, and this was the first
// band it read when the poll returned: at_ns is then when the band's last
// byte arrived (to a poll's wake-up), not when a busy worker got to it, so
// such records time transfers (adaptive runs estimate link rates from them).
struct ArrivalRecord {
  uint64_t frame = 0;
  int stage = 0, from_part = 0;
  int64_t at_ns = 0;
  uint64_t bytes = 0;
  bool waited = false;
};

struct WorkerStats {
  std::string name;
  uint64_t deployment_id = 0;
  double busy_s = 0;            // sum of task durations
  uint64_t tasks_run = 0;
  uint64_t task_errors = 0;     // run_band failures (reported as Error)
  uint64_t bands_received = 0;  // accepted bands
  uint64_t bands_rejected = 0;  // decoded but wrong deployment/stage/part/rows/shape
  uint64_t garbage = 0;         // messages that failed to decode (bands and control)
  uint64_t dropped = 0;         // sends that timed out, and bands over the queue bound
  uint64_t bands_sent = 0;
  uint64_t bytes_sent = 0;      // band and result payload bytes
  std::vector<TaskRecord> tasks;        // at most kMaxRecords, oldest first
  std::vector<ArrivalRecord> arrivals;  // at most kMaxRecords, oldest first
};

inline constexpr size_t kMaxRecords = 200000;

std::string stats_key(uint64_t deployment_id);  // "stats/<id>"
std::string to_json(const WorkerStats& s);
Result<WorkerStats> parse_stats(const std::string& json_text);

}  // namespace coinfer::runtime
