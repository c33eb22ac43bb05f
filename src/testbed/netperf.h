// netperf: RTT and bulk-transfer bandwidth over ZeroMQ (net/transport.h),
// between a prober (DEALER) and a responder (ROUTER, `coinfer cluster netperf
// --listen EP`) that `cluster up` starts next to every worker.
//
// Protocol (wire messages of net/wire.h, one prober at a time):
//   Hello                     -> HelloReply{node_name, accepted}
//   Heartbeat{seq, t}         -> the same Heartbeat (RTT)
//   Band (any geometry)       -> nothing; counted: arrival time of the first
//                                and last Band, bytes after the first
//   WeightsRequest "netperf:report"
//                             -> Heartbeat{sequence = bytes after the first
//                                Band, time_ns = first-to-last arrival}; resets
//   WeightsRequest "netperf:send:BYTES"
//                             -> BYTES of Bands back, then Heartbeat{BYTES, 0}
//   WeightsRequest "netperf:relay:BYTES:ENDPOINT"
//                             -> the responder uploads BYTES to the responder
//                                at ENDPOINT and answers its report (a
//                                Heartbeat), or an Error
//   WeightsRequest "netperf:relay-rtt:N:ENDPOINT"
//                             -> Heartbeat{N, median RTT ns} to ENDPOINT
//   anything else             -> Error{BadMessage}
// Rates are timed at the receiver between the first and the last Band, so
// neither connection set-up nor the RTT enters them: payload goodput.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "net/transport.h"

namespace coinfer::testbed {

// Serves until `stop` is set (checked every 100 ms) or SIGTERM/SIGINT.
Status serve_netperf(const std::string& listen, const std::string& name,
                     const std::atomic<bool>* stop);

struct Rate {
  uint64_t bytes = 0;  // payload bytes timed
  double seconds = 0;  // between first and last arrival
  double bps() const { return seconds > 0 ? double(bytes) * 8 / seconds : 0; }
};

class NetperfClient {
 public:
  // Connects and checks the peer answers Hello within timeout_ms.
  static Result<NetperfClient> connect(const std::string& endpoint, int timeout_ms);

  const std::string& peer_name() const { return peer_; }
  // Median round trip of n Heartbeats (seconds).
  Result<double> rtt(int n);
  // Bulk transfers of `bytes` (rounded up to whole 1 KiB rows, at least 2 chunks).
  Result<Rate> upload(uint64_t bytes);
  Result<Rate> download(uint64_t bytes);
  // A pilot transfer, then one sized to last about `seconds`.
  Result<Rate> measure(bool upload, double seconds);
  // Asks the responder to measure towards another responder.
  Result<Rate> relay_upload(const std::string& to, uint64_t bytes);
  Result<double> relay_rtt(const std::string& to, int n);

 private:
  NetperfClient(net::Socket s, std::string ep) : sock_(std::move(s)), endpoint_(std::move(ep)) {}
  Result<net::Message> await(int timeout_ms, const char* what);
  Result<net::Heartbeat> request(const std::string& what, int timeout_ms);

  net::Socket sock_;
  std::string endpoint_;
  std::string peer_;
  uint64_t seq_ = 0;
};

}  // namespace coinfer::testbed
